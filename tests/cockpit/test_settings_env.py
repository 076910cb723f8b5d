"""The strict environment reader and the production settings."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.env import Env, ImproperlyConfiguredEnv

ROOT = Path(__file__).resolve().parents[2]


def test_booleans_must_be_spelled_out() -> None:
    env = Env({"A": "yes", "B": "off", "C": "maybe"})
    assert env.bool("A", False) is True and env.bool("B", True) is False and env.bool("Z", True) is True
    with pytest.raises(ImproperlyConfiguredEnv, match="C="):
        env.bool("C", False)


def test_integers_are_checked_against_bounds() -> None:
    env = Env({"N": "12", "M": "x", "LOW": "0"})
    assert env.int("N", 1, minimum=1) == 12
    with pytest.raises(ImproperlyConfiguredEnv):
        env.int("M", 1)
    with pytest.raises(ImproperlyConfiguredEnv, match="minimum"):
        env.int("LOW", 5, minimum=1)


def test_urls_must_have_an_allowed_scheme() -> None:
    env = Env({"DATABASE_URL": "mysql://x/y", "OK": "postgresql://u@h/db"})
    with pytest.raises(ImproperlyConfiguredEnv):
        env.url("DATABASE_URL", schemes=("postgresql",))
    assert env.url("OK", schemes=("postgresql",)) == "postgresql://u@h/db"
    assert env.url("UNSET", schemes=("postgresql",)) is None


def test_secrets_have_no_default_outside_development() -> None:
    env = Env({})
    with pytest.raises(ImproperlyConfiguredEnv, match="outside development"):
        env.secret("SECRET_KEY", development_default="dev" * 20, development=False, min_length=50)
    assert env.secret("SECRET_KEY", development_default="d" * 60, development=True, min_length=50)
    with pytest.raises(ImproperlyConfiguredEnv, match="at least"):
        Env({"S": "short"}).secret("S", development_default=None, development=False, min_length=50)


def _manage(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY", "DEBUG")}
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = _manage("check", COCKPIT_ENV="production", ALLOWED_HOSTS="kms.example.com")
    assert result.returncode != 0 and "SECRET_KEY must be set outside development" in result.stderr


def test_a_bad_value_stops_the_process_at_start() -> None:
    result = _manage("check", COCKPIT_LOGIN_FAILURE_LIMIT="many")
    assert result.returncode != 0 and "COCKPIT_LOGIN_FAILURE_LIMIT" in result.stderr


def test_production_settings_pass_check_deploy() -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        COCKPIT_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(60),
        COCKPIT_TOKEN_PEPPER=secrets.token_urlsafe(40),
        COCKPIT_CONNECTOR_SEAL_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        ALLOWED_HOSTS="kms.example.com",
    )
    assert result.returncode == 0, result.stderr + result.stdout
