"""Coordinator side of customer nodes: the tenant-run node every use of a composed key needs.

A composed key is k = k_c + k_p. k_c is one whole scalar that the customer node
generated and never shares; k_p is an ordinary dealerless key on the provider nodes.
The coordinator learns only Y_c = k_c·G (with a proof of knowledge, checked by the
provider nodes, which pin Y_c into the key) and, per evaluation, Z_c = k_c·H(x) with
a DLEQ proof against that pinned Y_c.

Every failure to get a verified answer from the customer node becomes
:class:`CustomerNodeUnavailable` with a reason code; nothing falls back to the
providers, because they cannot compute the output without k_c anyway. A customer
node whose answer does not verify is reported through the misbehaviour hook
(node id 0, with its URL).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, NoReturn

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mpc.crypto import tprf
from mpc.crypto.errors import InvalidProof
from mpc.node.config import CustomerNodeSpec, NodeEntry
from mpc.wire import WireError, b64d, b64e, get_b64, get_list, get_str

from . import forksafe
from .errors import CustomerNodeUnavailable, KeyExists
from .fanout import Fanout
from .transport import NodeCallError, NodeClient, NodeMisbehaved, NodeRefused
from .types import ScalarKeyInfo

_MAX_CLIENTS = 256
_REFUSALS = {
    "unauthorized": "unauthorized",
    "key_disabled": "key_disabled",
    "key_held": "key_held",
    "key_not_found": "key_not_found",
    "key_destroyed": "key_destroyed",
}


class CustomerClients:
    """One pooled, signed :class:`NodeClient` per enrolled customer node (LRU-bounded)."""

    def __init__(self, signer: Ed25519PrivateKey, *, connect_timeout: float, read_timeout: float) -> None:
        self._signer = signer
        self._connect_timeout, self._read_timeout = connect_timeout, read_timeout
        self._clients: OrderedDict[CustomerNodeSpec, NodeClient] = OrderedDict()
        self._lock = threading.Lock()
        forksafe.register(self)

    def after_fork_in_child(self) -> None:
        """A parent thread may have held the lock at the fork (the clients reset themselves)."""
        self._lock = threading.Lock()

    def get(self, spec: CustomerNodeSpec) -> NodeClient:
        if not isinstance(spec, CustomerNodeSpec):
            raise TypeError("expected a CustomerNodeSpec")
        with self._lock:
            client = self._clients.get(spec)
            if client is not None:
                self._clients.move_to_end(spec)
                return client
            entry = NodeEntry(tprf.CUSTOMER_NODE_ID, spec.url, spec.identity(), spec.x25519())
            client = NodeClient(
                entry,
                self._signer,
                connect_timeout=self._connect_timeout,
                read_timeout=self._read_timeout,
                audience=spec.audience,
            )
            self._clients[spec] = client
            evicted = self._clients.popitem(last=False)[1] if len(self._clients) > _MAX_CLIENTS else None
        if evicted is not None:
            evicted.close()
        return client

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), OrderedDict()
        for client in clients:
            client.close()


def call(
    client: NodeClient,
    fanout: Fanout,
    path: str,
    payload: dict[str, Any],
    *,
    operation: str,
    key_id: str | None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """One signed call to the customer node; every failure is :class:`CustomerNodeUnavailable`."""
    try:
        return client.call("POST", path, payload, timeout=timeout)
    except NodeRefused as exc:
        if exc.code == "key_exists":
            raise KeyExists() from None
        raise CustomerNodeUnavailable(_REFUSALS.get(exc.code, "refused")) from None
    except NodeMisbehaved as exc:
        fanout.report_customer(client.entry.url, operation, key_id, exc.reason)
        raise CustomerNodeUnavailable("misbehaved") from None
    except NodeCallError:
        raise CustomerNodeUnavailable("unreachable") from None


def _misbehaved(client: NodeClient, fanout: Fanout, operation: str, key_id: str, reason: str) -> NoReturn:
    fanout.report_customer(client.entry.url, operation, key_id, reason)
    raise CustomerNodeUnavailable("misbehaved")


def generate(client: NodeClient, fanout: Fanout, key_id: str, timeout: float) -> tuple[bytes, bytes]:
    """Have the customer node create k_c; returns (Y_c, proof of knowledge), proof checked."""
    body = call(
        client, fanout, "/keys/customer/generate", {"key_id": key_id}, operation="keygen", key_id=key_id
    )
    try:
        if body.get("key_id") != key_id:
            raise WireError("key_id: mismatch")
        public, proof = get_b64(body, "public_key", size=32), get_b64(body, "proof", size=64)
        tprf.verify_customer_key_proof(public, proof, key_id.encode())
    except (WireError, InvalidProof):
        destroy(client, fanout, key_id, timeout)  # do not leave an unusable part behind
        _misbehaved(client, fanout, "keygen", key_id, "customer key part without a valid proof of knowledge")
    return public, proof


def evaluate(
    client: NodeClient, fanout: Fanout, info: ScalarKeyInfo, inputs: Sequence[bytes]
) -> tprf.PartialEvaluation:
    """Z_c for each input with the customer's batched DLEQ proof (verified by :func:`add`)."""
    payload = {"inputs": [b64e(x) for x in inputs]}
    body = call(
        client, fanout, f"/keys/{info.key_id}/tprf/evaluate", payload, operation="tprf", key_id=info.key_id
    )
    try:
        raw = get_list(body, "elements", max_len=len(inputs))
        elements = tuple(b64d(z, field="elements", size=32) for z in raw)
        proof = get_b64(body, "proof", size=64)
    except WireError:
        _misbehaved(client, fanout, "tprf", info.key_id, "malformed threshold PRF answer")
    return tprf.PartialEvaluation(tprf.CUSTOMER_NODE_ID, elements, proof)


