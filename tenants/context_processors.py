"""Template context for the tenant shell: current tenant, the user's roles and tenants, live socket URL."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from tenants.selectors import tenants_for_user


def tenant_context(request: HttpRequest) -> dict[str, Any]:
    """Expose ``current_tenant``, ``current_roles`` and ``my_tenants`` to every template."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    tenant = getattr(request, "tenant", None)
    pending = 0
    if tenant is not None:
        from approvals.selectors import pending_count  # approvals imports tenants: import at call time

        pending = pending_count(tenant_id=tenant.pk)
    return {
        "pending_approvals": pending,
        "current_tenant": tenant,
        "current_roles": getattr(request, "tenant_roles", frozenset()),
        "my_tenants": tenants_for_user(user=user),
    }
