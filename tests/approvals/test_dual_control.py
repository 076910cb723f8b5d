"""Dual control: quorum rules, TOTP step-up, exactly-once execution, expiry, rejection, tamper checks."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from approvals import errors, services, tasks
from approvals.models import ApprovalRequest, QuorumPolicy, RequestState
from audit.models import AuditEvent
from cockpit.errors import PermissionDenied
from keys import services as key_services
from keys.models import Key, KeyState
from testkit import World, approve_all, fresh_totp, make_key, totp_code

pytestmark = pytest.mark.usefixtures("custody")


def rotate_request(world: World, key: Key, actor: Any = None) -> ApprovalRequest:
    return services.request_create(
        actor=actor or world.admin_a,
        tenant=world.tenant_a,
        operation="keys.rotate",
        params={"key_id": str(key.pk)},
    )


@pytest.fixture
def key(world: World, django_capture_on_commit_callbacks: Any) -> Key:
    return make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)


@pytest.mark.django_db
def test_a_request_changes_nothing_until_the_quorum(
    world: World, key: Key, django_capture_on_commit_callbacks: Any
) -> None:
    filed = rotate_request(world, key)
    assert filed.state == RequestState.PENDING and filed.required_approvals == 2 and len(filed.digest) == 64
    with django_capture_on_commit_callbacks(execute=True):
        approve_all(filed, world.officer_a)
    assert filed.state == RequestState.PENDING and key.versions.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        approve_all(filed, world.officer2_a)
    filed.refresh_from_db()
    assert filed.state == RequestState.DONE and "Version 2" in filed.outcome
    assert key.versions.count() == 2
    actions = list(
        AuditEvent.objects.filter(target_id=str(filed.pk)).order_by("id").values_list("action", flat=True)
    )
    assert actions == [
        "approval.requested",
        "approval.approved",
        "approval.approved",
        "approval.quorum_reached",
        "approval.executed",
    ]


@pytest.mark.django_db
def test_requester_never_counts_toward_its_own_quorum(world: World, key: Key) -> None:
    filed = rotate_request(world, key, actor=world.officer_a)
    with pytest.raises(errors.SelfApproval):
        services.request_approve(actor=world.officer_a, request=filed, otp=fresh_totp(world.officer_a))
    assert filed.decisions.count() == 0
    assert AuditEvent.objects.filter(action="approval.self_approval_refused", outcome="denied").exists()


@pytest.mark.django_db
def test_the_same_officer_counts_once(world: World, key: Key) -> None:
    filed = rotate_request(world, key)
    approve_all(filed, world.officer_a)
    with pytest.raises(errors.AlreadyDecided):
        services.request_approve(actor=world.officer_a, request=filed, otp=fresh_totp(world.officer_a))
    filed.refresh_from_db()
    assert filed.state == RequestState.PENDING and filed.decisions.count() == 1


@pytest.mark.django_db
def test_wrong_and_reused_totp_codes_are_refused_and_audited(world: World, key: Key, settings: Any) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp's own back-off would also refuse the next code for 1 s
    filed = rotate_request(world, key)
    other = rotate_request(world, make_key_like(world, key))
    code = fresh_totp(world.officer_a)
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    with pytest.raises(errors.InvalidOtp):
        services.request_approve(actor=world.officer_a, request=filed, otp=wrong)
    services.request_approve(actor=world.officer_a, request=filed, otp=code)
    with pytest.raises(errors.InvalidOtp):  # the same code again, on another request
        services.request_approve(actor=world.officer_a, request=other, otp=code)
    assert (
        AuditEvent.objects.filter(action="approval.otp_failed", actor_id=str(world.officer_a.pk)).count() == 2
    )
    assert other.decisions.count() == 0
    assert code not in str(list(AuditEvent.objects.values_list("details", flat=True)))


def make_key_like(world: World, key: Key) -> Key:
    version = key_services.key_create(
        actor=world.admin_a,
        tenant=world.tenant_a,
        name=f"{key.name}-2",
        spec=key.spec,
        usage=key.usage,
        custody_name=key.custody,
    )
    key_services.key_version_generate(version_id=version.versions.get().pk)
    version.refresh_from_db()
    return version


@pytest.mark.django_db
def test_only_officers_approve_and_service_accounts_never(world: World, key: Key) -> None:
    from tenants.api.authentication import ServicePrincipal
    from testkit import api_token_row

    filed = rotate_request(world, key, actor=ServicePrincipal(token=api_token_row(world.token_a)))
    assert filed.requested_by is None and "ci" in filed.requested_by_label
    with pytest.raises(PermissionDenied):
        services.request_approve(actor=world.auditor_a, request=filed, otp=totp_code(world.auditor_a))
    with pytest.raises(PermissionDenied):
        services.request_approve(
            actor=ServicePrincipal(token=api_token_row(world.token_a)), request=filed, otp="123456"
        )
    assert filed.decisions.count() == 0


@pytest.mark.django_db
def test_rejected_requests_never_execute(
    world: World, key: Key, django_capture_on_commit_callbacks: Any
) -> None:
    filed = rotate_request(world, key)
    approve_all(filed, world.officer_a)
    services.request_reject(actor=world.officer2_a, request=filed, reason="not during the freeze")
    filed.refresh_from_db()
    assert filed.state == RequestState.REJECTED and "not during the freeze" in filed.outcome
    with pytest.raises(errors.RequestClosed):
        services.request_approve(actor=world.officer2_a, request=filed, otp=fresh_totp(world.officer2_a))
    assert tasks.execute_request(str(filed.pk)) is False
    assert key.versions.count() == 1


@pytest.mark.django_db
def test_expired_requests_never_execute(world: World, key: Key) -> None:
    filed = rotate_request(world, key)
    ApprovalRequest.objects.filter(pk=filed.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(errors.RequestClosed, match="expired"):
        services.request_approve(actor=world.officer_a, request=filed, otp=fresh_totp(world.officer_a))
    assert tasks.expire_stale() == 1
    filed.refresh_from_db()
    assert filed.state == RequestState.EXPIRED
    assert tasks.execute_request(str(filed.pk)) is False
    assert key.versions.count() == 1


@pytest.mark.django_db
def test_tampered_stored_operation_is_refused_at_execution(
    world: World, key: Key, django_capture_on_commit_callbacks: Any
) -> None:
    QuorumPolicy.objects.create(tenant=world.tenant_a, operation_class="key.destroy", time_lock_minutes=60)
    filed = services.request_create(
        actor=world.admin_a,
        tenant=world.tenant_a,
        operation="keys.schedule_deletion",
        params={"key_id": str(key.pk), "waiting_days": 30},
    )
    approve_all(filed, world.officer_a, world.officer2_a)
    assert filed.state == RequestState.TIME_LOCKED
    # Someone with database access shortens the waiting period after the officers approved.
    ApprovalRequest.objects.filter(pk=filed.pk).update(
        params={"key_id": str(key.pk), "waiting_days": 7},
        executable_after=timezone.now() - timedelta(seconds=1),
    )
    assert tasks.release_due() == 1
    filed.refresh_from_db()
    key.refresh_from_db()
    assert filed.state == RequestState.FAILED and "changed after it was approved" in filed.outcome
    assert key.state == KeyState.ENABLED
    assert AuditEvent.objects.filter(action="approval.execution_refused", target_id=str(filed.pk)).exists()


@pytest.mark.django_db
def test_time_lock_allows_a_veto_then_runs(
    world: World, key: Key, django_capture_on_commit_callbacks: Any
) -> None:
    QuorumPolicy.objects.create(tenant=world.tenant_a, operation_class="key.rotate", time_lock_minutes=30)
    vetoed = rotate_request(world, key)
    approve_all(vetoed, world.officer_a, world.officer2_a)
    assert vetoed.state == RequestState.TIME_LOCKED
    assert tasks.execute_request(str(vetoed.pk)) is False  # too early
    services.request_reject(actor=world.officer_a, request=vetoed)
    vetoed.refresh_from_db()
    assert vetoed.state == RequestState.REJECTED and vetoed.outcome.startswith("Vetoed")
    assert AuditEvent.objects.filter(action="approval.vetoed").exists()
    assert key.versions.count() == 1


@pytest.mark.django_db
def test_disable_is_immediate_enable_needs_the_quorum(
    world: World, key: Key, django_capture_on_commit_callbacks: Any
) -> None:
    key_services.key_disable(actor=world.officer_a, key=key)
    key.refresh_from_db()
    assert key.state == KeyState.DISABLED
    filed = services.request_create(
        actor=world.officer_a, tenant=world.tenant_a, operation="keys.enable", params={"key_id": str(key.pk)}
    )
    key.refresh_from_db()
    assert key.state == KeyState.DISABLED
    with django_capture_on_commit_callbacks(execute=True):
        approve_all(filed, world.officer2_a)
    key.refresh_from_db()
    assert key.state == KeyState.DISABLED  # one approval of two
    from tenants.models import Membership
    from testkit import make_user

    third = make_user("officer-3")
    Membership.objects.create(tenant=world.tenant_a, user=third, role="officer")
    with django_capture_on_commit_callbacks(execute=True):
        approve_all(filed, third)
    key.refresh_from_db()
    assert key.state == KeyState.ENABLED


@pytest.mark.django_db
def test_policy_changes_are_decided_under_the_policy_in_force(
    world: World, key: Key, django_capture_on_commit_callbacks: Any
) -> None:
    change = services.request_create(
        actor=world.admin_a, tenant=world.tenant_a, operation="approvals.set_policy",
        params={
            "operation_class": "key.rotate",
            "required_approvals": 1,
            "window_hours": 4,
            "time_lock_minutes": 0,
        },
    )  # fmt: skip
    assert change.required_approvals == 2  # the rule in force for policy.change
    approve_all(change, world.officer_a)
    assert rotate_request(world, key).required_approvals == 2  # not yet changed
    with django_capture_on_commit_callbacks(execute=True):
        approve_all(change, world.officer2_a)
    change.refresh_from_db()
    assert change.state == RequestState.DONE
    fast = rotate_request(world, key)
    assert fast.required_approvals == 1 and fast.expires_at <= timezone.now() + timedelta(hours=4)


@pytest.mark.django_db
def test_a_key_can_carry_a_stricter_policy(world: World, key: Key) -> None:
    QuorumPolicy.objects.create(tenant=world.tenant_a, operation_class="key.rotate", required_approvals=1)
    QuorumPolicy.objects.create(
        tenant=world.tenant_a,
        operation_class="key.rotate",
        scope_type="keys.key",
        scope_id=str(key.pk),
        required_approvals=3,
    )
    assert rotate_request(world, key).required_approvals == 3


@pytest.mark.django_db
def test_bad_requests_write_nothing(world: World, key: Key) -> None:
    from cockpit.errors import InvalidRequest, NotFound

    with pytest.raises(InvalidRequest):
        services.request_create(
            actor=world.admin_a, tenant=world.tenant_a, operation="keys.explode", params={}
        )
    with pytest.raises(NotFound):
        services.request_create(
            actor=world.admin_a, tenant=world.tenant_a, operation="keys.rotate", params={"key_id": "nope"}
        )
    with pytest.raises(PermissionDenied):
        services.request_create(
            actor=world.auditor_a,
            tenant=world.tenant_a,
            operation="keys.rotate",
            params={"key_id": str(key.pk)},
        )
    with pytest.raises(NotFound):
        services.request_create(
            actor=world.admin_b,
            tenant=world.tenant_a,
            operation="keys.rotate",
            params={"key_id": str(key.pk)},
        )
    assert not ApprovalRequest.objects.exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_execute_exactly_once(world: World, real_services: dict[str, str]) -> None:
    from tenants.models import Membership
    from testkit import make_user

    key = make_key_like(world, _plain_key(world))
    third = make_user("officer-3")
    Membership.objects.create(tenant=world.tenant_a, user=third, role="officer")
    filed = rotate_request(world, key)
    codes = {officer.pk: fresh_totp(officer) for officer in (world.officer_a, world.officer2_a, third)}
    barrier = threading.Barrier(3)
    outcomes: list[str] = []

    def approve(officer: Any) -> None:
        try:
            barrier.wait(timeout=10)
            services.request_approve(actor=officer, request=filed, otp=codes[officer.pk])
            outcomes.append("approved")
        except errors.RequestClosed:
            outcomes.append("closed")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=approve, args=(o,)) for o in (world.officer_a, world.officer2_a, third)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    filed.refresh_from_db()
    assert sorted(outcomes) == ["approved", "approved", "closed"]
    assert filed.state == RequestState.DONE
    assert key.versions.count() == 2  # one rotation, not two
    assert AuditEvent.objects.filter(action="approval.executed", target_id=str(filed.pk)).count() == 1
    assert tasks.execute_request(str(filed.pk)) is False  # a duplicate delivery does nothing


def _plain_key(world: World) -> Key:
    version = key_services.key_create(
        actor=world.admin_a,
        tenant=world.tenant_a,
        name="base",
        spec="AES_256",
        usage="ENCRYPT_DECRYPT",
        custody_name="software",
    )
    key_services.key_version_generate(version_id=version.versions.get().pk)
    return version
