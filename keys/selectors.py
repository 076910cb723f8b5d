"""Reads about keys, always within one tenant."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import timezone

from cockpit import readcache
from cockpit.errors import NotFound
from keys.models import Custody, CustomerNode, Key, KeyOperationCount, KeyState, KeyVersion, VersionState
from tenants.models import Tenant


def keys_of(*, tenant: Tenant) -> QuerySet[Key]:
    """The tenant's keys, by name."""
    return Key.objects.filter(tenant=tenant).order_by("name")


def key_of(*, tenant: Tenant, key_id: str | uuid.UUID) -> Key:
    """One of the tenant's keys by id; NotFound for unknown ids and for other tenants' keys alike."""
    try:
        parsed = key_id if isinstance(key_id, uuid.UUID) else uuid.UUID(str(key_id))
    except ValueError:
        raise NotFound("No such key.") from None
    key = Key.objects.filter(tenant=tenant, pk=parsed).first()
    if key is None:
        raise NotFound("No such key.")
    return key


def current_version(*, key: Key) -> KeyVersion | None:
    """The newest active version: what new data is protected with."""
    return key.versions.filter(state=VersionState.ACTIVE).order_by("-number").first()


def version_of(*, key: Key, number: int) -> KeyVersion | None:
    """An active version by number (older versions keep decrypting until the key is destroyed)."""
    return key.versions.filter(number=number, state=VersionState.ACTIVE).first()


def usable_version(*, key: Key, number: int | None) -> KeyVersion | None:
    """``current_version`` (number None) or ``version_of``, through the read cache: the data plane asks
    for the same versions thousands of times a second, and any change to a version forgets them."""
    if number is None:
        return readcache.cached(("keys.version", key.pk, None), lambda: current_version(key=key))
    return readcache.cached(("keys.version", key.pk, number), lambda: version_of(key=key, number=number))


def operation_totals(*, key: Key, days: int = 30) -> list[Mapping[str, object]]:
    """Operations per channel and operation over the last ``days`` days."""
    since: date = (timezone.now() - timedelta(days=days)).date()
    rows = (
        KeyOperationCount.objects.filter(key=key, day__gte=since)
        .values("channel", "operation")
        .annotate(succeeded=Sum("succeeded"), failed=Sum("failed"))
        .order_by("channel", "operation")
    )
    return list(rows)


def key_inventory(*, tenant: Tenant) -> list[dict[str, object]]:
    """Key counts by custody and state, for the dashboard."""
    from django.db.models import Count

    rows = (
        keys_of(tenant=tenant)
        .values("custody", "state")
        .annotate(count=Count("id"))
        .order_by("custody", "state")
    )
    return [
        {"custody": Custody(r["custody"]).label, "state": KeyState(r["state"]).label, "count": r["count"]}
        for r in rows
    ]


def customer_nodes_of(*, tenant: Tenant) -> QuerySet[CustomerNode]:
    """MPC nodes the tenant runs itself."""
    return CustomerNode.objects.filter(tenant=tenant).order_by("name")


def bindings_of_key(*, key: Key) -> list[Any]:
    """The connector bindings that name this key (through the reverse relation: keys imports no connector
    code), shown on the key page and before destructive actions."""
    return list(key.bindings.select_related("binding").order_by("binding__name"))


def keys_due_for_rotation() -> QuerySet[Key]:
    """Enabled keys whose rotation period has elapsed (all tenants: for the scheduler only)."""
    return Key.objects.filter(state=KeyState.ENABLED, next_rotation_at__lte=timezone.now())


def keys_due_for_destruction() -> QuerySet[Key]:
    """Keys whose deletion waiting period has ended (all tenants: for the scheduler only)."""
    return Key.objects.filter(state=KeyState.PENDING_DELETION, deletion_date__lte=timezone.now())
