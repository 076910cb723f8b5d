"""Writes to the audit log. ``record`` is the only way in."""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import Model

from audit.models import ActorType, AuditEvent, Outcome
from cockpit import bulksql, groupcommit
from cockpit.request_context import get_request_id

logger = logging.getLogger(__name__)

# Names that must never be written to the log, whatever their value.
_FORBIDDEN_KEYS = frozenset(
    {
        "password",
        "secret",
        "plaintext",
        "otp",
        "otp_code",
        "code",
        "pin",
        "key_material",
        "token",
        "raw_token",
    }
)
_FORBIDDEN_SUFFIXES = ("_secret", "_password", "_plaintext", "_pin")
REDACTED = "[redacted]"
GROUP_COMMIT_KIND = "audit.event"


def _scrub(value: Any) -> Any:
    """Replace values under secret-looking keys, recursively; details are for context, not secrets."""
    if isinstance(value, dict):
        clean: dict[str, Any] = {}
        for key, item in value.items():
            lowered = str(key).lower()
            if lowered in _FORBIDDEN_KEYS or lowered.endswith(_FORBIDDEN_SUFFIXES):
                logger.warning("audit detail %r redacted: secret-looking keys are never logged", key)
                clean[str(key)] = REDACTED
            else:
                clean[str(key)] = _scrub(item)
        return clean
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def _describe_actor(actor: Any) -> tuple[str, str, str]:
    """Return (type, id, label) for a user, a service principal, a label string or None."""
    if actor is None:
        return ActorType.SYSTEM, "", "system"
    if isinstance(actor, str):
        return ActorType.SYSTEM, "", actor[:200]
    audit_identity = getattr(actor, "audit_identity", None)
    if callable(audit_identity):
        kind, ident, label = audit_identity()
        return kind, str(ident), str(label)[:200]
    if getattr(actor, "is_authenticated", False):
        return ActorType.USER, str(actor.pk), actor.get_username()[:200]
    return ActorType.ANONYMOUS, "", "anonymous"


def _describe_target(target: Model | tuple[str, str, str] | None) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    if isinstance(target, tuple):
        return target
    return target._meta.label_lower, str(target.pk), str(target)[:200]


def _tenant_id(tenant: Any) -> int | None:
    if tenant is None:
        return None
    return int(tenant) if isinstance(tenant, int) else int(tenant.pk)


def _client_ip(request: Any) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def build(
    *,
    action: str,
    actor: Any = None,
    tenant: Any = None,
    target: Model | tuple[str, str, str] | None = None,
    outcome: str = Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
    request: Any = None,
) -> AuditEvent:
    """The event ``record`` would write, unsaved (for ``record_with_group_commit``)."""
    actor_type, actor_id, actor_label = _describe_actor(actor)
    target_type, target_id, target_label = _describe_target(target)
    return AuditEvent(
        tenant_id=_tenant_id(tenant),
        actor_type=actor_type,
        actor_id=actor_id,
        actor_label=actor_label,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label,
        outcome=outcome,
        request_id=get_request_id() or "",
        source_ip=_client_ip(request),
        details=_scrub(details or {}),
    )


def record(**kwargs: Any) -> AuditEvent:
    """Append one audit event; call it inside the same transaction as the change it describes.

    ``actor`` is a user, an object with ``audit_identity()``, a label string or None (system).
    ``target`` is a model instance or an explicit ``(type, id, label)`` tuple. ``details`` is scrubbed of
    secret-looking keys; bytes are replaced by their length.
    """
    event = build(**kwargs)
    event.save()
    return event


def record_with_group_commit(**kwargs: Any) -> None:
    """Append one event through ``cockpit.groupcommit``: for data-plane calls that change nothing else.
    Committed before the caller's request ends (with other requests' events), or in its transaction."""
    groupcommit.add(GROUP_COMMIT_KIND, build(**kwargs))


def write_events(events: list[AuditEvent]) -> bulksql.Statement:
    """The group-commit writer: one INSERT for the batch."""
    return bulksql.insert_many(AuditEvent, events)
