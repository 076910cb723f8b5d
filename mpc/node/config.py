"""Node configuration, identity keys and the cluster file that nodes and the coordinator share.

Files of one node (``init`` writes them; paths in the config are relative to it)::

    node.json       this config (no secrets)
    identity.key    Ed25519 private key, raw 32 bytes, 0600: signs responses and DKG deals
    x25519.key      X25519 private key, raw 32 bytes, 0600: receives sealed shares
    master.key      created on first start (see masterkey.py)
    node.sqlite3    the share store

The cluster file (``cluster.json``) is public: threshold, and per node its id, URL,
identity and X25519 public keys, plus the coordinator's public key and where the
coordinator finds its private key. Nodes read it to pin their peers' keys, so the
coordinator can relay DKG deals but can neither forge a peer's deal nor make a node
seal a share to a key of its choosing.

A *customer node* (``"role": "customer"``) runs the same software on the tenant's
side. It is not in the cluster file and has no node id: the control plane enrols it
by its :class:`CustomerNodeSpec` (URL, identity and X25519 public keys), and requests
to it are signed for ``customer:<identity key>`` instead of a node id.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from mpc.wire import (
    MAX_NODE_ID,
    WireError,
    customer_audience,
    ed25519_public_from_hex,
    get_int,
    get_list,
    get_str,
    node_id_of,
    public_hex,
    x25519_public_from_hex,
)

DEFAULT_MAX_BODY = 1 << 20
ROLES = ("provider", "customer")


class ConfigError(Exception):
    """A config or cluster file is missing, malformed or inconsistent."""


# -- key files ------------------------------------------------------------------------------


def write_secret_file(path: Path, data: bytes) -> None:
    """Create ``path`` 0600 (never overwrite an existing key)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _raw_private(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _read_secret(path: Path) -> bytes:
    if os.stat(path).st_mode & 0o077:
        raise ConfigError(f"{path.name} must not be readable by group or others")
    data = path.read_bytes()
    if len(data) != 32:
        raise ConfigError(f"{path.name} must hold a raw 32-byte key")
    return data


def new_ed25519_key_file(path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    write_secret_file(path, _raw_private(key))
    return key


def load_ed25519_key(path: Path) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_read_secret(path))


def load_x25519_key(path: Path) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(_read_secret(path))


# -- cluster file -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeEntry:
    """One node as everybody else knows it (public data only)."""

    node_id: int
    url: str
    identity: Ed25519PublicKey = field(repr=False)
    x25519: X25519PublicKey = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.node_id,
            "url": self.url,
            "identity_public_key": public_hex(self.identity),
            "x25519_public_key": public_hex(self.x25519),
        }


class InvalidCustomerNode(ConfigError, ValueError):
    """A customer node entry is malformed (also a ``ValueError``, for form validation)."""


@dataclass(frozen=True)
class CustomerNodeSpec:
    """A tenant's customer node as the control plane enrols it (public data only).

    ``identity_public_key`` (Ed25519) and ``x25519_public_key`` are 64 lowercase hex
    digits, exactly as ``python -m mpc.node init --customer`` prints them. The
    coordinator pins the identity key: every answer of the customer node must be
    signed with it. Hashable and comparable, so it can key caches.
    """

    url: str
    identity_public_key: str
    x25519_public_key: str

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or len(self.url) > 512:
            raise InvalidCustomerNode("customer node: url must be an http(s) URL")
        if not self.url.startswith(("http://", "https://")):
            raise InvalidCustomerNode("customer node: url must be an http(s) URL")
        try:
            ed25519_public_from_hex(self.identity_public_key, field="identity_public_key")
            x25519_public_from_hex(self.x25519_public_key, field="x25519_public_key")
        except WireError as exc:
            raise InvalidCustomerNode(f"customer node: {exc}") from None

    @property
    def audience(self) -> str:
        """What requests to this node are signed for (and what its responses name)."""
        return customer_audience(self.identity_public_key)

    def identity(self) -> Ed25519PublicKey:
        return ed25519_public_from_hex(self.identity_public_key)

    def x25519(self) -> X25519PublicKey:
        return x25519_public_from_hex(self.x25519_public_key)

    def to_json(self) -> dict[str, Any]:
        return {
            "role": "customer",
            "url": self.url,
            "identity_public_key": self.identity_public_key,
            "x25519_public_key": self.x25519_public_key,
        }

    @classmethod
    def from_json(cls, obj: object) -> CustomerNodeSpec:
        """Parse what ``init --customer`` printed (``role`` is optional, must be "customer")."""
        if not isinstance(obj, dict) or obj.get("role", "customer") != "customer":
            raise InvalidCustomerNode("customer node: expected a customer node entry")
        try:
            return cls(
                get_str(obj, "url", max_len=512),
                get_str(obj, "identity_public_key", max_len=64),
                get_str(obj, "x25519_public_key", max_len=64),
            )
        except WireError as exc:
            raise InvalidCustomerNode(f"customer node: {exc}") from None


