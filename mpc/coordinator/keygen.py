"""Coordinator side of key creation and proactive refresh.

Dealerless (ristretto255 / Ed25519): every node deals, the coordinator relays the
signed deals (whose shares are sealed to their recipients, so it learns none), every
node finalises. All n nodes must take part. If any node names a dealer whose deal
did not verify, the run aborts: nodes that already finalised are told to destroy
the key, the dealer is reported through the misbehaviour hook and
:class:`DealerMisbehaved` names it. The transcript digests of all nodes must agree,
which catches a dealer that signed different deals for different recipients.
An aborted key id stays tombstoned on the nodes; callers retry with a new id.

Dealt (threshold RSA): see :func:`_deal_rsa` for the one place where a whole private
key exists.
"""

from __future__ import annotations

import secrets
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from mpc.crypto import threshold_rsa
from mpc.crypto.group import GROUPS
from mpc.wire import (
    b64e,
    canonical,
    rsa_params_from_dict,
    rsa_params_to_dict,
    rsa_share_info,
    rsa_share_to_dict,
    scalar_public_from_dict,
    seal,
)

from .errors import DealerMisbehaved, InvalidRequest, KeyExists, KeyGenerationFailed, NodesUnavailable
from .fanout import Fanout, Gathered
from .transport import NodeRefused
from .types import RefreshReport, RsaKeyInfo, ScalarKeyInfo

RSA_BITS = (2048, 3072, 4096)
Body = dict[str, Any]


def _post(fanout: Fanout, path: str, payload: Body, timeout: float) -> Any:
    return lambda node_id: fanout.clients[node_id].call("POST", path, payload, timeout=timeout)


def _require_all(gathered: Gathered[Any], n: int) -> None:
    if gathered.refused("key_exists"):
        raise KeyExists()
    if len(gathered.results) < n:
        raise NodesUnavailable(len(gathered.results), n, n)


def _cleanup(fanout: Fanout, key_id: str, nodes: Any, timeout: float) -> None:
    """Best effort: destroy a half-created key wherever it was stored."""
    fanout.everyone(
        _post(fanout, f"/keys/{key_id}/destroy", {}, timeout),
        operation="keygen-abort",
        key_id=key_id,
        nodes=list(nodes),
    )


def _accusations(fanout: Fanout, gathered: Gathered[Any], operation: str, key_id: str) -> None:
    """Raise DealerMisbehaved if any node named dealers (after reporting them)."""
    dealers: set[int] = set()
    accusers = gathered.refused("dealer_misbehaved")
    for node_id in accusers:
        error = gathered.failures[node_id]
        assert isinstance(error, NodeRefused)
        named = error.details.get("dealers")
        for dealer in named if isinstance(named, list) else ():
            if isinstance(dealer, int) and dealer in fanout.clients:
                dealers.add(dealer)
    if not accusers:
        return
    for dealer in sorted(dealers):
        fanout.report(dealer, operation, key_id, f"deal did not verify at node(s) {sorted(accusers)}")
    raise DealerMisbehaved(dealers, accusers)


def _agreed_public(results: dict[int, Body]) -> Body:
    """Every node must report the same transcript digest and public data."""
    distinct = {
        canonical({"digest": r.get("digest"), "public": r.get("public"), "epoch": r.get("epoch")})
        for r in results.values()
    }
    if len(distinct) != 1:
        raise KeyGenerationFailed(
            "MPC nodes disagree on the key-generation transcript (equivocating dealer?)"
        )
    return next(iter(results.values()))


# -- dealerless ------------------------------------------------------------------------------


def generate_scalar(
    fanout: Fanout,
    key_id: str,
    group: str,
    threshold: int,
    timeout: float,
    customer: tuple[bytes, bytes] | None = None,
) -> ScalarKeyInfo:
    """Dealerless DKG; ``customer`` = (Y_c, proof) pins a customer part into the key (composed key)."""
    if group not in GROUPS:
        raise InvalidRequest("group must be 'ristretto255' or 'ed25519'")
    ids = sorted(fanout.clients)
    request: Body = {
        "key_id": key_id,
        "group": group,
        "threshold": threshold,
        "participants": ids,
        "session_id": b64e(secrets.token_bytes(32)),
    }
    if customer is not None:
        request["customer_public_key"], request["customer_proof"] = b64e(customer[0]), b64e(customer[1])
    deals = fanout.everyone(_post(fanout, "/keys/dkg/deal", request, timeout), operation="dkg", key_id=key_id)
    _require_all(deals, len(ids))
    final_request = {**request, "deals": [deals.results[i] for i in ids]}
    finals = fanout.everyone(
        _post(fanout, "/keys/dkg/finalize", final_request, timeout), operation="dkg", key_id=key_id
    )
    try:
        _accusations(fanout, finals, "dkg", key_id)
        _require_all(finals, len(ids))
        body = _agreed_public(finals.results)
        pub = scalar_public_from_dict(body["public"])
        if body["public"].get("customer_public_key") != request.get("customer_public_key"):
            raise KeyGenerationFailed("MPC nodes did not pin the customer key part they were given")
    except Exception:
        _cleanup(fanout, key_id, finals.results, timeout)
        raise
    return ScalarKeyInfo(
        key_id,
        pub.group,
        pub.threshold,
        pub.public_key,
        dict(pub.public_shares),
        pub.commitments,
        0,
        "dealerless",
        None if customer is None else customer[0],
    )


