"""The audit log's first cut: append-only rows, request ids, no secrets in details."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

import audit
from audit.models import AppendOnlyError, AuditEvent
from testkit import World, verified_client

pytestmark = pytest.mark.django_db


def test_events_cannot_be_updated_or_deleted(world: World) -> None:
    event = audit.record(action="test.event", tenant=world.tenant_a)
    event.action = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


def test_secret_looking_details_are_redacted(world: World, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        event = audit.record(
            action="test.event",
            details={
                "password": "hunter2",
                "nested": {"otp_code": "123456", "key_material": b"\x00" * 32},
                "blob": b"\x01\x02",
                "username": "alice",
            },
        )
    assert event.details == {
        "password": "[redacted]",
        "nested": {"otp_code": "[redacted]", "key_material": "[redacted]"},
        "blob": "<2 bytes>",
        "username": "alice",
    }
    assert "hunter2" not in caplog.text and "123456" not in caplog.text


def test_request_id_of_the_request_lands_in_the_event(world: World) -> None:
    client = verified_client(world.admin_a)
    response = client.post(
        "/api/v1/service-accounts",
        data='{"name": "reporting"}',
        content_type="application/json",
        HTTP_X_COCKPIT_TENANT=world.tenant_a.slug,
    )
    event = AuditEvent.objects.get(action="service_account.created")
    assert event.request_id == response["X-Request-Id"] and len(event.request_id) >= 16
    assert event.actor_label == world.admin_a.username and event.tenant_id == world.tenant_a.pk


def test_service_account_actions_name_the_token_prefix(world: World) -> None:
    from tenants.api.authentication import ServicePrincipal
    from testkit import api_token_row

    principal = ServicePrincipal(token=api_token_row(world.token_a))
    event = audit.record(action="test.by_token", actor=principal, tenant=world.tenant_a)
    assert event.actor_type == "service_account"
    assert world.token_a.split("_")[1] in event.actor_label and world.token_a not in event.actor_label


def test_audit_page_shows_sign_in_events_of_members_only(world: World) -> None:
    Client().post("/accounts/login/", {"username": world.admin_b.username, "password": "wrong"})
    Client().post("/accounts/login/", {"username": world.officer_a.username, "password": "wrong"})
    page = verified_client(world.auditor_a).get(f"/t/{world.tenant_a.slug}/audit/").content.decode()
    assert "auth.login.password_ok" in page  # the auditor's own sign-in
    assert world.admin_b.username not in page
