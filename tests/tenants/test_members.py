"""Members: invitations, role changes, removal; admins only; a tenant always keeps an admin; audited."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from cockpit.errors import Conflict, PermissionDenied
from tenants.models import Invitation, Membership
from tenants.services import membership_remove, membership_set_roles
from testkit import World, verified_client

pytestmark = pytest.mark.django_db


def members_url(world: World, name: str = "tenants:members", **kw: object) -> str:
    return reverse(name, kwargs={"tenant_slug": world.tenant_a.slug, **kw})


def test_admin_invites_a_new_person_who_joins_with_the_roles(world: World) -> None:
    admin = verified_client(world.admin_a)
    page = admin.post(
        members_url(world, "tenants:member-invite"), {"email": "new@acme.test", "roles": ["auditor"]}
    )
    link = re.search(r'data-testid="invitation-link">([^<]+)<', page.content.decode()).group(1)
    invitation = Invitation.objects.get(email="new@acme.test")
    token = link.rstrip("/").rsplit("/", 1)[-1]
    assert token not in str(Invitation.objects.values_list())  # only a digest is stored
    visitor = Client()
    form = {
        "username": "newbie",
        "password": "a long enough passphrase!",
        "password_again": "a long enough passphrase!",
    }
    assert visitor.post(link, form).status_code == 302
    newbie = Membership.objects.get(tenant=world.tenant_a, user__username="newbie")
    assert newbie.role == "auditor"
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert visitor.get(link).status_code == 404  # one use only
    assert AuditEvent.objects.filter(
        action="membership.invitation_accepted", tenant_id=world.tenant_a.pk
    ).exists()


def test_inviting_an_existing_account_grants_roles_at_once(world: World) -> None:
    admin = verified_client(world.admin_a)
    admin.post(
        members_url(world, "tenants:member-invite"), {"email": world.admin_b.email, "roles": ["auditor"]}
    )
    assert Membership.objects.filter(tenant=world.tenant_a, user=world.admin_b, role="auditor").exists()
    assert AuditEvent.objects.filter(action="membership.added", tenant_id=world.tenant_a.pk).exists()


def test_admin_sets_roles_and_the_change_is_audited(world: World) -> None:
    admin = verified_client(world.admin_a)
    admin.post(
        members_url(world, "tenants:member-roles", user_id=world.officer_a.pk),
        {"roles": ["officer", "auditor"]},
    )
    roles = set(world.officer_a.memberships.filter(tenant=world.tenant_a).values_list("role", flat=True))
    assert roles == {"officer", "auditor"}
    event = AuditEvent.objects.get(action="membership.roles_changed")
    assert event.details == {"before": ["officer"], "after": ["auditor", "officer"]}
    assert event.actor_id == str(world.admin_a.pk) and event.tenant_id == world.tenant_a.pk


def test_the_last_admin_cannot_be_demoted_or_removed(world: World) -> None:
    with pytest.raises(Conflict):
        membership_set_roles(
            actor=world.admin_a, tenant=world.tenant_a, user=world.admin_a, roles={"officer"}
        )
    with pytest.raises(Conflict):
        membership_remove(actor=world.admin_a, tenant=world.tenant_a, user=world.admin_a)
    assert world.admin_a.memberships.filter(role="admin").exists()


def test_non_admin_cannot_change_roles(world: World) -> None:
    with pytest.raises(PermissionDenied):
        membership_set_roles(
            actor=world.officer_a, tenant=world.tenant_a, user=world.officer_a, roles={"admin"}
        )
    assert not world.officer_a.memberships.filter(role="admin").exists()


def test_admin_removes_a_member(world: World) -> None:
    admin = verified_client(world.admin_a)
    response = admin.post(members_url(world, "tenants:member-remove", user_id=world.auditor_a.pk))
    assert response.status_code == 302
    assert not Membership.objects.filter(tenant=world.tenant_a, user=world.auditor_a).exists()
    assert AuditEvent.objects.filter(action="membership.removed", target_id=str(world.auditor_a.pk)).exists()


def test_members_page_lists_only_this_tenants_members(world: World) -> None:
    html = verified_client(world.officer_a).get(members_url(world)).content.decode()
    assert world.admin_a.username in html and world.admin_b.username not in html


def test_bad_invitation_input_is_explained_not_saved(world: World) -> None:
    admin = verified_client(world.admin_a)
    page = admin.post(
        members_url(world, "tenants:member-invite"), {"email": "not-an-email", "roles": ["wizard"]}
    )
    assert page.status_code == 200
    assert Invitation.objects.count() == 0


def test_granting_officer_or_admin_needs_the_quorum(
    world: World, django_capture_on_commit_callbacks: object
) -> None:
    from approvals.models import ApprovalRequest
    from testkit import approve_all

    admin = verified_client(world.admin_a)
    admin.post(
        members_url(world, "tenants:member-roles", user_id=world.auditor_a.pk),
        {"roles": ["auditor", "officer"]},
    )
    assert set(world.auditor_a.memberships.values_list("role", flat=True)) == {"auditor"}
    filed = ApprovalRequest.objects.get(operation="tenants.grant_roles")
    assert filed.params == {"user_id": world.auditor_a.pk, "roles": ["auditor", "officer"]}
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        approve_all(filed, world.officer_a, world.officer2_a)
    assert set(world.auditor_a.memberships.values_list("role", flat=True)) == {"auditor", "officer"}


def test_privileged_invitation_grants_plain_roles_now_and_files_the_rest(world: World) -> None:
    from approvals.models import ApprovalRequest

    admin = verified_client(world.admin_a)
    page = admin.post(
        members_url(world, "tenants:member-invite"),
        {"email": "boss@acme.test", "roles": ["admin", "auditor"]},
    )
    link = re.search(r'data-testid="invitation-link">([^<]+)<', page.content.decode()).group(1)
    form = {
        "username": "boss",
        "password": "a long enough passphrase!",
        "password_again": "a long enough passphrase!",
    }
    Client().post(link, form)
    roles = set(
        Membership.objects.filter(tenant=world.tenant_a, user__username="boss").values_list("role", flat=True)
    )
    assert roles == {"auditor"}
    assert ApprovalRequest.objects.get(operation="tenants.grant_roles").params["roles"] == [
        "admin",
        "auditor",
    ]
