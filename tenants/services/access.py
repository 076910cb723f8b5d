"""Role checks used by services before they change anything."""

from __future__ import annotations

from typing import Any

from cockpit.errors import NotFound, PermissionDenied
from tenants.models import Tenant
from tenants.selectors import roles_of


def require_role(*, actor: Any, tenant: Tenant, roles: set[str] | frozenset[str]) -> frozenset[str]:
    """Return the actor's roles in ``tenant`` if one of ``roles`` is among them.

    Outsiders get NotFound (the tenant does not exist for them); members without the role get
    PermissionDenied. Platform staff have no tenant role unless given one. A label string is a system
    actor (a scheduler, an operator command, or an approved dual-control request executing): it was
    authorised where it was created.
    """
    if isinstance(actor, str):
        return frozenset(roles)
    held = roles_of(user=actor, tenant=tenant)
    if not held:
        raise NotFound()
    if not held & set(roles):
        raise PermissionDenied(f"This needs the role {' or '.join(sorted(roles))}.")
    return held
