"""Tenants, memberships and invitations."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

import audit
from cockpit.errors import Conflict, InvalidRequest, NotFound
from tenants.models import Invitation, Membership, Role, Tenant
from tenants.services.access import require_role

if TYPE_CHECKING:
    from django.contrib.auth.models import User

INVITATION_LIFETIME = timedelta(days=7)
VALID_ROLES = frozenset(Role.values)
# Granting these loosens control (more people who can approve or administer): it needs the quorum.
PRIVILEGED_ROLES = frozenset({Role.ADMIN.value, Role.OFFICER.value})
GRANT_OPERATION = "tenants.grant_roles"


def _needs_quorum(actor: Any, added: set[str]) -> bool:
    return not isinstance(actor, str) and bool(added & PRIVILEGED_ROLES)


def _request_grant(*, actor: Any, tenant: Tenant, user: User, roles: set[str]) -> Any:
    from approvals.services import request_create  # approvals imports tenants: import at call time

    params = {"user_id": user.pk, "roles": sorted(roles)}
    return request_create(actor=actor, tenant=tenant, operation=GRANT_OPERATION, params=params)


def _clean_roles(roles: set[str] | list[str]) -> set[str]:
    cleaned = set(roles)
    unknown = cleaned - VALID_ROLES
    if unknown:
        raise InvalidRequest(f"Unknown role(s): {', '.join(sorted(unknown))}.")
    return cleaned


@transaction.atomic
def tenant_create(*, actor: Any, name: str, slug: str = "") -> Tenant:
    """Create a tenant (platform operators and bootstrap commands only)."""
    slug = slugify(slug or name)[:50]
    if not name.strip() or not slug:
        raise InvalidRequest("A tenant needs a name.")
    if Tenant.objects.filter(slug=slug).exists():
        raise Conflict(f"A tenant with the slug {slug!r} already exists.")
    tenant = Tenant.objects.create(name=name.strip(), slug=slug)
    audit.record(action="tenant.created", actor=actor, tenant=tenant, target=tenant)
    return tenant


def _admin_count(tenant: Tenant) -> int:
    return Membership.objects.filter(tenant=tenant, role=Role.ADMIN).count()


def _grant_roles(*, tenant: Tenant, user: User, roles: set[str]) -> None:
    for role in roles:
        Membership.objects.get_or_create(tenant=tenant, user=user, role=role)


@transaction.atomic
def membership_add(*, actor: Any, tenant: Tenant, user: User, roles: set[str]) -> Any:
    """Give an existing account its first roles in ``tenant`` (admins only).

    Admin and officer roles need the quorum: the approval request is returned instead of granting.
    """
    require_role(actor=actor, tenant=tenant, roles={Role.ADMIN})
    wanted = _clean_roles(roles)
    if not wanted:
        raise InvalidRequest("Choose at least one role.")
    if Membership.objects.filter(tenant=tenant, user=user).exists():
        raise Conflict("This person is already a member; change their roles instead.")
    if _needs_quorum(actor, wanted):
        return _request_grant(actor=actor, tenant=tenant, user=user, roles=wanted)
    _grant_roles(tenant=tenant, user=user, roles=wanted)
    audit.record(
        action="membership.added", actor=actor, tenant=tenant, target=user, details={"roles": sorted(wanted)}
    )


@transaction.atomic
def membership_set_roles(*, actor: Any, tenant: Tenant, user: User, roles: set[str]) -> Any:
    """Set exactly ``roles`` for ``user`` in ``tenant`` (admins only; a tenant always keeps one admin).

    A change that adds the admin or officer role needs the quorum: the approval request is returned and
    nothing changes until it is approved. Removing roles is immediate (tightening).
    """
    require_role(actor=actor, tenant=tenant, roles={Role.ADMIN})
    wanted = _clean_roles(roles)
    if not wanted:
        raise InvalidRequest("Choose at least one role, or remove the member instead.")
    Tenant.objects.select_for_update().get(pk=tenant.pk)  # serialise role changes within the tenant
    before = set(Membership.objects.filter(tenant=tenant, user=user).values_list("role", flat=True))
    if not before:
        raise NotFound()
    if Role.ADMIN in before and Role.ADMIN not in wanted and _admin_count(tenant) == 1:
        raise Conflict("A tenant must keep at least one admin.")
    if _needs_quorum(actor, wanted - before):
        return _request_grant(actor=actor, tenant=tenant, user=user, roles=wanted)
    Membership.objects.filter(tenant=tenant, user=user).exclude(role__in=wanted).delete()
    _grant_roles(tenant=tenant, user=user, roles=wanted)
    if _admin_count(tenant) == 0:
        raise Conflict("A tenant must keep at least one admin.")
    audit.record(
        action="membership.roles_changed",
        actor=actor,
        tenant=tenant,
        target=user,
        details={"before": sorted(before), "after": sorted(wanted)},
    )


@transaction.atomic
def membership_remove(*, actor: Any, tenant: Tenant, user: User) -> None:
    """Remove every role ``user`` holds in ``tenant`` (admins only; never the last admin)."""
    require_role(actor=actor, tenant=tenant, roles={Role.ADMIN})
    Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = set(Membership.objects.filter(tenant=tenant, user=user).values_list("role", flat=True))
    if not before:
        raise NotFound()
    Membership.objects.filter(tenant=tenant, user=user).delete()
    if _admin_count(tenant) == 0:
        raise Conflict("A tenant must keep at least one admin.")
    audit.record(
        action="membership.removed",
        actor=actor,
        tenant=tenant,
        target=user,
        details={"roles": sorted(before)},
    )


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def membership_bootstrap(*, operator: str, tenant: Tenant, user: User, roles: set[str]) -> None:
    """Grant roles without a tenant admin: for operator commands that set a tenant up (audited as system)."""
    wanted = _clean_roles(roles)
    _grant_roles(tenant=tenant, user=user, roles=wanted)
    audit.record(
        action="membership.added",
        actor=operator,
        tenant=tenant,
        target=user,
        details={"roles": sorted(wanted)},
    )


@transaction.atomic
def invitation_create(*, actor: Any, tenant: Tenant, email: str, roles: set[str]) -> tuple[Invitation, str]:
    """Invite ``email`` with ``roles``; returns the invitation and its one-time token (shown once)."""
    require_role(actor=actor, tenant=tenant, roles={Role.ADMIN})
    return _invite(actor=actor, tenant=tenant, email=email, roles=roles)


@transaction.atomic
def invitation_create_first_admin(*, operator: str, tenant: Tenant, email: str) -> tuple[Invitation, str]:
    """An operator invites a new tenant's first admin (no admin exists yet to do it)."""
    return _invite(actor=operator, tenant=tenant, email=email, roles={Role.ADMIN})


