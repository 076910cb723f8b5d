"""Connector bindings: approved creation, immediate disable, approved widening, credentials shown once."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from django.test import Client

from approvals.models import ApprovalRequest, RequestState
from audit.models import AuditEvent
from connectors import services
from connectors.models import BindingState, ConnectorBinding
from connectors.settings_schema import clean_settings
from testkit import TenantApiContract, World, approve_all, assert_error, make_key, verified_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("custody")]


def xks_binding(tenant: Any, key: Any, name: str, route: str) -> ConnectorBinding:
    return services.binding_create(
        actor="test", tenant=tenant, kind="aws_xks", name=name, route=route,
        keys=[services.KeyRef(str(key.pk), f"{name}-key")], settings={},
    )  # fmt: skip


@pytest.fixture
def bound(world: World, django_capture_on_commit_callbacks: Any) -> World:
    for suffix, tenant, admin in (("a", world.tenant_a, world.admin_a), ("b", world.tenant_b, world.admin_b)):
        key = make_key(django_capture_on_commit_callbacks, tenant=tenant, actor=admin, name=f"xks-{suffix}")
        world.extras[f"key_{suffix}"] = key
        world.extras[f"binding_{suffix}"] = xks_binding(tenant, key, f"store-{suffix}", f"xks/{tenant.slug}")
        world.extras[f"credential_{suffix}"] = world.extras[f"binding_{suffix}"].credentials.get()
    return world


def api(world: World, who: str = "admin_a") -> Client:
    client = verified_client(getattr(world, who))
    client.defaults["HTTP_X_COCKPIT_TENANT"] = world.tenant_a.slug
    return client


def post(client: Client, url: str, body: Any = None) -> Any:
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def test_binding_is_created_only_after_approval(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    body = {
        "kind": "aws_xks",
        "name": "payments",
        "route": "/xks/payments/",
        "keys": [{"key_id": str(key.pk), "external_id": "pay-1"}],
    }
    response = post(api(world), "/api/v1/connectors", body)
    assert response.status_code == 202
    filed = ApprovalRequest.objects.get(pk=response.json()["approval_request"]["id"])
    assert filed.params["route"] == "xks/payments" and not ConnectorBinding.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        approve_all(filed, world.officer_a, world.officer2_a)
    filed.refresh_from_db()
    assert filed.state == RequestState.DONE
    detail = api(world).get("/api/v1/connectors").json()[0]
    assert detail["setup"]["XksProxyUriPath"] == "/xks/payments/kms/xks/v1"
    assert detail["setup"]["ExternalKeyIds"] == ["pay-1"] and len(detail["credentials"]) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"route": "bad route!"}, "URI path prefix"),
        ({"keys": []}, ""),
        ({"kind": "gopher"}, ""),
        ({"keys": [{"key_id": "00000000-0000-0000-0000-000000000000", "external_id": "x"}]}, ""),
    ],
)
def test_bad_binding_requests_are_refused_and_file_nothing(
    bound: World, change: dict[str, Any], message: str
) -> None:
    body = {
        "kind": "aws_xks",
        "name": "new",
        "route": "xks/new",
        "keys": [{"key_id": str(bound.extras["key_a"].pk), "external_id": "k"}],
        **change,
    }
    response = post(api(bound), "/api/v1/connectors", body)
    assert response.status_code in (400, 404)
    assert message in response.content.decode()
    assert not ApprovalRequest.objects.exists()


def test_an_rsa_key_cannot_back_an_xks_binding(bound: World, django_capture_on_commit_callbacks: Any) -> None:
    rsa = make_key(
        django_capture_on_commit_callbacks,
        tenant=bound.tenant_a,
        actor=bound.admin_a,
        spec="RSA_2048",
        name="rsa",
    )
    body = {
        "kind": "aws_xks",
        "name": "n",
        "route": "xks/n",
        "keys": [{"key_id": str(rsa.pk), "external_id": "k"}],
    }
    assert_error(post(api(bound), "/api/v1/connectors", body), 400, "invalid_request")


def test_secret_is_shown_exactly_once_and_is_sealed_at_rest(bound: World) -> None:
    credential = bound.extras["credential_a"]
    url = f"/api/v1/connectors/{bound.extras['binding_a'].pk}/credentials/{credential.access_key_id}/reveal"
    first = post(api(bound), url)
    secret = first.json()["secret_access_key"]
    assert first.status_code == 200 and len(secret) == 44
    assert_error(post(api(bound), url), 409, "conflict")
    assert secret.encode() not in bytes(credential.secret_sealed)
    assert secret not in json.dumps(list(AuditEvent.objects.values_list("details", flat=True)))
    assert len(credential.access_key_id) == 24 and set(credential.access_key_id) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    )


def test_disable_is_immediate_and_enable_is_a_request(bound: World) -> None:
    binding = bound.extras["binding_a"]
    response = post(api(bound, "officer_a"), f"/api/v1/connectors/{binding.pk}/disable")
    assert response.status_code == 200 and response.json()["state"] == BindingState.DISABLED
    filed = post(api(bound, "officer_a"), f"/api/v1/connectors/{binding.pk}/enable")
    assert filed.status_code == 202
    binding.refresh_from_db()
    assert binding.state == BindingState.DISABLED


def test_widening_goes_through_approval(bound: World, django_capture_on_commit_callbacks: Any) -> None:
    binding = bound.extras["binding_a"]
    extra = make_key(
        django_capture_on_commit_callbacks, tenant=bound.tenant_a, actor=bound.admin_a, name="extra"
    )
    response = post(
        api(bound),
        f"/api/v1/connectors/{binding.pk}/keys",
        {"keys": [{"key_id": str(extra.pk), "external_id": "extra-1"}]},
    )
    assert response.status_code == 202 and binding.bound_keys.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        approve_all(
            ApprovalRequest.objects.get(operation="connectors.widen"), bound.officer_a, bound.officer2_a
        )
    assert set(binding.bound_keys.values_list("external_id", flat=True)) == {"store-a-key", "extra-1"}


def test_tenant_b_keys_cannot_be_bound_by_tenant_a(bound: World) -> None:
    body = {
        "kind": "aws_xks",
        "name": "steal",
        "route": "xks/steal",
        "keys": [{"key_id": str(bound.extras["key_b"].pk), "external_id": "k"}],
    }
    assert_error(post(api(bound), "/api/v1/connectors", body), 404, "not_found")


def test_at_most_two_active_credentials(bound: World) -> None:
    binding = bound.extras["binding_a"]
    assert post(api(bound), f"/api/v1/connectors/{binding.pk}/credentials").status_code == 201
    assert_error(post(api(bound), f"/api/v1/connectors/{binding.pk}/credentials"), 409, "conflict")


class BindingEndpoint(TenantApiContract):
    verb: ClassVar[str] = ""

    @pytest.fixture(autouse=True)
    def _bound(self, bound: World) -> None:
        pass

    def _url(self, world: World, suffix: str) -> str:
        binding = world.extras[f"binding_{suffix}"]
        verb = self.verb.replace("{ak}", world.extras[f"credential_{suffix}"].access_key_id)
        return f"/api/v1/connectors/{binding.pk}" + (f"/{verb}" if verb else "")

    def own_url(self, world: World) -> str:
        return self._url(world, "a")

    def other_url(self, world: World) -> str:
        return self._url(world, "b")


class TestBindingList(TenantApiContract):
    collection = True

    def own_url(self, world: World) -> str:
        return "/api/v1/connectors"

    other_url = own_url


class TestBindingDetail(BindingEndpoint):
    pass


class TestBindingDisable(BindingEndpoint):
    method = "post"
    verb = "disable"
    takes_body = False


class TestBindingEnable(BindingEndpoint):
    method = "post"
    verb = "enable"
    takes_body = False


class TestBindingWiden(BindingEndpoint):
    method = "post"
    verb = "keys"
    body: ClassVar[dict[str, Any]] = {
        "keys": [{"key_id": "00000000-0000-0000-0000-000000000000", "external_id": "x"}]
    }


class TestCredentialIssue(BindingEndpoint):
    method = "post"
    verb = "credentials"
    takes_body = False
    service_accounts_allowed = False


class TestCredentialReveal(BindingEndpoint):
    method = "post"
    verb = "credentials/{ak}/reveal"
    takes_body = False
    service_accounts_allowed = False


class TestCredentialRevoke(BindingEndpoint):
    method = "post"
    verb = "credentials/{ak}/revoke"
    takes_body = False


@pytest.mark.parametrize("suffix", ["", "disable", "enable", "credentials"])
def test_tenant_b_binding_pages_are_404(bound: World, suffix: str) -> None:
    client = verified_client(bound.admin_a)
    url = f"/t/{bound.tenant_a.slug}/connectors/{bound.extras['binding_b'].pk}/" + suffix
    response = client.get(url) if not suffix else client.post(url.rstrip("/"))
    assert response.status_code == 404
    bound.extras["binding_b"].refresh_from_db()
    assert bound.extras["binding_b"].state == BindingState.ENABLED


def test_binding_page_shows_what_to_paste(bound: World) -> None:
    html = (
        verified_client(bound.officer_a)
        .get(f"/t/{bound.tenant_a.slug}/connectors/{bound.extras['binding_a'].pk}/")
        .content.decode()
    )
    assert (
        f"/xks/{bound.tenant_a.slug}/kms/xks/v1" in html
        and bound.extras["credential_a"].access_key_id in html
    )
    assert "No calls yet" in html
    assert "no rules: every correctly signed request is allowed" in html and ">none<" in html


def test_binding_page_shows_the_rules_and_the_request_quota(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    binding = services.binding_create(
        actor="test", tenant=world.tenant_a, kind="aws_xks", name="limited", route="xks/limited",
        keys=[services.KeyRef(str(key.pk), "k")],
        settings=clean_settings("aws_xks", {
            "secondary_authorization": [{"kmsOperation": "Encrypt"}, {"kmsOperation": "Decrypt"}],
            "request_quota": {"requests_per_second": 250, "burst": 500},
        }),
    )  # fmt: skip
    html = verified_client(world.officer_a).get(f"/t/{world.tenant_a.slug}/connectors/{binding.pk}/").content
    assert b"2 allow rules: a request must match one" in html
    assert b"250 requests/s, bursts of 500, per serving process" in html


def test_call_records_are_pruned_after_retention(bound: World) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from connectors.models import ConnectorCall
    from connectors.tasks import prune_calls

    binding = bound.extras["binding_a"]
    services.record_call(binding=binding, operation="encrypt", outcome="OK", latency_ms=1.0)
    services.record_call(binding=binding, operation="decrypt", outcome="OK", latency_ms=1.0)
    ConnectorCall.objects.filter(operation="encrypt").update(at=timezone.now() - timedelta(days=8))
    assert prune_calls() == 1
    assert list(ConnectorCall.objects.values_list("operation", flat=True)) == ["decrypt"]


def test_key_page_names_the_bindings_that_use_the_key(bound: World) -> None:
    key = bound.extras["key_a"]
    html = verified_client(bound.officer_a).get(f"/t/{bound.tenant_a.slug}/keys/{key.pk}/").content.decode()
    assert "store-a" in html and "store-a-key" in html and "No connector uses this key yet" not in html
    assert "store-b" not in html