@dataclass(frozen=True)
class ClusterSpec:
    """The parsed cluster file; ``coordinator_key_file`` is resolved against its directory."""

    threshold: int
    nodes: dict[int, NodeEntry]
    coordinator_public_key: str
    coordinator_key_file: Path | None


def node_entry_from_json(obj: object) -> NodeEntry:
    try:
        node_id = node_id_of(obj.get("id") if isinstance(obj, dict) else None)
        url = get_str(obj, "url", max_len=512)
        if not url.startswith(("http://", "https://")):
            raise WireError("url: expected http(s) URL")
        identity = ed25519_public_from_hex(get_str(obj, "identity_public_key"))
        x25519 = x25519_public_from_hex(get_str(obj, "x25519_public_key"))
    except WireError as exc:
        raise ConfigError(f"cluster node entry: {exc}") from None
    return NodeEntry(node_id, url, identity, x25519)


def load_cluster(path: Path) -> ClusterSpec:
    path = Path(path)
    try:
        obj = json.loads(path.read_text())
        entries = [node_entry_from_json(e) for e in get_list(obj, "nodes", max_len=MAX_NODE_ID)]
        threshold = get_int(obj, "threshold", lo=1, hi=max(1, len(entries)))
        coordinator = get_str(obj, "coordinator_public_key")
        ed25519_public_from_hex(coordinator)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cluster file {path}: {exc}") from None
    nodes = {e.node_id: e for e in entries}
    if len(nodes) != len(entries) or not nodes:
        raise ConfigError(f"cluster file {path}: duplicate or missing node ids")
    key_file = obj.get("coordinator_key_file")
    resolved = (path.parent / key_file) if isinstance(key_file, str) else None
    return ClusterSpec(threshold, nodes, coordinator, resolved)


def write_cluster(path: Path, spec: ClusterSpec, key_file_name: str | None) -> None:
    doc = {
        "version": 1,
        "threshold": spec.threshold,
        "coordinator_public_key": spec.coordinator_public_key,
        "coordinator_key_file": key_file_name,
        "nodes": [spec.nodes[i].to_json() for i in sorted(spec.nodes)],
    }
    Path(path).write_text(json.dumps(doc, indent=2) + "\n")


# -- node config -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeConfig:
    """Everything one node process needs; secrets are loaded from the files it names."""

    path: Path
    node_id: int
    host: str
    port: int
    db_path: Path
    master_key_file: Path
    identity_key_file: Path
    x25519_key_file: Path
    trusted_coordinators: tuple[str, ...]
    cluster_file: Path | None
    max_body_bytes: int = DEFAULT_MAX_BODY
    clock_skew_seconds: int = 60
    frost_nonce_ttl_seconds: int = 60
    role: str = "provider"  # or "customer": holds customer key parts only (node_id is 0)
    pkcs11_master_key: dict[str, str] | None = None  # module, token_label, pin_file[, key_label]

    @property
    def is_customer(self) -> bool:
        return self.role == "customer"

    def cluster(self) -> ClusterSpec | None:
        """The pinned cluster (peer keys and threshold), if a cluster file is configured."""
        if self.cluster_file is None or not self.cluster_file.exists():
            return None
        return load_cluster(self.cluster_file)


