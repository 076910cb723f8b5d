"""The one gate in front of every tenant page: signed in, OTP-verified, member of the tenant."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from cockpit.errors import NotFound
from tenants.selectors import has_confirmed_otp_device, roles_of, tenant_for_user

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from tenants.models import Tenant

View = Callable[..., HttpResponse]


class AuthenticatedRequest(HttpRequest):
    """A request whose user signed in (views behind ``login_required`` or ``verified_user_required``)."""

    user: User


class TenantRequest(AuthenticatedRequest):
    """What a ``tenant_page`` view receives: the tenant from the URL and the roles the user holds in it."""

    tenant: Tenant
    tenant_roles: frozenset[str]


class _OtpUser(Protocol):
    """The method django-otp's ``OTPMiddleware`` adds to ``request.user``."""

    def is_verified(self) -> bool: ...


def otp_step_url(request: HttpRequest) -> str:
    """Where a signed-in but unverified user goes next: enrolment first time, verification after."""
    name = "accounts:otp-verify" if has_confirmed_otp_device(user=request.user) else "accounts:otp-enrol"
    return f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}"


def verified_user_required(view: View) -> View:
    """Signed in and OTP-verified in this session, or redirected to the missing step."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            login = reverse("accounts:login")
            return HttpResponseRedirect(f"{login}?{urlencode({'next': request.get_full_path()})}")
        if not cast("_OtpUser", request.user).is_verified():
            return HttpResponseRedirect(otp_step_url(request))
        return view(request, *args, **kwargs)

    return wrapper


def tenant_page(*, roles: set[str] | None = None) -> Callable[[View], View]:
    """Load ``request.tenant`` from the URL's slug within the user's memberships (404 for outsiders).

    ``roles`` limits the page to members holding one of them (403 for other members).
    """

    def decorator(view: View) -> View:
        @wraps(view)
        @verified_user_required
        def wrapper(request: HttpRequest, tenant_slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                tenant = tenant_for_user(user=request.user, slug=tenant_slug)
            except NotFound:
                raise Http404("No such tenant.") from None
            held = roles_of(user=request.user, tenant=tenant)
            # From here on the request is a TenantRequest: this is where its two attributes are set.
            tenant_request = cast("TenantRequest", request)
            tenant_request.tenant = tenant
            tenant_request.tenant_roles = held
            if roles and not held & roles:
                raise PermissionDenied
            request.session["last_tenant"] = tenant.slug
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
