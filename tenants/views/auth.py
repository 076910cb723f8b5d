"""Sign-in: password (throttled and locked out by django-axes), then TOTP, with first-time enrolment."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from cockpit.errors import CockpitError, Conflict, NotFound
from tenants import qr
from tenants.forms import EnrolmentForm, InvitationAcceptForm, OtpCodeForm
from tenants.selectors import has_confirmed_otp_device
from tenants.services import otp_verify, totp_enrolment_begin, totp_enrolment_confirm
from tenants.services.members import invitation_accept, invitation_for_token
from tenants.views.decorators import AuthenticatedRequest


def _safe_next(request: HttpRequest, default: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse(default)


class SignInView(LoginView):
    """Password step; the OTP step follows before any tenant page is reachable."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = False

    def get_success_url(self) -> str:
        name = (
            "accounts:otp-verify"
            if has_confirmed_otp_device(user=self.request.user)
            else "accounts:otp-enrol"
        )
        nxt = _safe_next(self.request)
        return f"{reverse(name)}?next={nxt}"


def lockout_response(request: HttpRequest, response: Any = None, credentials: Any = None) -> HttpResponse:
    """What django-axes answers once an account is locked: a page, status 429."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "accounts/locked.html", {"minutes": minutes}, status=429)


@login_required(login_url="accounts:login")
def otp_verify_view(request: AuthenticatedRequest) -> HttpResponse:
    """Second factor: a TOTP code or a one-time backup code."""
    if not has_confirmed_otp_device(user=request.user):
        return redirect("accounts:otp-enrol")
    form = OtpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if otp_verify(user=request.user, code=form.cleaned_data["code"], request=request):
            return HttpResponseRedirect(_safe_next(request))
        form.add_error("code", "That code is not valid. Wait for the next code and try again.")
    return render(request, "accounts/otp_verify.html", {"form": form, "next": _safe_next(request)})


@login_required(login_url="accounts:login")
def otp_enrol_view(request: AuthenticatedRequest) -> HttpResponse:
    """First sign-in: scan a QR code, confirm a first code, receive backup codes once."""
    try:
        device = totp_enrolment_begin(user=request.user)
    except Conflict:
        return redirect("accounts:otp-verify")
    form = EnrolmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = totp_enrolment_confirm(
                user=request.user, device=device, code=form.cleaned_data["code"], request=request
            )
        except CockpitError as exc:
            form.add_error("code", exc.message)
        else:
            context: dict[str, object] = {"codes": codes, "next": _safe_next(request)}
            return render(request, "accounts/backup_codes.html", context)
    context = {
        "form": form,
        "qr_svg": qr.svg(device.config_url),
        "secret": qr.base32_secret(device.bin_key),
        "otpauth_uri": device.config_url,
        "next": _safe_next(request),
    }
    return render(request, "accounts/otp_enrol.html", context)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """End the session."""
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("accounts:login")


def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """An invited person chooses a username and password; enrolment follows at first sign-in."""
    try:
        invitation = invitation_for_token(raw_token=token)
    except NotFound:
        return render(request, "accounts/invitation_invalid.html", status=404)
    form = InvitationAcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation_accept(
                raw_token=token,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except CockpitError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, f"Welcome to {invitation.tenant.name}. Sign in to set up your second factor."
            )
            return redirect("accounts:login")
    return render(request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation})
