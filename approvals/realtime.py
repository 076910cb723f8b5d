"""Live events about approval requests, sent after commit to the tenant's open pages."""

from __future__ import annotations

from django.urls import reverse

from approvals.models import ApprovalRequest, RequestState
from tenants.realtime import publish


def announce(request: ApprovalRequest, event: str) -> None:
    """Tell officers (prompt + badge) and every member's page (state) what changed."""
    from approvals.selectors import pending_count

    url = reverse("approvals:detail", kwargs={"tenant_slug": request.tenant.slug, "request_id": request.pk})
    data = {
        "id": str(request.pk),
        "state": request.state,
        "summary": request.summary,
        "target_type": request.target_type,
        "target_id": request.target_id,
        "url": url,
        "pending_approvals": pending_count(tenant_id=request.tenant_id),
    }
    if event == "approval.requested":
        prompt = f"{request.requested_by_label} asks for approval: {request.summary}"
        publish(tenant_id=request.tenant_id, role="officer", event=event, data={**data, "prompt": prompt})
    if request.state == RequestState.DONE:
        data["prompt"] = f"Done: {request.summary}"
    publish(tenant_id=request.tenant_id, event="approval.changed", data=data)
