"""DKE fixtures: Entra stand-ins, bound RSA keys, and the /dke/ mount (helpers live in dke_kit.py)."""

from __future__ import annotations

import sys
import types
import uuid
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors import services
from connectors.ms_dke import jwks
from testkit import World, make_key

sys.path.insert(0, str(Path(__file__).parent))

from dke_kit import PUBLIC_BASE_URL, Dke, Entra, dke_settings


@pytest.fixture(scope="session")
def entra() -> Entra:
    return Entra(rsa.generate_private_key(public_exponent=65537, key_size=2048), "entra-key-1")


@pytest.fixture(scope="session")
def rogue() -> Entra:
    """Someone who is not Entra, signing with their own key (reusing Entra's kid when it suits them)."""
    return Entra(rsa.generate_private_key(public_exponent=65537, key_size=2048), "entra-key-1")


@pytest.fixture(autouse=True)
def dke_mount(settings: Any) -> Iterator[None]:
    """Mount the connector under /dke/ as the project does, with a public base URL unlike the test host."""
    urlconf = types.ModuleType("ms_dke_test_urlconf")
    urlconf.urlpatterns = [*import_module("cockpit.urls").urlpatterns]  # type: ignore[attr-defined]
    sys.modules[urlconf.__name__] = urlconf
    settings.ROOT_URLCONF = urlconf.__name__
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    jwks.clear_cache()
    yield
    jwks.clear_cache()
    sys.modules.pop(urlconf.__name__, None)


@pytest.fixture
def bind(world: World, django_capture_on_commit_callbacks: Any, entra: Entra) -> Any:
    """Factory: an RSA key in a tenant, bound under ``route`` as ``key_name`` with ``settings``."""

    def make(
        *, tenant: str = "a", custody: str = "software", route: str | None = None, key_name: str = "LabelKey",
        settings: dict[str, Any] | None = None, spec: str = "RSA_2048",
    ) -> Dke:  # fmt: skip
        owner = world.tenant_a if tenant == "a" else world.tenant_b
        admin = world.admin_a if tenant == "a" else world.admin_b
        key = make_key(
            django_capture_on_commit_callbacks, tenant=owner, actor=admin, spec=spec, custody=custody,
            name=f"dke-{uuid.uuid4().hex[:8]}",
        )  # fmt: skip
        binding = services.binding_create(
            actor="test", tenant=owner, kind="ms_dke", name=f"labels-{uuid.uuid4().hex[:6]}",
            route=route or f"{owner.slug}-labels", keys=[services.KeyRef(str(key.pk), key_name)],
            settings=settings if settings is not None else dke_settings(entra),
        )  # fmt: skip
        return Dke(binding, key, key_name)

    return make


@pytest.fixture
def dke(bind: Any) -> Dke:
    """Tenant A's software-custody key bound as ``LabelKey`` with the default settings."""
    return bind()
