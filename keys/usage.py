"""Operation counting and auditing for the key service (one row per key, channel, operation and day).

Both go through ``cockpit.groupcommit``: a busy server writes the counts and events of many calls in one
transaction, and every call still returns only after its own are committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.utils import timezone

import audit
from audit.models import Outcome
from cockpit import bulksql, groupcommit
from keys.models import Key, KeyOperationCount

if TYPE_CHECKING:
    from keys.service import Caller

GROUP_COMMIT_KIND = "keys.operation_count"


@dataclass(frozen=True, order=True)
class Tally:
    """One operation to count: which row, and which column."""

    key_id: Any
    day: date
    channel: str
    operation: str
    tenant_id: int
    ok: bool


def record_operation(*, key: Key, caller: Caller, operation: str, ok: bool, details: dict[str, Any]) -> None:
    """Count the operation and write its audit event (never with plaintext, AAD or key material)."""
    tally = Tally(key.pk, timezone.now().date(), caller.channel[:80], operation, key.tenant_id, ok)
    with groupcommit.unit():
        groupcommit.add(GROUP_COMMIT_KIND, tally)
        audit.record_with_group_commit(
            action=f"key.{operation}",
            actor=caller.actor,
            tenant=key.tenant_id,
            target=key,
            outcome=Outcome.SUCCESS if ok else Outcome.FAILURE,
            details=details,
        )


def write_tallies(tallies: list[Tally]) -> bulksql.Statement:
    """The group-commit writer: one upsert adding the batch's counts, rows in a fixed order so that two
    processes flushing at once take their row locks in the same order (no deadlock)."""
    rows: dict[tuple[str, date, str, str], dict[str, Any]] = {}
    for t in tallies:
        row = rows.setdefault(
            (str(t.key_id), t.day, t.channel, t.operation),
            {"key_id": t.key_id, "tenant_id": t.tenant_id, "day": t.day, "channel": t.channel,
             "operation": t.operation, "succeeded": 0, "failed": 0},
        )  # fmt: skip
        row["succeeded" if t.ok else "failed"] += 1
    return bulksql.add_to_counters(
        KeyOperationCount,
        keys=["key", "day", "channel", "operation"],
        counters=["succeeded", "failed"],
        rows=[rows[k] for k in sorted(rows)],
    )
