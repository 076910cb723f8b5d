"""Operator command: bind a platform to keys of a tenant (for automation and bootstrapping).

This runs on the Cockpit host as the platform operator and therefore skips the tenant's dual control, like
the other bootstrap commands; it is audited as ``create_binding``. Tenants use the UI or API, where the
same binding is a request that officers approve.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cockpit.errors import CockpitError
from connectors import services
from connectors.models import ConnectorKind
from connectors.settings_schema import clean_settings
from connectors.setup_info import setup_info
from keys.models import Key
from tenants.models import Tenant

OPERATOR = "create_binding"


class Command(BaseCommand):
    help = "Bind a platform (aws_xks, ms_dke) to keys of a tenant; prints what to paste into the platform."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--kind", required=True, choices=ConnectorKind.values)
        parser.add_argument("--name", required=True)
        parser.add_argument("--route", required=True, help="XKS URI path prefix, or the DKE path segment.")
        parser.add_argument(
            "--key", action="append", required=True, help="KEY_NAME=EXTERNAL_ID (repeatable)."
        )
        parser.add_argument(
            "--settings", default="{}", help="JSON settings (DKE: audience, issuers, jwks, ...)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant {options['tenant']!r}.")
        try:
            refs = [self._ref(tenant, item) for item in options["key"]]
            settings = clean_settings(options["kind"], json.loads(options["settings"]))
            binding = services.binding_create(
                actor=OPERATOR,
                tenant=tenant,
                kind=options["kind"],
                name=options["name"],
                route=options["route"],
                keys=refs,
                settings=settings,
            )
        except (CockpitError, ValueError) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from None
        self.stdout.write(json.dumps({"binding_id": str(binding.pk), **setup_info(binding)}, indent=2))
        for credential in binding.credentials.all():
            secret = services.credential_reveal(actor=OPERATOR, credential=credential)
            self.stdout.write(f"SigV4 credential (shown once): {credential.access_key_id} {secret}")

    def _ref(self, tenant: Tenant, item: str) -> services.KeyRef:
        name, sep, external_id = item.partition("=")
        if not sep:
            raise CommandError(f"--key must look like KEY_NAME=EXTERNAL_ID (got {item!r}).")
        key = Key.objects.filter(tenant=tenant, name=name).first()
        if key is None:
            raise CommandError(f"No key named {name!r} in {tenant.slug}.")
        return services.KeyRef(str(key.pk), external_id)
