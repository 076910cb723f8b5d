"""Audit: the one append-only log of every security event.

Other apps call ``audit.record(...)`` inside their own transaction. This package imports no other app; it
names tenants by id only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audit.models import AuditEvent


def actor_label(actor: Any) -> str:
    """How the audit log names ``actor`` (user, service principal, label string or None)."""
    from audit.services import _describe_actor

    return _describe_actor(actor)[2]


def record(**kwargs: Any) -> AuditEvent:
    """Append one event; see ``audit.services.record`` for the arguments."""
    from audit.services import record as _record

    return _record(**kwargs)


def record_with_group_commit(**kwargs: Any) -> None:
    """Append one event through group commit; see ``audit.services.record_with_group_commit``."""
    from audit.services import record_with_group_commit as _record

    _record(**kwargs)
