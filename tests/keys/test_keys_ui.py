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
    assert "No keys yet" in html and "Request your first key" in html


def test_admin_requests_a_key_officers_approve_and_it_appears(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from approvals.models import ApprovalRequest
    from testkit import approve_all

    client = verified_client(world.admin_a)
    form = {
        "name": "payments",
        "spec": "AES_256",
        "usage": "ENCRYPT_DECRYPT",
        "custody": "pkcs11",
        "description": "card data",
    }
    response = client.post(url(world, "keys:create"), form)
    filed = ApprovalRequest.objects.get(tenant=world.tenant_a, operation="keys.create")
    assert response.status_code == 302 and str(filed.pk) in response["Location"]
    assert filed.digest in client.get(response["Location"]).content.decode()
    assert not Key.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        approve_all(filed, world.officer_a, world.officer2_a)
    key = Key.objects.get(tenant=world.tenant_a, name="payments")
    html = client.get(url(world, "keys:detail", key_id=key.pk)).content.decode()
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
    response = client.post(url(world, "keys:enable", key_id=key.pk))  # loosening: a request, not a change
    assert response.status_code == 302 and "/approvals/" in response["Location"]
    key.refresh_from_db()
    assert key.state == KeyState.DISABLED


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


def test_requested_destruction_runs_once_approved(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from approvals.models import ApprovalRequest
    from testkit import approve_all

    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    client = verified_client(world.admin_a)
    client.post(url(world, "keys:schedule-deletion", key_id=key.pk), {"waiting_days": 7})
    key.refresh_from_db()
    assert key.state == KeyState.ENABLED
    assert "Waiting for approval" in client.get(url(world, "keys:detail", key_id=key.pk)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        approve_all(ApprovalRequest.objects.get(target_id=str(key.pk)), world.officer_a, world.officer2_a)
    key.refresh_from_db()
    assert key.state == KeyState.PENDING_DELETION
    html = client.get(url(world, "keys:detail", key_id=key.pk)).content.decode()
    assert "destroyed on" in html and "Cancel deletion" in html
