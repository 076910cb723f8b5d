"""Readiness checks for load balancers and operators."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        return "not configured"
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.send)(channel, {"type": "health.ping"})
    async_to_sync(layer.receive)(channel)
    return "ok"


def _broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "ok"  # tasks run in-process; there is no broker to reach
    from cockpit.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def readiness() -> dict[str, str]:
    """Each dependency's state: "ok", or the class of error that stopped it (never its message)."""
    results: dict[str, str] = {}
    for name, check in (("database", _database), ("channel_layer", _channel_layer), ("broker", _broker)):
        try:
            results[name] = check()
        except Exception as exc:  # a readiness probe reports, it does not raise
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            results[name] = f"error: {type(exc).__name__}"
    return results
