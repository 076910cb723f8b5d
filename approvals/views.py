"""Approvals UI: pending and history (refreshed live), request detail with approve/reject, policies."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from approvals import services
from approvals.forms import ApproveForm, PolicyForm, RejectForm
from approvals.models import OPEN_STATES
from approvals.registry import operation_classes
from approvals.selectors import effective_policy, policies_of, request_of, requests_of
from cockpit.errors import CockpitError
from tenants.models import Role
from tenants.views.decorators import TenantRequest, tenant_page

OFFICERS = {Role.OFFICER.value}


def _lists(request: TenantRequest) -> dict[str, object]:
    tenant = request.tenant
    everything = list(requests_of(tenant=tenant)[:100])
    return {
        "open_requests": [r for r in everything if r.state in OPEN_STATES],
        "history": [r for r in everything if r.state not in OPEN_STATES][:50],
        "now": timezone.now(),
    }


@tenant_page()
def approval_list(request: TenantRequest) -> HttpResponse:
    """Open requests first, then history; the lists refresh when a live event arrives."""
    return render(request, "approvals/list.html", _lists(request))


@tenant_page()
def approval_list_partial(request: TenantRequest) -> HttpResponse:
    """The lists alone, fetched by htmx on live events."""
    return render(request, "approvals/_lists.html", _lists(request))


@tenant_page()
def approval_detail(request: TenantRequest, request_id: str) -> HttpResponse:
    """What is asked, who asked, the digest, who decided, time left, and the approve/reject forms."""
    item = request_of(tenant=request.tenant, request_id=request_id)
    context = {
        "item": item,
        "approve_form": ApproveForm(),
        "reject_form": RejectForm(),
        "is_officer": Role.OFFICER in request.tenant_roles,
        "is_requester": item.requested_by_id == request.user.pk,
        "approvals": [d for d in item.decisions.all() if d.decision == "approve"],
        "now": timezone.now(),
    }
    template = "approvals/_detail_body.html" if request.headers.get("HX-Request") else "approvals/detail.html"
    return render(request, template, context)


@require_POST
@tenant_page(roles=OFFICERS)
def approval_approve(request: TenantRequest, request_id: str) -> HttpResponse:
    """Approve with a fresh TOTP code."""
    item = request_of(tenant=request.tenant, request_id=request_id)
    form = ApproveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Type the 6-digit code from your authenticator app.")
    else:
        try:
            services.request_approve(actor=request.user, request=item, otp=form.cleaned_data["otp"])
            messages.success(request, "Your approval is recorded.")
        except CockpitError as exc:
            messages.error(request, exc.message)
    return redirect("approvals:detail", tenant_slug=request.tenant.slug, request_id=item.pk)


@require_POST
@tenant_page(roles=OFFICERS)
def approval_reject(request: TenantRequest, request_id: str) -> HttpResponse:
    """Reject a pending request, or veto a time-locked one."""
    item = request_of(tenant=request.tenant, request_id=request_id)
    form = RejectForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.request_reject(actor=request.user, request=item, reason=reason)
        messages.success(request, "The request is rejected; it will not run.")
    except CockpitError as exc:
        messages.error(request, exc.message)
    return redirect("approvals:detail", tenant_slug=request.tenant.slug, request_id=item.pk)


@tenant_page()
def policy_page(request: TenantRequest) -> HttpResponse:
    """The rules in force per operation class; changing one is itself a request under the rule in force."""
    tenant = request.tenant
    form = PolicyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            filed = services.request_create(
                actor=request.user, tenant=tenant, operation="approvals.set_policy", params=form.cleaned_data
            )
        except CockpitError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Policy change requested; it applies once approved.")
            return redirect("approvals:detail", tenant_slug=tenant.slug, request_id=filed.pk)
    rules = [(c, effective_policy(tenant=tenant, operation_class=c)) for c in operation_classes()]
    context = {"rules": rules, "scoped": policies_of(tenant=tenant).exclude(scope_id=""), "form": form}
    return render(request, "approvals/policies.html", context)
