"""The registry of approvable operations. Each app registers its own in ``AppConfig.ready``.

Approvals never imports keys, tenants' services or connectors: the executor looks the operation up here, so
adding an approvable operation touches only the app that owns it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cockpit.errors import InvalidRequest


@dataclass(frozen=True)
class Target:
    """What an operation acts on, for display and for object-scoped policies."""

    type: str
    id: str
    label: str


@dataclass(frozen=True)
class ApprovableOperation:
    """One operation that needs a quorum.

    ``prepare(tenant, actor, params)`` authorises the requester, validates and returns canonical params
    (JSON-safe, only what ``execute`` needs) plus the target and a one-line summary; it raises the usual
    application errors. ``execute(tenant, params, actor)`` carries it out inside a transaction and returns
    a short outcome text; ``actor`` is the label naming the approved request.
    """

    name: str
    operation_class: str
    prepare: Callable[[Any, Any, dict[str, Any]], tuple[dict[str, Any], Target, str]]
    execute: Callable[[Any, dict[str, Any], str], str]


_REGISTRY: dict[str, ApprovableOperation] = {}


def register(operation: ApprovableOperation) -> None:
    """Add an operation; a name can be registered once."""
    if operation.name in _REGISTRY and _REGISTRY[operation.name] is not operation:
        raise RuntimeError(f"approvable operation {operation.name!r} registered twice")
    _REGISTRY[operation.name] = operation


def get(name: str) -> ApprovableOperation:
    """The registered operation, or InvalidRequest for an unknown name."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise InvalidRequest(f"Unknown operation {name!r}.") from None


def operation_classes() -> list[str]:
    """Every operation class with at least one registered operation, sorted."""
    return sorted({op.operation_class for op in _REGISTRY.values()})
