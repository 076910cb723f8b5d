"""What a tenant admin pastes into the platform for a binding (shown on its page and by the API)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from connectors.models import ConnectorBinding, ConnectorKind


def setup_info(binding: ConnectorBinding) -> dict[str, Any]:
    """Endpoint, path and key identifiers in the platform's own vocabulary."""
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    keys = list(binding.bound_keys.select_related("key").order_by("external_id"))
    if binding.kind == ConnectorKind.AWS_XKS:
        return {
            "XksProxyUriEndpoint": base,
            "XksProxyUriPath": f"/{binding.route}/kms/xks/v1",
            "AccessKeyIds": [c.access_key_id for c in binding.credentials.filter(revoked_at__isnull=True)],
            "ExternalKeyIds": [k.external_id for k in keys],
        }
    return {"KeyUrls": {k.external_id: f"{base}/dke/{binding.route}/{k.external_id}" for k in keys}}
