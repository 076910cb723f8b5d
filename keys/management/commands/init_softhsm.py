"""Development: create a SoftHSM2 token under var/softhsm and point Cockpit's PKCS#11 backend at it."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

MODULE_CANDIDATES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
TOKEN_LABEL = "cockpit-dev"


class Command(BaseCommand):
    help = "Create a development SoftHSM2 token (idempotent); production sets COCKPIT_PKCS11_*."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEVELOPMENT:
            raise CommandError("init_softhsm is for development; configure COCKPIT_PKCS11_* in production.")
        config_path = Path(settings.PKCS11_DEV_CONFIG)
        if config_path.exists():
            self.stdout.write(f"SoftHSM2 token already set up ({config_path}).")
            return
        util = shutil.which("softhsm2-util")
        module = next((m for m in MODULE_CANDIDATES if Path(m).exists()), None)
        if util is None or module is None:
            self.stdout.write(
                "SoftHSM2 is not installed: only software custody is offered (apt-get install softhsm2)."
            )
            return
        root = config_path.parent
        (root / "tokens").mkdir(parents=True, exist_ok=True)
        conf = root / "softhsm2.conf"
        conf.write_text(
            f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
        )
        pin, so_pin = secrets.token_hex(8), secrets.token_hex(8)
        command = [util, "--init-token", "--free", "--label", TOKEN_LABEL, "--so-pin", so_pin, "--pin", pin]
        subprocess.run(
            command, check=True, capture_output=True, env={**os.environ, "SOFTHSM2_CONF": str(conf)}
        )
        payload = {"module": module, "token_label": TOKEN_LABEL, "pin": pin, "softhsm2_conf": str(conf)}
        fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle, indent=2)
        self.stdout.write(self.style.SUCCESS(f"SoftHSM2 token {TOKEN_LABEL!r} created under {root}."))
