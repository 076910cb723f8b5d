"""Group commit: records of concurrent calls share transactions; a caller returns only once its own are
committed; a bad record fails only its own caller; inside a transaction they roll back with it."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

import audit
from audit.models import AuditEvent
from cockpit import bulksql, groupcommit
from keys.models import KeyOperationCount
from keys.usage import GROUP_COMMIT_KIND, Tally
from testkit import World, make_key


def _events(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_share_transactions_and_all_their_records_land() -> None:
    action = f"test.group_commit.{uuid.uuid4().hex[:8]}"
    threads, per_thread = 12, 10
    start = threading.Barrier(threads)
    failures: list[BaseException] = []
    before = groupcommit.stats()

    opened: list[bool] = []

    def call() -> None:
        try:
            start.wait()
            for n in range(per_thread):
                audit.record_with_group_commit(action=action, actor="load", details={"n": n})
            opened.append(connection.connection is not None)
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=call) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert opened == [False] * threads  # the writes went through the queue's connection, not the threads'
    assert _events(action) == threads * per_thread  # every caller returned after its record was committed
    transactions, calls = (after - first for after, first in zip(groupcommit.stats(), before, strict=True))
    assert calls == threads * per_thread
    assert transactions < calls  # callers shared transactions


@pytest.mark.django_db(transaction=True)
def test_a_bad_record_fails_only_its_own_caller(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    today = timezone.now().date()
    good = groupcommit._Ticket(
        [(GROUP_COMMIT_KIND, Tally(key.pk, today, "test", "encrypt", key.tenant_id, True))]
    )
    missing_key = uuid.uuid4()  # no such key: the foreign key refuses the row when the batch commits
    bad = groupcommit._Ticket(
        [(GROUP_COMMIT_KIND, Tally(missing_key, today, "test", "encrypt", key.tenant_id, True))]
    )
    groupcommit._flush([good, bad], groupcommit._queue().connection())
    assert good.error is None
    assert bad.error is not None
    assert KeyOperationCount.objects.get(key=key, channel="test").succeeded == 1
    assert not KeyOperationCount.objects.filter(key_id=missing_key).exists()


@pytest.mark.django_db
def test_records_written_inside_a_transaction_roll_back_with_it() -> None:
    action = f"test.rollback.{uuid.uuid4().hex[:8]}"

    def change() -> None:
        with transaction.atomic():
            audit.record_with_group_commit(action=action)
            assert _events(action) == 1  # written in the caller's transaction, visible there
            raise RuntimeError("the caller's change fails")

    with pytest.raises(RuntimeError):
        change()
    assert _events(action) == 0


@pytest.mark.django_db
def test_a_unit_commits_what_was_added_when_its_block_ends_even_by_an_exception() -> None:
    action = f"test.unit.{uuid.uuid4().hex[:8]}"
    with groupcommit.unit():
        audit.record_with_group_commit(action=action)
        assert _events(action) == 0  # held until the unit ends
    assert _events(action) == 1

    def failing_operation() -> None:
        with groupcommit.unit():
            audit.record_with_group_commit(action=action, outcome="failure")
            raise ValueError("the operation failed")

    with pytest.raises(ValueError):
        failing_operation()
    assert _events(action) == 2  # a failed operation is still audited


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(KeyError):
        groupcommit.add("no.such.kind", object())


@pytest.mark.django_db
def test_counter_upserts_add_to_the_existing_row(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    today = timezone.now().date()
    row = {"key_id": key.pk, "tenant_id": key.tenant_id, "day": today, "channel": "c", "operation": "encrypt"}
    for succeeded, failed in ((2, 1), (3, 0)):
        statement = bulksql.add_to_counters(
            KeyOperationCount, keys=["key", "day", "channel", "operation"], counters=["succeeded", "failed"],
            rows=[{**row, "succeeded": succeeded, "failed": failed}],
        )  # fmt: skip
        bulksql.execute([statement])
    counted = KeyOperationCount.objects.get(key=key, channel="c")
    assert (counted.succeeded, counted.failed) == (5, 1)


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_shared_commit_never_passes_for_written() -> None:
    """A leader interrupted mid-commit (KeyboardInterrupt, SystemExit) raises that; every other caller of
    its batch gets RecordsNotWritten, never a silent success."""
    action = f"test.interrupt.{uuid.uuid4().hex[:8]}"
    in_writer, release = threading.Event(), threading.Event()

    def writer(items: list[str]) -> bulksql.Statement:
        if "block" in items:
            in_writer.set()
            release.wait(10)
        if "interrupt" in items:
            raise KeyboardInterrupt
        events = [AuditEvent(action=action, details={"item": item}) for item in items]
        return bulksql.insert_many(AuditEvent, events)

    groupcommit.register("test.interrupt", writer)
    outcomes: dict[str, str] = {}

    def call(item: str) -> None:
        try:
            groupcommit.add("test.interrupt", item)
            outcomes[item] = "returned"
        except KeyboardInterrupt:
            outcomes[item] = "KeyboardInterrupt"
        except groupcommit.RecordsNotWritten:
            outcomes[item] = "RecordsNotWritten"
        finally:
            connection.close()

    try:
        first = threading.Thread(target=call, args=("block",))
        first.start()
        assert in_writer.wait(10)  # the first caller leads a commit and is held inside it
        others = [threading.Thread(target=call, args=(item,)) for item in ("interrupt", "ok")]
        for thread in others:
            thread.start()
        queue = groupcommit._queue()
        while len(queue.waiting) < 2:  # both queued: the next leader takes them together
            time.sleep(0.005)
        release.set()
        for thread in (first, *others):
            thread.join(10)
    finally:
        groupcommit._writers.pop("test.interrupt", None)
    assert outcomes["block"] == "returned"
    assert sorted([outcomes["interrupt"], outcomes["ok"]]) == ["KeyboardInterrupt", "RecordsNotWritten"]
    written = set(AuditEvent.objects.filter(action=action).values_list("details__item", flat=True))
    assert written == {"block"}
