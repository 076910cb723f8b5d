"""Suite-wide fixtures: two seeded tenants, real-service requirements, a SoftHSM2 token, custody settings.

``SOFTHSM2_CONF`` must be in ``os.environ`` before the PKCS#11 library is loaded (SoftHSM reads it in
``C_Initialize``); backends load the library lazily, always after the token fixture ran. If SoftHSM2 is
missing the pkcs11 tests FAIL (not skip): a silently skipped HSM suite is how HSM regressions ship.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
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
    and no development SoftHSM token, MPC cluster or software key store from the checkout (``make run``
    leaves them in var/): key tests bring their own."""
    scratch = tmp_path_factory.mktemp("cockpit-var")
    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        PKCS11_DEV_CONFIG=scratch / "no-softhsm.json",
        MPC_DEV_CLUSTER_FILE=scratch / "no-mpc-cluster.json",
        SOFTWARE_KEY_DIR=scratch / "software-keys",
        VAR_DIR=scratch,
    ):
        yield


@pytest.fixture(autouse=True, scope="session")
def _read_cache_listener(django_db_setup: None) -> Iterator[None]:
    """On PostgreSQL the read cache keeps a LISTEN connection, and group commit a writer connection:
    close them before the test database goes."""
    yield
    from cockpit import groupcommit, readcache

    readcache.stop_listener()
    groupcommit.close()


@pytest.fixture(autouse=True, scope="session")
def _eager_celery() -> Iterator[None]:
    """Tasks run in-process unless a test starts a real worker (which flips this back)."""
    from cockpit.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN_LABEL = "cockpit-test"
SPARE_TOKEN_LABEL = "cockpit-test-spare"  # for wrong-PIN tests (login state is per token)
USER_PIN = "246813"
SO_PIN = "97531864"


@dataclass(frozen=True)
class SoftHsm:
    module: str
    token_label: str
    spare_token_label: str
    user_pin: str
    conf: Path


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    util = shutil.which("softhsm2-util")
    if util is None or not Path(SOFTHSM_MODULE).is_file():
        pytest.fail(
            "SoftHSM2 is required for the pkcs11 backend tests but was not found "
            f"(softhsm2-util on PATH and {SOFTHSM_MODULE}); install the Debian "
            "packages softhsm2 and opensc",
            pytrace=False,
        )
    root = tmp_path_factory.mktemp("softhsm")
    tokens = root / "tokens"
    tokens.mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    for label in (TOKEN_LABEL, SPARE_TOKEN_LABEL):
        subprocess.run(
            [util, "--init-token", "--free", "--label", label, "--so-pin", SO_PIN,
             "--pin", USER_PIN],
            check=True, capture_output=True, env=os.environ,
        )  # fmt: skip
    return SoftHsm(SOFTHSM_MODULE, TOKEN_LABEL, SPARE_TOKEN_LABEL, USER_PIN, conf)


@pytest.fixture
def custody(settings: Any, softhsm: SoftHsm, tmp_path: Path) -> Iterator[None]:
    """Offer both the software backend (fresh store and master key) and the SoftHSM2 token to Django."""
    from keys.custody import reset_backends

    settings.SOFTWARE_KEYS_ENABLED = True
    settings.SOFTWARE_MASTER_KEY = base64.b64encode(os.urandom(32)).decode()
    settings.SOFTWARE_KEY_DIR = tmp_path / "software-keys"
    settings.PKCS11_MODULE = softhsm.module
    settings.PKCS11_TOKEN_LABEL = softhsm.token_label
    settings.PKCS11_PIN = softhsm.user_pin
    reset_backends()
    yield
    reset_backends()


@pytest.fixture(scope="session")
def mpc_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real 2-of-3 MPC cluster (three node processes on loopback) for the whole session; stopped by PID."""
    from tests.mpc.node.harness import running_cluster

    with running_cluster(tmp_path_factory, "mpc-django") as harness:
        yield harness


@pytest.fixture
def mpc_custody(custody: None, settings: Any, mpc_cluster: Any) -> Iterator[Any]:
    """Offer MPC custody (on the session cluster) besides software and SoftHSM2."""
    from keys.custody import reset_backends

    mpc_cluster.ensure_healthy()
    settings.MPC_CLUSTER_FILE = str(mpc_cluster.cluster.cluster_file)
    reset_backends()
    yield mpc_cluster
    reset_backends()
