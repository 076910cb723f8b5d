"""Every tenant page answers 404 to a member of another tenant, and 403 to members without the role."""

from __future__ import annotations

import pytest
from django.urls import reverse

from testkit import World, verified_client

pytestmark = pytest.mark.django_db

PAGES = [
    "dashboard",
    "audit",
    "keys:list",
    "keys:create",
    "approvals:list",
    "approvals:policies",
    "connectors:list",
    "connectors:create",
    "billing",
    "tenants:members",
    "tenants:settings",
]


@pytest.mark.parametrize("name", PAGES)
def test_member_of_a_gets_404_for_tenant_b_pages(world: World, name: str) -> None:
    client = verified_client(world.admin_a)
    assert client.get(reverse(name, kwargs={"tenant_slug": world.tenant_b.slug})).status_code == 404
    assert client.get(reverse(name, kwargs={"tenant_slug": world.tenant_a.slug})).status_code == 200


@pytest.mark.parametrize(
    "name",
    ["tenants:member-roles", "tenants:member-remove"],
)
def test_member_actions_on_tenant_b_users_are_404(world: World, name: str) -> None:
    client = verified_client(world.admin_a)
    # B's slug: the tenant is not A's to see.
    url_b = reverse(name, kwargs={"tenant_slug": world.tenant_b.slug, "user_id": world.admin_b.pk})
    assert client.post(url_b, {"roles": ["officer"]}).status_code == 404
    # A's slug with B's user: that user is no member of A.
    url_a = reverse(name, kwargs={"tenant_slug": world.tenant_a.slug, "user_id": world.admin_b.pk})
    assert client.post(url_a, {"roles": ["officer"]}).status_code == 404
    assert world.admin_b.memberships.get().role == "admin"


def test_token_actions_across_tenants_are_404(world: World) -> None:
    from testkit import api_token_row

    token_b = api_token_row(world.token_b)
    client = verified_client(world.admin_a)
    url = reverse("tenants:token-revoke", kwargs={"tenant_slug": world.tenant_a.slug, "token_id": token_b.pk})
    assert client.post(url).status_code == 404
    url = reverse(
        "tenants:token-new",
        kwargs={"tenant_slug": world.tenant_a.slug, "account_id": world.service_account_b.pk},
    )
    assert client.post(url, {"name": "x", "lifetime_days": 5}).status_code == 404
    token_b.refresh_from_db()
    assert token_b.revoked_at is None


def test_auditor_cannot_use_admin_pages(world: World) -> None:
    client = verified_client(world.auditor_a)
    url = reverse(
        "tenants:member-roles", kwargs={"tenant_slug": world.tenant_a.slug, "user_id": world.officer_a.pk}
    )
    assert client.post(url, {"roles": ["admin"]}).status_code == 403
    assert not world.officer_a.memberships.filter(role="admin").exists()


def test_officer_cannot_read_the_audit_page(world: World) -> None:
    client = verified_client(world.officer_a)
    assert client.get(reverse("audit", kwargs={"tenant_slug": world.tenant_a.slug})).status_code == 403


def test_placeholder_sections_say_not_yet_available(world: World) -> None:
    client = verified_client(world.officer_a)
    page = client.get(reverse("billing", kwargs={"tenant_slug": world.tenant_a.slug}))
    assert page.status_code == 200 and "Not yet available" in page.content.decode()


def test_unknown_tenant_slug_is_404(world: World) -> None:
    client = verified_client(world.admin_a)
    assert client.get(reverse("dashboard", kwargs={"tenant_slug": "no-such-tenant"})).status_code == 404


def test_staff_without_a_role_see_no_tenant(world: World) -> None:
    from testkit import make_user

    operator = make_user("operator")
    operator.is_staff = True
    operator.save()
    client = verified_client(operator)
    assert client.get(reverse("dashboard", kwargs={"tenant_slug": world.tenant_a.slug})).status_code == 404


def test_switcher_lists_every_tenant_of_the_user(world: World) -> None:
    from tenants.models import Membership

    Membership.objects.create(tenant=world.tenant_b, user=world.officer_a, role="auditor")
    client = verified_client(world.officer_a)
    html = client.get(reverse("dashboard", kwargs={"tenant_slug": world.tenant_a.slug})).content.decode()
    assert "Switch tenant" in html and world.tenant_b.name in html
    assert client.get(reverse("dashboard", kwargs={"tenant_slug": world.tenant_b.slug})).status_code == 200
