"""Operation counting and auditing for the key service (one row per key, channel, operation and day)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

import audit
from audit.models import Outcome
from keys.models import Key, KeyOperationCount

if TYPE_CHECKING:
    from keys.service import Caller


def _bump(*, key: Key, channel: str, operation: str, ok: bool) -> None:
    field = "succeeded" if ok else "failed"
    lookup = {"key": key, "day": timezone.now().date(), "channel": channel[:80], "operation": operation}
    if KeyOperationCount.objects.filter(**lookup).update(**{field: F(field) + 1}):
        return
    try:
        with transaction.atomic():
            KeyOperationCount.objects.create(tenant_id=key.tenant_id, **lookup, **{field: 1})
    except IntegrityError:  # another request created the row first
        KeyOperationCount.objects.filter(**lookup).update(**{field: F(field) + 1})


def record_operation(*, key: Key, caller: Caller, operation: str, ok: bool, details: dict[str, Any]) -> None:
    """Count the operation and write its audit event (never with plaintext, AAD or key material)."""
    with transaction.atomic():
        _bump(key=key, channel=caller.channel, operation=operation, ok=ok)
        audit.record(
            action=f"key.{operation}",
            actor=caller.actor,
            tenant=key.tenant_id,
            target=key,
            outcome=Outcome.SUCCESS if ok else Outcome.FAILURE,
            details=details,
        )