def _pkcs11_settings(raw: object, base: Path) -> dict[str, str] | None:
    """Validate the optional HSM master key section; the PIN is read from a file, never stored here."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("pkcs11_master_key: expected an object")
    settings = {name: get_str(raw, name, max_len=1024) for name in ("module", "token_label", "pin_file")}
    settings["pin_file"] = str(base / settings["pin_file"])
    if "key_label" in raw:
        settings["key_label"] = get_str(raw, "key_label", max_len=128)
    return settings


def load_config(path: Path) -> NodeConfig:
    path = Path(path).resolve()
    base = path.parent
    try:
        obj = json.loads(path.read_text())
        trusted = tuple(get_str({"k": k}, "k") for k in get_list(obj, "trusted_coordinators", max_len=16))
        for key in trusted:
            ed25519_public_from_hex(key)
        cluster = obj.get("cluster_file")
        role = obj.get("role", "provider")
        if role not in ROLES:
            raise ValueError("role: expected 'provider' or 'customer'")
        if role == "customer" and cluster is not None:
            raise ValueError("a customer node has no cluster file")
        return NodeConfig(
            path=path,
            node_id=0 if role == "customer" else node_id_of(obj.get("node_id")),
            host=get_str(obj, "host", max_len=255),
            port=get_int(obj, "port", lo=1, hi=65535),
            db_path=base / get_str(obj, "db_path"),
            master_key_file=base / get_str(obj, "master_key_file"),
            identity_key_file=base / get_str(obj, "identity_key_file"),
            x25519_key_file=base / get_str(obj, "x25519_key_file"),
            trusted_coordinators=trusted,
            cluster_file=(base / cluster) if isinstance(cluster, str) else None,
            max_body_bytes=int(obj.get("max_body_bytes", DEFAULT_MAX_BODY)),
            clock_skew_seconds=int(obj.get("clock_skew_seconds", 60)),
            frost_nonce_ttl_seconds=int(obj.get("frost_nonce_ttl_seconds", 60)),
            role=role,
            pkcs11_master_key=_pkcs11_settings(obj.get("pkcs11_master_key"), base),
        )
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"node config {path}: {exc}") from None


def init_node(
    directory: Path,
    *,
    node_id: int | None,
    port: int,
    coordinator_pubkeys: list[str],
    host: str = "127.0.0.1",
    cluster_file: str | None = None,
    role: str = "provider",
) -> dict[str, Any]:
    """Create a node directory (config + identity keys); returns the node's public entry.

    For a provider that is its cluster-file entry; for ``role="customer"`` (no node
    id, no cluster file) it is the :class:`CustomerNodeSpec` the tenant enrols.
    """
    if role not in ROLES:
        raise ConfigError("role must be 'provider' or 'customer'")
    if role == "customer" and (node_id is not None or cluster_file is not None):
        raise ConfigError("a customer node has neither a node id nor a cluster file")
    try:
        if role == "provider":
            node_id_of(node_id)
        for key in coordinator_pubkeys:
            ed25519_public_from_hex(key, field="coordinator public key")
    except WireError as exc:
        raise ConfigError(str(exc)) from None
    directory = Path(directory)
    config_path = directory / "node.json"
    if config_path.exists():
        raise ConfigError(f"{config_path} already exists")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    identity = new_ed25519_key_file(directory / "identity.key")
    x25519 = X25519PrivateKey.generate()
    write_secret_file(directory / "x25519.key", _raw_private(x25519))
    doc: dict[str, Any] = {
        "node_id": node_id,
        "host": host,
        "port": port,
        "db_path": "node.sqlite3",
        "master_key_file": "master.key",
        "identity_key_file": "identity.key",
        "x25519_key_file": "x25519.key",
        "trusted_coordinators": list(coordinator_pubkeys),
        "cluster_file": cluster_file,
    }
    if role == "customer":
        doc = {"role": "customer", **{k: v for k, v in doc.items() if k not in ("node_id", "cluster_file")}}
    config_path.write_text(json.dumps(doc, indent=2) + "\n")
    url = f"http://{host}:{port}"
    if role == "customer":
        return CustomerNodeSpec(url, public_hex(identity), public_hex(x25519)).to_json()
    assert node_id is not None
    entry = NodeEntry(node_id, url, identity.public_key(), x25519.public_key())
    return entry.to_json()


def set_cluster_file(config_path: Path, cluster_file: str) -> None:
    """Point an existing node config at the cluster file (used by the local runner)."""
    doc = json.loads(Path(config_path).read_text())
    if doc.get("cluster_file") != cluster_file:
        doc["cluster_file"] = cluster_file
        Path(config_path).write_text(json.dumps(doc, indent=2) + "\n")
