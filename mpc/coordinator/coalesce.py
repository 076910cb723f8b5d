"""Merge concurrent evaluations of one key into shared batches (group commit, no added delay).

Why: an evaluation costs a signed round trip to t nodes, and a node answers a batch
of inputs with one batched DLEQ proof. With many request threads using one key at
once (a threaded server), one round trip per call spends most of the CPU on per-call
overhead. :class:`Coalescer` runs the calls of one key as a few batches instead:

* A call that finds fewer than ``max_in_flight`` batches of its key running starts a
  batch at once, with whatever is queued (usually only itself): a lone call pays no
  extra latency.
* A call that finds the key busy queues up and sleeps. When a batch finishes, its
  leader hands the free slot to the first queued call, which wakes and runs the next
  batch with everything queued by then (at most ``max_batch`` inputs).
* Every caller gets exactly its own outputs, in order. If the batch fails, every
  caller of that batch gets the batch's exception (the same object), so the caller's
  own error mapping sees what it would have seen alone. (If the leader is interrupted
  by a ``BaseException`` such as ``KeyboardInterrupt``, only the leader gets it; the
  others get a :class:`CoordinatorError`.)

Keys are independent: a slow batch of one key holds only that key's slots. The lock
is held only to queue and to hand over, never while a batch runs. Each waiting call
blocks on a lock of its own (a one-shot signal, cheaper than an Event), so a finished
batch wakes only its own callers. In a forked child (see :mod:`.forksafe`) the
inherited queues are dropped: their threads did not follow.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

from . import forksafe
from .errors import CoordinatorError


class _Call:
    """One caller's inputs and, once its batch is done, its outputs or the batch's error."""

    __slots__ = ("done", "error", "inputs", "lead", "outputs")

    def __init__(self, inputs: Sequence[bytes]) -> None:
        self.inputs = inputs
        self.done = threading.Lock()  # held until the call may go on: a one-shot signal
        self.done.acquire()
        self.lead = False  # set (under the lock) when this call must run the next batch
        self.outputs: list[bytes] | None = None
        self.error: BaseException | None = None

    def result(self) -> list[bytes]:
        if self.error is not None:
            raise self.error
        assert self.outputs is not None
        return self.outputs


@dataclass(eq=False)
class _Lane:
    """One key's queue and how many of its batches are running."""

    queue: deque[_Call] = field(default_factory=deque)
    running: int = 0


@dataclass
class CoalescerStats:
    """Counters since start (or the last fork): calls made, batches run, inputs evaluated."""

    calls: int = 0
    batches: int = 0
    inputs: int = 0

    @property
    def mean_batch(self) -> float:
        """Average inputs per batch."""
        return self.inputs / self.batches if self.batches else 0.0


class Coalescer[K: Hashable]:
    """Runs ``evaluate(key, inputs)`` for concurrent callers of one key in shared batches.

    ``evaluate`` must return one output per input, in order. Calls with ``max_batch``
    inputs or more bypass the queue (they are a batch already).
    """

    def __init__(
        self,
        evaluate: Callable[[K, list[bytes]], list[bytes]],
        *,
        max_batch: int,
        max_in_flight: int = 2,
    ) -> None:
        if max_batch < 1 or max_in_flight < 1:
            raise ValueError("max_batch and max_in_flight must be at least 1")
        self._evaluate = evaluate
        self.max_batch, self.max_in_flight = max_batch, max_in_flight
        self._reset()
        forksafe.register(self)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._lanes: dict[K, _Lane] = {}
        self._stats = CoalescerStats()

    def after_fork_in_child(self) -> None:
        """The parent's queued callers and running leaders do not exist in the child."""
        self._reset()

    def stats(self) -> CoalescerStats:
        with self._lock:
            return CoalescerStats(self._stats.calls, self._stats.batches, self._stats.inputs)

    def evaluate(self, key: K, inputs: Sequence[bytes]) -> list[bytes]:
        """This caller's outputs, computed alone or as part of a batch with concurrent callers."""
        if not inputs or len(inputs) >= self.max_batch:  # nothing to share (an empty call fails alone)
            with self._lock:
                self._count(calls=1, batches=1, inputs=len(inputs))
            return self._checked(key, list(inputs))
        call = _Call(inputs)
        with self._lock:
            self._stats.calls += 1
            lane = self._lanes.get(key)
            if lane is None:
                lane = self._lanes[key] = _Lane()
            if lane.running < self.max_in_flight:
                lane.running += 1
                call.lead = True
            else:
                lane.queue.append(call)
        if not call.lead:
            self._wait(key, lane, call)
        if call.lead:
            self._lead(key, lane, call)
        return call.result()

    # -- internals ------------------------------------------------------------------------------

    def _wait(self, key: K, lane: _Lane, call: _Call) -> None:
        """Sleep until this call's batch finished or this call was made the next leader."""
        try:
            call.done.acquire()
        except BaseException:  # e.g. KeyboardInterrupt: leave the queue without losing a slot
            with self._lock:
                queued = call in lane.queue
                if queued:
                    lane.queue.remove(call)
            if not queued and call.lead:  # made leader but will not run: pass the slot on
                self._hand_over(key, lane)
            raise

    def _lead(self, key: K, lane: _Lane, first: _Call) -> None:
        """Run one batch: ``first`` plus what is queued, within ``max_batch`` inputs."""
        with self._lock:
            batch, size = [first], len(first.inputs)
            while lane.queue and size + len(lane.queue[0].inputs) <= self.max_batch:
                queued = lane.queue.popleft()
                batch.append(queued)
                size += len(queued.inputs)
            self._count(batches=1, inputs=size)
        try:
            outputs = self._checked(key, [x for call in batch for x in call.inputs])
        except BaseException as exc:
            # KeyboardInterrupt, SystemExit...: the leader's own business; the others only
            # learn that their batch did not complete.
            shared = (
                exc if isinstance(exc, Exception) else CoordinatorError("the shared batch was interrupted")
            )
            for call in batch:
                call.error = shared
            first.error = exc
        else:
            start = 0
            for call in batch:
                call.outputs = outputs[start : start + len(call.inputs)]
                start += len(call.inputs)
        finally:
            try:
                self._hand_over(key, lane)
            finally:
                for call in batch[1:]:
                    call.done.release()

    def _hand_over(self, key: K, lane: _Lane) -> None:
        """A batch slot is free: give it to the first queued call, or release it."""
        with self._lock:
            if lane.queue:
                successor: _Call | None = lane.queue.popleft()
                assert successor is not None
                successor.lead = True
            else:
                successor = None
                lane.running -= 1
                if not lane.running and self._lanes.get(key) is lane:
                    del self._lanes[key]
        if successor is not None:
            successor.done.release()

    def _checked(self, key: K, inputs: list[bytes]) -> list[bytes]:
        outputs = self._evaluate(key, inputs)
        if len(outputs) != len(inputs):
            raise RuntimeError("evaluation returned a different number of outputs than inputs")
        return outputs

    def _count(self, *, calls: int = 0, batches: int = 0, inputs: int = 0) -> None:
        """Caller holds the lock."""
        self._stats.calls += calls
        self._stats.batches += batches
        self._stats.inputs += inputs
