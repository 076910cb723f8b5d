"""Live events for browsers: per-tenant, per-role channel groups, sent only after the transaction commits."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def tenant_group(tenant_id: int) -> str:
    """Every open page of the tenant's members."""
    return f"tenant.{tenant_id}.all"


def role_group(tenant_id: int, role: str) -> str:
    """Open pages of members holding ``role`` in the tenant."""
    return f"tenant.{tenant_id}.role.{role}"


def publish(*, tenant_id: int, event: str, data: dict[str, Any], role: str | None = None) -> None:
    """Send ``{"event", "data"}`` to the tenant's (or one role's) sockets after the transaction commits.

    ``data`` is shown to browsers: identifiers and labels only, never secrets.
    """
    group = role_group(tenant_id, role) if role else tenant_group(tenant_id)
    message = {"type": "tenant.event", "event": event, "data": data}

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group, message)

    transaction.on_commit(send)
