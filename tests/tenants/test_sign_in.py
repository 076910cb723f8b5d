"""Sign-in: password then TOTP; enrolment on first sign-in; backup codes; lockout; audit."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from tenants.models import Membership
from testkit import PASSWORD, World, make_user, totp_code

pytestmark = pytest.mark.django_db


def sign_in_password(client: Client, username: str, password: str = PASSWORD) -> object:
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def dashboard_url(world: World) -> str:
    return reverse("dashboard", kwargs={"tenant_slug": world.tenant_a.slug})


def test_password_alone_cannot_reach_a_tenant_page(world: World) -> None:
    client = Client()
    response = sign_in_password(client, world.officer_a.username)
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:otp-verify"))
    page = client.get(dashboard_url(world))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("accounts:otp-verify"))


def test_officer_signs_in_with_password_and_totp(world: World) -> None:
    client = Client()
    sign_in_password(client, world.officer_a.username)
    response = client.post(
        reverse("accounts:otp-verify"), {"code": totp_code(world.officer_a), "next": dashboard_url(world)}
    )
    assert response.status_code == 302 and response["Location"] == dashboard_url(world)
    page = client.get(dashboard_url(world))
    assert page.status_code == 200
    assert world.tenant_a.name in page.content.decode()
    assert AuditEvent.objects.filter(action="otp.verified", actor_id=str(world.officer_a.pk)).exists()


def test_wrong_totp_is_refused_and_audited(world: World) -> None:
    client = Client()
    sign_in_password(client, world.officer_a.username)
    wrong = str((int(totp_code(world.officer_a)) + 1) % 1_000_000).zfill(6)
    response = client.post(reverse("accounts:otp-verify"), {"code": wrong})
    assert response.status_code == 200
    assert "not valid" in response.content.decode()
    assert client.get(dashboard_url(world)).status_code == 302
    failure = AuditEvent.objects.get(action="otp.failed")
    assert failure.actor_id == str(world.officer_a.pk) and failure.outcome == "failure"
    assert wrong not in str(failure.details)


def test_a_totp_code_cannot_be_used_twice(world: World) -> None:
    code = totp_code(world.officer_a)
    first, second = Client(), Client()
    sign_in_password(first, world.officer_a.username)
    assert first.post(reverse("accounts:otp-verify"), {"code": code}).status_code == 302
    sign_in_password(second, world.officer_a.username)
    assert second.post(reverse("accounts:otp-verify"), {"code": code}).status_code == 200
    assert second.get(dashboard_url(world)).status_code == 302


def test_backup_code_works_exactly_once(world: World) -> None:
    from tenants.services import backup_codes_regenerate

    codes = backup_codes_regenerate(user=world.officer_a)
    assert len(codes) == 10 and len(set(codes)) == 10
    client = Client()
    sign_in_password(client, world.officer_a.username)
    assert client.post(reverse("accounts:otp-verify"), {"code": codes[0]}).status_code == 302
    assert client.get(dashboard_url(world)).status_code == 200
    again = Client()
    sign_in_password(again, world.officer_a.username)
    assert again.post(reverse("accounts:otp-verify"), {"code": codes[0]}).status_code == 200
    assert again.get(dashboard_url(world)).status_code == 302
    assert StaticToken.objects.filter(device__user=world.officer_a).count() == 9


def test_first_sign_in_walks_through_enrolment_and_issues_backup_codes(world: World) -> None:
    newcomer = make_user("newcomer", with_totp=False)
    Membership.objects.create(tenant=world.tenant_a, user=newcomer, role="officer")
    client = Client()
    response = sign_in_password(client, "newcomer")
    assert response["Location"].startswith(reverse("accounts:otp-enrol"))
    page = client.get(reverse("accounts:otp-enrol"))
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html and "otpauth://totp/" in html
    device = TOTPDevice.objects.get(user=newcomer, confirmed=False)
    assert client.get(dashboard_url(world)).status_code == 302  # not verified yet
    code = str(totp(device.bin_key, device.step, device.t0, device.digits, device.drift)).zfill(6)
    done = client.post(reverse("accounts:otp-enrol"), {"code": code})
    codes = re.findall(r"<li><code>([a-z0-9]+)</code></li>", done.content.decode())
    assert done.status_code == 200 and len(codes) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(dashboard_url(world)).status_code == 200
    assert AuditEvent.objects.filter(action="otp.enrolled", actor_id=str(newcomer.pk)).exists()


def test_enrolment_with_a_wrong_code_confirms_nothing(world: World) -> None:
    newcomer = make_user("newcomer2", with_totp=False)
    client = Client()
    sign_in_password(client, "newcomer2")
    client.get(reverse("accounts:otp-enrol"))
    response = client.post(reverse("accounts:otp-enrol"), {"code": "000000"})
    assert response.status_code == 200 and "not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=newcomer, confirmed=True).exists()
    assert AuditEvent.objects.filter(action="otp.enrolment_failed", actor_id=str(newcomer.pk)).exists()


def test_repeated_failed_passwords_lock_the_account(world: World, settings: object) -> None:
    client = Client()
    for _ in range(4):
        assert sign_in_password(client, world.admin_a.username, "wrong password").status_code == 200
    assert sign_in_password(client, world.admin_a.username, "wrong password").status_code == 429
    locked = sign_in_password(client, world.admin_a.username)  # the right password, still locked
    assert locked.status_code == 429
    assert "locked" in locked.content.decode()
    assert AuditEvent.objects.filter(action="auth.login.failed").count() == 6  # the locked attempt fails too
    assert AuditEvent.objects.filter(action="auth.locked_out").exists()
    assert "wrong password" not in str(list(AuditEvent.objects.values_list("details", flat=True)))


def test_pages_carry_a_strict_csp_and_no_inline_scripts(world: World) -> None:
    client = Client()
    response = client.get(reverse("accounts:login"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    scripts = re.findall(r"<script([^>]*)>", response.content.decode())
    assert scripts and all("src=" in attrs for attrs in scripts)


def test_sign_out_ends_the_session(world: World) -> None:
    from testkit import verified_client

    client = verified_client(world.officer_a)
    assert client.get(dashboard_url(world)).status_code == 200
    client.post(reverse("accounts:logout"))
    assert client.get(dashboard_url(world)).status_code == 302
