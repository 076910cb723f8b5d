"""Run N local MPC nodes for development, tests and benchmarks.

``python -m mpc.node.local --dir var/mpc --nodes 3 --base-port 7101`` creates what is
missing (coordinator key pair, one directory per node with config and identity
keys), writes ``cluster.json`` for the coordinator, starts every node as a child
process and stops them on Ctrl-C. Existing directories are reused, so keys
survive restarts. :class:`LocalCluster` is the same thing as a library: tests
start, kill (by PID) and restart individual nodes through it.

``--customer NAME`` (repeatable) also creates and runs a customer node in ``DIR/NAME``
(not in the cluster file; it trusts the same coordinator key) and prints the entry a
tenant would enrol. Library users call :meth:`LocalCluster.add_customer`; nodes are
addressed by provider id (int) or customer name (str) alike.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

import mpc
from mpc.wire import public_hex

from .config import (
    ClusterSpec,
    CustomerNodeSpec,
    NodeEntry,
    init_node,
    load_config,
    load_ed25519_key,
    load_x25519_key,
    new_ed25519_key_file,
    set_cluster_file,
    write_cluster,
)

NodeRef = int | str
"""A provider node's id, or a customer node's name (its directory under the root)."""

COORDINATOR_KEY = "coordinator.key"
CLUSTER_FILE = "cluster.json"
_PROJECT_ROOT = Path(mpc.__file__).resolve().parent.parent


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS just considered free (racy by nature; fine for local use)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalCluster:
    """N node processes on one host, sharing a directory tree (see module docstring)."""

    def __init__(
        self,
        root: Path,
        *,
        nodes: int = 3,
        threshold: int = 2,
        base_port: int | None = None,
        host: str = "127.0.0.1",
        log_level: str = "INFO",
    ) -> None:
        self.root = Path(root).resolve()
        self.n, self.threshold, self.base_port, self.host = nodes, threshold, base_port, host
        self.log_level = log_level
        self.processes: dict[NodeRef, subprocess.Popen[bytes]] = {}
        self.customers: list[str] = []

    @property
    def cluster_file(self) -> Path:
        return self.root / CLUSTER_FILE

    def node_dir(self, node_id: NodeRef) -> Path:
        return self.root / (node_id if isinstance(node_id, str) else f"node{node_id}")

    def db_path(self, node_id: NodeRef) -> Path:
        return load_config(self.node_dir(node_id) / "node.json").db_path

    # -- setup ------------------------------------------------------------------------------

    def prepare(self) -> Path:
        """Create missing keys/configs and (re)write the cluster file; returns its path."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        key_path = self.root / COORDINATOR_KEY
        coordinator = load_ed25519_key(key_path) if key_path.exists() else new_ed25519_key_file(key_path)
        entries = {i: self._prepare_node(i, public_hex(coordinator)) for i in range(1, self.n + 1)}
        spec = ClusterSpec(self.threshold, entries, public_hex(coordinator), None)
        write_cluster(self.cluster_file, spec, COORDINATOR_KEY)
        return self.cluster_file

    def _prepare_node(self, node_id: int, coordinator_hex: str) -> NodeEntry:
        directory = self.node_dir(node_id)
        config_path = directory / "node.json"
        if not config_path.exists():
            port = self.base_port + node_id - 1 if self.base_port else free_port(self.host)
            init_node(
                directory, node_id=node_id, port=port, host=self.host, coordinator_pubkeys=[coordinator_hex]
            )
        set_cluster_file(config_path, f"../{CLUSTER_FILE}")
        config = load_config(config_path)
        identity = load_ed25519_key(config.identity_key_file).public_key()
        x25519 = load_x25519_key(config.x25519_key_file).public_key()
        return NodeEntry(node_id, f"http://{config.host}:{config.port}", identity, x25519)

    def add_customer(self, name: str = "customer", port: int | None = None) -> CustomerNodeSpec:
        """Create (or reuse) a customer node in ``root/name``; returns its enrolment spec."""
        if not name.isidentifier() or name.startswith("node"):
            raise ValueError("customer node names are identifiers not starting with 'node'")
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        key_path = self.root / COORDINATOR_KEY
        coordinator = load_ed25519_key(key_path) if key_path.exists() else new_ed25519_key_file(key_path)
        config_path = self.node_dir(name) / "node.json"
        if not config_path.exists():
            if port is None and self.base_port:  # after the providers' ports
                port = self.base_port + self.n + len(self.customers)
            init_node(
                self.node_dir(name),
                node_id=None,
                port=port or free_port(self.host),
                host=self.host,
                coordinator_pubkeys=[public_hex(coordinator)],
                role="customer",
            )
        if name not in self.customers:
            self.customers.append(name)
        return self.customer_spec(name)

    def customer_spec(self, name: str) -> CustomerNodeSpec:
        config = load_config(self.node_dir(name) / "node.json")
        return CustomerNodeSpec(
            f"http://{config.host}:{config.port}",
            public_hex(load_ed25519_key(config.identity_key_file)),
            public_hex(load_x25519_key(config.x25519_key_file)),
        )

    # -- processes --------------------------------------------------------------------------

    def start(self, node_id: NodeRef, faults: Iterable[str] = (), *, wait: bool = True) -> int:
        """Start one node (optionally with test faults); returns its PID."""
        if node_id in self.processes and self.processes[node_id].poll() is None:
            raise RuntimeError(f"node {node_id} is already running")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PROJECT_ROOT), env.get("PYTHONPATH")]))
        args = [sys.executable, "-m", "mpc.node", "--config", str(self.node_dir(node_id) / "node.json")]
        args += ["--log-level", self.log_level]
        for fault in faults:
            env["COCKPIT_MPC_TEST_FAULTS"] = "1"
            args += ["--fault", fault]
        with open(self.node_dir(node_id) / "node.log", "ab") as log:
            process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        self.processes[node_id] = process
        if wait:
            self.wait_ready(node_id)
        return process.pid

    def start_all(self, faults: dict[int, list[str]] | None = None) -> None:
        for i in range(1, self.n + 1):
            self.start(i, (faults or {}).get(i, ()), wait=False)
        for i in range(1, self.n + 1):
            self.wait_ready(i)

    def wait_ready(self, node_id: NodeRef, timeout: float = 20.0) -> None:
        """Poll ``GET /health`` until the node answers; fail fast if the process died."""
        config = load_config(self.node_dir(node_id) / "node.json")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[node_id].poll() is not None:
                raise RuntimeError(f"node {node_id} exited; see {self.node_dir(node_id) / 'node.log'}")
            conn = http.client.HTTPConnection(config.host, config.port, timeout=1)
            try:
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.05)
            finally:
                conn.close()
        raise RuntimeError(f"node {node_id} did not become ready in {timeout} s")

    def pid(self, node_id: NodeRef) -> int:
        return self.processes[node_id].pid

    def is_running(self, node_id: NodeRef) -> bool:
        process = self.processes.get(node_id)
        return process is not None and process.poll() is None

    def stop(self, node_id: NodeRef, *, sig: int = signal.SIGTERM, timeout: float = 5.0) -> None:
        """Signal one node by PID and reap it (SIGKILL if it does not exit in time)."""
        process = self.processes.get(node_id)
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()

    def kill(self, node_id: NodeRef) -> None:
        """SIGKILL: the node gets no chance to clean up, like a crash."""
        self.stop(node_id, sig=signal.SIGKILL)

    def stop_all(self) -> None:
        for node_id in list(self.processes):
            self.stop(node_id)

    def __enter__(self) -> LocalCluster:
        self.prepare()
        self.start_all()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_all()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mpc.node.local", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("var/mpc"))
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--threshold", type=int, default=2)
    parser.add_argument("--base-port", type=int, default=7101)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--customer", action="append", default=[], metavar="NAME", help="also run a customer node"
    )
    args = parser.parse_args(argv)
    cluster = LocalCluster(
        args.dir, nodes=args.nodes, threshold=args.threshold, base_port=args.base_port, host=args.host
    )
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    cluster.prepare()
    specs = {name: cluster.add_customer(name) for name in args.customer}
    try:
        cluster.start_all()
        print(
            f"{args.nodes} MPC nodes up (t={args.threshold}); cluster file: {cluster.cluster_file}",
            flush=True,
        )
        for name, spec in specs.items():
            cluster.start(name)
            print(f"customer node {name!r} up; enrol it with: {json.dumps(spec.to_json())}", flush=True)
        while all(cluster.is_running(i) for i in cluster.processes):
            time.sleep(0.5)
        print("a node exited; stopping the others (see its node.log)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        cluster.stop_all()


if __name__ == "__main__":
    sys.exit(main())
