"""The one base view of the tenant API: every query it runs is scoped to the caller's tenant."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from rest_framework.request import Request
from rest_framework.views import APIView

from cockpit.errors import InvalidRequest, NotFound, PayloadTooLarge, PermissionDenied
from tenants.api.authentication import ServicePrincipal
from tenants.models import Tenant
from tenants.selectors import roles_of, tenant_for_user, tenants_for_user

SERVICE_ROLE = "service"
TENANT_HEADER = "X-Cockpit-Tenant"


def _tenant_for_session(request: Request) -> Tenant:
    slug = request.headers.get(TENANT_HEADER) or request.session.get("last_tenant")
    if slug:
        return tenant_for_user(user=request.user, slug=str(slug))
    tenants = list(tenants_for_user(user=request.user)[:2])
    if len(tenants) == 1:
        return tenants[0]
    if not tenants:
        raise NotFound()
    raise InvalidRequest(f"Name the tenant in the {TENANT_HEADER} header.")


class TenantAPIView(APIView):
    """Resolve ``self.tenant`` from the credential, then check roles; subclasses query through it.

    A token names its tenant; a browser session names it in the ``X-Cockpit-Tenant`` header (or the last
    tenant opened in the UI). Objects of other tenants are never reachable: lookups go through selectors
    that take ``tenant=self.tenant`` and answer NotFound.
    """

    required_roles: ClassVar[frozenset[str]] = frozenset()
    allow_service_accounts: ClassVar[bool] = True
    tenant: Tenant
    roles: frozenset[str]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise PayloadTooLarge(
                f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
            )
        super().initial(request, *args, **kwargs)
        self.tenant, self.roles = self._resolve(request)
        self._authorise()

    def _resolve(self, request: Request) -> tuple[Tenant, frozenset[str]]:
        if isinstance(request.user, ServicePrincipal):
            return request.user.tenant, frozenset({SERVICE_ROLE})
        tenant = _tenant_for_session(request)
        return tenant, roles_of(user=request.user, tenant=tenant)

    def _authorise(self) -> None:
        if SERVICE_ROLE in self.roles:
            if not self.allow_service_accounts:
                raise PermissionDenied("Service accounts cannot use this endpoint.")
            return
        if self.required_roles and not self.roles & self.required_roles:
            raise PermissionDenied(f"This needs the role {' or '.join(sorted(self.required_roles))}.")

    @property
    def actor(self) -> Any:
        """The user or service principal acting, as services expect it."""
        return self.request.user
