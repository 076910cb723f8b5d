"""Coordinator side of key use: threshold PRF, FROST signing, threshold RSA decryption.

Every partial is verified before it is used (DLEQ proofs, FROST share equations,
RSA re-encryption), a node whose partial fails is reported and replaced, and the
result comes from t nodes only. Nodes answer with their share epoch; an answer
from a newer epoch (someone refreshed) makes the coordinator re-read the public
data once instead of blaming the node.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from itertools import combinations
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mpc.crypto import frost, threshold_rsa, tprf
from mpc.crypto.errors import InvalidProof, MpcError
from mpc.crypto.group import RISTRETTO255, Element
from mpc.crypto.shamir import interpolate_batch_in_exponent
from mpc.wire import b64d, b64e, get_b64, get_int, get_list, get_str, int_d, int_e, labels_to_wire

from .errors import CoordinatorError, DecryptionFailed, InvalidRequest, NodesUnavailable
from .fanout import Fanout, Gathered, raise_for_shortfall
from .transport import NodeMisbehaved, NodeStale
from .types import RsaKeyInfo, ScalarKeyInfo

MAX_BATCH = 1024
MAX_BATCH_BYTES = 600_000  # base64 of this stays well under the nodes' 1 MiB body limit
Label = tuple[int, ...]


def _check_epoch(node_id: int, body: dict[str, Any], epoch: int) -> None:
    if get_int(body, "epoch") != epoch:
        raise NodeStale(node_id, "answered from another share epoch")


def _stale(gathered: Gathered[Any]) -> bool:
    return any(isinstance(f, NodeStale) for f in gathered.failures.values())


# -- threshold PRF ---------------------------------------------------------------------------------


def batches(inputs: Sequence[bytes]) -> list[list[bytes]]:
    """Split inputs into requests the nodes accept (count and body-size limits)."""
    out: list[list[bytes]] = [[]]
    size = 0
    for x in inputs:
        if out[-1] and (len(out[-1]) == MAX_BATCH or size + len(x) > MAX_BATCH_BYTES):
            out.append([])
            size = 0
        out[-1].append(x)
        size += len(x)
    return out


class HashedInputs:
    """H(x) of a batch, computed once by whichever thread needs it first (the others wait).

    Every node's partial (and a customer node's part) is verified against the same
    hashed inputs, so hashing is paid once per batch instead of once per partial. It
    is done after the first answer arrived rather than while the requests go out:
    hashing competes with the request threads for the GIL and delayed the requests.
    """

    def __init__(self, inputs: Sequence[bytes]) -> None:
        self._inputs = inputs
        self._lock = threading.Lock()
        self._result: list[Element] | MpcError | None = None

    def get(self) -> list[Element]:
        with self._lock:
            if self._result is None:
                try:
                    self._result = tprf.hash_inputs(self._inputs)
                except MpcError as exc:  # every user of the batch sees the same failure
                    self._result = exc
        if isinstance(self._result, MpcError):
            raise self._result
        return self._result


def tprf_once(
    fanout: Fanout, info: ScalarKeyInfo, inputs: Sequence[bytes], hashed: HashedInputs | None = None
) -> list[bytes] | None:
    """One attempt; None means "some node is on a newer epoch, refresh public data"."""
    path = f"/keys/{info.key_id}/tprf/evaluate"
    payload = {"inputs": [b64e(x) for x in inputs]}
    hashed = hashed or HashedInputs(inputs)

    def call(node_id: int) -> tuple[bytes, ...]:
        body = fanout.clients[node_id].call("POST", path, payload)
        _check_epoch(node_id, body, info.epoch)
        elements = tuple(
            b64d(z, field="elements", size=32) for z in get_list(body, "elements", max_len=MAX_BATCH)
        )
        partial = tprf.PartialEvaluation(node_id, elements, get_b64(body, "proof", size=64))
        try:
            tprf.verify_partial_hashed(partial, info.public_shares[node_id], hashed.get())
        except InvalidProof:
            raise NodeMisbehaved(node_id, "threshold PRF partial failed its DLEQ proof") from None
        return elements

    gathered = fanout.gather(call, info.threshold, operation="tprf", key_id=info.key_id)
    if len(gathered.results) < info.threshold:
        if _stale(gathered):
            return None
        raise_for_shortfall(gathered, info.threshold, len(fanout.clients))
    chosen = dict(sorted(gathered.results.items())[: info.threshold])
    return interpolate_batch_in_exponent(RISTRETTO255, chosen)


# -- FROST -----------------------------------------------------------------------------------------


def _commit_call(fanout: Fanout, info: ScalarKeyInfo) -> Callable[[int], tuple[str, frost.SigningCommitment]]:
    def call(node_id: int) -> tuple[str, frost.SigningCommitment]:
        body = fanout.clients[node_id].call("POST", f"/keys/{info.key_id}/frost/commit", {})
        _check_epoch(node_id, body, info.epoch)
        if get_int(body, "identifier") != node_id:
            raise NodeMisbehaved(node_id, "FROST commitment under another identifier")
        hiding, binding = get_b64(body, "hiding", size=32), get_b64(body, "binding", size=32)
        commitment = frost.SigningCommitment(node_id, hiding, binding).validated()
        return get_str(body, "commitment_id", max_len=64), commitment

    return call


def frost_once(fanout: Fanout, info: ScalarKeyInfo, message: bytes, excluded: set[int]) -> bytes | None:
    """One signing attempt; adds failed/cheating signers to ``excluded``; None = retry."""
    candidates = fanout.ranked(exclude=excluded)
    commits = fanout.gather(
        _commit_call(fanout, info),
        info.threshold,
        operation="frost",
        key_id=info.key_id,
        candidates=candidates,
    )
    if len(commits.results) < info.threshold:
        if _stale(commits):
            return None
        raise_for_shortfall(commits, info.threshold, len(fanout.clients))
    commitments = [c for _, c in commits.results.values()]
    wire = [
        {"identifier": c.identifier, "hiding": b64e(c.hiding), "binding": b64e(c.binding)}
        for c in commitments
    ]

    def sign(node_id: int) -> int:
        payload = {
            "commitment_id": commits.results[node_id][0],
            "message": b64e(message),
            "commitments": wire,
        }
        body = fanout.clients[node_id].call("POST", f"/keys/{info.key_id}/frost/sign", payload)
        _check_epoch(node_id, body, info.epoch)
        return int.from_bytes(get_b64(body, "share", size=32), "little")

    shares = fanout.everyone(sign, operation="frost", key_id=info.key_id, nodes=list(commits.results))
    if shares.failures:
        excluded.update(shares.failures)
        return None
    try:
        return frost.aggregate(commitments, message, info.public_key, shares.results, info.public_shares)
    except InvalidProof as exc:
        for node_id in exc.node_ids:
            fanout.report(node_id, "frost", info.key_id, "FROST signature share does not verify")
        excluded.update(exc.node_ids)
        return None


def check_ed25519(info: ScalarKeyInfo, message: bytes, signature: bytes) -> bytes:
    """Final independent check with ``cryptography`` (RFC 8032 verifier)."""
    try:
        Ed25519PublicKey.from_public_bytes(info.public_key).verify(signature, message)
    except InvalidSignature:
        raise CoordinatorError("aggregated FROST signature failed RFC 8032 verification") from None
    return signature


# -- threshold RSA -----------------------------------------------------------------------------------


def rsa_ciphertext(info: RsaKeyInfo, ciphertext: bytes) -> int:
    """OS2IP with length/range checks; c must be invertible mod N (c = 0 is not)."""
    try:
        c = threshold_rsa.ciphertext_to_int(ciphertext, info.params)
    except MpcError:
        raise InvalidRequest("ciphertext does not fit the modulus") from None
    if math.gcd(c, info.params.modulus) != 1:
        raise InvalidRequest("ciphertext is not invertible modulo N")
    return c


def _rsa_call(
    fanout: Fanout, info: RsaKeyInfo, c: int, groups: Callable[[int], list[list[Label]]]
) -> Callable[[int], list[int]]:
    def call(node_id: int) -> list[int]:
        wanted = groups(node_id)
        payload = {"ciphertext": int_e(c), "groups": [labels_to_wire(g) for g in wanted]}
        body = fanout.clients[node_id].call("POST", f"/keys/{info.key_id}/rsa/partial", payload)
        values = [int_d(v, field="values") for v in get_list(body, "values")]
        if len(values) != len(wanted) or any(not 0 < v < info.params.modulus for v in values):
            raise NodeMisbehaved(node_id, "malformed RSA partial")
        return values

    return call


def rsa_once(fanout: Fanout, info: RsaKeyInfo, c: int, failed: Gathered[Any]) -> bytes | None:
    """Fast path: t nodes, one exponentiation each. None = try another quorum.

    ``failed.failures`` accumulates, across attempts, the nodes that could not serve.
    """
    params, t = info.params, info.params.threshold
    quorum = fanout.ranked(exclude=failed.failures)[:t]
    if len(quorum) < t:
        raise_for_shortfall(failed, t, len(fanout.clients))
    plan = threshold_rsa.assign(params, quorum)
    call = _rsa_call(fanout, info, c, lambda i: [list(plan[i])])
    got = fanout.everyone(call, operation="rsa", key_id=info.key_id, nodes=quorum)
    if got.failures:
        failed.failures.update(got.failures)
        return None
    m = math.prod(values[0] for values in got.results.values()) % params.modulus
    if threshold_rsa.check(m, c, params.public_exponent, params.modulus):
        return m.to_bytes(params.byte_length, "big")
    fast = {i: (plan[i], values[0]) for i, values in got.results.items()}
    return identify_rsa(fanout, info, c, fast, set(failed.failures))


def identify_rsa(
    fanout: Fanout,
    info: RsaKeyInfo,
    c: int,
    fast: dict[int, tuple[tuple[Label, ...], int]],
    excluded: set[int],
) -> bytes:
    """Slow path after a failed check: per-piece values from every reachable node.

    Re-encryption only says *that* some partial was wrong. Asking each node for
    c^(r_A) per piece A, trying quorums until one passes the check, and comparing
    everybody's values with the verified ones names exactly who lied.
    """
    params, t = info.params, info.params.threshold
    held = {i: [a for a in params.labels if i not in a] for i in fanout.clients if i not in excluded}
    call = _rsa_call(fanout, info, c, lambda i: [[a] for a in held[i]])
    got = fanout.everyone(call, operation="rsa", key_id=info.key_id, nodes=list(held))
    pieces = {i: dict(zip(held[i], values, strict=True)) for i, values in got.results.items()}
    if len(pieces) < t:
        raise NodesUnavailable(len(pieces), t, len(fanout.clients))
    for quorum in combinations(sorted(pieces), t):
        plan = threshold_rsa.assign(params, quorum)
        trusted = {a: pieces[i][a] for i, labels in plan.items() for a in labels}
        m = math.prod(trusted.values()) % params.modulus
        if not threshold_rsa.check(m, c, params.public_exponent, params.modulus):
            continue
        liars = {i for i, own in pieces.items() if any(trusted[a] != v for a, v in own.items())}
        liars |= {
            i
            for i, (labels, v) in fast.items()
            if v != math.prod(trusted[a] for a in labels) % params.modulus
        }
        for node_id in sorted(liars):
            fanout.report(node_id, "rsa", info.key_id, "threshold RSA partial failed the re-encryption check")
        return m.to_bytes(params.byte_length, "big")
    raise DecryptionFailed()
