"""Dual control: create requests, approve with a fresh TOTP, reject or veto, execute exactly once.

Every write takes ``actor=``, runs in one transaction with its audit event, and sends live events to the
tenant's officers after commit. The executor re-checks that the stored operation is exactly what each
approver approved (the digest) before it runs it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

import audit
from approvals import registry
from approvals.errors import AlreadyDecided, InvalidOtp, RequestClosed, SelfApproval
from approvals.models import Approval, ApprovalRequest, Decision, RequestState
from approvals.realtime import announce
from approvals.selectors import effective_policy
from audit.models import Outcome
from cockpit.errors import CockpitError, PermissionDenied
from tenants.models import Role, Tenant
from tenants.services import require_role

logger = logging.getLogger(__name__)
REQUESTER_ROLES = frozenset({Role.ADMIN.value, Role.OFFICER.value})
OFFICERS = frozenset({Role.OFFICER.value})


def canonical_digest(*, tenant_id: int, operation: str, params: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of what will run: shown to officers, re-checked by the executor."""
    document = {"tenant": tenant_id, "operation": operation, "params": params}
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _is_service_principal(actor: Any) -> bool:
    return getattr(actor, "token", None) is not None


def _require_requester(actor: Any, tenant: Tenant) -> None:
    if _is_service_principal(actor):
        if actor.tenant.pk != tenant.pk:
            from cockpit.errors import NotFound

            raise NotFound()
        return
    require_role(actor=actor, tenant=tenant, roles=REQUESTER_ROLES)


@transaction.atomic
def request_create(*, actor: Any, tenant: Tenant, operation: str, params: dict[str, Any]) -> ApprovalRequest:
    """File a loosening operation for approval; nothing changes until the quorum is reached."""
    spec = registry.get(operation)
    _require_requester(actor, tenant)
    canonical, target, summary = spec.prepare(tenant, actor, params)
    policy = effective_policy(
        tenant=tenant, operation_class=spec.operation_class, scope_type=target.type, scope_id=target.id
    )
    now = timezone.now()
    request = ApprovalRequest.objects.create(
        tenant=tenant,
        operation=operation,
        operation_class=spec.operation_class,
        params=canonical,
        digest=canonical_digest(tenant_id=tenant.pk, operation=operation, params=canonical),
        summary=summary[:300],
        target_type=target.type,
        target_id=target.id,
        target_label=target.label[:200],
        requested_by=None if _is_service_principal(actor) else actor,
        requested_by_label=audit.actor_label(actor),
        required_approvals=policy.required_approvals,
        time_lock_minutes=policy.time_lock_minutes,
        expires_at=now + timedelta(hours=policy.window_hours),
    )
    audit.record(
        action="approval.requested",
        actor=actor,
        tenant=tenant,
        target=request,
        details={"operation": operation, "digest": request.digest, "required": request.required_approvals},
    )
    announce(request, "approval.requested")
    return request


def _totp_ok(officer: Any, code: str) -> bool:
    """A TOTP code verified now (django-otp refuses reuse and throttles); backup codes do not approve."""
    code = "".join(str(code).split())[:12]
    if not code.isdigit():
        return False
    return any(
        device.verify_token(code) for device in TOTPDevice.objects.filter(user=officer, confirmed=True)
    )


def _check_officer(actor: Any, tenant: Tenant) -> None:
    if _is_service_principal(actor) or isinstance(actor, str):
        raise PermissionDenied("Only officers approve, with their own authenticator code.")
    require_role(actor=actor, tenant=tenant, roles=OFFICERS)


def request_approve(*, actor: Any, request: ApprovalRequest, otp: str) -> ApprovalRequest:
    """Record one officer's approval; reaching the quorum schedules the execution once."""
    tenant = request.tenant
    _check_officer(actor, tenant)
    if request.requested_by_id == actor.pk:
        audit.record(
            action="approval.self_approval_refused",
            actor=actor,
            tenant=tenant,
            target=request,
            outcome=Outcome.DENIED,
        )
        raise SelfApproval()
    # Verified outside the transaction below on purpose: the failure audit and the throttle must persist.
    if not _totp_ok(actor, otp):
        audit.record(
            action="approval.otp_failed", actor=actor, tenant=tenant, target=request, outcome=Outcome.FAILURE
        )
        raise InvalidOtp()
    return _approve_locked(actor=actor, request_id=request.pk)


@transaction.atomic
def _approve_locked(*, actor: Any, request_id: Any) -> ApprovalRequest:
    request = ApprovalRequest.objects.select_for_update().get(pk=request_id)
    _require_open(request, RequestState.PENDING)
    if Approval.objects.filter(request=request, officer=actor).exists():
        raise AlreadyDecided()
    Approval.objects.create(request=request, officer=actor, decision=Decision.APPROVE, digest=request.digest)
    audit.record(
        action="approval.approved",
        actor=actor,
        tenant=request.tenant_id,
        target=request,
        details={"digest": request.digest},
    )
    approvals = Approval.objects.filter(request=request, decision=Decision.APPROVE).count()
    if approvals >= request.required_approvals:
        _quorum_reached(request)
    else:
        announce(request, "approval.changed")
    return request


def _require_open(request: ApprovalRequest, *states: str) -> None:
    if request.state == RequestState.PENDING and request.expires_at <= timezone.now():
        raise RequestClosed("This request has expired.")
    if request.state not in states:
        raise RequestClosed(f"This request is {request.get_state_display().lower()}.")


