"""Celery tasks of the approvals app: ids in, one service call, idempotent."""

from __future__ import annotations

from celery import shared_task

from approvals import services


@shared_task(name="approvals.execute", acks_late=True, max_retries=0)
def execute_request(request_id: str) -> bool:
    """Run an approved request; the guarded claim inside makes duplicate deliveries harmless."""
    return services.request_execute(request_id=request_id)


@shared_task(name="approvals.expire_stale")
def expire_stale() -> int:
    """Expire pending requests past their window."""
    return services.expire_stale()


@shared_task(name="approvals.release_due")
def release_due() -> int:
    """Execute requests whose time-lock is over."""
    return services.release_due()
