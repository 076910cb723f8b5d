"""Reads about approvals, always within one tenant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import QuerySet

from approvals.models import OPEN_STATES, ApprovalRequest, QuorumPolicy, RequestState
from cockpit.errors import NotFound
from tenants.models import Tenant

DEFAULT_REQUIRED = 2
DEFAULT_WINDOW_HOURS = 24
DEFAULT_TIME_LOCK_MINUTES = 0


@dataclass(frozen=True)
class EffectivePolicy:
    """The rule a new request gets: the stricter of the tenant's and the object's policy."""

    required_approvals: int
    window_hours: int
    time_lock_minutes: int


def effective_policy(
    *, tenant: Tenant, operation_class: str, scope_type: str = "", scope_id: str = ""
) -> EffectivePolicy:
    """Tenant policy for the class (or the defaults), tightened by an object-scoped policy if any."""
    rows = QuorumPolicy.objects.filter(
        tenant=tenant, operation_class=operation_class, scope_type="", scope_id=""
    )
    base = rows.first()
    policy = EffectivePolicy(
        base.required_approvals if base else DEFAULT_REQUIRED,
        base.window_hours if base else DEFAULT_WINDOW_HOURS,
        base.time_lock_minutes if base else DEFAULT_TIME_LOCK_MINUTES,
    )
    if scope_id:
        scoped = QuorumPolicy.objects.filter(
            tenant=tenant, operation_class=operation_class, scope_type=scope_type, scope_id=scope_id
        ).first()
        if scoped:
            policy = EffectivePolicy(
                max(policy.required_approvals, scoped.required_approvals),
                min(policy.window_hours, scoped.window_hours),
                max(policy.time_lock_minutes, scoped.time_lock_minutes),
            )
    return policy


def requests_of(*, tenant: Tenant, state: str | None = None) -> QuerySet[ApprovalRequest]:
    """The tenant's requests, newest first."""
    requests = ApprovalRequest.objects.filter(tenant=tenant).prefetch_related("decisions__officer")
    return requests.filter(state=state) if state else requests


def request_of(*, tenant: Tenant, request_id: str | uuid.UUID) -> ApprovalRequest:
    """One request of the tenant; NotFound for unknown ids and other tenants' requests alike."""
    try:
        parsed = request_id if isinstance(request_id, uuid.UUID) else uuid.UUID(str(request_id))
    except ValueError:
        raise NotFound("No such approval request.") from None
    found = ApprovalRequest.objects.filter(tenant=tenant, pk=parsed).first()
    if found is None:
        raise NotFound("No such approval request.")
    return found


def open_requests_for(*, tenant: Tenant, target_id: str) -> QuerySet[ApprovalRequest]:
    """Open requests about one object (shown on its page)."""
    return ApprovalRequest.objects.filter(tenant=tenant, target_id=target_id, state__in=OPEN_STATES)


def pending_count(*, tenant_id: int) -> int:
    """How many requests wait for officers (the badge)."""
    return ApprovalRequest.objects.filter(tenant_id=tenant_id, state=RequestState.PENDING).count()


def policies_of(*, tenant: Tenant) -> QuerySet[QuorumPolicy]:
    """The tenant's explicit policies (classes without one use the defaults)."""
    return QuorumPolicy.objects.filter(tenant=tenant).order_by("operation_class", "scope_type", "scope_id")
