"""Placeholder replaced by the DKE work: per-binding Entra ID settings."""

from typing import Any


def clean_config(raw: dict[str, Any]) -> dict[str, Any]:
    return dict(raw)
