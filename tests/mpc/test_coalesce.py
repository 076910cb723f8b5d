"""The coalescer on its own: batching, ordering, error fan-out, limits, key isolation, fork reset.

The evaluation function here is a plain function the tests control (the coalescer's
injected dependency); ``tests/keys/backends/test_mpc_coalescing.py`` runs the same
machinery against real node processes.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

import pytest

from mpc.coordinator import CoordinatorError
from mpc.coordinator.coalesce import Coalescer

Key = str


def digest(x: bytes) -> bytes:
    return hashlib.sha256(x).digest()


class Recorder:
    """An evaluation function that records its batches and can be held back per key."""

    def __init__(
        self, fail: Callable[[list[bytes]], BaseException | None] = lambda xs: None, delay: float = 0.0
    ) -> None:
        self.delay = delay
        self.batches: list[tuple[Key, list[bytes]]] = []
        self.gates: dict[Key, threading.Event] = {}
        self.running: dict[Key, int] = {}
        self.peak: dict[Key, int] = {}
        self.lock = threading.Lock()
        self.fail = fail

    def __call__(self, key: Key, inputs: list[bytes]) -> list[bytes]:
        with self.lock:
            self.batches.append((key, list(inputs)))
            self.running[key] = self.running.get(key, 0) + 1
            self.peak[key] = max(self.peak.get(key, 0), self.running[key])
        try:
            gate = self.gates.get(key)
            if gate is not None:
                assert gate.wait(10), "test gate never opened"
            time.sleep(self.delay)  # like a round trip: other callers arrive meanwhile
            error = self.fail(inputs)
            if error is not None:
                raise error
            return [digest(x) for x in inputs]
        finally:
            with self.lock:
                self.running[key] -= 1


def run_threads(count: int, target: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
        assert not thread.is_alive(), "a caller never returned"


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)


def test_a_lone_call_runs_at_once_as_its_own_batch() -> None:
    recorder = Recorder()
    coalescer: Coalescer[Key] = Coalescer(recorder, max_batch=64)
    assert coalescer.evaluate("k", [b"a", b"b"]) == [digest(b"a"), digest(b"b")]
    assert recorder.batches == [("k", [b"a", b"b"])]
    stats = coalescer.stats()
    assert (stats.calls, stats.batches, stats.inputs) == (1, 1, 2)


def test_callers_queued_behind_a_running_batch_share_the_next_one_and_get_their_own_outputs() -> None:
    recorder = Recorder()
    recorder.gates["k"] = gate = threading.Event()
    coalescer: Coalescer[Key] = Coalescer(recorder, max_batch=64, max_in_flight=1)
    results: dict[int, list[bytes]] = {}
    first = threading.Thread(target=lambda: results.setdefault(-1, coalescer.evaluate("k", [b"first"])))
    first.start()
    wait_until(lambda: len(recorder.batches) == 1)  # the first batch is running and held

    def call(i: int) -> None:
        inputs = [f"{i}-{j}".encode() for j in range(i % 3 + 1)]
        results[i] = coalescer.evaluate("k", inputs)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    wait_until(lambda: coalescer.stats().calls == 21)
    gate.set()
    for thread in [first, *threads]:
        thread.join(20)
    assert results[-1] == [digest(b"first")]
    for i in range(20):
        assert results[i] == [digest(f"{i}-{j}".encode()) for j in range(i % 3 + 1)]
    assert len(recorder.batches) == 2  # everything queued went in one batch
    assert sorted(recorder.batches[1][1]) == sorted(
        f"{i}-{j}".encode() for i in range(20) for j in range(i % 3 + 1)
    )


def test_batches_respect_max_batch_and_max_in_flight() -> None:
    recorder = Recorder()
    recorder.gates["k"] = gate = threading.Event()
    coalescer: Coalescer[Key] = Coalescer(recorder, max_batch=5, max_in_flight=2)
    results: dict[int, list[bytes]] = {}
    threads = [
        threading.Thread(target=lambda i=i: results.setdefault(i, coalescer.evaluate("k", [bytes([i])])))
        for i in range(30)
    ]
    for thread in threads:
        thread.start()
    wait_until(lambda: coalescer.stats().calls == 30)
    assert len(recorder.batches) == 2  # two running, held; the rest wait
    gate.set()
    for thread in threads:
        thread.join(20)
    assert all(results[i] == [digest(bytes([i]))] for i in range(30))
    assert max(len(inputs) for _, inputs in recorder.batches) <= 5
    assert recorder.peak["k"] == 2
    assert sum(len(inputs) for _, inputs in recorder.batches) == 30


def test_an_oversized_call_bypasses_the_queue_in_one_batch() -> None:
    recorder = Recorder()
    coalescer: Coalescer[Key] = Coalescer(recorder, max_batch=4)
    inputs = [bytes([i]) for i in range(9)]
    assert coalescer.evaluate("k", inputs) == [digest(x) for x in inputs]
    assert recorder.batches == [("k", inputs)]


class BatchFailed(Exception):
    pass


def test_a_failed_batch_raises_its_error_in_every_caller_and_the_key_recovers() -> None:
    failing = {"on": True}
    recorder = Recorder(fail=lambda xs: BatchFailed("nodes down") if failing["on"] else None)
    recorder.gates["k"] = gate = threading.Event()
    coalescer: Coalescer[Key] = Coalescer(recorder, max_batch=64, max_in_flight=1)
    errors: dict[int, BaseException] = {}

    def call(i: int) -> None:
        try:
            coalescer.evaluate("k", [bytes([i])])
        except BaseException as exc:
            errors[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    wait_until(lambda: coalescer.stats().calls == 12)
    gate.set()
    for thread in threads:
        thread.join(20)
    assert sorted(errors) == list(range(12))
    assert all(type(exc) is BatchFailed for exc in errors.values())
    assert len(recorder.batches) == 2 and len(recorder.batches[1][1]) == 11
    assert (
        errors[recorder.batches[1][1][0][0]] is errors[recorder.batches[1][1][-1][0]]
    )  # one error per batch
    failing["on"] = False
    assert coalescer.evaluate("k", [b"again"]) == [digest(b"again")]


def test_an_interrupted_leader_keeps_its_interrupt_and_the_others_get_a_coordinator_error() -> None:
    recorder = Recorder(fail=lambda xs: KeyboardInterrupt() if b"leader" in xs else None)
    recorder.gates["k"] = gate = threading.Event()
    coalescer: Coalescer[Key] = Coalescer(recorder, max_batch=64, max_in_flight=1)
    errors: dict[str, BaseException] = {}

    def call(name: str) -> None:
        try:
            coalescer.evaluate("k", [name.encode()])
        except BaseException as exc:
            errors[name] = exc

    first = threading.Thread(target=call, args=("first",))
    first.start()
    wait_until(lambda: len(recorder.batches) == 1)
    threads = [threading.Thread(target=call, args=(name,)) for name in ("leader", "follower")]
    for queued, thread in enumerate(threads, start=2):  # "leader" queues first, so it leads
        thread.start()
        wait_until(lambda queued=queued: coalescer.stats().calls == queued)
    gate.set()
    for thread in [first, *threads]:
        thread.join(10)
    assert "first" not in errors
    assert type(errors["leader"]) is KeyboardInterrupt
    assert type(errors["follower"]) is CoordinatorError
    assert coalescer.evaluate("k", [b"later"]) == [digest(b"later")]  # the slot was not lost


def test_a_slow_key_does_not_hold_up_another_key() -> None:
    recorder = Recorder()
    recorder.gates["slow"] = gate = threading.Event()
    coalescer: Coalescer[Key] = Coalescer(recorder, max_batch=64, max_in_flight=1)
    slow = threading.Thread(target=lambda: coalescer.evaluate("slow", [b"s"]))
    slow.start()
    wait_until(lambda: len(recorder.batches) == 1)
    started = time.monotonic()
    assert coalescer.evaluate("fast", [b"f"]) == [digest(b"f")]
    assert time.monotonic() - started < 5
    assert slow.is_alive()  # still held: the fast key went past it
    gate.set()
    slow.join(10)
    assert not slow.is_alive()


def test_a_wrong_number_of_outputs_is_an_error_not_a_mixup() -> None:
    coalescer: Coalescer[Key] = Coalescer(lambda key, xs: [b"x"] * (len(xs) + 1), max_batch=8)
    with pytest.raises(RuntimeError, match="different number of outputs"):
        coalescer.evaluate("k", [b"a"])


def test_after_fork_in_child_forgets_the_parents_queues() -> None:
    recorder = Recorder()
    recorder.gates["k"] = gate = threading.Event()
    coalescer: Coalescer[Key] = Coalescer(recorder, max_batch=8, max_in_flight=1)
    held = threading.Thread(target=lambda: coalescer.evaluate("k", [b"held"]))
    held.start()
    wait_until(lambda: len(recorder.batches) == 1)
    # As in a child forked now: the running leader does not exist there. Without the
    # reset this call would queue behind it for ever.
    coalescer.after_fork_in_child()
    recorder.gates.clear()
    assert coalescer.evaluate("k", [b"child"]) == [digest(b"child")]
    assert coalescer.stats().calls == 1
    gate.set()
    held.join(10)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Coalescer(lambda key, xs: xs, max_batch=0)
    with pytest.raises(ValueError):
        Coalescer(lambda key, xs: xs, max_batch=4, max_in_flight=0)


def test_many_callers_many_keys_all_get_their_own_outputs() -> None:
    recorder = Recorder(delay=0.002)
    coalescer: Coalescer[Key] = Coalescer(recorder, max_batch=16)
    failures: list[str] = []

    def call(i: int) -> None:
        for j in range(20):
            inputs = [f"{i}/{j}/{n}".encode() for n in range((i + j) % 4 + 1)]
            if coalescer.evaluate(f"key{i % 3}", inputs) != [digest(x) for x in inputs]:
                failures.append(f"{i}/{j}")

    run_threads(24, call)
    assert failures == []
    stats = coalescer.stats()
    assert stats.calls == 24 * 20
    assert stats.batches < stats.calls
    assert all(len(inputs) <= 16 for _, inputs in recorder.batches)
