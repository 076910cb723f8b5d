"""Create a tenant and print a one-time invitation link for its first admin."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from cockpit.errors import CockpitError
from tenants.services import tenant_create
from tenants.services.members import invitation_create_first_admin

OPERATOR = "create_tenant"


class Command(BaseCommand):
    help = "Create a tenant; prints the first admin's invitation link (valid 7 days, shown once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name", help="The organisation's display name.")
        parser.add_argument("--slug", default="", help="URL name (default: derived from the name).")
        parser.add_argument("--admin-email", required=True, help="E-mail of the tenant's first admin.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = tenant_create(actor=OPERATOR, name=options["name"], slug=options["slug"])
            _, raw = invitation_create_first_admin(
                operator=OPERATOR, tenant=tenant, email=options["admin_email"]
            )
        except CockpitError as exc:
            raise CommandError(exc.message) from None
        link = settings.PUBLIC_BASE_URL.rstrip("/") + reverse("accounts:invitation", kwargs={"token": raw})
        self.stdout.write(f"Tenant {tenant.name!r} created (slug {tenant.slug}).")
        self.stdout.write(f"First admin invitation for {options['admin_email']} (shown once): {link}")