def add(
    client: NodeClient,
    fanout: Fanout,
    info: ScalarKeyInfo,
    customer: tprf.PartialEvaluation,
    provider: Sequence[bytes],
    hashed: Sequence[bytes],
) -> list[bytes]:
    """Z = Z_c + Z_p after checking Z_c's DLEQ proof against the provider-pinned Y_c.

    ``hashed`` are the batch's inputs hashed to the group (``tprf.hash_inputs``).
    """
    assert info.customer_public_key is not None
    try:
        return tprf.add_customer_part_hashed(customer, info.customer_public_key, provider, hashed)
    except InvalidProof:
        _misbehaved(client, fanout, "tprf", info.key_id, "customer PRF part failed its DLEQ proof")


def public_key(client: NodeClient, fanout: Fanout, info: ScalarKeyInfo) -> bytes:
    """The Y_c the customer node reports; it must equal the one the providers pinned."""
    body = call(
        client, fanout, f"/keys/{info.key_id}/public", {}, operation="public_info", key_id=info.key_id
    )
    try:
        if body.get("key_id") != info.key_id or body.get("kind") != "customer":
            raise WireError("kind: not a customer key part")
        reported = b64d(body["customer"].get("public_key"), field="public_key", size=32)
    except (WireError, KeyError, AttributeError, TypeError):
        _misbehaved(client, fanout, "public_info", info.key_id, "malformed public data")
    if reported != info.customer_public_key:
        raise CustomerNodeUnavailable("mismatch")
    return reported


def outcome(run: Any) -> str:
    """Run a lifecycle call; "succeeded" or the :class:`CustomerNodeUnavailable` reason."""
    try:
        run()
    except CustomerNodeUnavailable as exc:
        return exc.reason
    return "succeeded"


def set_state(client: NodeClient, fanout: Fanout, key_id: str, enabled: bool) -> None:
    call(client, fanout, f"/keys/{key_id}/state", {"enabled": enabled}, operation="state", key_id=key_id)


def destroy(client: NodeClient, fanout: Fanout, key_id: str, timeout: float | None = None) -> str:
    """Destroy k_c; "succeeded" also when the node already holds only a tombstone."""
    try:
        call(
            client, fanout, f"/keys/{key_id}/destroy", {}, operation="destroy", key_id=key_id, timeout=timeout
        )
    except CustomerNodeUnavailable as exc:
        return "succeeded" if exc.reason == "key_destroyed" else exc.reason
    return "succeeded"


def node_info(client: NodeClient, fanout: Fanout, spec: CustomerNodeSpec) -> dict[str, Any]:
    """Authenticated self-description; checks the node is the customer node ``spec`` describes."""
    body = call(client, fanout, "/node/info", {}, operation="node_info", key_id=None)
    try:
        facts = (
            get_str(body, "role", max_len=16),
            get_str(body, "audience", max_len=128),
            get_str(body, "identity_public_key", max_len=64),
            get_str(body, "x25519_public_key", max_len=64),
        )
    except WireError:
        fanout.report_customer(spec.url, "node_info", None, "malformed node info")
        raise CustomerNodeUnavailable("misbehaved") from None
    if facts != ("customer", spec.audience, spec.identity_public_key, spec.x25519_public_key):
        raise CustomerNodeUnavailable("mismatch")
    return body
