"""Reads about tenants and members. Every lookup that takes an id or slug is scoped to the caller."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django_otp import devices_for_user

from cockpit.errors import NotFound
from tenants.models import ApiToken, Membership, Role, ServiceAccount, Tenant

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


@dataclass(frozen=True)
class Member:
    """A user and the roles they hold in one tenant."""

    user: User
    roles: frozenset[str]

    @property
    def role_labels(self) -> list[str]:
        return [label for value, label in Role.choices if value in self.roles]


def tenants_for_user(*, user: User | AnonymousUser) -> QuerySet[Tenant]:
    """The active tenants in which ``user`` holds at least one role."""
    if not user.is_authenticated:
        return Tenant.objects.none()
    return Tenant.objects.filter(is_active=True, memberships__user=user).distinct().order_by("name")


def tenant_for_user(*, user: User | AnonymousUser, slug: str) -> Tenant:
    """The tenant ``slug`` if ``user`` is a member; NotFound otherwise (missing and forbidden look alike)."""
    tenant = tenants_for_user(user=user).filter(slug=slug).first()
    if tenant is None:
        raise NotFound()
    return tenant


def roles_of(*, user: User | AnonymousUser, tenant: Tenant) -> frozenset[str]:
    """The roles ``user`` holds in ``tenant`` (empty for outsiders and anonymous users)."""
    if not user.is_authenticated:
        return frozenset()
    return frozenset(Membership.objects.filter(tenant=tenant, user=user).values_list("role", flat=True))


def members_of(*, tenant: Tenant) -> list[Member]:
    """Every member of ``tenant`` with their roles, ordered by username."""
    roles: dict[int, set[str]] = defaultdict(set)
    users: dict[int, User] = {}
    for membership in Membership.objects.filter(tenant=tenant).select_related("user"):
        roles[membership.user_id].add(membership.role)
        users[membership.user_id] = membership.user
    ordered = sorted(users.values(), key=lambda u: u.get_username())
    return [Member(user=u, roles=frozenset(roles[u.pk])) for u in ordered]


def member_of(*, tenant: Tenant, user_id: int) -> Member:
    """One member of ``tenant``; NotFound when the user holds no role there."""
    for member in members_of(tenant=tenant):
        if member.user.pk == user_id:
            return member
    raise NotFound()


def user_by_login(*, login: str) -> User | None:
    """A user by username or e-mail address (case-insensitive), or None."""
    model = get_user_model()
    user = model.objects.filter(username__iexact=login).first()
    return user or model.objects.filter(email__iexact=login).first()


def has_confirmed_otp_device(*, user: User | AnonymousUser) -> bool:
    """Whether the user has finished TOTP enrolment."""
    return any(True for _ in devices_for_user(user, confirmed=True))


def service_accounts_of(*, tenant: Tenant) -> QuerySet[ServiceAccount]:
    """The tenant's service accounts."""
    return ServiceAccount.objects.filter(tenant=tenant).order_by("name")


def service_account_of(*, tenant: Tenant, pk: int) -> ServiceAccount:
    """One of the tenant's service accounts, or NotFound."""
    account = ServiceAccount.objects.filter(tenant=tenant, pk=pk).first()
    if account is None:
        raise NotFound()
    return account


def api_tokens_of(*, tenant: Tenant) -> QuerySet[ApiToken]:
    """The tenant's API tokens, newest first."""
    return ApiToken.objects.filter(tenant=tenant).select_related("service_account").order_by("-created_at")


def api_token_of(*, tenant: Tenant, pk: int) -> ApiToken:
    """One of the tenant's API tokens, or NotFound."""
    token = api_tokens_of(tenant=tenant).filter(pk=pk).first()
    if token is None:
        raise NotFound()
    return token
