"""Who may change keys: checked inside every key service, whatever called it."""

from __future__ import annotations

from typing import Any

from cockpit.errors import NotFound
from tenants.models import Role, Tenant
from tenants.services import require_role

KEY_ADMINS = frozenset({Role.ADMIN.value})
# Tightening (disable, cancel deletion) is open to officers too: the kill switch must be one person away.
KEY_TIGHTENERS = frozenset({Role.ADMIN.value, Role.OFFICER.value})


def is_system(actor: Any) -> bool:
    """Schedulers and operator commands act under a label string."""
    return isinstance(actor, str)


def require_key_role(*, actor: Any, tenant: Tenant, roles: frozenset[str]) -> None:
    """A service principal of this tenant, a system actor, or a member holding one of ``roles``."""
    if is_system(actor):
        return
    principal_tenant = getattr(actor, "tenant", None)
    if getattr(actor, "token", None) is not None and principal_tenant is not None:
        if principal_tenant.pk != tenant.pk:
            raise NotFound()
        return
    require_role(actor=actor, tenant=tenant, roles=roles)
