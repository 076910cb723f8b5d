"""Connector operations that loosen control: binding a platform, widening it, enabling it again."""

from __future__ import annotations

from typing import Any

from approvals.registry import ApprovableOperation, Target, register
from cockpit.errors import Conflict, InvalidRequest
from connectors import services
from connectors.models import BindingState, ConnectorBinding, ConnectorKind
from connectors.selectors import binding_of
from connectors.settings_schema import clean_settings
from tenants.models import Tenant

TARGET = "connectors.binding"


def _refs(raw: Any) -> list[services.KeyRef]:
    if not isinstance(raw, list) or not raw or len(raw) > 50:
        raise InvalidRequest("keys must be a list of 1-50 {key_id, external_id} objects.")
    refs = []
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidRequest("keys must be a list of {key_id, external_id} objects.")
        refs.append(
            services.KeyRef(key_id=str(item.get("key_id", "")), external_id=str(item.get("external_id", "")))
        )
    return refs


def _prepare_bind(tenant: Tenant, actor: Any, params: dict[str, Any]) -> tuple[dict[str, Any], Target, str]:
    kind = str(params.get("kind", ""))
    if kind not in ConnectorKind.values:
        raise InvalidRequest(f"kind must be one of {', '.join(ConnectorKind.values)}.")
    name = str(params.get("name", "")).strip()
    if not name or len(name) > 80:
        raise InvalidRequest("A binding needs a name of at most 80 characters.")
    route = services.normalise_route(kind, str(params.get("route", "")))
    refs = _refs(params.get("keys"))
    resolved = services.check_keys(tenant=tenant, kind=kind, refs=refs)
    if ConnectorBinding.objects.filter(route=route).exists():
        raise Conflict("That route is taken; choose another.")
    if ConnectorBinding.objects.filter(tenant=tenant, name=name).exists():
        raise Conflict(f"A binding named {name!r} already exists.")
    canonical = {
        "kind": kind,
        "name": name,
        "route": route,
        "keys": [{"key_id": str(k.pk), "external_id": e} for k, e in resolved],
        "settings": clean_settings(kind, params.get("settings") or {}),
    }
    label = ConnectorKind(kind).label
    summary = f"Bind {label} '{name}' to key(s) {', '.join(k.name for k, _ in resolved)}"
    return canonical, Target(TARGET, "", name), summary


def _execute_bind(tenant: Tenant, params: dict[str, Any], actor: str) -> str:
    binding = services.binding_create(
        actor=actor, tenant=tenant, kind=params["kind"], name=params["name"], route=params["route"],
        keys=_refs(params["keys"]), settings=params["settings"],
    )  # fmt: skip
    return f"Binding '{binding.name}' created."


def _prepare_widen(tenant: Tenant, actor: Any, params: dict[str, Any]) -> tuple[dict[str, Any], Target, str]:
    binding = binding_of(tenant=tenant, binding_id=str(params.get("binding_id", "")))
    resolved = services.check_keys(tenant=tenant, kind=binding.kind, refs=_refs(params.get("keys")))
    canonical = {
        "binding_id": str(binding.pk),
        "keys": [{"key_id": str(k.pk), "external_id": e} for k, e in resolved],
    }
    summary = f"Let binding '{binding.name}' use key(s) {', '.join(k.name for k, _ in resolved)}"
    return canonical, Target(TARGET, str(binding.pk), binding.name), summary


def _execute_widen(tenant: Tenant, params: dict[str, Any], actor: str) -> str:
    binding = binding_of(tenant=tenant, binding_id=params["binding_id"])
    services.binding_add_keys(actor=actor, binding=binding, keys=_refs(params["keys"]))
    return f"Binding '{binding.name}' widened."


def _prepare_enable(tenant: Tenant, actor: Any, params: dict[str, Any]) -> tuple[dict[str, Any], Target, str]:
    binding = binding_of(tenant=tenant, binding_id=str(params.get("binding_id", "")))
    if binding.state != BindingState.DISABLED:
        raise Conflict("The binding is already enabled.")
    return (
        {"binding_id": str(binding.pk)},
        Target(TARGET, str(binding.pk), binding.name),
        f"Enable binding '{binding.name}'",
    )


def _execute_enable(tenant: Tenant, params: dict[str, Any], actor: str) -> str:
    binding = services.binding_enable(
        actor=actor, binding=binding_of(tenant=tenant, binding_id=params["binding_id"])
    )
    return f"Binding '{binding.name}' enabled."


def register_all() -> None:
    """Called from ConnectorsConfig.ready."""
    register(ApprovableOperation("connectors.bind", "connector.bind", _prepare_bind, _execute_bind))
    register(ApprovableOperation("connectors.widen", "connector.bind", _prepare_widen, _execute_widen))
    register(ApprovableOperation("connectors.enable", "connector.enable", _prepare_enable, _execute_enable))
