"""Placeholder replaced by the XKS work: secondary authorization rules."""

from typing import Any


def clean_rules(raw: Any) -> list[dict[str, Any]]:
    return list(raw)
