"""Pages spanning apps (dashboard, audit) or none (health), and placeholders for later sections."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from approvals.models import RequestState
from approvals.selectors import requests_of
from audit.selectors import audit_events_for_tenant
from cockpit.health import readiness
from keys.custody import mpc_node_health
from keys.selectors import key_inventory
from tenants.models import Role
from tenants.selectors import members_of
from tenants.views.decorators import TenantRequest, View, tenant_page

SECTIONS = {
    "billing": ("Billing", "Your plan, usage and monthly reports."),
}


def _member_ids(request: TenantRequest) -> list[int]:
    return [m.user.pk for m in members_of(tenant=request.tenant)]


@tenant_page()
def dashboard(request: TenantRequest) -> HttpResponse:
    """The tenant's front page: what needs attention and what happened recently."""
    tenant = request.tenant
    events = audit_events_for_tenant(tenant_id=tenant.pk, member_ids=_member_ids(request))[:10]
    context = {
        "recent_events": events,
        "member_count": len(_member_ids(request)),
        "key_inventory": key_inventory(tenant=tenant),
        "pending_requests": requests_of(tenant=tenant, state=RequestState.PENDING)[:10],
        "nodes": mpc_node_health(),
    }
    return render(request, "dashboard.html", context)


@tenant_page(roles={Role.ADMIN.value, Role.AUDITOR.value})
def audit_log(request: TenantRequest) -> HttpResponse:
    """The tenant's audit events, newest first, filterable by action prefix."""
    prefix = request.GET.get("action", "")[:100]
    events = audit_events_for_tenant(
        tenant_id=request.tenant.pk,
        member_ids=_member_ids(request),
        action_prefix=prefix,
    )[:200]
    return render(request, "audit/log.html", {"events": events, "action": prefix})


def section_placeholder(section: str) -> View:
    """A page for a section that a later release fills in; it says so instead of failing."""
    title, purpose = SECTIONS[section]

    @tenant_page()
    def view(request: TenantRequest) -> HttpResponse:
        return render(request, "placeholder.html", {"title": title, "purpose": purpose, "section": section})

    view.__name__ = f"{section}_placeholder"
    return view


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database, channel layer and broker answer."""
    checks = readiness()
    ok = all(result == "ok" for result in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )
