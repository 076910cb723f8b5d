"""Reads about connector bindings. Provider endpoints find a binding by its route (the tenant boundary)."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from cockpit.errors import NotFound
from connectors.models import BindingCredential, BindingKey, ConnectorBinding, ConnectorCall
from tenants.models import Tenant


def bindings_of(*, tenant: Tenant) -> QuerySet[ConnectorBinding]:
    """The tenant's bindings, by name."""
    return ConnectorBinding.objects.filter(tenant=tenant).order_by("name")


def binding_of(*, tenant: Tenant, binding_id: str | uuid.UUID) -> ConnectorBinding:
    """One of the tenant's bindings; NotFound for unknown ids and other tenants' bindings alike."""
    try:
        parsed = binding_id if isinstance(binding_id, uuid.UUID) else uuid.UUID(str(binding_id))
    except ValueError:
        raise NotFound("No such connector binding.") from None
    binding = ConnectorBinding.objects.filter(tenant=tenant, pk=parsed).first()
    if binding is None:
        raise NotFound("No such connector binding.")
    return binding


def binding_by_route(*, kind: str, route: str) -> ConnectorBinding | None:
    """The binding a provider addresses by its route (XKS URI prefix, DKE path); None if unknown."""
    return ConnectorBinding.objects.select_related("tenant").filter(kind=kind, route=route).first()


def bound_key(*, binding: ConnectorBinding, external_id: str) -> BindingKey | None:
    """The binding's key known to the platform as ``external_id``; None if the binding has no such key."""
    return (
        BindingKey.objects.select_related("key", "key__tenant")
        .filter(binding=binding, external_id=external_id)
        .first()
    )


def active_credential(*, binding: ConnectorBinding, access_key_id: str) -> BindingCredential | None:
    """An unrevoked credential of this binding with that access key id."""
    return BindingCredential.objects.filter(
        binding=binding, access_key_id=access_key_id, revoked_at__isnull=True
    ).first()


def recent_calls(*, binding: ConnectorBinding, limit: int = 50) -> QuerySet[ConnectorCall]:
    """The binding's latest provider calls, newest first."""
    return binding.calls.all()[:limit]
