"""Approvals API: contract battery per endpoint, approve with otp; service accounts request, never approve."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from django.test import Client

from approvals import services
from approvals.models import ApprovalRequest, RequestState
from testkit import TenantApiContract, World, assert_error, fresh_totp, make_key, verified_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("custody")]


@pytest.fixture
def filed(world: World, django_capture_on_commit_callbacks: Any) -> World:
    """A pending rotation request in each tenant."""
    for tenant, admin, name in ((world.tenant_a, world.admin_a, "a"), (world.tenant_b, world.admin_b, "b")):
        key = make_key(django_capture_on_commit_callbacks, tenant=tenant, actor=admin)
        world.extras[f"request_{name}"] = services.request_create(
            actor=admin, tenant=tenant, operation="keys.rotate", params={"key_id": str(key.pk)}
        )
        world.extras[f"key_{name}"] = key
    return world


class RequestEndpoint(TenantApiContract):
    verb: ClassVar[str] = ""
    actor = "officer_a"

    @pytest.fixture(autouse=True)
    def _filed(self, filed: World) -> None:
        pass

    def _url(self, request: ApprovalRequest) -> str:
        return f"/api/v1/approvals/{request.pk}" + (f"/{self.verb}" if self.verb else "")

    def own_url(self, world: World) -> str:
        return self._url(world.extras["request_a"])

    def other_url(self, world: World) -> str:
        return self._url(world.extras["request_b"])


class TestRequestList(TenantApiContract):
    collection = True

    def own_url(self, world: World) -> str:
        return "/api/v1/approvals"

    other_url = own_url


class TestRequestCreate(TenantApiContract):
    method = "post"
    collection = True
    body: ClassVar[dict[str, Any]] = {
        "operation": "approvals.set_policy",
        "params": {
            "operation_class": "key.rotate",
            "required_approvals": 3,
            "window_hours": 24,
            "time_lock_minutes": 0,
        },
    }

    def own_url(self, world: World) -> str:
        return "/api/v1/approvals"

    other_url = own_url


class TestPolicies(TenantApiContract):
    collection = True

    def own_url(self, world: World) -> str:
        return "/api/v1/approvals/policies"

    other_url = own_url


class TestRequestDetail(RequestEndpoint):
    pass


class TestRequestApprove(RequestEndpoint):
    method = "post"
    verb = "approve"
    service_accounts_allowed = False
    body: ClassVar[dict[str, Any]] = {"otp": "123456"}


class TestRequestReject(RequestEndpoint):
    method = "post"
    verb = "reject"
    service_accounts_allowed = False
    body: ClassVar[dict[str, Any]] = {"reason": "no"}


def officer(world: World, who: str = "officer_a") -> Client:
    client = verified_client(getattr(world, who))
    client.defaults["HTTP_X_COCKPIT_TENANT"] = world.tenant_a.slug
    return client


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_officers_approve_over_the_api_and_it_runs(
    filed: World, django_capture_on_commit_callbacks: Any
) -> None:
    request = filed.extras["request_a"]
    url = f"/api/v1/approvals/{request.pk}/approve"
    first = post(officer(filed), url, {"otp": fresh_totp(filed.officer_a)})
    assert first.status_code == 200 and first.json()["approvals"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        second = post(officer(filed, "officer2_a"), url, {"otp": fresh_totp(filed.officer2_a)})
    assert second.status_code == 200
    detail = officer(filed).get(f"/api/v1/approvals/{request.pk}").json()
    assert detail["state"] == "done" and [d["officer"] for d in detail["decisions"]] == [
        filed.officer_a.username,
        filed.officer2_a.username,
    ]
    assert filed.extras["key_a"].versions.count() == 2


@pytest.mark.parametrize(
    ("body", "code"),
    [({"otp": "000000"}, "invalid_otp"), ({"otp": "abc"}, "invalid_request"), ({}, "invalid_request")],
)
def test_bad_codes_are_refused_with_a_precise_error(filed: World, body: dict[str, Any], code: str) -> None:
    request = filed.extras["request_a"]
    if body.get("otp") == "000000" and fresh_totp(filed.officer_a) == "000000":
        body = {"otp": "000001"}
    response = post(officer(filed), f"/api/v1/approvals/{request.pk}/approve", body)
    assert_error(response, 400, code)
    assert request.decisions.count() == 0


def test_service_accounts_request_but_never_approve(filed: World) -> None:
    token = Client(HTTP_AUTHORIZATION=f"Bearer {filed.token_a}")
    created = post(token, f"/api/v1/keys/{filed.extras['key_a'].pk}/rotate", {})
    assert created.status_code == 202
    request_id = created.json()["approval_request"]["id"]
    assert_error(
        post(token, f"/api/v1/approvals/{request_id}/approve", {"otp": "123456"}), 403, "permission_denied"
    )


def test_self_approval_is_403(filed: World) -> None:
    mine = services.request_create(
        actor=filed.officer_a,
        tenant=filed.tenant_a,
        operation="keys.rotate",
        params={"key_id": str(filed.extras["key_a"].pk)},
    )
    response = post(
        officer(filed), f"/api/v1/approvals/{mine.pk}/approve", {"otp": fresh_totp(filed.officer_a)}
    )
    assert_error(response, 403, "self_approval")


def test_reject_ends_the_request(filed: World) -> None:
    request = filed.extras["request_a"]
    response = post(officer(filed), f"/api/v1/approvals/{request.pk}/reject", {"reason": "freeze"})
    assert response.status_code == 200 and response.json()["state"] == RequestState.REJECTED
    assert_error(
        post(officer(filed, "officer2_a"), f"/api/v1/approvals/{request.pk}/reject", {}),
        409,
        "request_closed",
    )


def test_generic_request_validates_its_operation(filed: World) -> None:
    client = officer(filed)
    assert_error(
        post(client, "/api/v1/approvals", {"operation": "nope", "params": {}}), 400, "invalid_request"
    )
    huge = {"operation": "approvals.set_policy", "params": {"x": "y" * 5000}}
    assert_error(post(client, "/api/v1/approvals", huge), 413, "input_too_large")
    bad = {
        "operation": "approvals.set_policy",
        "params": {"operation_class": "key.rotate", "required_approvals": 0},
    }
    assert_error(post(client, "/api/v1/approvals", bad), 400, "invalid_request")
    assert ApprovalRequest.objects.filter(tenant=filed.tenant_a).count() == 1


def test_offline_officers_see_pending_requests_on_the_dashboard(filed: World) -> None:
    html = verified_client(filed.officer2_a).get(f"/t/{filed.tenant_a.slug}/").content.decode()
    assert filed.extras["request_a"].summary.replace("'", "&#x27;") in html
    assert 'data-testid="approvals-badge">1<' in html
