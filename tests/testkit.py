"""Shared test helpers: the two-tenant cast, OTP-verified clients, and the API contract battery."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants.models import ApiToken, Membership, ServiceAccount, Tenant
from tenants.services import api_token_issue

PASSWORD = "correct horse battery staple 42"


def make_user(username: str, *, with_totp: bool = True) -> AbstractBaseUser:
    """A user with a known password and, by default, a confirmed TOTP device."""
    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@example.test", password=PASSWORD
    )
    if with_totp:
        TOTPDevice.objects.create(user=user, name="test app", confirmed=True)
    return user


def totp_code(user: AbstractBaseUser, offset_steps: int = 0) -> str:
    """The current TOTP code of the user's confirmed device (``offset_steps`` moves it in time)."""
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift + offset_steps)
    return str(code).zfill(device.digits)


def fresh_totp(user: AbstractBaseUser) -> str:
    """A code django-otp will accept now: the current step, or the next one if the current was used.

    django-otp refuses a step already used (replay protection) and accepts one step of drift, so an
    officer can approve at most twice per 30 s in a test.
    """
    from django_otp.oath import TOTP

    device = TOTPDevice.objects.get(user=user, confirmed=True)
    now_t = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).t()
    offset = max(0, device.last_t + 1 - now_t)
    return totp_code(user, offset_steps=offset)


def approve_all(request: Any, *officers: AbstractBaseUser) -> Any:
    """Each officer approves ``request`` with a fresh TOTP code; returns the reloaded request."""
    from approvals.services import request_approve

    for officer in officers:
        request_approve(actor=officer, request=request, otp=fresh_totp(officer))
    request.refresh_from_db()
    return request


