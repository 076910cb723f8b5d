"""Test harness around a real local MPC cluster (shared by the node and backend tests).

Nodes are started and stopped by PID through :class:`mpc.node.local.LocalCluster`.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mpc.coordinator import Coordinator, Misbehaviour
from mpc.node.config import ClusterSpec, CustomerNodeSpec, load_cluster, load_config, load_ed25519_key
from mpc.node.local import LocalCluster, NodeRef
from mpc.node.masterkey import FileMasterKey
from mpc.node.store import ShareStore
from mpc.wire import (
    HDR_CALLER,
    HDR_NONCE,
    HDR_SIGNATURE,
    HDR_TIMESTAMP,
    b64e,
    new_nonce,
    public_hex,
    request_message,
)


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Harness:
    cluster: LocalCluster
    reports: list[Misbehaviour] = field(default_factory=list)
    faults: dict[NodeRef, tuple[str, ...]] = field(default_factory=dict)
    coordinators: list[Coordinator] = field(default_factory=list)

    @property
    def spec(self) -> ClusterSpec:
        return load_cluster(self.cluster.cluster_file)

    @property
    def coordinator_key(self) -> Ed25519PrivateKey:
        return load_ed25519_key(self.cluster.root / "coordinator.key")

    def coordinator(self, nodes: tuple[int, ...] | None = None, **options: Any) -> Coordinator:
        """A coordinator over all nodes, or over a subset (to pin which t nodes answer)."""
        spec = self.spec
        if nodes is not None:
            spec = ClusterSpec(
                spec.threshold, {i: spec.nodes[i] for i in nodes}, spec.coordinator_public_key, None
            )
        coordinator = Coordinator(spec, self.coordinator_key, on_misbehaviour=self.reports.append, **options)
        self.coordinators.append(coordinator)
        return coordinator

    def restart(self, node_id: NodeRef, faults: tuple[str, ...] = ()) -> None:
        self.cluster.stop(node_id)
        self.cluster.start(node_id, faults)
        self.faults[node_id] = faults

    def ensure_healthy(self) -> None:
        for node_id in [*range(1, self.cluster.n + 1), *self.cluster.customers]:
            if not self.cluster.is_running(node_id) or self.faults.get(node_id):
                self.restart(node_id)

    def customer(self, name: str = "customer") -> CustomerNodeSpec:
        """A customer node process (a 4th node, not in the cluster file), started on first use."""
        spec = self.cluster.add_customer(name)
        if not self.cluster.is_running(name):
            self.cluster.start(name)
        return spec

    @contextmanager
    def store(self, node_id: NodeRef) -> Iterator[ShareStore]:
        """A node's share store opened from the test process (with the node's master key)."""
        config = load_config(self.cluster.node_dir(node_id) / "node.json")
        store = ShareStore(config.db_path, FileMasterKey(config.master_key_file), config.node_id)
        try:
            yield store
        finally:
            store.close()

    def has_share(self, node_id: NodeRef, key_id: str) -> bool:
        with self.store(node_id) as store:
            return store.has_share_row(key_id)

    def payload(self, node_id: NodeRef, key_id: str) -> dict[str, Any]:
        with self.store(node_id) as store:
            return store.load(key_id)[1]

    def secret(self, node_id: NodeRef, key_id: str) -> int:
        """A node's current secret scalar for a key (share, or a customer node's k_c), as a node reads it."""
        return int.from_bytes(base64.b64decode(self.payload(node_id, key_id)["secret"]), "little")

    def raw(
        self,
        node_id: NodeRef,
        path: str,
        payload: dict[str, Any] | None = None,
        *,
        key: Ed25519PrivateKey | None = None,
        timestamp: int | None = None,
        nonce: str | None = None,
        body: bytes | None = None,
        signed_for: int | str | None = None,
        method: str = "POST",
    ) -> Reply:
        """Hand-built signed request, for the authentication tests."""
        key = key or self.coordinator_key
        data = body if body is not None else json.dumps(payload or {}).encode()
        ts = int(time.time()) if timestamp is None else timestamp
        nonce = nonce or new_nonce()
        message = request_message(method, path, signed_for or self.audience(node_id), ts, nonce, data)
        headers = {
            HDR_CALLER: public_hex(key),
            HDR_TIMESTAMP: str(ts),
            HDR_NONCE: nonce,
            HDR_SIGNATURE: b64e(key.sign(message)),
            "Content-Type": "application/json",
        }
        return self.send(node_id, method, path, data, headers)

    def audience(self, node_id: NodeRef) -> int | str:
        """What a request to this node is signed for (a customer node's is derived from its key)."""
        return self.cluster.customer_spec(node_id).audience if isinstance(node_id, str) else node_id

    def send(self, node_id: NodeRef, method: str, path: str, data: bytes, headers: dict[str, str]) -> Reply:
        config = load_config(self.cluster.node_dir(node_id) / "node.json")
        conn = http.client.HTTPConnection(config.host, config.port, timeout=5)
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            return Reply(response.status, json.loads(raw), dict(response.getheaders()))
        finally:
            conn.close()


def start_cluster(root: Path) -> Harness:
    """Prepare and start a 2-of-3 cluster under ``root`` (ports picked free)."""
    cluster = LocalCluster(root, nodes=3, threshold=2, log_level="WARNING")
    cluster.prepare()
    cluster.start_all()
    return Harness(cluster)


def stop_cluster(harness: Harness) -> None:
    for coordinator in harness.coordinators:
        coordinator.close()
    harness.cluster.stop_all()


@contextmanager
def running_cluster(tmp_path_factory: Any, name: str) -> Iterator[Harness]:
    """A started cluster in a fresh temporary directory, stopped (by PID) on the way out."""
    harness = start_cluster(Path(tmp_path_factory.mktemp(name)))
    try:
        yield harness
    finally:
        stop_cluster(harness)


def prefer(coordinator: Coordinator, *node_ids: int) -> None:
    """Make the coordinator rank these nodes first (it ranks by observed latency)."""
    for node_id, client in coordinator.fanout.clients.items():
        client.stats.latency = 0.0 if node_id in node_ids else 10.0
