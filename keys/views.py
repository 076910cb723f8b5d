"""Keys UI: list, create, detail (versions, state history, operations) and lifecycle buttons."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from approvals.selectors import open_requests_for
from approvals.services import request_create
from cockpit.errors import CockpitError
from keys import services
from keys.custody import available_custody
from keys.forms import CustomerNodeForm, KeyCreateForm, ScheduleDeletionForm
from keys.models import Key
from keys.selectors import (
    bindings_of_key,
    current_version,
    customer_nodes_of,
    key_of,
    keys_of,
    operation_totals,
)
from tenants.models import Role
from tenants.views.decorators import TenantRequest, tenant_page

TIGHTENERS = {Role.ADMIN.value, Role.OFFICER.value}
REQUESTERS = TIGHTENERS  # loosening changes are requests; officers decide them


@tenant_page()
def key_list(request: TenantRequest) -> HttpResponse:
    """Every key of the tenant with its state and custody."""
    keys = keys_of(tenant=request.tenant)
    return render(request, "keys/list.html", {"keys": keys, "custody_offered": available_custody()})


@tenant_page(roles=REQUESTERS)
def key_create(request: TenantRequest) -> HttpResponse:
    """Request a new key; officers approve, then its material is generated in the chosen backend."""
    tenant = request.tenant
    form = KeyCreateForm(request.POST or None, tenant=tenant)
    if request.method == "POST" and form.is_valid():
        try:
            filed = request_create(
                actor=request.user, tenant=tenant, operation="keys.create", params=form.cleaned_data
            )
        except CockpitError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Key creation requested; it happens once enough officers approve.")
            return redirect("approvals:detail", tenant_slug=tenant.slug, request_id=filed.pk)
    return render(request, "keys/create.html", {"form": form})


@tenant_page()
def key_detail(request: TenantRequest, key_id: str) -> HttpResponse:
    """Versions, state history, bound connectors and operation counts of one key."""
    key = key_of(tenant=request.tenant, key_id=key_id)
    context = {
        "key": key,
        "current": current_version(key=key),
        "versions": key.versions.all(),
        "bound": bindings_of_key(key=key),
        "history": key.state_changes.all()[:50],
        "operations": operation_totals(key=key),
        "deletion_form": ScheduleDeletionForm(),
        "can_request": bool(REQUESTERS & request.tenant_roles),
        "can_tighten": bool(TIGHTENERS & request.tenant_roles),
        "open_requests": open_requests_for(tenant=request.tenant, target_id=str(key.pk)),
    }
    return render(request, "keys/detail.html", context)


def _immediate(action: Callable[..., Any], done: str) -> Callable[..., HttpResponse]:
    """A tightening change: one admin or officer, at once."""

    @require_POST
    @tenant_page(roles=TIGHTENERS)
    def view(request: TenantRequest, key_id: str) -> HttpResponse:
        key: Key = key_of(tenant=request.tenant, key_id=key_id)
        try:
            action(request, key)
            messages.success(request, done.format(name=key.name))
        except CockpitError as exc:
            messages.error(request, exc.message)
        return redirect("keys:detail", tenant_slug=request.tenant.slug, key_id=key.pk)

    return view


def _requested(operation: str, extra_form: type[forms.Form] | None = None) -> Callable[..., HttpResponse]:
    """A loosening change: files an approval request and shows it."""

    @require_POST
    @tenant_page(roles=REQUESTERS)
    def view(request: TenantRequest, key_id: str) -> HttpResponse:
        key: Key = key_of(tenant=request.tenant, key_id=key_id)
        params: dict[str, Any] = {"key_id": str(key.pk)}
        if extra_form is not None:
            form = extra_form(request.POST)
            if not form.is_valid():
                messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
                return redirect("keys:detail", tenant_slug=request.tenant.slug, key_id=key.pk)
            params.update(form.cleaned_data)
        try:
            filed = request_create(
                actor=request.user, tenant=request.tenant, operation=operation, params=params
            )
        except CockpitError as exc:
            messages.error(request, exc.message)
            return redirect("keys:detail", tenant_slug=request.tenant.slug, key_id=key.pk)
        messages.success(request, "Requested; it happens once enough officers approve.")
        return redirect("approvals:detail", tenant_slug=request.tenant.slug, request_id=filed.pk)

    return view


key_rotate = _requested("keys.rotate")
key_enable = _requested("keys.enable")
key_schedule_deletion = _requested("keys.schedule_deletion", ScheduleDeletionForm)
key_disable = _immediate(lambda r, k: services.key_disable(actor=r.user, key=k), "{name} is disabled.")
key_cancel_deletion = _immediate(
    lambda r, k: services.key_cancel_deletion(actor=r.user, key=k),
    "Deletion of {name} cancelled; the key is disabled.",
)


@tenant_page()
def key_state_fragment(request: TenantRequest, key_id: str) -> HttpResponse:
    """The key's state line, refreshed live on the detail page."""
    key = key_of(tenant=request.tenant, key_id=key_id)
    return render(request, "keys/_state.html", {"key": key})


@tenant_page()
def customer_nodes(request: TenantRequest) -> HttpResponse:
    """The tenant's own MPC nodes; admins enrol new ones (the coordinator checks the node answers)."""
    tenant = request.tenant
    form = CustomerNodeForm(request.POST or None)
    if request.method == "POST":
        if Role.ADMIN not in request.tenant_roles:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.customer_node_enrol(actor=request.user, tenant=tenant, **form.cleaned_data)
            except CockpitError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request, "Customer node enrolled. Keys created with it need it in every use."
                )
                return redirect("keys:customer-nodes", tenant_slug=tenant.slug)
    context = {"nodes": customer_nodes_of(tenant=tenant), "form": form}
    return render(request, "keys/customer_nodes.html", context)
