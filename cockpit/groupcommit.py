"""Group commit for the records every data-plane call leaves (audit events, usage counters, call rows).

A provider call must not be answered before its audit event is committed, but one transaction per call
(and one WAL flush per commit) is what limits a busy server. So concurrent calls share transactions, the
way databases group their own commits:

* A call adds its records (``add(kind, item)``) to the current ``unit()`` (one per request), and the unit
  hands them all to ``commit`` when it ends, before the response is sent.
* ``commit`` queues the records; a thread that finds no flush running becomes the leader, takes every
  queued record of every thread and writes them in one transaction, while the others wait. A lone call
  pays nothing extra; under load one transaction carries the records of many calls.
* The leader writes on the queue's own database connection (one per process, used by one leader at a
  time), not on its thread's: request threads whose reads all come from ``cockpit.readcache`` then open
  no connection at all, so a process can run many threads without exhausting the server's connections.
* If a batch fails, each caller's records are retried in their own transaction, so one bad record fails
  only its own call. A caller whose records could not be written gets the exception: the data-plane call
  fails (its result is never returned unaudited).
* Inside an open transaction (services, tests) records are written there and then, in that transaction
  (under a savepoint), so they roll back with it.

Apps register a writer per kind (``register(kind, writer)``, in ``AppConfig.ready``): it turns a list of
records into one ``bulksql.Statement``. A batch's statements run in registration order in one
transaction; on PostgreSQL they are combined into a single statement (one round trip, committed on its
own in autocommit).
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from cockpit.bulksql import Statement, combine, execute

logger = logging.getLogger(__name__)

Writer = Callable[[list[Any]], Statement]
Record = tuple[str, Any]

_writers: dict[str, Writer] = {}
_unit: contextvars.ContextVar[list[Record] | None] = contextvars.ContextVar(
    "cockpit_groupcommit", default=None
)


def register(kind: str, writer: Writer) -> None:
    """``writer(items)`` returns the statement that stores a list of records of ``kind``."""
    _writers[kind] = writer


def add(kind: str, item: Any) -> None:
    """Store one record: with the current unit, in the caller's open transaction, or at once."""
    if kind not in _writers:
        raise KeyError(f"no group-commit writer registered for {kind!r}")
    pending = _unit.get()
    if pending is not None:
        pending.append((kind, item))
    else:
        commit([(kind, item)])


@contextmanager
def unit() -> Iterator[None]:
    """Collect the records added inside, and commit them (batched with other threads) on the way out,
    also when the block raises: a failed operation is still audited. Inside another unit: part of it."""
    if _unit.get() is not None:
        yield
        return
    pending: list[Record] = []
    token = _unit.set(pending)
    try:
        yield
    finally:
        _unit.reset(token)
        if pending:
            commit(pending)


def commit(records: Sequence[Record]) -> None:
    """Write ``records`` durably before returning; raises what the write raised."""
    if not records:
        return
    if connection.in_atomic_block:  # part of the caller's transaction: commit or roll back with it
        with transaction.atomic():  # a savepoint: a failed write leaves the caller's transaction usable
            execute(_statements(records))
        return
    _queue().commit(list(records))


class RecordsNotWritten(Exception):
    """The shared commit carrying these records was interrupted: they may not have been written."""


class _Ticket:
    __slots__ = ("done", "error", "records")

    def __init__(self, records: list[Record]) -> None:
        self.records = records
        self.done = False
        self.error: BaseException | None = None


class _Queue:
    """Leader/follower batching of tickets; one per process (see ``_queue``)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.cond = threading.Condition()
        self.waiting: list[_Ticket] = []
        self.flushing = False
        self.batches = 0  # transactions written, and tickets in them (for benchmarks and tests)
        self.tickets = 0
        self.db: BaseDatabaseWrapper | None = None  # the writers' connection (only the leader uses it)

    def connection(self) -> BaseDatabaseWrapper:
        """The queue's own connection, reopened when it broke or aged out (called by the leader)."""
        if self.db is None:
            self.db = connections.create_connection(DEFAULT_DB_ALIAS)
            self.db.inc_thread_sharing()  # used by one leader thread at a time, never concurrently
        self.db.close_if_unusable_or_obsolete()
        return self.db

    def close(self) -> None:
        if self.db is not None:
            self.db.close()

    def commit(self, records: list[Record]) -> None:
        ticket = _Ticket(records)
        with self.cond:
            self.waiting.append(ticket)
            while not ticket.done and self.flushing:
                self.cond.wait()
            if ticket.done:
                if ticket.error is not None:
                    raise ticket.error
                return
            self.flushing = True  # leader: take everything queued, ours included
            batch, self.waiting = self.waiting, []
        try:
            _flush(batch, self.connection())
        except BaseException:  # KeyboardInterrupt, SystemExit...: ours to raise; the others must not
            interrupted = RecordsNotWritten("the shared commit was interrupted")  # pass as written
            for each in batch:
                if each is not ticket and each.error is None:
                    each.error = interrupted
            raise
        finally:
            with self.cond:
                self.flushing = False
                self.batches += 1
                self.tickets += len(batch)
                for each in batch:
                    each.done = True
                self.cond.notify_all()
        if ticket.error is not None:
            raise ticket.error


_queues: dict[int, _Queue] = {}
_queues_lock = threading.Lock()


def _queue() -> _Queue:
    pid = os.getpid()
    found = _queues.get(pid)
    if found is None:
        with _queues_lock:
            found = _queues.get(pid)
            if found is None:
                _queues.clear()  # a forked child never uses its parent's queue
                found = _queues[pid] = _Queue()
    return found


def stats() -> tuple[int, int]:
    """(transactions, calls committed) in this process so far."""
    queue = _queue()
    return queue.batches, queue.tickets


def close() -> None:
    """Close this process's writer connection (test teardown, before the test database is dropped)."""
    _queue().close()


def _flush(batch: list[_Ticket], db: BaseDatabaseWrapper) -> None:
    """One transaction for the batch; on failure, one per ticket, so only the bad records' callers fail."""
    try:
        _commit_now([record for ticket in batch for record in ticket.records], db)
        return
    except Exception as exc:
        if len(batch) == 1:
            batch[0].error = exc
            return
        logger.warning("group commit of %d calls failed (%s); writing them one by one", len(batch), type(exc))
    for ticket in batch:
        try:
            _commit_now(ticket.records, db)
        except Exception as exc:
            ticket.error = exc


def _commit_now(records: Sequence[Record], db: BaseDatabaseWrapper) -> None:
    """Write and commit on ``db`` (in autocommit mode): a single statement commits on its own."""
    statements = _statements(records)
    if len(statements) == 1:
        execute(statements, db)
        return
    db.set_autocommit(False)
    try:
        execute(statements, db)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        db.set_autocommit(True)


def _statements(records: Sequence[Record]) -> list[Statement]:
    by_kind: dict[str, list[Any]] = {}
    for kind, item in records:
        by_kind.setdefault(kind, []).append(item)
    # registration order: every transaction touches the tables (and takes their locks) in the same order
    statements = [writer(by_kind[kind]) for kind, writer in _writers.items() if kind in by_kind]
    if connection.vendor == "postgresql" and len(statements) > 1:
        return [combine(statements)]
    return statements
