"""Changing a quorum policy is itself an approvable operation, decided under the policy in force."""

from __future__ import annotations

from typing import Any

from approvals.models import QuorumPolicy
from approvals.registry import ApprovableOperation, Target, operation_classes, register
from cockpit.errors import InvalidRequest
from tenants.models import Tenant

POLICY_CLASS = "policy.change"
LIMITS = {"required_approvals": (1, 10), "window_hours": (1, 168), "time_lock_minutes": (0, 10080)}


def _number(params: dict[str, Any], name: str) -> int:
    low, high = LIMITS[name]
    try:
        value = int(params[name])
    except (KeyError, TypeError, ValueError):
        raise InvalidRequest(f"{name} must be a whole number between {low} and {high}.") from None
    if not low <= value <= high:
        raise InvalidRequest(f"{name} must be between {low} and {high}.")
    return value


def _prepare(tenant: Tenant, actor: Any, params: dict[str, Any]) -> tuple[dict[str, Any], Target, str]:
    operation_class = str(params.get("operation_class", ""))
    if operation_class not in operation_classes():
        raise InvalidRequest(f"operation_class must be one of {', '.join(operation_classes())}.")
    canonical = {
        "operation_class": operation_class,
        "scope_type": str(params.get("scope_type", ""))[:60],
        "scope_id": str(params.get("scope_id", ""))[:64],
        **{name: _number(params, name) for name in LIMITS},
    }
    scope = f" for {canonical['scope_type']} {canonical['scope_id']}" if canonical["scope_id"] else ""
    summary = (
        f"Set the quorum for {operation_class}{scope} to {canonical['required_approvals']} officer(s) within "
        f"{canonical['window_hours']} h, time-lock {canonical['time_lock_minutes']} min"
    )
    return canonical, Target("approvals.policy", "", operation_class), summary


def _execute(tenant: Tenant, params: dict[str, Any], actor: str) -> str:
    QuorumPolicy.objects.update_or_create(
        tenant=tenant,
        operation_class=params["operation_class"],
        scope_type=params["scope_type"],
        scope_id=params["scope_id"],
        defaults={name: params[name] for name in LIMITS},
    )
    return f"Quorum policy for {params['operation_class']} updated."


def register_policy_change() -> None:
    """Called from ApprovalsConfig.ready."""
    register(ApprovableOperation("approvals.set_policy", POLICY_CLASS, _prepare, _execute))