# -- proactive refresh -----------------------------------------------------------------------


def refresh(fanout: Fanout, info: ScalarKeyInfo, timeout: float) -> RefreshReport:
    """Re-randomise every share (same public key); needs all n nodes up.

    Nodes stage the new share as pending and switch only on ``commit``; a node that
    misses the commit keeps its old share and is listed in ``pending`` (commit is
    idempotent, so calling :func:`refresh` again or re-sending commit repairs it).
    """
    key_id, ids = info.key_id, sorted(fanout.clients)
    request = {"session_id": b64e(secrets.token_bytes(32))}
    base = f"/keys/{key_id}/refresh"
    deals = fanout.everyone(
        _post(fanout, f"{base}/deal", request, timeout), operation="refresh", key_id=key_id
    )
    _require_all(deals, len(ids))
    final_request = {**request, "deals": [deals.results[i] for i in ids]}
    finals = fanout.everyone(
        _post(fanout, f"{base}/finalize", final_request, timeout), operation="refresh", key_id=key_id
    )
    _accusations(fanout, finals, "refresh", key_id)
    _require_all(finals, len(ids))
    body = _agreed_public(finals.results)
    if scalar_public_from_dict(body["public"]).public_key != info.public_key:
        raise KeyGenerationFailed("refresh would change the public key; not committed")
    pinned = None if info.customer_public_key is None else b64e(info.customer_public_key)
    if body["public"].get("customer_public_key") != pinned:
        raise KeyGenerationFailed("refresh would change the customer key part; not committed")
    commit = _post(fanout, f"{base}/commit", request, timeout)
    done = fanout.everyone(commit, operation="refresh", key_id=key_id)
    if done.failures:
        done.results.update(
            fanout.everyone(commit, operation="refresh", key_id=key_id, nodes=list(done.failures)).results
        )
    pending = tuple(i for i in ids if i not in done.results)
    return RefreshReport(int(body["epoch"]), tuple(sorted(done.results)), pending)


# -- dealt threshold RSA ---------------------------------------------------------------------


def _deal_rsa(fanout: Fanout, key_id: str, bits: int, threshold: int) -> tuple[Body, dict[int, str]]:
    """Generate, split and seal: the only place a whole RSA private key ever exists.

    The dealer is this (coordinator) process. It holds the key for the few hundred
    milliseconds between generation and sealing, then drops every reference; Python
    cannot zeroise memory, so the key's provenance is recorded as ``"dealer"`` and the
    nodes report it in the public data. Run key generation in a short-lived worker
    process where that matters.
    """
    n = len(fanout.clients)
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    params, shares = threshold_rsa.deal(private, threshold, n)
    del private
    params_dict = rsa_params_to_dict(params)
    sealed = {}
    for share in shares:
        plain = canonical(rsa_share_to_dict(share))
        info = rsa_share_info(key_id, share.node_id, params_dict)
        sealed[share.node_id] = b64e(seal(fanout.clients[share.node_id].entry.x25519, plain, info))
        del plain
    del shares
    return params_dict, sealed


def generate_rsa(fanout: Fanout, key_id: str, bits: int, threshold: int, timeout: float) -> RsaKeyInfo:
    if bits not in RSA_BITS:
        raise InvalidRequest("RSA key size must be 2048, 3072 or 4096")
    ids = sorted(fanout.clients)
    if ids != list(range(1, len(ids) + 1)) or threshold < 2:
        raise InvalidRequest("threshold RSA needs node ids 1..n and t >= 2")
    params_dict, sealed = _deal_rsa(fanout, key_id, bits, threshold)

    def send(node_id: int) -> Body:
        payload = {"key_id": key_id, "params": params_dict, "sealed_share": sealed[node_id]}
        return fanout.clients[node_id].call("POST", "/keys/rsa/import", payload, timeout=timeout)

    imported = fanout.everyone(send, operation="rsa-import", key_id=key_id)
    try:
        _require_all(imported, len(ids))
        if any(r.get("public") != params_dict for r in imported.results.values()):
            raise KeyGenerationFailed("a node stored different RSA parameters than were dealt")
    except Exception:
        _cleanup(fanout, key_id, imported.results, timeout)
        raise
    return RsaKeyInfo(key_id, rsa_params_from_dict(params_dict), 0, "dealer")
