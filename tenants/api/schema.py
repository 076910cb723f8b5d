"""OpenAPI descriptions of the tenant API's credentials (drf-spectacular extensions)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A service account token (`ckp_…`), shown once when issued.",
        }


class VerifiedSessionScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.api.authentication.VerifiedSessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "A browser session that passed the OTP step; name the tenant in X-Cockpit-Tenant.",
        }
