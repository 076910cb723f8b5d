"""Which custody backends this deployment offers, built from settings once per process."""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings

from cockpit.errors import DependencyUnavailable, InvalidRequest
from keys.backends import CustodyBackend
from keys.models import Custody

_lock = threading.Lock()


@dataclass(frozen=True)
class Pkcs11Config:
    module: str
    token_label: str
    pin: str


def pkcs11_config() -> Pkcs11Config | None:
    """From COCKPIT_PKCS11_*, or in development from the file `manage.py init_softhsm` writes."""
    if settings.PKCS11_MODULE and settings.PKCS11_TOKEN_LABEL and settings.PKCS11_PIN:
        return Pkcs11Config(settings.PKCS11_MODULE, settings.PKCS11_TOKEN_LABEL, settings.PKCS11_PIN)
    path = Path(settings.PKCS11_DEV_CONFIG)
    if settings.DEVELOPMENT and path.is_file():
        data = json.loads(path.read_text())
        os.environ.setdefault("SOFTHSM2_CONF", data["softhsm2_conf"])
        return Pkcs11Config(data["module"], data["token_label"], data["pin"])
    return None


def _software_master_key() -> bytes:
    if settings.SOFTWARE_MASTER_KEY:
        key = base64.b64decode(settings.SOFTWARE_MASTER_KEY)
        if len(key) != 32:
            raise DependencyUnavailable("COCKPIT_SOFTWARE_MASTER_KEY must be base64 of 32 bytes.")
        return key
    # Development only (settings refuse this path in production): a per-checkout key file.
    path = Path(settings.VAR_DIR) / "software-master.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    return path.read_bytes()


@cache
def _build(name: str, fingerprint: tuple[object, ...]) -> CustodyBackend:
    if name == Custody.SOFTWARE:
        from keys.backends.software import SoftwareBackend

        return SoftwareBackend(_software_master_key(), Path(settings.SOFTWARE_KEY_DIR))
    if name == Custody.PKCS11:
        from keys.backends.pkcs11 import Pkcs11Backend

        config = pkcs11_config()
        assert config is not None
        return Pkcs11Backend(config.module, config.token_label, config.pin)
    raise InvalidRequest(f"Unknown custody backend {name!r}.")


def _fingerprint(name: str) -> tuple[object, ...]:
    if name == Custody.SOFTWARE:
        return (settings.SOFTWARE_MASTER_KEY, str(settings.SOFTWARE_KEY_DIR))
    if name == Custody.PKCS11:
        return (pkcs11_config(),)
    return ()


def available_custody() -> list[Custody]:
    """The custody choices offered to tenants here, strongest first."""
    offered = []
    if pkcs11_config() is not None:
        offered.append(Custody.PKCS11)
    if settings.SOFTWARE_KEYS_ENABLED:
        offered.append(Custody.SOFTWARE)
    return offered


def get_backend(name: str) -> CustodyBackend:
    """The backend for ``name``; DependencyUnavailable when this deployment does not offer it."""
    if name not in available_custody():
        raise DependencyUnavailable(f"The custody backend {name!r} is not configured here.")
    with _lock:
        return _build(name, _fingerprint(name))


def reset_backends() -> None:
    """Forget built backends (tests and reconfiguration)."""
    _build.cache_clear()