def _quorum_reached(request: ApprovalRequest) -> None:
    now = timezone.now()
    request.approved_at = now
    request.executable_after = now + timedelta(minutes=request.time_lock_minutes)
    request.state = RequestState.TIME_LOCKED if request.time_lock_minutes else RequestState.APPROVED
    request.save(update_fields=["approved_at", "executable_after", "state"])
    audit.record(
        action="approval.quorum_reached",
        actor="dual-control",
        tenant=request.tenant_id,
        target=request,
        details={"executable_after": request.executable_after.isoformat()},
    )
    announce(request, "approval.changed")
    if not request.time_lock_minutes:
        from approvals.tasks import execute_request

        request_id = str(request.pk)
        transaction.on_commit(lambda: execute_request.delay(request_id))


@transaction.atomic
def request_reject(*, actor: Any, request: ApprovalRequest, reason: str = "") -> ApprovalRequest:
    """Any officer ends a pending request, or vetoes an approved one during its time-lock."""
    _check_officer(actor, request.tenant)
    request = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
    _require_open(request, RequestState.PENDING, RequestState.TIME_LOCKED)
    veto = request.state == RequestState.TIME_LOCKED
    if not Approval.objects.filter(request=request, officer=actor).exists():
        Approval.objects.create(
            request=request, officer=actor, decision=Decision.REJECT, digest=request.digest
        )
    request.state = RequestState.REJECTED
    request.finished_at = timezone.now()
    request.outcome = (
        f"Vetoed by {actor.get_username()}" if veto else f"Rejected by {actor.get_username()}"
    )[:200]
    if reason.strip():
        request.outcome = f"{request.outcome}: {reason.strip()}"[:300]
    request.save(update_fields=["state", "finished_at", "outcome"])
    audit.record(
        action="approval.vetoed" if veto else "approval.rejected",
        actor=actor,
        tenant=request.tenant_id,
        target=request,
        details={"reason": reason.strip()[:200]},
    )
    announce(request, "approval.changed")
    return request


def request_execute(*, request_id: str) -> bool:
    """Carry out an approved request exactly once (task body); False when there is nothing to do."""
    claimed = ApprovalRequest.objects.filter(
        pk=request_id,
        state__in=[RequestState.APPROVED, RequestState.TIME_LOCKED],
        executable_after__lte=timezone.now(),
    ).update(state=RequestState.EXECUTING)
    if not claimed:
        return False
    request = ApprovalRequest.objects.select_related("tenant").get(pk=request_id)
    problem = _integrity_problem(request)
    if problem:
        _finish(request, RequestState.FAILED, problem, action="approval.execution_refused")
        return True
    spec = registry.get(request.operation)
    try:
        with transaction.atomic():
            outcome = spec.execute(request.tenant, request.params, f"dual-control:{request.pk}")
    except CockpitError as exc:
        _finish(request, RequestState.FAILED, exc.message, action="approval.execution_failed")
    except Exception as exc:  # the request must end in a readable state, whatever broke
        logger.exception("approved operation %s failed", request.operation)
        _finish(
            request,
            RequestState.FAILED,
            f"Unexpected error ({type(exc).__name__}).",
            action="approval.execution_failed",
        )
    else:
        _finish(request, RequestState.DONE, outcome, action="approval.executed")
    return True


def _integrity_problem(request: ApprovalRequest) -> str:
    """Why the stored operation must not run, or "" when it is exactly what the quorum approved."""
    current = canonical_digest(
        tenant_id=request.tenant_id, operation=request.operation, params=request.params
    )
    approvals = list(request.decisions.filter(decision=Decision.APPROVE))
    if current != request.digest or any(a.digest != current for a in approvals):
        return "Refused: the stored operation changed after it was approved."
    officers = {a.officer_id for a in approvals} - {request.requested_by_id}
    if len(officers) < request.required_approvals:
        return "Refused: the quorum is not complete."
    return ""


@transaction.atomic
def _finish(request: ApprovalRequest, state: str, outcome: str, *, action: str) -> None:
    request.state = state
    request.outcome = outcome[:300]
    request.finished_at = timezone.now()
    request.save(update_fields=["state", "outcome", "finished_at"])
    result = Outcome.SUCCESS if state == RequestState.DONE else Outcome.FAILURE
    audit.record(
        action=action,
        actor="dual-control",
        tenant=request.tenant_id,
        target=request,
        outcome=result,
        details={"outcome": outcome[:300]},
    )
    announce(request, "approval.changed")


def expire_stale() -> int:
    """Mark pending requests past their window as expired (periodic task)."""
    count = 0
    for request_id in ApprovalRequest.objects.filter(
        state=RequestState.PENDING, expires_at__lte=timezone.now()
    ).values_list("pk", flat=True):
        with transaction.atomic():
            request = ApprovalRequest.objects.select_for_update().get(pk=request_id)
            if request.state != RequestState.PENDING:
                continue
            request.state = RequestState.EXPIRED
            request.finished_at = timezone.now()
            request.outcome = "Expired before enough officers approved."
            request.save(update_fields=["state", "finished_at", "outcome"])
            audit.record(
                action="approval.expired", actor="dual-control", tenant=request.tenant_id, target=request
            )
            announce(request, "approval.changed")
            count += 1
    return count


def release_due() -> int:
    """Enqueue approved or time-locked requests whose delay is over (periodic task)."""
    from approvals.tasks import execute_request

    due = ApprovalRequest.objects.filter(
        state__in=[RequestState.APPROVED, RequestState.TIME_LOCKED], executable_after__lte=timezone.now()
    ).values_list("pk", flat=True)
    ids = [str(pk) for pk in due]
    for request_id in ids:
        execute_request.delay(request_id)
    return len(ids)
