"""Create the demo tenant: one admin, two officers, keys and connector bindings, ready to try.

Safe to run again. As an operator bootstrap it creates keys and bindings directly (audited as
``bootstrap_demo``); inside the product the same changes are requests that officers approve.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from cockpit.demo import seed_connectors
from tenants.models import Role, Tenant
from tenants.services import tenant_create
from tenants.services.members import membership_bootstrap

OPERATOR = "bootstrap_demo"
DEMO_SLUG = "demo"
DEMO_USERS = (
    ("demo-admin", "admin@demo.example", {Role.ADMIN.value}),
    ("officer-1", "officer1@demo.example", {Role.OFFICER.value}),
    ("officer-2", "officer2@demo.example", {Role.OFFICER.value}),
)


def credentials_path() -> Path:
    return Path(settings.VAR_DIR) / "demo-credentials.json"


class Command(BaseCommand):
    help = "Create the demo tenant and its users; prints passwords and otpauth:// URIs once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--reset", action="store_true", help="Issue new passwords and TOTP secrets.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
        if tenant is not None and not options["reset"]:
            self._refresh_connectors(tenant)
            self.stdout.write(
                f"Demo tenant already set up. Its logins, keys and connector credentials are kept in "
                f"{credentials_path()} (run `manage.py bootstrap_demo --reset` for new logins)."
            )
            return
        with transaction.atomic():
            tenant = tenant or tenant_create(actor=OPERATOR, name="Demo Org", slug=DEMO_SLUG)
            logins = [self._user(tenant, *spec) for spec in DEMO_USERS]
        connectors = seed_connectors(tenant)
        self._save(tenant, logins, connectors)
        self._print(logins)
        self._print_connectors(connectors)

    def _refresh_connectors(self, tenant: Tenant) -> None:
        """Seed demo keys and bindings added since the demo was created (idempotent), keep the logins."""
        path = credentials_path()
        saved = json.loads(path.read_text()) if path.exists() else {"tenant": tenant.slug, "users": []}
        saved.update(seed_connectors(tenant))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(saved, handle, indent=2)

    def _user(self, tenant: Tenant, username: str, email: str, roles: set[str]) -> dict[str, str]:
        user_model = get_user_model()
        password = secrets.token_urlsafe(12)
        user, _ = user_model.objects.get_or_create(username=username, defaults={"email": email})
        user.set_password(password)
        user.save()
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name="demo authenticator", confirmed=True)
        membership_bootstrap(operator=OPERATOR, tenant=tenant, user=user, roles=roles)
        return {
            "username": username,
            "password": password,
            "roles": ",".join(sorted(roles)),
            "otpauth_uri": device.config_url,
        }

    def _save(self, tenant: Tenant, logins: list[dict[str, str]], connectors: dict[str, Any]) -> None:
        path = credentials_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"tenant": tenant.slug, "url": settings.PUBLIC_BASE_URL, "users": logins, **connectors}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle, indent=2)

    def _print(self, logins: list[dict[str, str]]) -> None:
        self.stdout.write(self.style.SUCCESS("Demo tenant 'Demo Org' is ready. These logins are shown once:"))
        for login in logins:
            self.stdout.write(f"\n  {login['username']} ({login['roles']})")
            self.stdout.write(f"    password:    {login['password']}")
            self.stdout.write(f"    TOTP (add to your authenticator app): {login['otpauth_uri']}")
        self.stdout.write(f"\nAlso saved to {credentials_path()} (mode 0600, git-ignored).\n")

    def _print_connectors(self, connectors: dict[str, Any]) -> None:
        for name, key in connectors.get("keys", {}).items():
            self.stdout.write(f"  key {name}: {key['id']} ({key['custody']})")
        xks = connectors.get("aws_xks")
        if xks:
            self.stdout.write("\nAWS XKS proxy (point AWS's XKS test client or curl --aws-sigv4 at it):")
            for field in (
                "XksProxyUriEndpoint",
                "XksProxyUriPath",
                "AccessKeyId",
                "SecretAccessKey",
                "ExternalKeyIds",
            ):
                self.stdout.write(f"  {field}: {xks[field]}")
            self.stdout.write(f"  try: {xks['curl_health']}")
        dke = connectors.get("ms_dke")
        if dke:
            self.stdout.write("\nMicrosoft DKE key URL(s) for a sensitivity label:")
            for name, url in dke["KeyUrls"].items():
                self.stdout.write(f"  {name}: {url}   (try: curl {url})")
