"""API credentials: service-account bearer tokens, and browser sessions that passed the OTP step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from cockpit.errors import NotAuthenticated
from tenants.models import ApiToken, ServiceAccount, Tenant
from tenants.services import api_token_authenticate


@dataclass(frozen=True)
class ServicePrincipal:
    """The caller behind an API token: a service account, bound to exactly one tenant."""

    token: ApiToken

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    pk = None

    @property
    def tenant(self) -> Tenant:
        return self.token.tenant

    @property
    def service_account(self) -> ServiceAccount:
        return self.token.service_account

    def is_verified(self) -> bool:
        return False

    def audit_identity(self) -> tuple[str, str, str]:
        """How the audit log names this caller."""
        return (
            "service_account",
            str(self.service_account.pk),
            f"{self.service_account.name} ({self.token.display_prefix})",
        )


class ApiTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer ckp_...``."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ServicePrincipal, ApiToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        try:
            token = api_token_authenticate(raw=credential.strip())
        except NotAuthenticated as exc:
            raise AuthenticationFailed(exc.message) from None
        return ServicePrincipal(token=token), token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="cockpit"'


class VerifiedSessionAuthentication(SessionAuthentication):
    """The browser's session, accepted only once the user has passed the OTP step."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user, _ = result
        if not getattr(user, "is_verified", lambda: False)():
            return None
        return result
