"""Reads about connector bindings. Provider endpoints find a binding by its route (the tenant boundary)."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from cockpit import readcache
from cockpit.errors import NotFound
from connectors.models import BindingCredential, BindingKey, ConnectorBinding, ConnectorCall
from connectors.secrets import unseal
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


# Provider endpoints read the next three on every call: through the read cache (``cockpit.readcache``),
# which forgets them as soon as a binding, credential, key, version or tenant changes.


def binding_by_route(*, kind: str, route: str) -> ConnectorBinding | None:
    """The binding a provider addresses by its route (XKS URI prefix, DKE path); None if unknown."""
    return readcache.cached(
        ("connectors.binding", kind, route),
        lambda: ConnectorBinding.objects.select_related("tenant").filter(kind=kind, route=route).first(),
    )


def bound_key(*, binding: ConnectorBinding, external_id: str) -> BindingKey | None:
    """The binding's key known to the platform as ``external_id``; None if the binding has no such key."""
    return readcache.cached(
        ("connectors.bound_key", binding.pk, external_id),
        lambda: (
            BindingKey.objects.select_related("key", "key__tenant")
            .filter(binding=binding, external_id=external_id)
            .first()
        ),
    )


def active_credential(*, binding: ConnectorBinding, access_key_id: str) -> BindingCredential | None:
    """An unrevoked credential of this binding with that access key id."""
    return BindingCredential.objects.filter(
        binding=binding, access_key_id=access_key_id, revoked_at__isnull=True
    ).first()


def signing_credential(
    *, binding: ConnectorBinding, access_key_id: str
) -> tuple[BindingCredential, str] | None:
    """An active credential and its unsealed secret, for signature checks (never shown, never logged)."""

    def load() -> tuple[BindingCredential, str] | None:
        credential = active_credential(binding=binding, access_key_id=access_key_id)
        if credential is None:
            return None
        return credential, unseal(credential.secret_sealed, credential_id=credential.access_key_id)

    return readcache.cached(("connectors.credential", binding.pk, access_key_id), load)


def recent_calls(*, binding: ConnectorBinding, limit: int = 50) -> QuerySet[ConnectorCall]:
    """The binding's latest provider calls, newest first."""
    return binding.calls.all()[:limit]
