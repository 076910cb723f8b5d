"""Per-process node state shared by the request handlers.

Holds the store, the node's private keys, pinned peers, in-memory FROST nonces,
the DKG sessions this node already dealt in and a short-lived cache of unsealed key
material. The per-key state check lives here (:meth:`NodeContext.usable` and the
``*_share`` accessors) so that *every* key operation is refused at the node when the
key is disabled, held or destroyed, whatever the coordinator asks. The state is read
from the store on every request (the operator's CLI writes it from another process);
only the unsealed, parsed material is cached (:class:`MaterialCache`).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from mpc.crypto import threshold_rsa
from mpc.crypto.frost import SigningNonces
from mpc.crypto.group import PrimeOrderGroup
from mpc.crypto.shamir import KeyShare
from mpc.wire import (
    Audience,
    b64d,
    customer_audience,
    key_share_from_dict,
    public_hex,
    rsa_params_from_dict,
    rsa_share_from_dict,
    scalar,
)

from .config import NodeConfig, NodeEntry
from .errors import BadRequest, Conflict, KeyDisabled, KeyHeld, NodeError, Overloaded
from .store import KeyRecord, ShareStore

VERSION = "0.1.0"
FAULTS = frozenset({"bad-deal", "bad-partial", "tamper-response"})
"""Test-only misbehaviour (``--fault``); refused unless COCKPIT_MPC_TEST_FAULTS=1."""

MAX_PENDING_NONCES = 10_000
MATERIAL_CACHE_SECONDS = 60.0
MAX_CACHED_KEYS = 4096


@dataclass
class _NonceEntry:
    key_id: str
    epoch: int
    nonces: SigningNonces
    expires_at: float


class FrostNonceStore:
    """FROST round-1 nonces: memory only, single use, expiring, bounded.

    Memory only on purpose: a restart forgets them, which can only cost a retry,
    while persisting them would risk a nonce being used twice after a crash.
    """

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._entries: dict[str, _NonceEntry] = {}
        self._lock = threading.Lock()

    def put(self, key_id: str, epoch: int, nonces: SigningNonces) -> str:
        now = time.monotonic()
        with self._lock:
            if len(self._entries) >= MAX_PENDING_NONCES:
                self._entries = {k: e for k, e in self._entries.items() if e.expires_at > now}
                if len(self._entries) >= MAX_PENDING_NONCES:
                    raise Overloaded()
            commitment_id = secrets.token_hex(16)
            self._entries[commitment_id] = _NonceEntry(key_id, epoch, nonces, now + self._ttl)
        return commitment_id

    def take(self, commitment_id: str, key_id: str) -> tuple[int, SigningNonces]:
        """Remove and return the nonces; unknown, expired or foreign ids are refused."""
        with self._lock:
            entry = self._entries.pop(commitment_id, None)
        if entry is None or entry.key_id != key_id or entry.expires_at < time.monotonic():
            raise Conflict("unknown, used or expired signing commitment")
        return entry.epoch, entry.nonces

    def drop_key(self, key_id: str) -> None:
        with self._lock:
            self._entries = {k: e for k, e in self._entries.items() if e.key_id != key_id}


class MaterialCache:
    """Unsealed, parsed key material of recently used keys, in memory for at most ``ttl`` seconds.

    Why: unsealing (AES-GCM under the master key, possibly in an HSM) and parsing a
    share on every request costs more than the request's own crypto for small batches.
    Safe because an entry is only used after the request passed the state check
    against the store, and only for the same key id, epoch and kind; it is dropped as
    soon as a request finds the key disabled, held, destroyed or missing, and on
    destroy, disable and refresh commit. Python cannot zeroise memory, so a dropped
    entry lives until garbage collection, like any share the node ever loaded.
    """

    def __init__(self, ttl: float = MATERIAL_CACHE_SECONDS, limit: int = MAX_CACHED_KEYS) -> None:
        self._ttl, self._limit = ttl, limit
        self._entries: dict[str, tuple[int, str, float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key_id: str, epoch: int, kind: str) -> object | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key_id)
            if entry is None:
                return None
            if entry[:2] != (epoch, kind) or entry[2] <= now:
                del self._entries[key_id]
                return None
            return entry[3]

    def put(self, key_id: str, epoch: int, kind: str, value: object) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._entries) >= self._limit:
                self._entries = {k: e for k, e in self._entries.items() if e[2] > now}
                if len(self._entries) >= self._limit:
                    self._entries.pop(next(iter(self._entries)))  # the oldest insertion
            self._entries[key_id] = (epoch, kind, now + self._ttl, value)

    def drop(self, key_id: str) -> None:
        with self._lock:
            self._entries.pop(key_id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


@dataclass
class NodeContext:
    """What handlers need; built once per process by :func:`mpc.node.server.build_context`."""

    config: NodeConfig
    store: ShareStore
    identity: Ed25519PrivateKey = field(repr=False)
    x25519: X25519PrivateKey = field(repr=False)
    peers: dict[int, NodeEntry]
    threshold: int  # pinned from the cluster file (0: none configured, keygen refused)
    faults: frozenset[str] = frozenset()
    nonces: FrostNonceStore = field(default_factory=lambda: FrostNonceStore(60))
    materials: MaterialCache = field(default_factory=MaterialCache)
    _dealt: set[str] = field(default_factory=set)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    @property
    def node_id(self) -> int:
        return self.config.node_id

    @property
    def is_customer(self) -> bool:
        return self.config.is_customer

    @property
    def audience(self) -> Audience:
        """What requests must be signed for and what responses name (see ``wire.customer_audience``)."""
        if self.is_customer:
            return customer_audience(public_hex(self.identity))
        return self.node_id

    def fault(self, name: str) -> bool:
        return name in self.faults

    def key_lock(self, key_id: str) -> threading.Lock:
        """Serialises keygen/refresh/destroy for one key id within this node."""
        with self._guard:
            return self._locks.setdefault(key_id, threading.Lock())

    def claim_session(self, session_id: bytes) -> None:
        """A node deals at most once per session: two different deals could be equivocated."""
        with self._guard:
            token = session_id.hex()
            if token in self._dealt:
                raise Conflict("this node already dealt in this session")
            self._dealt.add(token)

    def require_cluster(self, participants: tuple[int, ...], threshold: int) -> None:
        """Key creation only with pinned peers and the pinned threshold.

        Without this a coordinator could run a DKG with t = 1, which would hand every
        node the whole key, or deal to a participant whose keys it controls.
        """
        if self.node_id not in participants:
            raise BadRequest("this node is not a participant")
        if not self.threshold or any(p not in self.peers for p in participants):
            raise Conflict("participant keys are not pinned in the cluster file")
        if threshold != self.threshold or len(participants) < threshold:
            raise BadRequest("threshold differs from the cluster's")

    def usable(self, key_id: str, kind: str) -> tuple[KeyRecord, dict[str, Any]]:
        """Load an *enabled* key of the given kind; the node-side policy gate."""
        self._checked(key_id, kind)
        return self.store.load(key_id)

    def _checked(self, key_id: str, kind: str) -> KeyRecord:
        """The key's record, read from the store now; refused unless enabled, not held, of ``kind``.

        A refusal also drops whatever material of the key is cached.
        """
        try:
            record = self.store.live(key_id)
            if record.held:
                raise KeyHeld()
            if record.state != "enabled":
                raise KeyDisabled()
        except NodeError:
            self.materials.drop(key_id)
            raise
        if record.kind != kind:
            raise BadRequest("operation does not match the key type")
        return record

    def scalar_share(self, key_id: str, group: PrimeOrderGroup | None) -> tuple[KeyRecord, KeyShare]:
        """The active DKG share; ``group`` (if given) must match the key's group."""
        record, share = self._material(key_id, "scalar", lambda p: key_share_from_dict(p, check=False))
        if group is not None and share.group is not group:
            raise BadRequest("operation does not match the key's group")
        return record, share

    def customer_secret(self, key_id: str) -> tuple[KeyRecord, int]:
        """A customer node's whole key part k_c (customer nodes only)."""
        return self._material(
            key_id, "customer", lambda p: scalar(b64d(p.get("secret"), field="secret", size=32))
        )

    def rsa_share(
        self, key_id: str
    ) -> tuple[KeyRecord, threshold_rsa.RsaPublicParams, threshold_rsa.RsaNodeShare]:
        def parse(
            payload: dict[str, Any],
        ) -> tuple[threshold_rsa.RsaPublicParams, threshold_rsa.RsaNodeShare]:
            params = rsa_params_from_dict(payload["params"])
            return params, rsa_share_from_dict(payload["share"], params)

        record, (params, share) = self._material(key_id, "rsa", parse)
        return record, params, share

    def _material[T](
        self, key_id: str, kind: str, parse: Callable[[dict[str, Any]], T]
    ) -> tuple[KeyRecord, T]:
        """State check against the store on every call; the unsealed material from the cache if fresh."""
        record = self._checked(key_id, kind)
        cached = self.materials.get(key_id, record.epoch, kind)
        if cached is not None:
            return record, cast(T, cached)
        loaded, payload = self.store.load(key_id)
        value = parse(payload)
        self.materials.put(key_id, loaded.epoch, kind, value)
        return loaded, value
