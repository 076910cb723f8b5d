"""The coordinator: the one object the control plane talks to for MPC keys.

It holds no key material. It reads the cluster file, signs every request with its
Ed25519 key, verifies every node response and partial, and needs only t of n nodes
for any use of a key (all n for generation and refresh).

Composed keys (k = k_c + k_p) also need their customer node for every use; the
caller names it per call with a :class:`CustomerNodeSpec` (the coordinator keeps no
record of which tenant runs which customer node, only pooled connections).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mpc.crypto import tprf
from mpc.crypto.group import ED25519, RISTRETTO255, PrimeOrderGroup
from mpc.node.config import ClusterSpec, ConfigError, CustomerNodeSpec, load_cluster, load_ed25519_key
from mpc.wire import get_int, get_str

from . import customer as customer_ops
from . import forksafe, keygen, ops
from .errors import (
    CoordinatorError,
    CustomerNodeUnavailable,
    InvalidRequest,
    KeyDisabled,
    KeyNotFound,
    NodesUnavailable,
)
from .fanout import Fanout, Gathered, raise_for_shortfall
from .public import PublicInfoCache, check_key_id_or_raise
from .transport import NodeClient, NodeRefused
from .types import (
    FanoutReport,
    Misbehaviour,
    NodeHealth,
    PublicInfo,
    RefreshReport,
    RsaKeyInfo,
    ScalarKeyInfo,
)

log = logging.getLogger("mpc.coordinator")


class Coordinator:
    """Drives the MPC nodes (see the package docstring for the full API)."""

    def __init__(
        self,
        cluster: ClusterSpec,
        signing_key: Ed25519PrivateKey,
        *,
        on_misbehaviour: Callable[[Misbehaviour], None] | None = None,
        connect_timeout: float = 2.0,
        read_timeout: float = 2.0,
        keygen_timeout: float = 15.0,
        max_workers: int = 32,
        customer_connect_timeout: float = 3.0,
        customer_read_timeout: float = 5.0,
    ) -> None:
        self.threshold = cluster.threshold
        self.n = len(cluster.nodes)
        self._keygen_timeout = keygen_timeout
        clients = {
            i: NodeClient(e, signing_key, connect_timeout=connect_timeout, read_timeout=read_timeout)
            for i, e in cluster.nodes.items()
        }
        self._max_workers = max_workers
        self._pool = self._new_pool()
        self.fanout = Fanout(clients, self._pool, on_misbehaviour)
        self._public = PublicInfoCache(self.fanout, self.threshold)
        self._customers = customer_ops.CustomerClients(
            signing_key, connect_timeout=customer_connect_timeout, read_timeout=customer_read_timeout
        )
        forksafe.register(self)

    @classmethod
    def from_file(cls, cluster_file: Path, key_file: Path | None = None, **options: Any) -> Coordinator:
        """Load the cluster file and the coordinator key it names (or ``key_file``)."""
        spec = load_cluster(cluster_file)
        path = key_file or spec.coordinator_key_file
        if path is None:
            raise ConfigError("no coordinator key file given or named in the cluster file")
        key = load_ed25519_key(Path(path))
        if key.public_key().public_bytes_raw().hex() != spec.coordinator_public_key:
            raise ConfigError("coordinator key does not match the cluster file")
        return cls(spec, key, **options)

    def __repr__(self) -> str:
        return f"Coordinator(n={self.n}, t={self.threshold})"

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="mpc-coordinator")

    def after_fork_in_child(self) -> None:
        """The parent's pool threads do not exist in a forked child: give it a pool of its own."""
        self._pool = self._new_pool()
        self.fanout.use_pool(self._pool)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        for client in self.fanout.clients.values():
            client.close()
        self._customers.close()

    def __enter__(self) -> Coordinator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- key creation ------------------------------------------------------------------------

    def generate_scalar_key(self, key_id: str, group: str) -> ScalarKeyInfo:
        """Dealerless DKG over all n nodes; ``group`` is "ristretto255" (PRF/AES) or "ed25519" (FROST)."""
        check_key_id_or_raise(key_id)
        info = keygen.generate_scalar(self.fanout, key_id, group, self.threshold, self._keygen_timeout)
        self._public.put(info)
        return info

    def generate_composed_key(self, key_id: str, customer: CustomerNodeSpec) -> ScalarKeyInfo:
        """A composed ristretto255 PRF key k = k_c + k_p that needs ``customer`` for every use.

        The customer node creates k_c and returns Y_c with a proof of knowledge; then
        the provider nodes run the usual DKG for k_p, each checking that proof and
        pinning Y_c. The customer node is asked first (a tenant node is the likelier
        to be down); if the DKG fails, its part is destroyed again.
        """
        check_key_id_or_raise(key_id)
        client = self._customers.get(customer)
        part = customer_ops.generate(client, self.fanout, key_id, self._keygen_timeout)
        try:
            info = keygen.generate_scalar(
                self.fanout, key_id, "ristretto255", self.threshold, self._keygen_timeout, customer=part
            )
        except BaseException:
            customer_ops.destroy(client, self.fanout, key_id, self._keygen_timeout)
            raise
        self._public.put(info)
        return info

    def generate_rsa_key(self, key_id: str, bits: int) -> RsaKeyInfo:
        """Dealer-generated threshold RSA (provenance "dealer"; see ``keygen._deal_rsa``)."""
        check_key_id_or_raise(key_id)
        info = keygen.generate_rsa(self.fanout, key_id, bits, self.threshold, self._keygen_timeout)
        self._public.put(info)
        return info

    # -- key use ---------------------------------------------------------------------------------

    def tprf_evaluate(
        self, key_id: str, inputs: Sequence[bytes], *, customer: CustomerNodeSpec | None = None
    ) -> list[bytes]:
        """Z = k·H(x) for each input (verified partials from t nodes), in input order.

        A composed key needs ``customer``: Z = Z_c + Z_p, with Z_c from the customer node
        (DLEQ-checked against the pinned Y_c) and Z_p from t provider nodes, asked in
        parallel. Without a verified Z_c the call fails with
        :class:`CustomerNodeUnavailable`, even if every provider node is up.
        """
        if not inputs:
            raise InvalidRequest("at least one input is required")
        out: list[bytes] = []
        for chunk in ops.batches(inputs):
            attempt = functools.partial(self._tprf_once, inputs=chunk, customer=customer)
            out += self._with_fresh_retry(key_id, RISTRETTO255, attempt)
        return out

    def frost_sign(self, key_id: str, message: bytes) -> bytes:
        """FROST(Ed25519) signature, verified with ``cryptography`` before it is returned."""
        excluded: set[int] = set()
        for _ in range(self.n + 1):
            info = self._scalar_info(key_id, ED25519)
            signature = ops.frost_once(self.fanout, info, message, excluded)
            if signature is not None:
                return ops.check_ed25519(info, message, signature)
            self._public.forget(key_id)
        raise NodesUnavailable(self.n - len(excluded), self.threshold, self.n)

    def rsa_decrypt_raw(self, key_id: str, ciphertext: bytes) -> bytes:
        """m = c^d mod N as k bytes, checked by re-encryption; OAEP decoding is the caller's."""
        info = self.public_info(key_id)
        if not isinstance(info, RsaKeyInfo):
            raise InvalidRequest("not a threshold RSA key")
        c = ops.rsa_ciphertext(info, ciphertext)
        failed: Gathered[Any] = Gathered()
        for _ in range(self.n + 1):  # every retry excludes at least one more node
            result = ops.rsa_once(self.fanout, info, c, failed)
            if result is not None:
                return result
        raise NodesUnavailable(self.n - len(failed.failures), self.threshold, self.n)

    # -- lifecycle ---------------------------------------------------------------------------------

    def refresh(self, key_id: str) -> RefreshReport:
        """Proactive refresh of a DKG key: new shares everywhere, same public key."""
        info = self.public_info(key_id, fresh=True)
        if not isinstance(info, ScalarKeyInfo):
            raise InvalidRequest("only DKG keys can be refreshed")
        try:
            return keygen.refresh(self.fanout, info, self._keygen_timeout)
        finally:
            self._public.forget(key_id)

    def set_state(
        self, key_id: str, enabled: bool, *, customer: CustomerNodeSpec | None = None
    ) -> FanoutReport:
        """Enable/disable at every node. Disabling succeeds once fewer than t nodes stay
        enabled (n - t + 1 confirmations); enabling needs t confirmations.

        With ``customer`` (composed keys) the customer node gets the same call. Its
        confirmed disable is enough on its own (no use is possible without it); an
        enable it does not confirm raises :class:`CustomerNodeUnavailable`, since the key
        would stay unusable (e.g. its operator holds the key there).
        """
        check_key_id_or_raise(key_id)
        pending = self._customer_call(
            customer, lambda c: customer_ops.set_state(c, self.fanout, key_id, enabled)
        )
        got = self._everyone(key_id, "state", {"enabled": enabled})
        status = None if pending is None else customer_ops.outcome(pending.result)
        need = self.threshold if enabled else self.n - self.threshold + 1
        if len(got.results) < need and not (not enabled and status == "succeeded"):
            raise_for_shortfall(got, need, self.n)
        if enabled and status not in (None, "succeeded"):
            raise CustomerNodeUnavailable(status)
        return replace(_report(got), customer=status)

    def destroy(self, key_id: str, *, customer: CustomerNodeSpec | None = None) -> FanoutReport:
        """Wipe the share on every reachable node; unreachable ones are listed in the report.

        ``report.complete`` is False when some node could not be reached: the control
        plane must retry later, since t unreachable nodes could still use the key.
        With ``customer`` (composed keys) k_c is destroyed too, and ``report.customer ==
        "succeeded"`` alone already makes the key unusable for good.
        """
        check_key_id_or_raise(key_id)
        self._public.forget(key_id)
        pending = self._customer_call(customer, lambda c: customer_ops.destroy(c, self.fanout, key_id))
        got = self._everyone(key_id, "destroy", {})
        status = None if pending is None else pending.result()
        gone = got.refused("key_not_found", "key_destroyed")
        if not got.results and status != "succeeded":
            if gone:
                raise KeyNotFound()
            raise NodesUnavailable(0, 1, self.n)
        report = _report(got)
        refused = {i: code for i, code in report.refused.items() if i not in gone}
        return FanoutReport(tuple(sorted([*report.succeeded, *gone])), report.unreachable, refused, status)

    def public_info(self, key_id: str, *, fresh: bool = False) -> PublicInfo:
        """Public key data agreed by t nodes (cached for a few minutes)."""
        return self._public.get(key_id, fresh=fresh)

    def customer_public_key(self, key_id: str, customer: CustomerNodeSpec) -> bytes:
        """Y_c as the customer node reports it, checked against the Y_c the providers pinned.

        Raises :class:`CustomerNodeUnavailable` ("mismatch") if ``customer`` is not the
        node this key was created with, and ``InvalidRequest`` for a non-composed key.
        """
        info = self._scalar_info(key_id, RISTRETTO255)
        if not info.composed:
            raise InvalidRequest("not a customer-node key")
        return customer_ops.public_key(self._customers.get(customer), self.fanout, info)

    def check_customer_node(self, customer: CustomerNodeSpec) -> NodeHealth:
        """Enrolment check: the node answers, signs with the enrolled identity key, runs as
        a customer node with the enrolled X25519 key, and accepts this coordinator's
        requests. Raises :class:`CustomerNodeUnavailable` with the reason otherwise."""
        client = self._customers.get(customer)
        started = time.monotonic()
        body = customer_ops.node_info(client, self.fanout, customer)
        latency = round((time.monotonic() - started) * 1000, 2)
        return NodeHealth(
            tprf.CUSTOMER_NODE_ID, customer.url, True, latency, get_str(body, "version", max_len=32)
        )

    def health(self) -> list[NodeHealth]:
        """Per-node status and round-trip latency (signed ``/health`` answers only count)."""

        def probe(node_id: int) -> NodeHealth:
            client = self.fanout.clients[node_id]
            started = time.monotonic()
            body = client.call("GET", "/health")
            latency = (time.monotonic() - started) * 1000
            if get_int(body, "node_id", lo=1, hi=255) != node_id:
                raise InvalidRequest("node reports another id")
            return NodeHealth(
                node_id,
                client.entry.url,
                True,
                round(latency, 2),
                get_str(body, "version", max_len=32),
                get_int(body, "keys"),
            )

        got = self.fanout.everyone(probe, operation="health", key_id=None)
        down = [
            NodeHealth(i, self.fanout.clients[i].entry.url, False, None, error=f.reason)
            for i, f in got.failures.items()
        ]
        return sorted([*got.results.values(), *down], key=lambda h: h.node_id)

    # -- helpers -----------------------------------------------------------------------------------

    def _scalar_info(self, key_id: str, group: PrimeOrderGroup) -> ScalarKeyInfo:
        info = self.public_info(key_id)
        if not isinstance(info, ScalarKeyInfo) or info.group is not group:
            raise InvalidRequest(f"not a {group.name} DKG key")
        return info

    def _tprf_once(
        self, info: ScalarKeyInfo, inputs: Sequence[bytes], customer: CustomerNodeSpec | None
    ) -> list[bytes] | None:
        if not info.composed:
            if customer is not None:
                raise InvalidRequest("not a customer-node key")
            return ops.tprf_once(self.fanout, info, inputs)
        if customer is None:
            raise CustomerNodeUnavailable("not_given")
        client = self._customers.get(customer)
        pending = self._pool.submit(customer_ops.evaluate, client, self.fanout, info, inputs)
        hashed = ops.HashedInputs(inputs)
        try:
            provider = ops.tprf_once(self.fanout, info, inputs, hashed)
        except (KeyDisabled, KeyNotFound, InvalidRequest):
            raise  # the key's own state at the providers says it all
        except CoordinatorError:
            pending.result()  # an outage: a failed customer node is the more specific cause
            raise
        part = pending.result()
        if provider is None:
            return None
        return customer_ops.add(client, self.fanout, info, part, provider, hashed.get())

    def _customer_call(
        self, customer: CustomerNodeSpec | None, run: Callable[[Any], Any]
    ) -> Future[Any] | None:
        """Start a customer-node call in the background (None without a customer node)."""
        if customer is None:
            return None
        client = self._customers.get(customer)
        return self._pool.submit(run, client)

    def _with_fresh_retry(
        self, key_id: str, group: PrimeOrderGroup, attempt: Callable[[ScalarKeyInfo], Any]
    ) -> Any:
        for _ in range(2):
            result = attempt(self._scalar_info(key_id, group))
            if result is not None:
                return result
            self._public.forget(key_id)  # a node answered from a newer epoch: re-read
        raise NodesUnavailable(0, self.threshold, self.n)

    def _everyone(self, key_id: str, op: str, payload: dict[str, Any]) -> Gathered[dict[str, Any]]:
        def call(node_id: int) -> dict[str, Any]:
            return self.fanout.clients[node_id].call("POST", f"/keys/{key_id}/{op}", payload)

        return self.fanout.everyone(call, operation=op, key_id=key_id)


def _report(got: Gathered[dict[str, Any]]) -> FanoutReport:
    refused = {i: f.code for i, f in got.failures.items() if isinstance(f, NodeRefused)}
    unreachable = tuple(sorted(i for i in got.failures if i not in refused))
    return FanoutReport(tuple(sorted(got.results)), unreachable, refused)
