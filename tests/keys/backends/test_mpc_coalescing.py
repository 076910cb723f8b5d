"""Concurrent AES use of one MPC key shares threshold-PRF round trips, against real node processes.

What must hold: every caller gets its own, correct key (ciphertexts decrypt, also with
a backend that never batched them); concurrent calls cost fewer node requests than
calls (counted by the coordinator's per-node ``NodeStats``); an error of a shared batch
reaches every caller as the error a lone call raises; a lone call is a batch of its
own; and a forked child (gunicorn's workers) can use a backend its parent used.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from keys.backends import AeadCiphertext, BackendUnavailable, KeySpec
from keys.backends.mpc import CustomerNodeRequired, CustomerNodeSpec, KeyDisabledAtNodes, MpcBackend
from mpc.coordinator import Coordinator
from tests.mpc.node.harness import Harness, running_cluster

THREADS = 16


@pytest.fixture(scope="module")
def mpc_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with running_cluster(tmp_path_factory, "mpc-coalescing") as harness:
        yield harness


@pytest.fixture(autouse=True)
def healthy(mpc_cluster: Harness) -> Harness:
    mpc_cluster.ensure_healthy()
    return mpc_cluster


@dataclass
class Outcome:
    results: dict[int, object] = field(default_factory=dict)
    errors: dict[int, BaseException] = field(default_factory=dict)


def concurrently(count: int, work: Callable[[int], object]) -> Outcome:
    """Run ``work(i)`` on ``count`` threads released together by a barrier."""
    barrier = threading.Barrier(count)
    outcome = Outcome()

    def run(i: int) -> None:
        barrier.wait()
        try:
            outcome.results[i] = work(i)
        except BaseException as exc:
            outcome.errors[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive(), "a caller never returned"
    return outcome


def node_requests(coordinator: Coordinator) -> int:
    return sum(client.stats.requests for client in coordinator.fanout.clients.values())


@dataclass
class Counted:
    """Coalescer and node-request counters over a block of work."""

    backend: MpcBackend
    coordinator: Coordinator
    calls: int = 0
    batches: int = 0
    requests: int = 0

    def __enter__(self) -> Counted:
        stats = self.backend.prf_stats()
        self._start = (stats.calls, stats.batches, node_requests(self.coordinator))
        return self

    def __exit__(self, *exc: object) -> None:
        stats = self.backend.prf_stats()
        self.calls = stats.calls - self._start[0]
        self.batches = stats.batches - self._start[1]
        self.requests = node_requests(self.coordinator) - self._start[2]


def new_backend(harness: Harness, customer: CustomerNodeSpec | None = None) -> tuple[MpcBackend, Coordinator]:
    coordinator = harness.coordinator()
    return MpcBackend(coordinator, customer_for=lambda handle: customer), coordinator


def message(i: int, j: int) -> tuple[bytes, bytes]:
    return f"plaintext {i}/{j}".encode() * (1 + j % 3), f"aad {i}/{j}".encode()


def test_concurrent_encrypts_share_round_trips_and_each_caller_gets_its_own_key(mpc_cluster: Harness) -> None:
    backend, coordinator = new_backend(mpc_cluster)
    handle = backend.generate(spec=KeySpec.AES_256, label="coalesced").handle
    backend.encrypt(handle, plaintext=b"warm", aad=b"")  # public data cached: from now on PRF calls only

    def encrypt_eight(i: int) -> list[AeadCiphertext]:
        return [backend.encrypt(handle, plaintext=message(i, j)[0], aad=message(i, j)[1]) for j in range(8)]

    with Counted(backend, coordinator) as counted:
        sealed = concurrently(THREADS, encrypt_eight)
    assert sealed.errors == {}
    assert counted.calls == THREADS * 8
    assert counted.batches < counted.calls // 2  # calls were merged
    assert counted.requests == coordinator.threshold * counted.batches < counted.calls

    def decrypt_someone_elses(i: int) -> list[bytes]:
        owner = (i + 5) % THREADS
        ciphertexts = sealed.results[owner]
        assert isinstance(ciphertexts, list)
        return [
            backend.decrypt(handle, ciphertext=c, aad=message(owner, j)[1]) for j, c in enumerate(ciphertexts)
        ]

    with Counted(backend, coordinator) as counted:
        opened = concurrently(THREADS, decrypt_someone_elses)
    assert opened.errors == {}
    for i, plaintexts in opened.results.items():
        assert plaintexts == [message((i + 5) % THREADS, j)[0] for j in range(8)]
    assert counted.requests < counted.calls == THREADS * 8
    # A backend that never batches anything derives the very same per-message keys.
    alone, _ = new_backend(mpc_cluster)
    for i in (0, THREADS - 1):
        ciphertexts = sealed.results[i]
        assert isinstance(ciphertexts, list)
        assert alone.decrypt(handle, ciphertext=ciphertexts[3], aad=message(i, 3)[1]) == message(i, 3)[0]


def test_connections_are_kept_alive_and_parallel_batches_use_separate_ones(mpc_cluster: Harness) -> None:
    backend, coordinator = new_backend(mpc_cluster)
    handles = [backend.generate(spec=KeySpec.AES_256, label=f"parallel {k}").handle for k in range(4)]
    clients = coordinator.fanout.clients.values()
    connects = sum(c.stats.connects for c in clients)
    with Counted(backend, coordinator) as counted:
        outcome = concurrently(
            THREADS, lambda i: [backend.encrypt(handles[i % 4], plaintext=b"p", aad=b"") for _ in range(6)]
        )
    assert outcome.errors == {}
    opened = sum(c.stats.connects for c in clients) - connects
    assert opened < counted.requests // 4  # keep-alive: most requests reuse a connection
    # Four keys' batches overlap in time: a busy node got more than one connection at
    # once instead of one connection that a lock would serialise.
    assert max(c.stats.connects for c in clients) >= 2


def test_concurrent_first_uses_of_a_key_fetch_its_public_data_once(mpc_cluster: Harness) -> None:
    maker, _ = new_backend(mpc_cluster)
    handle = maker.generate(spec=KeySpec.AES_256, label="cold").handle
    backend, coordinator = new_backend(mpc_cluster)  # has never seen the key
    with Counted(backend, coordinator) as counted:
        outcome = concurrently(THREADS, lambda i: backend.encrypt(handle, plaintext=b"p", aad=b""))
    assert outcome.errors == {}
    public_requests = counted.requests - coordinator.threshold * counted.batches
    assert 0 < public_requests <= coordinator.n  # one agreed read, not one per caller


def test_mixed_aes_operations_in_shared_batches_all_round_trip(mpc_cluster: Harness) -> None:
    backend, coordinator = new_backend(mpc_cluster)
    handle = backend.generate(spec=KeySpec.AES_256, label="mixed").handle
    backend.encrypt(handle, plaintext=b"warm", aad=b"")

    def mixed(i: int) -> bool:
        for j in range(4):
            if i % 3 == 0:
                items = [message(i, j), message(i, j + 10), message(i, j + 20)]
                sealed = backend.encrypt_many(handle, items)
                got = [
                    backend.decrypt(handle, ciphertext=c, aad=a)
                    for c, (_, a) in zip(sealed, items, strict=True)
                ]
                assert got == [p for p, _ in items]
            elif i % 3 == 1:
                material = bytes([i, j]) * 16
                assert backend.unwrap(handle, wrapped=backend.wrap(handle, key_material=material)) == material
            else:
                plaintext, aad = message(i, j)
                sealed_one = backend.encrypt(handle, plaintext=plaintext, aad=aad)
                assert backend.decrypt(handle, ciphertext=sealed_one, aad=aad) == plaintext
        return True

    with Counted(backend, coordinator) as counted:
        outcome = concurrently(THREADS, mixed)
    assert outcome.errors == {}
    assert counted.batches < counted.calls


def test_a_lone_call_goes_straight_to_the_nodes_as_its_own_batch(mpc_cluster: Harness) -> None:
    backend, coordinator = new_backend(mpc_cluster)
    handle = backend.generate(spec=KeySpec.AES_256, label="lone").handle
    backend.encrypt(handle, plaintext=b"warm", aad=b"")
    with Counted(backend, coordinator) as counted:
        sealed = backend.encrypt(handle, plaintext=b"alone", aad=b"a")
    assert (counted.calls, counted.batches, counted.requests) == (1, 1, coordinator.threshold)
    assert backend.decrypt(handle, ciphertext=sealed, aad=b"a") == b"alone"


def test_too_few_nodes_reaches_every_waiting_caller_as_backend_unavailable(mpc_cluster: Harness) -> None:
    backend, coordinator = new_backend(mpc_cluster)
    handle = backend.generate(spec=KeySpec.AES_256, label="outage").handle
    sealed = backend.encrypt(handle, plaintext=b"p", aad=b"")
    mpc_cluster.cluster.kill(2)
    mpc_cluster.cluster.kill(3)
    try:
        with Counted(backend, coordinator) as counted:
            outcome = concurrently(THREADS, lambda i: backend.decrypt(handle, ciphertext=sealed, aad=b""))
    finally:
        mpc_cluster.ensure_healthy()
    assert outcome.results == {}
    assert sorted(outcome.errors) == list(range(THREADS))
    for error in outcome.errors.values():
        assert type(error) is BackendUnavailable
        assert "1 of 3 answered usably, 2 needed" in str(error)
    assert counted.batches < counted.calls == THREADS  # the error was shared, not repeated per call
    assert backend.decrypt(handle, ciphertext=sealed, aad=b"") == b"p"


def test_a_key_disabled_at_the_nodes_reaches_every_waiting_caller(mpc_cluster: Harness) -> None:
    backend, coordinator = new_backend(mpc_cluster)
    handle = backend.generate(spec=KeySpec.AES_256, label="disabled").handle
    sealed = backend.encrypt(handle, plaintext=b"p", aad=b"")
    backend.set_enabled(handle, False)
    with Counted(backend, coordinator) as counted:
        outcome = concurrently(THREADS, lambda i: backend.decrypt(handle, ciphertext=sealed, aad=b""))
    assert sorted(outcome.errors) == list(range(THREADS))
    assert all(type(error) is KeyDisabledAtNodes for error in outcome.errors.values())
    assert counted.batches < counted.calls
    backend.set_enabled(handle, True)
    assert backend.decrypt(handle, ciphertext=sealed, aad=b"") == b"p"


def test_a_composed_key_batches_per_customer_node_and_stops_with_it(mpc_cluster: Harness) -> None:
    customer = mpc_cluster.customer("customer")
    backend, coordinator = new_backend(mpc_cluster, customer)
    handle = backend.generate(spec=KeySpec.AES_256, label="composed", customer=customer).handle
    backend.encrypt(handle, plaintext=b"warm", aad=b"")
    with Counted(backend, coordinator) as counted:
        sealed = concurrently(
            THREADS, lambda i: backend.encrypt(handle, plaintext=message(i, 0)[0], aad=b"c")
        )
    assert sealed.errors == {}
    assert counted.batches < counted.calls == THREADS
    for i, ciphertext in sealed.results.items():
        assert isinstance(ciphertext, AeadCiphertext)
        assert backend.decrypt(handle, ciphertext=ciphertext, aad=b"c") == message(i, 0)[0]
    mpc_cluster.cluster.kill("customer")
    try:
        outcome = concurrently(THREADS, lambda i: backend.encrypt(handle, plaintext=b"p", aad=b""))
    finally:
        mpc_cluster.ensure_healthy()
    assert sorted(outcome.errors) == list(range(THREADS))
    for error in outcome.errors.values():
        assert type(error) is CustomerNodeRequired and str(error).endswith("it is unreachable or timed out")


def _child(
    backend: MpcBackend, coordinator: Coordinator, handle: str, sealed: AeadCiphertext, write_fd: int
) -> None:
    """Runs in the forked child: use the backend from several threads, report, never return."""
    report: dict[str, object] = {"ok": False}
    try:
        connects = sum(c.stats.connects for c in coordinator.fanout.clients.values())
        # A lone call first: the parent's idle pool workers do not exist here, and a pool
        # that still counted them would never run this call's node requests.
        fresh = backend.encrypt(handle, plaintext=b"from the child", aad=b"fork")
        outcome = concurrently(8, lambda i: backend.decrypt(handle, ciphertext=sealed, aad=b"fork"))
        report = {
            "ok": outcome.errors == {} and set(outcome.results.values()) == {b"parent data"},
            "errors": sorted({type(e).__name__ for e in outcome.errors.values()}),
            "new_connections": sum(c.stats.connects for c in coordinator.fanout.clients.values()) - connects,
            "iv": fresh.iv.hex(),
            "ciphertext": fresh.ciphertext.hex(),
            "tag": fresh.tag.hex(),
        }
    except BaseException as exc:
        report["errors"] = [type(exc).__name__]
    finally:
        os.write(write_fd, json.dumps(report).encode())
        os._exit(0)


def test_a_forked_child_can_use_the_backend_its_parent_used(mpc_cluster: Harness) -> None:
    backend, coordinator = new_backend(mpc_cluster)
    handle = backend.generate(spec=KeySpec.AES_256, label="fork").handle
    # Used in the parent first: pooled keep-alive connections and coordinator threads exist.
    warm = concurrently(8, lambda i: backend.encrypt(handle, plaintext=b"parent data", aad=b"fork"))
    sealed = warm.results[0]
    assert isinstance(sealed, AeadCiphertext)
    read_fd, write_fd = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # "multi-threaded process": that is the point
        pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(backend, coordinator, handle, sealed, write_fd)
    os.close(write_fd)
    deadline = time.monotonic() + 30
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung using the backend")
        time.sleep(0.02)
    with os.fdopen(read_fd, "rb") as pipe:
        report = json.loads(pipe.read() or b"{}")
    assert report.get("ok") is True, report
    assert isinstance(report["new_connections"], int) and report["new_connections"] >= 1  # none inherited
    made_in_child = AeadCiphertext(
        bytes.fromhex(report["iv"]), bytes.fromhex(report["ciphertext"]), bytes.fromhex(report["tag"])
    )
    assert backend.decrypt(handle, ciphertext=made_in_child, aad=b"fork") == b"from the child"
    assert backend.decrypt(handle, ciphertext=sealed, aad=b"fork") == b"parent data"  # the parent is unharmed
