"""Parallel calls to nodes: pick the best t, replace any that fail, report misbehaviour.

``gather`` starts ``need`` calls at once on the best-ranked nodes. Whenever one fails
(down, refused, or misbehaving), the next candidate is started, until ``need`` calls
succeeded or nobody is left. Calls still running when enough answers arrived are
left to finish in the background; their results are ignored.

Ranking: nodes that misbehaved in the last 5 minutes go last, nodes that failed in
the last 30 seconds just before them, and the rest by EWMA latency. A misbehaving
node is still used as a last resort: every answer is verified anyway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from mpc.crypto.errors import MpcError
from mpc.crypto.tprf import CUSTOMER_NODE_ID

from .errors import InvalidRequest, KeyDisabled, KeyNotFound, NodesUnavailable
from .transport import NodeCallError, NodeClient, NodeMisbehaved, NodeRefused
from .types import Misbehaviour

log = logging.getLogger("mpc.coordinator")
_FAILURE_PENALTY_SECONDS = 30.0
_MISBEHAVIOUR_PENALTY_SECONDS = 300.0


@dataclass
class Gathered[T]:
    results: dict[int, T] = field(default_factory=dict)
    failures: dict[int, NodeCallError] = field(default_factory=dict)

    def refused(self, *codes: str) -> list[int]:
        return [i for i, f in self.failures.items() if isinstance(f, NodeRefused) and f.code in codes]

    def misbehaved(self) -> list[int]:
        return [i for i, f in self.failures.items() if isinstance(f, NodeMisbehaved)]


class Fanout:
    """Runs per-node calls on a shared thread pool (see module docstring)."""

    def __init__(
        self,
        clients: Mapping[int, NodeClient],
        pool: ThreadPoolExecutor,
        hook: Callable[[Misbehaviour], None] | None,
    ) -> None:
        self.clients = clients
        self._pool = pool
        self._hook = hook

    def use_pool(self, pool: ThreadPoolExecutor) -> None:
        """Run calls on ``pool`` from now on (a forked child replaces the parent's pool)."""
        self._pool = pool

    def ranked(self, exclude: Iterable[int] = ()) -> list[int]:
        now, skip = time.monotonic(), set(exclude)

        def score(node_id: int) -> tuple[int, float, int]:
            stats = self.clients[node_id].stats
            penalty = 2 if now - stats.last_misbehaviour < _MISBEHAVIOUR_PENALTY_SECONDS else 0
            penalty = penalty or (1 if now - stats.last_failure < _FAILURE_PENALTY_SECONDS else 0)
            return penalty, stats.latency if stats.latency is not None else 0.0, node_id

        return sorted((i for i in self.clients if i not in skip), key=score)

    def gather[T](
        self,
        call: Callable[[int], T],
        need: int,
        *,
        operation: str,
        key_id: str | None,
        candidates: list[int] | None = None,
        width: int | None = None,
        enough: Callable[[dict[int, T]], bool] | None = None,
    ) -> Gathered[T]:
        """Call nodes until ``need`` succeed (or ``enough(results)``), replacing failures."""
        queue = list(self.ranked() if candidates is None else candidates)
        done_when = enough or (lambda results: len(results) >= need)
        out: Gathered[T] = Gathered()
        running: dict[Future[T], int] = {}
        for _ in range(min(width or need, len(queue))):
            node_id = queue.pop(0)
            running[self._pool.submit(self._guarded, call, node_id)] = node_id
        while running and not done_when(out.results):
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                node_id = running.pop(future)
                self._collect(future, node_id, out, operation, key_id)
            while queue and not done_when(out.results) and len(out.results) + len(running) < need:
                node_id = queue.pop(0)
                running[self._pool.submit(self._guarded, call, node_id)] = node_id
        return out

    def everyone[T](
        self,
        call: Callable[[int], T],
        *,
        operation: str,
        key_id: str | None,
        nodes: Iterable[int] | None = None,
    ) -> Gathered[T]:
        """Call every listed node (default: all) in parallel and wait for all of them."""
        targets = list(self.clients if nodes is None else nodes)
        futures = {self._pool.submit(self._guarded, call, i): i for i in targets}
        out: Gathered[T] = Gathered()
        for future, node_id in futures.items():
            future.exception()  # wait; per-call timeouts bound this
            self._collect(future, node_id, out, operation, key_id)
        return out

    def report(self, node_id: int, operation: str, key_id: str | None, reason: str) -> None:
        """Penalise the node and tell the control plane (hook errors are logged, not raised)."""
        self.clients[node_id].stats.last_misbehaviour = time.monotonic()
        log.warning("MPC node %s misbehaved during %s: %s", node_id, operation, reason)
        if self._hook is None:
            return
        try:
            self._hook(Misbehaviour(node_id, operation, key_id, reason))
        except Exception:
            log.exception("misbehaviour hook failed")

    def report_customer(self, url: str, operation: str, key_id: str | None, reason: str) -> None:
        """Like :meth:`report`, for a customer node (node id 0, named by its URL)."""
        log.warning("MPC customer node %s misbehaved during %s: %s", url, operation, reason)
        if self._hook is None:
            return
        try:
            self._hook(Misbehaviour(CUSTOMER_NODE_ID, operation, key_id, reason, customer=url))
        except Exception:
            log.exception("misbehaviour hook failed")

    def _guarded[T](self, call: Callable[[int], T], node_id: int) -> T:
        """Anything but a NodeCallError escaping a call means the node's answer was unusable."""
        try:
            return call(node_id)
        except NodeCallError:
            raise
        except (ValueError, KeyError, TypeError, ArithmeticError, MpcError) as exc:
            raise NodeMisbehaved(node_id, f"unusable answer ({type(exc).__name__})") from None

    def _collect[T](
        self, future: Future[T], node_id: int, out: Gathered[T], operation: str, key_id: str | None
    ) -> None:
        error = future.exception()
        if error is None:
            out.results[node_id] = future.result()
            return
        if not isinstance(error, NodeCallError):
            raise error
        out.failures[node_id] = error
        if isinstance(error, NodeMisbehaved):
            self.report(node_id, operation, key_id, error.reason)


def raise_for_shortfall[T](gathered: Gathered[T], need: int, total: int) -> None:
    """Turn "fewer than ``need`` answers" into the most specific error.

    A key counts as gone/disabled only if so many nodes say so that fewer than
    ``need`` could still serve it; otherwise it is an availability problem.
    """
    cannot_serve = total - need
    if len(gathered.refused("key_not_found", "key_destroyed")) > cannot_serve:
        raise KeyNotFound()
    if len(gathered.refused("key_disabled", "key_held", "key_not_found", "key_destroyed")) > cannot_serve:
        raise KeyDisabled()
    if len(gathered.refused("bad_request", "invalid_input")) > cannot_serve:
        raise InvalidRequest("the MPC nodes rejected the request")
    raise NodesUnavailable(len(gathered.results), need, total)
