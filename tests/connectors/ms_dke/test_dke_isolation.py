"""Tenant isolation: a route is the tenant boundary; nothing under B's route reaches tenant A's keys."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from dke_kit import Dke, Entra, client, dke_settings, encrypt_to, get_key, post_decrypt

from connectors import services
from keys.models import KeyOperationCount
from testkit import World, make_key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("custody")]

BETA_AUDIENCE = "https://dke.beta.test"


@pytest.fixture
def tenants(bind: Any, entra: Entra) -> tuple[Dke, Dke]:
    """Tenant A binds ``LabelKey``; tenant B (its own Entra app) binds ``BetaKey``."""
    alpha = bind(tenant="a", route="alpha-labels", key_name="LabelKey")
    beta = bind(
        tenant="b",
        route="beta-labels",
        key_name="BetaKey",
        settings=dke_settings(
            entra, audience=BETA_AUDIENCE, authorization={"emails": ["alice@contoso.test"]}
        ),
    )
    return alpha, beta


def test_a_key_name_of_tenant_a_under_tenant_bs_route_is_404(tenants: tuple[Dke, Dke], entra: Entra) -> None:
    alpha, _ = tenants
    assert client().get("/dke/beta-labels/LabelKey").status_code == 404
    body = {"alg": "RSA-OAEP-256", "value": encrypt_to(get_key(alpha).json(), b"secret of A")}
    response = post_decrypt("/dke/beta-labels/LabelKey/1/decrypt", body, **entra.auth(aud=BETA_AUDIENCE))
    assert response.status_code == 404
    assert not KeyOperationCount.objects.filter(key=alpha.key).exists()


def test_the_same_key_name_in_two_tenants_serves_each_tenants_own_key(
    tenants: tuple[Dke, Dke], world: World, django_capture_on_commit_callbacks: Any
) -> None:
    alpha, beta = tenants
    other = make_key(
        django_capture_on_commit_callbacks, tenant=world.tenant_b, actor=world.admin_b, spec="RSA_2048",
        name="beta-label-key",
    )  # fmt: skip
    services.binding_add_keys(
        actor="test", binding=beta.binding, keys=[services.KeyRef(str(other.pk), "LabelKey")]
    )
    from_a = client().get("/dke/alpha-labels/LabelKey").json()["key"]
    from_b = client().get("/dke/beta-labels/LabelKey").json()["key"]
    assert from_a["n"] != from_b["n"]
    assert from_b["kid"].endswith("/dke/beta-labels/LabelKey/1")


def test_tenant_as_ciphertext_sent_to_tenant_bs_key_does_not_decrypt(
    tenants: tuple[Dke, Dke], entra: Entra
) -> None:
    alpha, beta = tenants
    body = {"alg": "RSA-OAEP-256", "value": encrypt_to(get_key(alpha).json(), b"secret of A")}
    response = post_decrypt(beta.decrypt_url(1), body, **entra.auth(aud=BETA_AUDIENCE))
    assert response.status_code == 400 and response.json()["error"] == "invalid_ciphertext"


def test_a_token_for_tenant_as_service_is_refused_at_tenant_bs_route(
    tenants: tuple[Dke, Dke], entra: Entra
) -> None:
    alpha, beta = tenants
    body = {"alg": "RSA-OAEP-256", "value": encrypt_to(get_key(beta).json(), b"secret of B")}
    response = post_decrypt(beta.decrypt_url(1), body, **entra.auth())  # audience of tenant A's app
    assert response.status_code == 401 and response["resource"] == BETA_AUDIENCE
    ok = post_decrypt(beta.decrypt_url(1), body, **entra.auth(aud=BETA_AUDIENCE))
    assert base64.b64decode(ok.json()["value"]) == b"secret of B"


def test_another_connector_kinds_route_is_not_a_dke_route(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    aes = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a, name="xks")
    services.binding_create(
        actor="test", tenant=world.tenant_a, kind="aws_xks", name="xks", route="xks-store",
        keys=[services.KeyRef(str(aes.pk), "XksKey")], settings={},
    )  # fmt: skip
    assert client().get("/dke/xks-store/XksKey").status_code == 404
