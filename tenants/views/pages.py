"""Tenant pages owned by this app: chooser, members, settings (security, service accounts, tokens)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from cockpit.errors import CockpitError
from tenants.forms import InviteForm, RolesForm, ServiceAccountForm, TokenForm
from tenants.models import Role
from tenants.selectors import (
    api_token_of,
    api_tokens_of,
    member_of,
    members_of,
    roles_of,
    service_account_of,
    service_accounts_of,
    tenants_for_user,
    user_by_login,
)
from tenants.services import (
    api_token_issue,
    api_token_revoke,
    backup_codes_regenerate,
    invitation_create,
    membership_add,
    membership_remove,
    membership_set_roles,
    service_account_create,
)
from tenants.views.decorators import AuthenticatedRequest, TenantRequest, tenant_page, verified_user_required

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ADMIN = {Role.ADMIN.value}


@verified_user_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    """Send the user to their last (or only) tenant, or let them choose."""
    tenants = list(tenants_for_user(user=request.user))
    last = request.session.get("last_tenant")
    chosen = next((t for t in tenants if t.slug == last), tenants[0] if len(tenants) == 1 else None)
    if chosen is not None:
        return redirect("dashboard", tenant_slug=chosen.slug)
    return render(request, "tenants/choose.html", {"tenants": tenants})


def _members_url(request: TenantRequest) -> str:
    return reverse("tenants:members", kwargs={"tenant_slug": request.tenant.slug})


@tenant_page()
def members(request: TenantRequest) -> HttpResponse:
    """Everyone with a role in the tenant; admins can invite, change roles and remove."""
    context = {"members": members_of(tenant=request.tenant), "invite_form": InviteForm()}
    return render(request, "tenants/members.html", context)


@require_POST
@tenant_page(roles=ADMIN)
def member_invite(request: TenantRequest) -> HttpResponse:
    """Grant roles to an existing account, or create a one-time invitation link for a new person."""
    form = InviteForm(request.POST)
    tenant = request.tenant
    if not form.is_valid():
        return render(
            request, "tenants/members.html", {"members": members_of(tenant=tenant), "invite_form": form}
        )
    email, roles = form.cleaned_data["email"], set(form.cleaned_data["roles"])
    existing = user_by_login(login=email)
    try:
        if existing is not None:
            filed = _add_existing(request, existing, roles)
            _report(request, filed, f"{existing.get_username()} now holds {', '.join(sorted(roles))}.")
            return redirect(_members_url(request))
        _, raw = invitation_create(actor=request.user, tenant=tenant, email=email, roles=roles)
    except CockpitError as exc:
        messages.error(request, exc.message)
        return redirect(_members_url(request))
    link = request.build_absolute_uri(reverse("accounts:invitation", kwargs={"token": raw}))
    return render(request, "tenants/invitation_created.html", {"email": email, "link": link})


def _add_existing(request: TenantRequest, user: User, roles: set[str]) -> object:
    tenant = request.tenant
    current = roles_of(user=user, tenant=tenant)
    if current:
        return membership_set_roles(actor=request.user, tenant=tenant, user=user, roles=set(current) | roles)
    return membership_add(actor=request.user, tenant=tenant, user=user, roles=roles)


def _report(request: HttpRequest, filed: object, done: str) -> None:
    """Say what happened: done at once, or filed for the officers' approval."""
    if filed is None:
        messages.success(request, done)
    else:
        messages.info(request, "Granting admin or officer needs the quorum: an approval request was filed.")


@require_POST
@tenant_page(roles=ADMIN)
def member_roles(request: TenantRequest, user_id: int) -> HttpResponse:
    """Set a member's roles."""
    member = member_of(tenant=request.tenant, user_id=user_id)
    form = RolesForm(request.POST)
    if form.is_valid():
        try:
            filed = membership_set_roles(
                actor=request.user,
                tenant=request.tenant,
                user=member.user,
                roles=set(form.cleaned_data["roles"]),
            )
            _report(request, filed, f"Roles of {member.user.get_username()} updated.")
        except CockpitError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, "Choose at least one role, or remove the member instead.")
    return redirect(_members_url(request))


@require_POST
@tenant_page(roles=ADMIN)
def member_remove(request: TenantRequest, user_id: int) -> HttpResponse:
    """Remove a member from the tenant."""
    member = member_of(tenant=request.tenant, user_id=user_id)
    try:
        membership_remove(actor=request.user, tenant=request.tenant, user=member.user)
        messages.success(request, f"{member.user.get_username()} was removed.")
    except CockpitError as exc:
        messages.error(request, exc.message)
    return redirect(_members_url(request))


@tenant_page()
def settings_page(request: TenantRequest) -> HttpResponse:
    """Personal security (backup codes) and, for admins, service accounts and API tokens."""
    tenant = request.tenant
    context = {
        "service_accounts": service_accounts_of(tenant=tenant),
        "tokens": api_tokens_of(tenant=tenant),
        "account_form": ServiceAccountForm(),
        "token_form": TokenForm(),
        "is_admin": Role.ADMIN in request.tenant_roles,
    }
    return render(request, "tenants/settings.html", context)


@require_POST
@tenant_page()
def backup_codes_new(request: TenantRequest) -> HttpResponse:
    """Issue a fresh set of backup codes; the old ones stop working."""
    codes = backup_codes_regenerate(user=request.user, request=request)
    return render(request, "accounts/backup_codes.html", {"codes": codes, "next": reverse("home")})


@require_POST
@tenant_page(roles=ADMIN)
def service_account_new(request: TenantRequest) -> HttpResponse:
    """Create a service account."""
    form = ServiceAccountForm(request.POST)
    if form.is_valid():
        try:
            service_account_create(actor=request.user, tenant=request.tenant, **form.cleaned_data)
            messages.success(request, "Service account created. Issue it a token below.")
        except CockpitError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, "A service account needs a name.")
    return redirect("tenants:settings", tenant_slug=request.tenant.slug)


@require_POST
@tenant_page(roles=ADMIN)
def token_new(request: TenantRequest, account_id: int) -> HttpResponse:
    """Issue an API token for a service account and show it once."""
    account = service_account_of(tenant=request.tenant, pk=account_id)
    form = TokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the token a name and a lifetime between 1 and 365 days.")
        return redirect("tenants:settings", tenant_slug=request.tenant.slug)
    token, raw = api_token_issue(actor=request.user, service_account=account, **form.cleaned_data)
    return render(request, "tenants/token_created.html", {"token": token, "raw": raw})


@require_POST
@tenant_page(roles=ADMIN)
def token_revoke(request: TenantRequest, token_id: int) -> HttpResponse:
    """Revoke an API token at once."""
    token = api_token_of(tenant=request.tenant, pk=token_id)
    api_token_revoke(actor=request.user, token=token)
    messages.success(request, f"Token {token.display_prefix} revoked.")
    return redirect("tenants:settings", tenant_slug=request.tenant.slug)
