"""Celery tasks of the connectors app."""

from __future__ import annotations

from celery import shared_task

from connectors import services


@shared_task(name="connectors.prune_calls")
def prune_calls() -> int:
    """Drop binding call records past their retention (the audit log keeps every call)."""
    return services.prune_calls()
