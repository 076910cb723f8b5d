"""Which custody backends this deployment offers, built from settings once per process."""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings

from cockpit import readcache
from cockpit.errors import DependencyUnavailable, InvalidRequest
from keys.backends import CustodyBackend
from keys.models import Custody

if TYPE_CHECKING:
    from keys.backends.mpc import MpcBackend

_lock = threading.Lock()
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pkcs11Config:
    module: str
    token_label: str
    pin: str


def pkcs11_config() -> Pkcs11Config | None:
    """From COCKPIT_PKCS11_*, or in development from the file `manage.py init_softhsm` writes."""
    if settings.PKCS11_MODULE and settings.PKCS11_TOKEN_LABEL and settings.PKCS11_PIN:
        return Pkcs11Config(settings.PKCS11_MODULE, settings.PKCS11_TOKEN_LABEL, settings.PKCS11_PIN)
    path = Path(settings.PKCS11_DEV_CONFIG)
    if settings.DEVELOPMENT and path.is_file():
        return _dev_pkcs11_config(str(path), path.stat().st_mtime_ns)
    return None


@cache
def _dev_pkcs11_config(path: str, mtime_ns: int) -> Pkcs11Config:
    """The development token file, parsed once per version of the file (it sits on the key-operation path)."""
    data = json.loads(Path(path).read_text())
    os.environ.setdefault("SOFTHSM2_CONF", data["softhsm2_conf"])
    return Pkcs11Config(data["module"], data["token_label"], data["pin"])


def mpc_cluster_file() -> Path | None:
    """The MPC cluster description, from COCKPIT_MPC_CLUSTER or (development) var/mpc/cluster.json."""
    if settings.MPC_CLUSTER_FILE:
        return Path(settings.MPC_CLUSTER_FILE)
    path = Path(settings.MPC_DEV_CLUSTER_FILE)
    return path if settings.DEVELOPMENT and path.is_file() else None


def _node_label(report: Any) -> str:
    customer = getattr(report, "customer", None)
    return f"customer node {getattr(customer, 'url', customer)}" if customer else f"MPC node {report.node_id}"


def _audit_misbehaviour(report: Any) -> None:
    """A node returned a wrong partial or signature: the coordinator excluded it; the operator must know."""
    import audit
    from audit.models import Outcome

    logger.warning("MPC node %s misbehaved during %s: %s", report.node_id, report.operation, report.reason)
    audit.record(
        action="mpc.node_misbehaved",
        actor="mpc-coordinator",
        outcome=Outcome.FAILURE,
        target=("mpc.node", str(report.node_id), _node_label(report)),
        details={"operation": report.operation, "handle": report.key_id, "reason": str(report.reason)[:200]},
    )


def _customer_for(handle: str) -> Any:
    """The customer node a composed MPC key requires, looked up by its version's handle (read cache)."""
    from keys.models import KeyVersion

    def load() -> Any:
        version = KeyVersion.objects.select_related("key__customer_node").filter(handle=handle).first()
        if version is None or version.key.customer_node is None:
            return None
        return customer_spec(version.key.customer_node)

    return readcache.cached(("keys.customer_for", handle), load)


def _software_master_key() -> bytes:
    if settings.SOFTWARE_MASTER_KEY:
        key = base64.b64decode(settings.SOFTWARE_MASTER_KEY)
        if len(key) != 32:
            raise DependencyUnavailable("COCKPIT_SOFTWARE_MASTER_KEY must be base64 of 32 bytes.")
        return key
    # Development only (settings refuse this path in production): a per-checkout key file.
    path = Path(settings.VAR_DIR) / "software-master.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    return path.read_bytes()


