"""Keys UI: list, create, detail (versions, state history, operations) and lifecycle buttons."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from cockpit.errors import CockpitError, InvalidRequest
from keys import services
from keys.custody import available_custody
from keys.forms import KeyCreateForm, ScheduleDeletionForm
from keys.models import Key
from keys.selectors import current_version, key_of, keys_of, operation_totals
from tenants.models import Role
from tenants.views.decorators import tenant_page

ADMIN = {Role.ADMIN.value}
TIGHTENERS = {Role.ADMIN.value, Role.OFFICER.value}


@tenant_page()
def key_list(request: HttpRequest) -> HttpResponse:
    """Every key of the tenant with its state and custody."""
    keys = keys_of(tenant=request.tenant)  # type: ignore[attr-defined]
    return render(request, "keys/list.html", {"keys": keys, "custody_offered": available_custody()})


@tenant_page(roles=ADMIN)
def key_create(request: HttpRequest) -> HttpResponse:
    """Create a key; its material is generated in the chosen backend right after."""
    form = KeyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            key = services.key_create(
                actor=request.user, tenant=request.tenant, name=data["name"], spec=data["spec"],  # type: ignore[attr-defined]
                usage=data["usage"], custody_name=data["custody"], description=data["description"],
                rotation_period_days=data["rotation_period_days"],
            )  # fmt: skip
        except CockpitError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Key {key.name} is being created.")
            return redirect("keys:detail", tenant_slug=request.tenant.slug, key_id=key.pk)  # type: ignore[attr-defined]
    return render(request, "keys/create.html", {"form": form})


@tenant_page()
def key_detail(request: HttpRequest, key_id: str) -> HttpResponse:
    """Versions, state history, bound connectors and operation counts of one key."""
    key = key_of(tenant=request.tenant, key_id=key_id)  # type: ignore[attr-defined]
    context = {
        "key": key,
        "current": current_version(key=key),
        "versions": key.versions.all(),
        "history": key.state_changes.all()[:50],
        "operations": operation_totals(key=key),
        "deletion_form": ScheduleDeletionForm(),
        "is_admin": Role.ADMIN in request.tenant_roles,  # type: ignore[attr-defined]
        "can_tighten": bool(TIGHTENERS & request.tenant_roles),  # type: ignore[attr-defined]
    }
    return render(request, "keys/detail.html", context)


def _lifecycle(action: Callable[..., Any], done: str, roles: set[str]) -> Callable[..., HttpResponse]:
    @require_POST
    @tenant_page(roles=roles)
    def view(request: HttpRequest, key_id: str) -> HttpResponse:
        key: Key = key_of(tenant=request.tenant, key_id=key_id)  # type: ignore[attr-defined]
        try:
            action(request, key)
            messages.success(request, done.format(name=key.name))
        except CockpitError as exc:
            messages.error(request, exc.message)
        return redirect("keys:detail", tenant_slug=request.tenant.slug, key_id=key.pk)  # type: ignore[attr-defined]

    return view


def _schedule(request: HttpRequest, key: Key) -> None:
    form = ScheduleDeletionForm(request.POST)
    if not form.is_valid():
        raise InvalidRequest("The waiting period must be between 7 and 30 days.")
    services.key_schedule_deletion(
        actor=request.user, key=key, waiting_days=form.cleaned_data["waiting_days"]
    )


key_rotate = _lifecycle(
    lambda r, k: services.key_rotate(actor=r.user, key=k), "Rotation of {name} started.", ADMIN
)
key_disable = _lifecycle(
    lambda r, k: services.key_disable(actor=r.user, key=k), "{name} is disabled.", TIGHTENERS
)
key_enable = _lifecycle(lambda r, k: services.key_enable(actor=r.user, key=k), "{name} is enabled.", ADMIN)
key_schedule_deletion = _lifecycle(_schedule, "{name} is scheduled for destruction.", ADMIN)
key_cancel_deletion = _lifecycle(
    lambda r, k: services.key_cancel_deletion(actor=r.user, key=k),
    "Deletion of {name} cancelled.",
    TIGHTENERS,
)
