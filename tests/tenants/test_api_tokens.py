"""API tokens: typed prefix, keyed digest only, shown once, expiry, revocation, last use."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import serializers
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from tenants.models import ApiToken
from testkit import World, api_token_row, assert_error, verified_client

pytestmark = pytest.mark.django_db


def call(raw: str) -> object:
    return Client().get("/api/v1/tenant", HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_token_has_a_typed_prefix_and_authenticates_to_its_tenant(world: World) -> None:
    assert world.token_a.startswith("ckp_")
    response = call(world.token_a)
    assert response.status_code == 200
    assert response.json() == {"name": world.tenant_a.name, "slug": world.tenant_a.slug, "roles": ["service"]}


def test_raw_token_is_never_stored(world: World) -> None:
    dump = serializers.serialize("json", ApiToken.objects.all()) + serializers.serialize(
        "json", AuditEvent.objects.all()
    )
    secret_part = world.token_a.split("_", 2)[2]
    assert world.token_a not in dump and secret_part not in dump
    assert api_token_row(world.token_a).digest not in world.token_a


def test_revoked_token_is_refused(world: World) -> None:
    assert call(world.token_a).status_code == 200  # remembered by the read cache from here on
    client = verified_client(world.admin_a)
    row = api_token_row(world.token_a)
    response = client.post(f"/api/v1/tokens/{row.pk}/revoke", HTTP_X_COCKPIT_TENANT=world.tenant_a.slug)
    assert response.status_code == 200 and response.json()["active"] is False
    assert_error(call(world.token_a), 401, "not_authenticated")
    assert AuditEvent.objects.filter(action="api_token.revoked", target_id=str(row.pk)).exists()


def test_expired_token_is_refused(world: World) -> None:
    assert call(world.token_a).status_code == 200
    ApiToken.objects.filter(pk=api_token_row(world.token_a).pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert_error(call(world.token_a), 401, "not_authenticated")


def test_token_of_a_disabled_service_account_is_refused(world: World) -> None:
    assert call(world.token_a).status_code == 200
    world.service_account_a.is_active = False
    world.service_account_a.save()
    assert_error(call(world.token_a), 401)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ckp_",
        "ckp_short_x",
        "Bearer",
        "ckp_0123456789abcdef_" + "x" * 300,
        "\u00e9\u00e9\u00e9",
        "ckp_../../etc_x",
    ],
)
def test_malformed_tokens_are_401_never_500(world: World, raw: str) -> None:
    assert_error(call(raw), 401, "not_authenticated")


def test_a_tampered_secret_is_refused(world: World) -> None:
    tampered = world.token_a[:-2] + ("AA" if not world.token_a.endswith("AA") else "BB")
    assert_error(call(tampered), 401)


def test_last_used_is_recorded(world: World) -> None:
    assert api_token_row(world.token_a).last_used_at is None
    call(world.token_a)
    assert api_token_row(world.token_a).last_used_at is not None


def test_issuing_through_the_api_shows_the_token_once(world: World) -> None:
    client = verified_client(world.admin_a)
    url = f"/api/v1/service-accounts/{world.service_account_a.pk}/tokens"
    response = client.post(
        url,
        data=json.dumps({"name": "deploy", "lifetime_days": 7}),
        content_type="application/json",
        HTTP_X_COCKPIT_TENANT=world.tenant_a.slug,
    )
    assert response.status_code == 201
    raw = response.json()["token"]
    assert call(raw).status_code == 200
    listing = client.get("/api/v1/tokens", HTTP_X_COCKPIT_TENANT=world.tenant_a.slug).content.decode()
    assert raw not in listing and raw.split("_", 2)[1] in listing
    issued = AuditEvent.objects.get(action="api_token.issued", target_id=str(response.json()["id"]))
    assert raw not in json.dumps(issued.details)


def test_token_lifetime_is_bounded(world: World) -> None:
    client = verified_client(world.admin_a)
    url = f"/api/v1/service-accounts/{world.service_account_a.pk}/tokens"
    for days in (0, 366, "ten"):
        response = client.post(
            url,
            data=json.dumps({"name": "x", "lifetime_days": days}),
            content_type="application/json",
            HTTP_X_COCKPIT_TENANT=world.tenant_a.slug,
        )
        assert_error(response, 400, "invalid_request")
    assert ApiToken.objects.filter(tenant=world.tenant_a).count() == 1


def test_service_accounts_cannot_manage_tokens(world: World) -> None:
    response = Client().get("/api/v1/tokens", HTTP_AUTHORIZATION=f"Bearer {world.token_a}")
    assert_error(response, 403, "permission_denied")
