"""Keys pages: list, create, detail, lifecycle buttons; other tenants' keys are 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from keys.models import Key, KeyState
from testkit import World, make_key, verified_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("custody")]


def url(world: World, name: str, **kwargs: Any) -> str:
    return reverse(name, kwargs={"tenant_slug": world.tenant_a.slug, **kwargs})


def test_empty_list_says_what_to_do(world: World) -> None:
    html = verified_client(world.admin_a).get(url(world, "keys:list")).content.decode()
    assert "No keys yet" in html and "Create your first key" in html


def test_admin_creates_a_key_and_sees_its_detail(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    client = verified_client(world.admin_a)
    form = {
        "name": "payments",
        "spec": "AES_256",
        "usage": "ENCRYPT_DECRYPT",
        "custody": "pkcs11",
        "description": "card data",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(world, "keys:create"), form)
    key = Key.objects.get(tenant=world.tenant_a, name="payments")
    assert response.status_code == 302 and str(key.pk) in response["Location"]
    html = client.get(response["Location"]).content.decode()
    assert (
        "HSM (PKCS#11)" in html
        and "Enabled" in html
        and "v1" in html
        and "No connector uses this key yet" in html
    )


def test_software_keys_are_labelled_not_hsm(world: World, django_capture_on_commit_callbacks: Any) -> None:
    make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a, name="dev")
    html = verified_client(world.officer_a).get(url(world, "keys:list")).content.decode()
    assert "software (not HSM)" in html


def test_create_form_explains_bad_input_and_saves_nothing(world: World) -> None:
    client = verified_client(world.admin_a)
    response = client.post(
        url(world, "keys:create"),
        {"name": "x", "spec": "ED25519", "usage": "ENCRYPT_DECRYPT", "custody": "software"},
    )
    assert (
        response.status_code == 200
        and "ED25519 key can be created for SIGN_VERIFY" in response.content.decode()
    )
    assert not Key.objects.exists()


def test_officer_disables_from_the_page(world: World, django_capture_on_commit_callbacks: Any) -> None:
    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    client = verified_client(world.officer_a)
    assert client.post(url(world, "keys:disable", key_id=key.pk)).status_code == 302
    key.refresh_from_db()
    assert key.state == KeyState.DISABLED
    assert client.post(url(world, "keys:enable", key_id=key.pk)).status_code == 403


@pytest.mark.parametrize(
    "name",
    [
        "keys:detail",
        "keys:rotate",
        "keys:disable",
        "keys:enable",
        "keys:schedule-deletion",
        "keys:cancel-deletion",
    ],
)
def test_tenant_b_keys_are_404(world: World, django_capture_on_commit_callbacks: Any, name: str) -> None:
    key_b = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_b, actor=world.admin_b)
    client = verified_client(world.admin_a)
    target = url(world, name, key_id=key_b.pk)
    response = client.get(target) if name == "keys:detail" else client.post(target, {"waiting_days": 7})
    assert response.status_code == 404
    key_b.refresh_from_db()
    assert key_b.state == KeyState.ENABLED


def test_schedule_deletion_from_the_page(world: World, django_capture_on_commit_callbacks: Any) -> None:
    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    client = verified_client(world.admin_a)
    client.post(url(world, "keys:schedule-deletion", key_id=key.pk), {"waiting_days": 7})
    key.refresh_from_db()
    assert key.state == KeyState.PENDING_DELETION
    html = client.get(url(world, "keys:detail", key_id=key.pk)).content.decode()
    assert "Scheduled for destruction" in html and "Cancel deletion" in html