def verified_client(user: AbstractBaseUser) -> Client:
    """A browser session that has passed password and OTP, as after a real sign-in."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user, confirmed=True).persistent_id
    session.save()
    return client


@dataclass
class World:
    """Two tenants with a fixed cast; every test module gets it."""

    tenant_a: Tenant
    tenant_b: Tenant
    admin_a: AbstractBaseUser
    officer_a: AbstractBaseUser
    officer2_a: AbstractBaseUser
    auditor_a: AbstractBaseUser
    admin_b: AbstractBaseUser
    service_account_a: ServiceAccount
    service_account_b: ServiceAccount
    token_a: str
    token_b: str
    extras: dict[str, Any] = field(default_factory=dict)


def _grant(tenant: Tenant, user: AbstractBaseUser, *roles: str) -> None:
    for role in roles:
        Membership.objects.create(tenant=tenant, user=user, role=role)


def build_world() -> World:
    """Create the two tenants, their members, a service account and a token in each."""
    suffix = secrets.token_hex(3)
    tenant_a = Tenant.objects.create(name="Acme Bank", slug=f"acme-{suffix}")
    tenant_b = Tenant.objects.create(name="Beta Health", slug=f"beta-{suffix}")
    cast = {
        name: make_user(f"{name}-{suffix}")
        for name in ("admin_a", "officer_a", "officer2_a", "auditor_a", "admin_b")
    }
    _grant(tenant_a, cast["admin_a"], "admin")
    _grant(tenant_a, cast["officer_a"], "officer")
    _grant(tenant_a, cast["officer2_a"], "officer")
    _grant(tenant_a, cast["auditor_a"], "auditor")
    _grant(tenant_b, cast["admin_b"], "admin")
    sa_a = ServiceAccount.objects.create(tenant=tenant_a, name="ci")
    sa_b = ServiceAccount.objects.create(tenant=tenant_b, name="ci")
    _, token_a = api_token_issue(actor=cast["admin_a"], service_account=sa_a, name="t")
    _, token_b = api_token_issue(actor=cast["admin_b"], service_account=sa_b, name="t")
    return World(
        tenant_a,
        tenant_b,
        **cast,
        service_account_a=sa_a,
        service_account_b=sa_b,
        token_a=token_a,
        token_b=token_b,
    )


def api_token_row(raw: str) -> ApiToken:
    return ApiToken.objects.get(token_id=raw.split("_")[1])


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response has ``status`` and the one error envelope (with ``code`` when given)."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:300])
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "details", "request_id"} <= set(body["error"]), body
    if code:
        assert body["error"]["code"] == code, body
    return body


class TenantApiContract:
    """Inherit in a test class to give an API endpoint its anonymous, isolation and bad-input tests.

    Set ``method`` and implement ``own_url(world)`` and ``other_url(world)`` — the same endpoint aimed at
    an object of tenant B while acting as tenant A (for collection endpoints, the same URL: the
    isolation check then names tenant B in the ``X-Cockpit-Tenant`` header). ``actor`` names the member
    of tenant A that acts; ``body`` is a valid request body for write methods.
    """

    method: ClassVar[str] = "get"
    actor: ClassVar[str] = "admin_a"
    body: ClassVar[dict[str, Any] | None] = None
    service_accounts_allowed: ClassVar[bool] = True
    collection: ClassVar[bool] = False
    takes_body: ClassVar[bool] = True

    def own_url(self, world: World) -> str:
        raise NotImplementedError

    def other_url(self, world: World) -> str:
        raise NotImplementedError

    def _call(
        self, client: Client, url: str, *, data: Any = None, raw: bytes | None = None, **extra: Any
    ) -> Any:
        payload = raw if raw is not None else json.dumps(data if data is not None else (self.body or {}))
        if self.method in ("get", "delete"):
            return getattr(client, self.method)(url, **extra)
        return getattr(client, self.method)(url, data=payload, content_type="application/json", **extra)

    def test_anonymous_caller_gets_401(self, world: World) -> None:
        response = self._call(Client(), self.own_url(world))
        assert_error(response, 401, "not_authenticated")

    def test_bogus_token_gets_401(self, world: World) -> None:
        response = self._call(
            Client(), self.own_url(world), HTTP_AUTHORIZATION="Bearer ckp_0123456789abcdef_nope"
        )
        assert_error(response, 401, "not_authenticated")

    def test_other_tenants_object_is_404_for_a_member(self, world: World) -> None:
        client = verified_client(getattr(world, self.actor))
        if self.collection:
            response = self._call(client, self.own_url(world), HTTP_X_COCKPIT_TENANT=world.tenant_b.slug)
        else:
            response = self._call(client, self.other_url(world), HTTP_X_COCKPIT_TENANT=world.tenant_a.slug)
        assert_error(response, 404, "not_found")

    def test_other_tenants_object_is_404_for_a_token(self, world: World) -> None:
        auth = f"Bearer {world.token_a}"
        response = self._call(Client(), self.other_url(world), HTTP_AUTHORIZATION=auth)
        if not self.service_accounts_allowed:
            assert_error(response, 403, "permission_denied")
        elif self.collection:
            # A token only ever acts in its own tenant: the call succeeds there and shows nothing of B.
            assert response.status_code in (200, 201, 202), response.content[:300]
            assert world.tenant_b.slug not in response.content.decode()
        else:
            assert_error(response, 404, "not_found")

    def test_malformed_json_is_400(self, world: World) -> None:
        if self.method in ("get", "delete") or not self.takes_body:
            return
        client = verified_client(getattr(world, self.actor))
        response = self._call(
            client, self.own_url(world), raw=b"{not json", HTTP_X_COCKPIT_TENANT=world.tenant_a.slug
        )
        assert_error(response, 400, "malformed_request")

    def test_oversized_body_is_413(self, world: World, settings: Any) -> None:
        if self.method in ("get", "delete") or not self.takes_body:
            return
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
        client = verified_client(getattr(world, self.actor))
        big = json.dumps({"padding": "x" * 4096}).encode()
        response = self._call(client, self.own_url(world), raw=big, HTTP_X_COCKPIT_TENANT=world.tenant_a.slug)
        assert_error(response, 413, "payload_too_large")


def make_key(
    capture: Any, *, tenant: Any, actor: Any, spec: str = "AES_256", usage: str = "ENCRYPT_DECRYPT",
    custody: str = "software", name: str | None = None, **extra: Any,
) -> Any:  # fmt: skip
    """Create a key and run the generation task that follows the commit; return it refreshed."""
    from keys import services

    with capture(execute=True):
        key = services.key_create(
            actor=actor, tenant=tenant, name=name or f"{spec.lower()}-{usage.lower()}-{custody}", spec=spec,
            usage=usage, custody_name=custody, **extra,
        )  # fmt: skip
    key.refresh_from_db()
    return key