def _invite(*, actor: Any, tenant: Tenant, email: str, roles: set[str]) -> tuple[Invitation, str]:
    wanted = _clean_roles(roles)
    if not wanted:
        raise InvalidRequest("Choose at least one role.")
    raw = "inv_" + secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        tenant=tenant,
        email=email.strip().lower(),
        roles=sorted(wanted),
        token_digest=_digest(raw),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    audit.record(
        action="membership.invited",
        actor=actor,
        tenant=tenant,
        target=invitation,
        details={"email": invitation.email, "roles": invitation.roles},
    )
    return invitation, raw


def invitation_for_token(*, raw_token: str) -> Invitation:
    """The usable invitation behind ``raw_token``, or NotFound."""
    invitation = Invitation.objects.select_related("tenant").filter(token_digest=_digest(raw_token)).first()
    if invitation is None or not invitation.is_usable():
        raise NotFound("This invitation is unknown, used or expired.")
    return invitation


@transaction.atomic
def invitation_accept(*, raw_token: str, username: str, password: str) -> User:
    """Create the invited person's account and grant the invited roles; the token then stops working."""
    invitation = invitation_for_token(raw_token=raw_token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_usable():
        raise NotFound("This invitation is unknown, used or expired.")
    user_model = get_user_model()
    candidate = user_model(username=username.strip(), email=invitation.email)
    try:
        candidate.full_clean(exclude=["password"])
        validate_password(password, candidate)
    except ValidationError as exc:
        raise InvalidRequest(" ".join(exc.messages)) from None
    candidate.set_password(password)
    try:
        with transaction.atomic():
            candidate.save()
    except IntegrityError:
        raise Conflict("That username is taken.") from None
    invited = set(invitation.roles)
    inviter = invitation.created_by
    if inviter is not None and invited & PRIVILEGED_ROLES:
        # An admin invited someone as admin/officer: the plain roles apply now, the privileged ones after
        # the quorum approves. (Operator invitations of a tenant's first admin have no inviter.)
        _grant_roles(tenant=invitation.tenant, user=candidate, roles=invited - PRIVILEGED_ROLES)
        _request_grant(actor=inviter, tenant=invitation.tenant, user=candidate, roles=invited)
    else:
        _grant_roles(tenant=invitation.tenant, user=candidate, roles=invited)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit.record(
        action="membership.invitation_accepted",
        actor=candidate,
        tenant=invitation.tenant,
        target=candidate,
        details={"roles": invitation.roles},
    )
    return candidate
