"""TOTP enrolment, verification at sign-in and static backup codes (django-otp)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

import audit
from audit.models import Outcome
from cockpit.errors import Conflict, InvalidRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ENROLMENT_DEVICE_NAME = "authenticator app"
BACKUP_DEVICE_NAME = "backup codes"


def _clean_code(code: str) -> str:
    return "".join(code.split())[:32]


@transaction.atomic
def totp_enrolment_begin(*, user: User) -> TOTPDevice:
    """The user's pending (unconfirmed) TOTP device, created once so reloading the page keeps the secret."""
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise Conflict("Two-factor authentication is already set up.")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    return device or TOTPDevice.objects.create(user=user, name=ENROLMENT_DEVICE_NAME, confirmed=False)


def _new_backup_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(settings.BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def totp_enrolment_confirm(*, user: User, device: TOTPDevice, code: str, request: HttpRequest) -> list[str]:
    """Confirm enrolment with a first code from the app; returns fresh backup codes (shown once)."""
    device = TOTPDevice.objects.get(pk=device.pk, user=user, confirmed=False)
    # Outside a transaction on purpose: the failure audit row and django-otp's throttle counter must stay.
    if not device.verify_token(_clean_code(code)):
        audit.record(action="otp.enrolment_failed", actor=user, outcome=Outcome.FAILURE, request=request)
        raise InvalidRequest("That code is not right. Check the time on your phone and try the next code.")
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        codes = _new_backup_codes(user)
        otp_login(request, device)
        audit.record(action="otp.enrolled", actor=user, target=device, request=request)
    return codes


@transaction.atomic
def backup_codes_regenerate(*, user: User, request: Any = None) -> list[str]:
    """Replace the user's backup codes; the old ones stop working."""
    codes = _new_backup_codes(user)
    audit.record(action="otp.backup_codes_regenerated", actor=user, request=request)
    return codes


def otp_verify(*, user: User, code: str, request: HttpRequest) -> Device | None:
    """Verify a TOTP or backup code for the signed-in user; marks the session verified on success.

    django-otp throttles repeated failures per device and refuses a TOTP code already used.
    Every outcome is audited; the code itself never is.
    """
    with transaction.atomic():
        device = match_token(user, _clean_code(code))
        if device is None:
            audit.record(action="otp.failed", actor=user, outcome=Outcome.FAILURE, request=request)
            return None
        otp_login(request, device)
        kind = "backup_code" if isinstance(device, StaticDevice) else "totp"
        audit.record(action="otp.verified", actor=user, request=request, details={"method": kind})
        return device
