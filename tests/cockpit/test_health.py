"""Liveness and readiness endpoints, and the request id header."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_healthz_answers() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_checks_database_channel_layer_and_broker() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "channel_layer": "ok", "broker": "ok"}


def test_readyz_reports_a_broken_dependency_as_503(settings: object) -> None:
    settings.CHANNEL_LAYERS = {  # type: ignore[attr-defined]
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    try:
        response = Client().get("/readyz")
    finally:
        channel_layers.backends.clear()
    assert response.status_code == 503
    assert response.json()["checks"]["channel_layer"].startswith("error:")


def test_every_response_carries_a_request_id() -> None:
    first, second = Client().get("/healthz"), Client().get("/healthz")
    assert len(first["X-Request-Id"]) >= 16 and first["X-Request-Id"] != second["X-Request-Id"]
