"""The provider read cache: remembered rows, forgotten the moment a watched row changes (save, bulk
update, delete; on PostgreSQL also when another process commits a change)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cockpit import readcache
from connectors import services
from connectors.models import ConnectorBinding, ConnectorKind
from connectors.selectors import binding_by_route
from keys.models import KeyVersion, VersionState
from keys.selectors import usable_version
from testkit import World, make_key

ROOT = Path(__file__).resolve().parents[2]


def _listening() -> None:
    """On PostgreSQL the cache serves nothing until its NOTIFY listener is connected: wait for it."""
    if connection.vendor != "postgresql":
        return
    readcache.cached(("warm-up",), lambda: None)  # starts the listener
    deadline = time.monotonic() + 10
    while not readcache._current().listening:
        assert time.monotonic() < deadline, "the read cache listener did not connect"
        time.sleep(0.02)


def _settled() -> None:
    """Wait until the listener has handled the notifications of this test's own setup (they arrive in
    order, so once it has seen ours, it has seen those)."""
    token = f"settle-{time.monotonic_ns()}"
    with connection.cursor() as cursor:
        cursor.execute(f"NOTIFY {readcache.CHANNEL}, '{token}'")
    deadline = time.monotonic() + 10
    while readcache._current().last_payload != token:
        assert time.monotonic() < deadline, "the read cache listener missed a notification"
        time.sleep(0.01)


def _queries(fn: Any) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as captured:
        value = fn()
    return value, len(captured.captured_queries)


@pytest.fixture
def binding(world: World, django_capture_on_commit_callbacks: Any) -> ConnectorBinding:
    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    return services.binding_create(
        actor="test", tenant=world.tenant_a, kind="aws_xks", name="cache",
        route=f"xks/{world.tenant_a.slug}/c",
        keys=[services.KeyRef(str(key.pk), "k")], settings={"secondary_authorization": []},
    )  # fmt: skip


@pytest.mark.django_db
def test_reads_are_remembered_until_a_watched_row_is_saved(binding: ConnectorBinding) -> None:
    _listening()
    lookup = lambda: binding_by_route(kind=ConnectorKind.AWS_XKS, route=binding.route)  # noqa: E731
    first, n = _queries(lookup)
    assert first == binding and n == 1
    again, n = _queries(lookup)
    assert again == binding and n == 0  # remembered
    binding.state = "disabled"
    binding.save()
    changed, n = _queries(lookup)
    assert n == 1 and changed is not None and changed.state == "disabled"


@pytest.mark.django_db
def test_bulk_updates_forget_like_saves(world: World, django_capture_on_commit_callbacks: Any) -> None:
    _listening()
    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    version = usable_version(key=key, number=None)
    assert version is not None
    assert _queries(lambda: usable_version(key=key, number=None))[1] == 0
    KeyVersion.objects.filter(pk=version.pk).update(state=VersionState.DESTROYED)  # no post_save signal
    assert usable_version(key=key, number=None) is None
    assert usable_version(key=key, number=version.number) is None


@pytest.mark.django_db
def test_misses_are_not_remembered(binding: ConnectorBinding) -> None:
    _listening()
    for _ in range(2):
        found, n = _queries(lambda: binding_by_route(kind=ConnectorKind.AWS_XKS, route="xks/nobody"))
        assert found is None and n == 1


@pytest.mark.django_db
def test_turned_off_every_read_goes_to_the_database(binding: ConnectorBinding) -> None:
    _listening()
    readcache.set_enabled(False)
    try:
        for _ in range(2):
            assert _queries(lambda: binding_by_route(kind=ConnectorKind.AWS_XKS, route=binding.route))[1] == 1
    finally:
        readcache.set_enabled(True)


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_by_another_process_is_forgotten_at_once(
    real_services: dict[str, str], world: World, django_capture_on_commit_callbacks: Any
) -> None:
    """PostgreSQL NOTIFY: another worker disables the binding; this worker stops serving its old row."""
    if connection.vendor != "postgresql":
        pytest.fail("--require-services runs use PostgreSQL")
    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    binding = services.binding_create(
        actor="test", tenant=world.tenant_a, kind="aws_xks", name="other",
        route=f"xks/{world.tenant_a.slug}/o",
        keys=[services.KeyRef(str(key.pk), "k")], settings={"secondary_authorization": []},
    )  # fmt: skip
    _listening()
    _settled()
    lookup = lambda: binding_by_route(kind=ConnectorKind.AWS_XKS, route=binding.route)  # noqa: E731
    assert lookup().state == "enabled"  # type: ignore[union-attr]
    assert _queries(lookup)[1] == 0
    db = connection.settings_dict
    url = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    code = (
        "from connectors.models import ConnectorBinding; "
        f"ConnectorBinding.objects.filter(pk='{binding.pk}').update(state='disabled')"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, check=True, capture_output=True,
        env={**os.environ, "DATABASE_URL": url}, timeout=60,
    )  # fmt: skip
    deadline = time.monotonic() + 5
    while (found := lookup()) is not None and found.state != "disabled":
        assert time.monotonic() < deadline, "the other process's change was never noticed"
        time.sleep(0.01)
