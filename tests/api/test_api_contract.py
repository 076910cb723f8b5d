"""Every tenant API endpoint inherits the contract battery: 401 anonymous, 404 across tenants, bad input."""

from __future__ import annotations

from typing import ClassVar

import pytest
from django.test import Client

from testkit import TenantApiContract, World, api_token_row, assert_error, verified_client

pytestmark = pytest.mark.django_db


class TestTenantDetail(TenantApiContract):
    collection = True

    def own_url(self, world: World) -> str:
        return "/api/v1/tenant"

    other_url = own_url


class TestIndex(TenantApiContract):
    collection = True

    def own_url(self, world: World) -> str:
        return "/api/v1/"

    other_url = own_url


class TestMemberList(TenantApiContract):
    collection = True

    def own_url(self, world: World) -> str:
        return "/api/v1/members"

    other_url = own_url


class TestMemberDetail(TenantApiContract):
    service_accounts_allowed = False

    def own_url(self, world: World) -> str:
        return f"/api/v1/members/{world.officer_a.pk}"

    def other_url(self, world: World) -> str:
        return f"/api/v1/members/{world.admin_b.pk}"


class TestMemberRemove(TenantApiContract):
    method = "delete"
    service_accounts_allowed = False

    def own_url(self, world: World) -> str:
        return f"/api/v1/members/{world.auditor_a.pk}"

    def other_url(self, world: World) -> str:
        return f"/api/v1/members/{world.admin_b.pk}"


class TestMemberRoles(TenantApiContract):
    method = "put"
    service_accounts_allowed = False
    body: ClassVar[dict[str, object]] = {"roles": ["officer"]}

    def own_url(self, world: World) -> str:
        return f"/api/v1/members/{world.officer_a.pk}/roles"

    def other_url(self, world: World) -> str:
        return f"/api/v1/members/{world.admin_b.pk}/roles"


class TestServiceAccounts(TenantApiContract):
    method = "post"
    collection = True
    service_accounts_allowed = False
    body: ClassVar[dict[str, object]] = {"name": "new-app"}

    def own_url(self, world: World) -> str:
        return "/api/v1/service-accounts"

    other_url = own_url


class TestTokenIssue(TenantApiContract):
    method = "post"
    service_accounts_allowed = False
    body: ClassVar[dict[str, object]] = {"name": "deploy"}

    def own_url(self, world: World) -> str:
        return f"/api/v1/service-accounts/{world.service_account_a.pk}/tokens"

    def other_url(self, world: World) -> str:
        return f"/api/v1/service-accounts/{world.service_account_b.pk}/tokens"


class TestTokenList(TenantApiContract):
    collection = True
    service_accounts_allowed = False

    def own_url(self, world: World) -> str:
        return "/api/v1/tokens"

    other_url = own_url


class TestTokenRevoke(TenantApiContract):
    method = "post"
    takes_body = False
    service_accounts_allowed = False

    def own_url(self, world: World) -> str:
        return f"/api/v1/tokens/{api_token_row(world.token_a).pk}/revoke"

    def other_url(self, world: World) -> str:
        return f"/api/v1/tokens/{api_token_row(world.token_b).pk}/revoke"


class TestAuditEvents(TenantApiContract):
    collection = True
    service_accounts_allowed = False

    def own_url(self, world: World) -> str:
        return "/api/v1/audit/events"

    other_url = own_url


def test_session_without_otp_is_not_authenticated(world: World) -> None:
    client = Client()
    client.force_login(world.admin_a)  # password only: no OTP device in the session
    assert_error(client.get("/api/v1/tenant"), 401, "not_authenticated")


def test_audit_api_lists_only_this_tenants_events(world: World) -> None:
    client = verified_client(world.admin_a)
    events = client.get("/api/v1/audit/events", HTTP_X_COCKPIT_TENANT=world.tenant_a.slug).json()["results"]
    from audit.models import AuditEvent

    listed = {e["id"] for e in events}
    assert AuditEvent.objects.get(tenant_id=world.tenant_a.pk, action="api_token.issued").pk in listed
    assert AuditEvent.objects.get(tenant_id=world.tenant_b.pk, action="api_token.issued").pk not in listed
    assert world.admin_b.username not in {e["actor_label"] for e in events}


def test_roles_api_rejects_unknown_roles_without_change(world: World) -> None:
    client = verified_client(world.admin_a)
    response = client.put(
        f"/api/v1/members/{world.officer_a.pk}/roles",
        data='{"roles": ["root"]}',
        content_type="application/json",
        HTTP_X_COCKPIT_TENANT=world.tenant_a.slug,
    )
    assert_error(response, 400, "invalid_request")
    assert set(world.officer_a.memberships.values_list("role", flat=True)) == {"officer"}


def test_session_csrf_is_enforced_on_writes(world: World) -> None:
    client = verified_client(world.admin_a)
    client.handler.enforce_csrf_checks = True
    response = client.post(
        "/api/v1/service-accounts",
        data='{"name": "x"}',
        content_type="application/json",
        HTTP_X_COCKPIT_TENANT=world.tenant_a.slug,
    )
    assert_error(response, 403, "permission_denied")


def test_openapi_schema_and_docs_are_served_locally(world: World) -> None:
    client = Client()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200 and "/api/v1/tokens" in schema.content.decode()
    docs = client.get("/api/docs/").content.decode()
    assert "swagger" in docs.lower() and "cdn" not in docs.lower() and "https://" not in docs
