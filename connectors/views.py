"""Connectors UI: list, request a binding, detail with what to paste, calls, kill switch, credentials."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Avg, Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from approvals.services import request_create
from cockpit.errors import CockpitError, NotFound
from connectors import services
from connectors.forms import BindingForm
from connectors.selectors import binding_of, bindings_of, recent_calls
from connectors.setup_info import setup_info
from tenants.models import Role
from tenants.views.decorators import TenantRequest, tenant_page

REQUESTERS = {Role.ADMIN.value, Role.OFFICER.value}
ADMINS = {Role.ADMIN.value}


@tenant_page()
def binding_list(request: TenantRequest) -> HttpResponse:
    """Every binding with its state."""
    return render(request, "connectors/list.html", {"bindings": bindings_of(tenant=request.tenant)})


@tenant_page(roles=REQUESTERS)
def binding_create(request: TenantRequest) -> HttpResponse:
    """Request a binding; it exists once the officers approve."""
    tenant = request.tenant
    form = BindingForm(request.POST or None, tenant=tenant)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        params = {
            "kind": data["kind"], "name": data["name"], "route": data["route"], "settings": data["settings"],
            "keys": [{"key_id": str(data["key"].pk), "external_id": data["external_id"]}],
        }  # fmt: skip
        try:
            filed = request_create(
                actor=request.user, tenant=tenant, operation="connectors.bind", params=params
            )
        except CockpitError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Binding requested; it is created once enough officers approve.")
            return redirect("approvals:detail", tenant_slug=tenant.slug, request_id=filed.pk)
    return render(request, "connectors/create.html", {"form": form})


@tenant_page()
def binding_detail(request: TenantRequest, binding_id: str) -> HttpResponse:
    """What to paste into the platform, the keys, credentials and recent calls with errors and latency."""
    binding = binding_of(tenant=request.tenant, binding_id=binding_id)
    calls = recent_calls(binding=binding)
    stats = binding.calls.aggregate(
        total=Count("id"), errors=Count("id", filter=~Q(outcome="OK")), latency=Avg("latency_ms")
    )
    context = {
        "binding": binding,
        "setup": setup_info(binding),
        "keys": binding.bound_keys.select_related("key"),
        "credentials": binding.credentials.all(),
        "calls": calls,
        "stats": stats,
        "is_admin": Role.ADMIN in request.tenant_roles,
    }
    return render(request, "connectors/detail.html", context)


def _back(request: TenantRequest, binding_id: str) -> HttpResponse:
    return redirect("connectors:detail", tenant_slug=request.tenant.slug, binding_id=binding_id)


@require_POST
@tenant_page(roles=REQUESTERS)
def binding_disable(request: TenantRequest, binding_id: str) -> HttpResponse:
    """Kill switch: the platform is refused from now on."""
    binding = binding_of(tenant=request.tenant, binding_id=binding_id)
    try:
        services.binding_disable(actor=request.user, binding=binding)
        messages.success(request, f"{binding.name} is disabled: every call is refused from now on.")
    except CockpitError as exc:
        messages.error(request, exc.message)
    return _back(request, binding_id)


@require_POST
@tenant_page(roles=REQUESTERS)
def binding_enable(request: TenantRequest, binding_id: str) -> HttpResponse:
    """Request enabling again (dual control)."""
    tenant = request.tenant
    binding = binding_of(tenant=tenant, binding_id=binding_id)
    try:
        filed = request_create(
            actor=request.user,
            tenant=tenant,
            operation="connectors.enable",
            params={"binding_id": str(binding.pk)},
        )
    except CockpitError as exc:
        messages.error(request, exc.message)
        return _back(request, binding_id)
    return redirect("approvals:detail", tenant_slug=tenant.slug, request_id=filed.pk)


@require_POST
@tenant_page(roles=ADMINS)
def credential_issue(request: TenantRequest, binding_id: str) -> HttpResponse:
    """A second credential for rotation."""
    binding = binding_of(tenant=request.tenant, binding_id=binding_id)
    try:
        credential = services.credential_issue(actor=request.user, binding=binding)
        messages.success(
            request, f"Credential {credential.access_key_id} issued. Reveal its secret once below."
        )
    except CockpitError as exc:
        messages.error(request, exc.message)
    return _back(request, binding_id)


@require_POST
@tenant_page(roles=ADMINS)
def credential_reveal(request: TenantRequest, binding_id: str, access_key_id: str) -> HttpResponse:
    """Show a secret access key once."""
    binding = binding_of(tenant=request.tenant, binding_id=binding_id)
    credential = binding.credentials.filter(access_key_id=access_key_id).first()
    if credential is None:
        raise NotFound("No such credential.")
    try:
        secret = services.credential_reveal(actor=request.user, credential=credential)
    except CockpitError as exc:
        messages.error(request, exc.message)
        return _back(request, binding_id)
    context = {"binding": binding, "credential": credential, "secret": secret, "setup": setup_info(binding)}
    return render(request, "connectors/secret.html", context)


@require_POST
@tenant_page(roles=REQUESTERS)
def credential_revoke(request: TenantRequest, binding_id: str, access_key_id: str) -> HttpResponse:
    """Revoke a credential at once."""
    binding = binding_of(tenant=request.tenant, binding_id=binding_id)
    credential = binding.credentials.filter(access_key_id=access_key_id).first()
    if credential is None:
        raise NotFound("No such credential.")
    services.credential_revoke(actor=request.user, credential=credential)
    messages.success(request, f"Credential {access_key_id} revoked.")
    return _back(request, binding_id)