@cache
def _build(name: str, fingerprint: tuple[object, ...]) -> CustodyBackend:
    if name == Custody.SOFTWARE:
        from keys.backends.software import SoftwareBackend

        return SoftwareBackend(_software_master_key(), Path(settings.SOFTWARE_KEY_DIR))
    if name == Custody.PKCS11:
        from keys.backends.pkcs11 import Pkcs11Backend

        config = pkcs11_config()
        assert config is not None
        return Pkcs11Backend(config.module, config.token_label, config.pin)
    if name == Custody.MPC:
        from keys.backends.mpc import MpcBackend
        from mpc.coordinator import Coordinator

        cluster = mpc_cluster_file()
        assert cluster is not None
        coordinator = Coordinator.from_file(cluster, on_misbehaviour=_audit_misbehaviour)
        return MpcBackend(coordinator, customer_for=_customer_for)
    raise InvalidRequest(f"Unknown custody backend {name!r}.")


def _fingerprint(name: str) -> tuple[object, ...] | None:
    """What the backend for ``name`` is built from, or None when this deployment does not offer it.

    Computed once per call of ``get_backend`` (the key-operation path): offering and configuration come
    from the same reads, and a changed configuration builds a new backend.
    """
    if name == Custody.SOFTWARE:
        return (
            (settings.SOFTWARE_MASTER_KEY, str(settings.SOFTWARE_KEY_DIR))
            if settings.SOFTWARE_KEYS_ENABLED
            else None
        )
    if name == Custody.PKCS11:
        config = pkcs11_config()
        return (config,) if config is not None else None
    if name == Custody.MPC:
        cluster = mpc_cluster_file()
        return (
            (str(cluster), cluster.stat().st_mtime if cluster.exists() else None)
            if cluster is not None
            else None
        )
    return None


def available_custody() -> list[Custody]:
    """The custody choices offered to tenants here, strongest first."""
    offered = []
    if mpc_cluster_file() is not None:
        offered.append(Custody.MPC)
    if pkcs11_config() is not None:
        offered.append(Custody.PKCS11)
    if settings.SOFTWARE_KEYS_ENABLED:
        offered.append(Custody.SOFTWARE)
    return offered


def get_backend(name: str) -> CustodyBackend:
    """The backend for ``name``; DependencyUnavailable when this deployment does not offer it."""
    fingerprint = _fingerprint(name)
    if fingerprint is None:
        raise DependencyUnavailable(f"The custody backend {name!r} is not configured here.")
    with _lock:
        return _build(name, fingerprint)


def mpc_backend() -> MpcBackend:
    """The MPC backend, with the operations only it has (node state, share refresh, customer nodes)."""
    # get_backend is typed by the shared protocol; the MPC entry is always an MpcBackend.
    return cast("MpcBackend", get_backend(Custody.MPC))


def reset_backends() -> None:
    """Forget built backends (tests and reconfiguration)."""
    _build.cache_clear()
    _dev_pkcs11_config.cache_clear()


def mpc_node_health() -> list[dict[str, object]]:
    """Each MPC node's status and latency (empty when MPC is not offered); never raises."""
    if Custody.MPC not in available_custody():
        return []
    try:
        return mpc_backend().node_health()
    except Exception as exc:  # a dashboard shows trouble, it does not fail on it
        logger.warning("MPC node health unavailable: %s", type(exc).__name__)
        return [{"id": "mpc", "ok": False, "latency_ms": None, "error": type(exc).__name__}]


def generate_material(*, key: Any, label: str) -> Any:
    """Generate a key version in its backend; MPC keys that require a customer node include it."""
    from keys.backends import KeySpec

    backend = get_backend(key.custody)
    if key.customer_node_id is None:
        return backend.generate(spec=KeySpec(key.spec), label=label)
    # Only MPC keys have a customer node (checked when the key is created), and only MPC generate takes one.
    mpc = cast("MpcBackend", backend)
    return mpc.generate(spec=KeySpec(key.spec), label=label, customer=customer_spec(key.customer_node))


def customer_spec(node: Any) -> Any:
    """The coordinator's description of a tenant-run node (see keys/backends/mpc.py)."""
    from keys.backends.mpc import CustomerNodeSpec

    return CustomerNodeSpec(
        url=node.url, identity_public_key=node.identity_public_key, x25519_public_key=node.x25519_public_key
    )
