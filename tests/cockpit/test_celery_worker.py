"""A real Celery worker (its own process) takes a task from Redis and runs it against the test database."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from cockpit.celery import app
from cockpit.tasks import probe
from tenants.models import Tenant

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(real_services: dict[str, str]) -> Iterator[str]:
    """Start ``celery worker`` on a private queue, pointed at the test database; stop it afterwards."""
    db = connection.settings_dict
    url = f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    queue = f"test-{secrets.token_hex(4)}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DJANGO_SETTINGS_MODULE": "cockpit.settings",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "cockpit",
            "worker",
            "-P",
            "solo",
            "-Q",
            queue,
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
    )
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield queue
    finally:
        app.conf.task_always_eager = eager
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_worker_process_runs_the_task_against_postgresql(worker: str) -> None:
    Tenant.objects.create(name="One", slug="one")
    Tenant.objects.create(name="Two", slug="two")
    result = probe.apply_async(queue=worker).get(timeout=60)
    assert result["pid"] != os.getpid()
    assert result["database"] == "postgresql"
    assert result["tenants"] == 2
