"""Suite-wide fixtures: two seeded tenants for every test, and real-service requirements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

from testkit import World, build_world


def pytest_addoption(parser: Any) -> None:
    parser.addoption(
        "--require-services",
        action="store_true",
        help="Fail (not skip) tests that need PostgreSQL and Redis when those are not configured (CI).",
    )


@pytest.fixture
def world(db: None) -> World:
    """Tenants A and B with admins, officers, an auditor, service accounts and tokens."""
    return build_world()


@pytest.fixture
def real_services(request: pytest.FixtureRequest) -> dict[str, str]:
    """PostgreSQL and Redis: skipped locally (SQLite), mandatory under --require-services."""
    missing = []
    if django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing.append("DATABASE_URL (PostgreSQL)")
    if not django_settings.REDIS_URL:
        missing.append("REDIS_URL")
    if missing:
        message = f"needs {', '.join(missing)}; CI runs this with --require-services"
        if request.config.getoption("--require-services"):
            pytest.fail(message)
        pytest.skip(message)
    return {"redis": django_settings.REDIS_URL}


@pytest.fixture(autouse=True, scope="session")
def _test_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fast password hashing (PBKDF2 at full strength costs ~0.3 s a hash; tests check behaviour, not cost),
    and no development SoftHSM token or software key store from the checkout: key tests bring their own."""
    scratch = tmp_path_factory.mktemp("cockpit-var")
    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        PKCS11_DEV_CONFIG=scratch / "no-softhsm.json",
        SOFTWARE_KEY_DIR=scratch / "software-keys",
        VAR_DIR=scratch,
    ):
        yield


@pytest.fixture(autouse=True, scope="session")
def _eager_celery() -> Iterator[None]:
    """Tasks run in-process unless a test starts a real worker (which flips this back)."""
    from cockpit.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
