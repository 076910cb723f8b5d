"""Operational Celery tasks of the project package."""

from __future__ import annotations

import os
import socket

from celery import shared_task
from django.db import connection

from tenants.models import Tenant


@shared_task(name="cockpit.probe")
def probe() -> dict[str, object]:
    """Report where the task ran and what database it saw: used by readiness tooling and the worker test."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "database": connection.vendor,
        "tenants": Tenant.objects.count(),
    }
