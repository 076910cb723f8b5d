"""Celery tasks of the keys app: ids in, one service call, idempotent."""

from __future__ import annotations

from celery import shared_task

from keys import services
from keys.selectors import keys_due_for_destruction


@shared_task(name="keys.generate_version", acks_late=True, max_retries=0)
def generate_key_version(version_id: int) -> None:
    """Generate a key version's material (claims the row, so duplicates do nothing)."""
    services.key_version_generate(version_id=version_id)


@shared_task(name="keys.destroy", acks_late=True, max_retries=3, default_retry_delay=60)
def destroy_key(key_id: str) -> bool:
    """Destroy a key whose deletion date has passed."""
    return services.key_destroy(key_id=key_id)


@shared_task(name="keys.destroy_due")
def destroy_due() -> int:
    """Enqueue destruction of every key past its deletion date."""
    ids = [str(pk) for pk in keys_due_for_destruction().values_list("pk", flat=True)]
    for key_id in ids:
        destroy_key.delay(key_id)
    return len(ids)


@shared_task(name="keys.rotate_due")
def rotate_due() -> int:
    """Rotate keys whose rotation period has elapsed."""
    return services.key_due_rotations()


@shared_task(name="keys.refresh_shares", acks_late=True, max_retries=3, default_retry_delay=30)
def refresh_key_shares(key_id: str) -> int:
    """Proactively refresh an MPC key's shares on every node."""
    return services.key_refresh_shares(key_id=key_id)
