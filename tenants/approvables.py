"""Tenant operations that loosen control and need a quorum: granting the admin or officer role."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from approvals.registry import ApprovableOperation, Target, register
from cockpit.errors import InvalidRequest, NotFound
from tenants.models import Membership, Tenant
from tenants.services.members import GRANT_OPERATION, VALID_ROLES


def _user(tenant: Tenant, params: dict[str, Any]) -> Any:
    try:
        user_id = int(params.get("user_id"))  # type: ignore[arg-type]  # int(None) raises TypeError: caught
    except (TypeError, ValueError):
        raise NotFound() from None
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound()
    return user


def _prepare(tenant: Tenant, actor: Any, params: dict[str, Any]) -> tuple[dict[str, Any], Target, str]:
    user = _user(tenant, params)
    roles = sorted({str(r) for r in params.get("roles", [])})
    if not roles or set(roles) - VALID_ROLES:
        raise InvalidRequest("roles must be a non-empty list of admin, officer, auditor, billing.")
    summary = f"Give {user.get_username()} the roles {', '.join(roles)}"
    return (
        {"user_id": user.pk, "roles": roles},
        Target("auth.user", str(user.pk), user.get_username()),
        summary,
    )


def _execute(tenant: Tenant, params: dict[str, Any], actor: str) -> str:
    from tenants.services import membership_set_roles
    from tenants.services.members import membership_bootstrap

    user = _user(tenant, params)
    if Membership.objects.filter(tenant=tenant, user=user).exists():
        membership_set_roles(actor=actor, tenant=tenant, user=user, roles=set(params["roles"]))
    else:
        membership_bootstrap(operator=actor, tenant=tenant, user=user, roles=set(params["roles"]))
    return f"{user.get_username()} now holds {', '.join(params['roles'])}."


def register_all() -> None:
    """Called from TenantsConfig.ready."""
    register(ApprovableOperation(GRANT_OPERATION, "member.privileged", _prepare, _execute))
