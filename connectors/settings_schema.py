"""Per-kind binding settings (non-secret): validated and normalised before a binding is requested.

Each protocol sub-package owns its rules; this module only dispatches, so adding a protocol means adding
its ``clean_settings`` here.
"""

from __future__ import annotations

from typing import Any

from cockpit.errors import InvalidRequest
from connectors.models import ConnectorKind


def _xks(raw: dict[str, Any]) -> dict[str, Any]:
    from connectors.aws_xks.authorization import clean_rules
    from connectors.aws_xks.throttle import clean_quota

    unknown = set(raw) - {"secondary_authorization", "request_quota"}
    if unknown:
        raise InvalidRequest(f"Unknown XKS settings: {', '.join(sorted(unknown))}.")
    cleaned: dict[str, Any] = {
        "secondary_authorization": clean_rules(raw.get("secondary_authorization") or [])
    }
    quota = clean_quota(raw.get("request_quota"))
    if quota is not None:
        cleaned["request_quota"] = quota
    return cleaned


def _dke(raw: dict[str, Any]) -> dict[str, Any]:
    from connectors.ms_dke.config import clean_config

    return clean_config(raw)


CLEANERS = {ConnectorKind.AWS_XKS: _xks, ConnectorKind.MS_DKE: _dke}


def clean_settings(kind: str, raw: Any) -> dict[str, Any]:
    """The canonical settings for ``kind``; InvalidRequest explains what is wrong."""
    if not isinstance(raw, dict):
        raise InvalidRequest("settings must be an object.")
    return CLEANERS[ConnectorKind(kind)](raw)
