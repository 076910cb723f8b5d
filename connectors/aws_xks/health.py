"""GetHealthStatus: a deep check (real AES-GCM encrypt + decrypt) per custody backend, cached ≤ 60 s.

The spec wants test keys, not keys behind KMS keys (customers would see unexplained crypto activity), so
each process creates one AES-256 key labelled ``cockpit-xks-health`` per backend, directly in the backend,
and remembers its handle. The key service is not involved: these keys have no Key row, tenant or audit.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from importlib import metadata
from typing import Any

from connectors.models import ConnectorBinding
from keys import custody
from keys.backends import KeyMaterialNotFound, KeySpec
from keys.models import Custody

logger = logging.getLogger(__name__)

HEALTH_KEY_LABEL = "cockpit-xks-health"
RESULT_SECONDS = 30.0  # the spec allows a cached result up to one minute old
MAX_FLEET_ENTRIES = 10
_AAD = b"cockpit/xks-health/v1"
_lock = threading.Lock()
_handles: dict[str, str] = {}
_results: dict[str, tuple[float, str]] = {}


def forget() -> None:
    """Drop cached handles and results (tests, backend reconfiguration)."""
    with _lock:
        _handles.clear()
        _results.clear()


def _health_handle(backend: Any, name: str, *, fresh: bool = False) -> str:
    with _lock:
        if fresh or name not in _handles:
            _handles[name] = backend.generate(spec=KeySpec.AES_256, label=HEALTH_KEY_LABEL).handle
        return _handles[name]


def _round_trip(backend: Any, handle: str) -> bool:
    probe = os.urandom(32)
    sealed = backend.encrypt(handle, plaintext=probe, aad=_AAD)
    return hmac.compare_digest(backend.decrypt(handle, ciphertext=sealed, aad=_AAD), probe)


def deep_check(name: str) -> str:
    """``ACTIVE`` if the backend just encrypted and decrypted with its health key, else ``UNAVAILABLE``."""
    try:
        backend = custody.get_backend(name)
        try:
            ok = _round_trip(backend, _health_handle(backend, name))
        except KeyMaterialNotFound:  # the token or key store was replaced since: make a new health key
            ok = _round_trip(backend, _health_handle(backend, name, fresh=True))
    except Exception as exc:  # a health check reports trouble, it does not raise it
        logger.warning("XKS deep health check of custody %s failed: %s", name, type(exc).__name__)
        return "UNAVAILABLE"
    return "ACTIVE" if ok else "UNAVAILABLE"


def backend_status(name: str) -> str:
    """The cached deep-check result for ``name``, refreshed when older than ``RESULT_SECONDS``."""
    now = time.monotonic()
    cached = _results.get(name)
    if cached is not None and now - cached[0] < RESULT_SECONDS:
        return cached[1]
    status = deep_check(name)
    with _lock:
        _results[name] = (time.monotonic(), status)
    return status


def _backends_for(binding: ConnectorBinding) -> list[str]:
    """The custody backends behind the binding's keys (all offered ones if it has none)."""
    used = sorted(set(binding.bound_keys.values_list("key__custody", flat=True)))
    return used or [str(name) for name in custody.available_custody()]


def _model(name: str) -> str:
    try:
        return f"Cockpit custody: {Custody(name).label}"
    except ValueError:
        return f"Cockpit custody: {name}"


def _version() -> str:
    try:
        return metadata.version("cockpit")
    except metadata.PackageNotFoundError:
        return "dev"


def _mpc_nodes(cluster_status: str) -> list[dict[str, str]]:
    """One entry per MPC node, so KMS sees the fleet shrink (e.g. "EKM count dropping to one").

    A node that answers is ACTIVE while the cluster as a whole passed the deep check, DEGRADED if the
    cluster did not; a node that does not answer is UNAVAILABLE.
    """
    from keys.custody import mpc_node_health

    nodes = mpc_node_health()
    if not nodes:
        return [{"id": "mpc", "model": _model("mpc"), "healthStatus": cluster_status}]
    up = "ACTIVE" if cluster_status == "ACTIVE" else "DEGRADED"
    return [
        {
            "id": str(n["id"]),
            "model": "Cockpit MPC node",
            "healthStatus": up if n.get("ok") else "UNAVAILABLE",
        }
        for n in nodes
    ]


def report(binding: ConnectorBinding) -> dict[str, Any]:
    """The GetHealthStatus response body for ``binding``."""
    names = _backends_for(binding)[:MAX_FLEET_ENTRIES]
    fleet: list[dict[str, str]] = []
    for name in names:
        status = backend_status(name)
        if name == "mpc":
            fleet.extend(_mpc_nodes(status))
        else:
            fleet.append({"id": name, "model": _model(name), "healthStatus": status})
    fleet = fleet[:MAX_FLEET_ENTRIES]
    if not fleet:
        fleet = [{"id": "none", "model": "no custody backend configured", "healthStatus": "UNAVAILABLE"}]
    return {
        "xksProxyFleetSize": 1,
        "xksProxyVendor": "Cockpit",
        "xksProxyModel": f"Cockpit XKS proxy {_version()}",
        "ekmVendor": "Cockpit",
        "ekmFleetDetails": fleet,
    }
