"""Key lifecycle: generation as a task, rotation, disable/enable, deletion schedule, destruction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from cockpit.errors import InvalidRequest, NotFound, PermissionDenied
from keys import custody as custody_registry
from keys import errors as key_errors
from keys import service, services, tasks
from keys.backends import KeyMaterialNotFound
from keys.models import Key, KeyState, KeyVersion, VersionState
from testkit import World, make_key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("custody")]


def caller(world: World) -> service.Caller:
    return service.Caller(actor=world.admin_a)


def test_creation_records_history_and_audit(world: World, django_capture_on_commit_callbacks: Any) -> None:
    key = make_key(
        django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a, custody="pkcs11"
    )
    assert key.state == KeyState.ENABLED and key.status_detail == ""
    assert [(h.from_state, h.to_state) for h in key.state_changes.order_by("id")] == [
        ("", "creating"),
        ("creating", "enabled"),
    ]
    version = key.versions.get()
    assert version.state == VersionState.ACTIVE and version.handle.startswith("p11_")
    actions = list(
        AuditEvent.objects.filter(target_id=str(key.pk)).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["key.created", "key.version_activated"]


def test_generation_runs_exactly_once(world: World, django_capture_on_commit_callbacks: Any) -> None:
    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    version = key.versions.get()
    handle = version.handle
    tasks.generate_key_version(version.pk)  # a duplicate delivery
    version.refresh_from_db()
    assert version.handle == handle and key.versions.count() == 1


def test_backend_failure_leaves_a_visible_failed_state(
    world: World, django_capture_on_commit_callbacks: Any, settings: Any, tmp_path: Any
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    settings.SOFTWARE_KEY_DIR = blocker / "keys"  # the backend cannot create its store here
    custody_registry.reset_backends()
    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    assert key.state == KeyState.FAILED
    assert "failed" in key.status_detail.lower() or "refused" in key.status_detail.lower()
    assert key.versions.get().state == VersionState.FAILED
    assert AuditEvent.objects.filter(action="key.generation_failed", outcome="failure").exists()


def test_rotation_keeps_old_ciphertexts_decryptable(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    key = make_key(
        django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a, custody="pkcs11"
    )
    old = service.encrypt(key=key, plaintext=b"before rotation", caller=caller(world))
    with django_capture_on_commit_callbacks(execute=True):
        services.key_rotate(actor=world.admin_a, key=key)
    new = service.encrypt(key=key, plaintext=b"after rotation", caller=caller(world))
    assert (old.version, new.version) == (1, 2)
    assert service.decrypt(key=key, ciphertext=old.value, caller=caller(world)).value == b"before rotation"
    assert service.decrypt(key=key, ciphertext=new.value, caller=caller(world)).value == b"after rotation"


def test_scheduled_rotation_creates_a_new_version(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    key = make_key(
        django_capture_on_commit_callbacks,
        tenant=world.tenant_a,
        actor=world.admin_a,
        rotation_period_days=90,
    )
    assert key.next_rotation_at is not None
    Key.objects.filter(pk=key.pk).update(next_rotation_at=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.rotate_due() == 1
    assert sorted(key.versions.values_list("number", flat=True)) == [1, 2]
    key.refresh_from_db()
    assert key.next_rotation_at > timezone.now() + timedelta(days=89)


def test_disabled_key_refuses_use_until_enabled(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    sealed = service.encrypt(key=key, plaintext=b"x", caller=caller(world))
    services.key_disable(actor=world.officer_a, key=key)  # one officer: the kill switch
    key.refresh_from_db()
    with pytest.raises(key_errors.KeyDisabled):
        service.decrypt(key=key, ciphertext=sealed.value, caller=caller(world))
    with pytest.raises(PermissionDenied):
        services.key_enable(actor=world.officer_a, key=key)
    services.key_enable(actor=world.admin_a, key=key)
    key.refresh_from_db()
    assert service.decrypt(key=key, ciphertext=sealed.value, caller=caller(world)).value == b"x"


def test_lifecycle_changes_need_the_right_role(world: World, django_capture_on_commit_callbacks: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.key_create(
            actor=world.officer_a,
            tenant=world.tenant_a,
            name="k",
            spec="AES_256",
            usage="ENCRYPT_DECRYPT",
            custody_name="software",
        )
    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    with pytest.raises(PermissionDenied):
        services.key_disable(actor=world.auditor_a, key=key)
    with pytest.raises(NotFound):
        services.key_disable(actor=world.admin_b, key=key)
    assert not Key.objects.filter(name="k").exists()


@pytest.mark.parametrize("days", [6, 31])
def test_deletion_waiting_period_is_bounded(
    world: World, django_capture_on_commit_callbacks: Any, days: int
) -> None:
    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    with pytest.raises(InvalidRequest):
        services.key_schedule_deletion(actor=world.admin_a, key=key, waiting_days=days)
    key.refresh_from_db()
    assert key.state == KeyState.ENABLED and key.deletion_date is None


def test_cancelled_deletion_leaves_the_key_disabled(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    services.key_schedule_deletion(actor=world.admin_a, key=key, waiting_days=7)
    key.refresh_from_db()
    with pytest.raises(key_errors.KeyDisabled):
        service.encrypt(key=key, plaintext=b"x", caller=caller(world))
    services.key_cancel_deletion(actor=world.officer_a, key=key)
    key.refresh_from_db()
    assert key.state == KeyState.DISABLED and key.deletion_date is None


def test_destruction_waits_for_the_date_then_shreds_every_version(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    key = make_key(
        django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a, custody="pkcs11"
    )
    sealed_v1 = service.encrypt(key=key, plaintext=b"gone soon", caller=caller(world))
    with django_capture_on_commit_callbacks(execute=True):
        services.key_rotate(actor=world.admin_a, key=key)
    handles = list(key.versions.values_list("handle", flat=True))
    services.key_schedule_deletion(actor=world.admin_a, key=key, waiting_days=7)
    assert tasks.destroy_due() == 0  # not yet due
    assert services.key_destroy(key_id=str(key.pk)) is False
    Key.objects.filter(pk=key.pk).update(deletion_date=timezone.now() - timedelta(seconds=1))
    assert tasks.destroy_due() == 1
    key.refresh_from_db()
    assert key.state == KeyState.DESTROYED
    assert set(key.versions.values_list("state", flat=True)) == {VersionState.DESTROYED}
    backend = custody_registry.get_backend("pkcs11")
    for handle in handles:
        with pytest.raises(KeyMaterialNotFound):
            backend.encrypt(handle, plaintext=b"x", aad=b"")
    with pytest.raises(key_errors.KeyDisabled):
        service.decrypt(key=key, ciphertext=sealed_v1.value, caller=caller(world))
    assert services.key_destroy(key_id=str(key.pk)) is False  # idempotent
    assert KeyVersion.objects.filter(key=key).count() == 2  # metadata stays for the audit trail
    assert AuditEvent.objects.filter(action="key.destroyed", target_id=str(key.pk)).count() == 1


def test_invalid_creation_writes_nothing(world: World) -> None:
    for kwargs in (
        {"spec": "AES_128", "usage": "ENCRYPT_DECRYPT"},
        {"spec": "ED25519", "usage": "ENCRYPT_DECRYPT"},
        {"spec": "AES_256", "usage": "ENCRYPT_DECRYPT", "custody_name": "mpc"},
    ):
        with pytest.raises(InvalidRequest):
            services.key_create(
                actor=world.admin_a,
                tenant=world.tenant_a,
                name="bad",
                **{"custody_name": "software", **kwargs},
            )
    assert not Key.objects.exists()
    assert not AuditEvent.objects.filter(action="key.created").exists()


def test_key_names_are_unique_per_tenant_only(world: World, django_capture_on_commit_callbacks: Any) -> None:
    from cockpit.errors import Conflict

    make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a, name="shared")
    make_key(django_capture_on_commit_callbacks, tenant=world.tenant_b, actor=world.admin_b, name="shared")
    with pytest.raises(Conflict):
        make_key(
            django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a, name="shared"
        )
