"""Fixtures for the custody-backend tests.

The SoftHSM2 token is created fresh per test session in a temp directory.
``SOFTHSM2_CONF`` must be in ``os.environ`` before the PKCS#11 library is
loaded (SoftHSM reads it in ``C_Initialize``); the backend loads the library
lazily on first use, which is always after this fixture ran.

If SoftHSM2 is missing the pkcs11 tests FAIL (not skip): a silently skipped
HSM suite is how HSM regressions ship.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from keys.backends import CustodyBackend, GeneratedKey, KeySpec
from keys.backends.software import SoftwareBackend


@pytest.fixture(scope="session")
def pkcs11_backend(softhsm: Any) -> CustodyBackend:
    from keys.backends.pkcs11 import Pkcs11Backend

    return Pkcs11Backend(softhsm.module, softhsm.token_label, softhsm.user_pin)


@pytest.fixture(scope="session")
def software_backend(tmp_path_factory: pytest.TempPathFactory) -> SoftwareBackend:
    return SoftwareBackend(os.urandom(32), tmp_path_factory.mktemp("software-store"))


@pytest.fixture(scope="session", params=["software", "pkcs11"])
def backend(request: pytest.FixtureRequest) -> CustodyBackend:
    """Every conformance test runs against both backends."""
    return request.getfixturevalue(f"{request.param}_backend")


@pytest.fixture(scope="session")
def _key_cache() -> dict[tuple[int, KeySpec], GeneratedKey]:
    return {}


@pytest.fixture
def key_for(
    backend: CustodyBackend, _key_cache: dict[tuple[int, KeySpec], GeneratedKey]
) -> Callable[[KeySpec], GeneratedKey]:
    """Shared long-lived key per (backend, spec): RSA-4096 generation is slow.

    Tests that destroy keys must generate their own.
    """

    def get(spec: KeySpec) -> GeneratedKey:
        cache_key = (id(backend), spec)
        if cache_key not in _key_cache:
            _key_cache[cache_key] = backend.generate(spec=spec, label=f"test {spec}")
        return _key_cache[cache_key]

    return get
