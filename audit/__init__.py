"""Audit: the one append-only log of every security event.

Other apps call ``audit.record(...)`` inside their own transaction. This package imports no other app; it
names tenants by id only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audit.models import AuditEvent


def record(**kwargs: Any) -> AuditEvent:
    """Append one event; see ``audit.services.record`` for the arguments."""
    from audit.services import record as _record

    return _record(**kwargs)
