"""Reads from the audit log, always within one tenant."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from audit.models import ActorType, AuditEvent


def audit_events_for_tenant(
    *, tenant_id: int, member_ids: list[int] | None = None, action_prefix: str = ""
) -> QuerySet[AuditEvent]:
    """A tenant's events, newest first, optionally limited to actions starting with ``action_prefix``.

    Sign-in and OTP events belong to no tenant; those of the tenant's members (``member_ids``) are included.
    """
    scope = Q(tenant_id=tenant_id)
    if member_ids:
        scope |= Q(
            tenant_id__isnull=True, actor_type=ActorType.USER, actor_id__in=[str(i) for i in member_ids]
        )
    events = AuditEvent.objects.filter(scope)
    if action_prefix:
        events = events.filter(action__startswith=action_prefix)
    return events.order_by("-id")
