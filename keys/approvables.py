"""Key operations that loosen control and therefore need a quorum (registered with approvals)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from approvals.registry import ApprovableOperation, Target, register
from cockpit.errors import Conflict, InvalidRequest
from keys import services
from keys.errors import InvalidKeyState
from keys.models import Custody, Key, KeyState
from keys.selectors import key_of
from tenants.models import Tenant

KEY_TARGET = "keys.key"


def _target(key: Key) -> Target:
    return Target(KEY_TARGET, str(key.pk), key.name)


def _key(tenant: Tenant, params: dict[str, Any]) -> Key:
    return key_of(tenant=tenant, key_id=str(params.get("key_id", "")))


def _prepare_create(tenant: Tenant, actor: Any, params: dict[str, Any]) -> tuple[dict[str, Any], Target, str]:
    name = str(params.get("name", "")).strip()
    spec = str(params.get("spec", ""))
    usage = str(params.get("usage", ""))
    custody = str(params.get("custody", ""))
    rotation = params.get("rotation_period_days")
    rotation_period_days = int(rotation) if rotation not in (None, "") else None
    node_id = str(params["customer_node_id"]) if params.get("customer_node_id") else None
    canonical = {
        "name": name,
        "spec": spec,
        "usage": usage,
        "custody": custody,
        "description": str(params.get("description", "")).strip()[:500],
        "rotation_period_days": rotation_period_days,
        "customer_node_id": node_id,
    }
    if not name or len(name) > 100:
        raise InvalidRequest("A key needs a name of at most 100 characters.")
    services.validate_new_key(
        spec=spec, usage=usage, custody_name=custody, rotation_period_days=rotation_period_days
    )
    if Key.objects.filter(tenant=tenant, name=name).exists():
        raise Conflict(f"A key named {name!r} already exists.")
    node = services.customer_node_for_new_key(tenant=tenant, node_id=node_id, custody_name=custody, spec=spec)
    label = Custody(custody).label + (f" with customer node '{node.name}'" if node else "")
    summary = f"Create {spec} key '{name}' for {usage} in {label}"
    return canonical, Target(KEY_TARGET, "", name), summary


def _execute_create(tenant: Tenant, params: dict[str, Any], actor: str) -> str:
    key = services.key_create(
        actor=actor, tenant=tenant, name=params["name"], spec=params["spec"], usage=params["usage"],
        custody_name=params["custody"], description=params["description"],
        rotation_period_days=params["rotation_period_days"], customer_node_id=params.get("customer_node_id"),
    )  # fmt: skip
    return f"Key '{key.name}' created; its material is being generated."


def _state_prepare(allowed: set[str], verb: str) -> Any:
    def prepare(tenant: Tenant, actor: Any, params: dict[str, Any]) -> tuple[dict[str, Any], Target, str]:
        key = _key(tenant, params)
        if key.state not in allowed:
            raise InvalidKeyState(f"A key that is {key.get_state_display().lower()} cannot be {verb}.")
        return {"key_id": str(key.pk)}, _target(key), f"{verb.capitalize()} key '{key.name}'"

    return prepare


def _prepare_deletion(
    tenant: Tenant, actor: Any, params: dict[str, Any]
) -> tuple[dict[str, Any], Target, str]:
    key = _key(tenant, params)
    if key.state not in (KeyState.ENABLED, KeyState.DISABLED, KeyState.FAILED):
        raise InvalidKeyState(
            f"A key that is {key.get_state_display().lower()} cannot be scheduled for destruction."
        )
    try:
        days = int(params.get("waiting_days", 30))
    except (TypeError, ValueError):
        raise InvalidRequest("waiting_days must be a number of days.") from None
    low, high = settings.KEY_DELETION_MIN_DAYS, settings.KEY_DELETION_MAX_DAYS
    if not low <= days <= high:
        raise InvalidRequest(f"The waiting period must be between {low} and {high} days.")
    summary = f"Destroy key '{key.name}' after a {days}-day waiting period"
    return {"key_id": str(key.pk), "waiting_days": days}, _target(key), summary


def _execute_enable(tenant: Tenant, params: dict[str, Any], actor: str) -> str:
    key = services.key_enable(actor=actor, key=_key(tenant, params))
    return f"Key '{key.name}' enabled."


def _execute_rotate(tenant: Tenant, params: dict[str, Any], actor: str) -> str:
    version = services.key_rotate(actor=actor, key=_key(tenant, params))
    return f"Version {version.number} is being generated."


def _execute_deletion(tenant: Tenant, params: dict[str, Any], actor: str) -> str:
    key = services.key_schedule_deletion(
        actor=actor, key=_key(tenant, params), waiting_days=params["waiting_days"]
    )
    return f"Key '{key.name}' will be destroyed on {key.deletion_date:%Y-%m-%d %H:%M} UTC."


def register_all() -> None:
    """Called from KeysConfig.ready."""
    register(ApprovableOperation("keys.create", "key.create", _prepare_create, _execute_create))
    register(
        ApprovableOperation(
            "keys.enable", "key.enable", _state_prepare({KeyState.DISABLED}, "enabled"), _execute_enable
        )
    )
    register(
        ApprovableOperation(
            "keys.rotate", "key.rotate", _state_prepare({KeyState.ENABLED}, "rotated"), _execute_rotate
        )
    )
    register(
        ApprovableOperation("keys.schedule_deletion", "key.destroy", _prepare_deletion, _execute_deletion)
    )
