"""One node's share store: a SQLite file, every share sealed under the master key.

Schema::

    keys(key_id PK, kind, state, epoch, provenance, created_at, updated_at)
    shares(key_id, epoch, status, session, sealed, PRIMARY KEY (key_id, epoch))
    holds(key_id PK, created_at)

``holds`` is the node operator's own switch (``python -m mpc.node keys disable``): a
held key is refused like a disabled one, and only the operator can lift the hold;
the coordinator's ``state`` calls cannot. It is what lets a tenant running a
customer node stop one key without asking the control plane.

``keys`` holds only metadata and is kept after destroy as a tombstone, so a
destroyed id can never be re-created with fresh material by mistake. ``shares``
holds the sealed payload (AES-256-GCM, AAD = node id, key id, epoch, kind): a
row copied to another node, key or epoch no longer opens. A proactive refresh
writes epoch e+1 as ``pending`` and only ``activate`` switches to it and deletes
epoch e, so an interrupted refresh never leaves the node without a usable share.

Wiping: ``PRAGMA secure_delete`` overwrites freed pages, and destroy/activate run
VACUUM afterwards, so deleted sealed rows do not linger in the file.

One connection behind a lock: the node's HTTP threads do crypto outside it and
hold it only for short reads and writes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mpc.wire import canonical, length_prefixed

from .errors import Conflict, KeyDestroyed, KeyExists, KeyNotFound
from .masterkey import MasterKey, MasterKeyError

Kind = Literal["scalar", "rsa", "customer"]
State = Literal["enabled", "disabled", "destroyed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    key_id TEXT PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, epoch INTEGER NOT NULL,
    provenance TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS shares (
    key_id TEXT NOT NULL, epoch INTEGER NOT NULL, status TEXT NOT NULL, session TEXT NOT NULL,
    sealed BLOB NOT NULL, PRIMARY KEY (key_id, epoch));
CREATE TABLE IF NOT EXISTS holds (key_id TEXT PRIMARY KEY, created_at REAL NOT NULL);
"""


@dataclass(frozen=True)
class KeyRecord:
    """Public metadata of one key on this node."""

    key_id: str
    kind: Kind
    state: State
    epoch: int
    provenance: str
    held: bool = False  # the node operator put a local hold on the key

    @property
    def usable(self) -> bool:
        return self.state == "enabled" and not self.held


def _key_record(row: Sequence[Any]) -> KeyRecord:
    """A KeyRecord from the columns key_id, kind, state, epoch, provenance, held."""
    key_id, kind, state, epoch, provenance, held = row
    return KeyRecord(key_id, kind, state, epoch, provenance, bool(held))


class StoreIntegrityError(Exception):
    """A sealed row failed to open (wrong master key or tampering): an operator problem."""


class ShareStore:
    """SQLite-backed, sealed share storage for one node (see module docstring)."""

    def __init__(self, path: Path, master_key: MasterKey, node_id: int) -> None:
        self._path = Path(path)
        self._master = master_key
        self._node_id = node_id
        self._lock = threading.Lock()
        if not self._path.exists():
            os.close(os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self._db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA secure_delete = ON")
        self._db.execute("PRAGMA journal_mode = DELETE")
        self._db.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"ShareStore(path={str(self._path)!r})"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- reads -----------------------------------------------------------------------------

    def record(self, key_id: str) -> KeyRecord:
        """Metadata of a live or destroyed key; unknown -> ``KeyNotFound``."""
        with self._lock:
            row = self._db.execute(
                "SELECT k.key_id, k.kind, k.state, k.epoch, k.provenance, h.key_id IS NOT NULL"
                " FROM keys k LEFT JOIN holds h ON h.key_id = k.key_id WHERE k.key_id = ?",
                (key_id,),
            ).fetchone()
        if row is None:
            raise KeyNotFound()
        return _key_record(row)

    def records(self) -> list[KeyRecord]:
        """Metadata of every key on this node, tombstones included (for the operator CLI)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT k.key_id, k.kind, k.state, k.epoch, k.provenance, h.key_id IS NOT NULL"
                " FROM keys k LEFT JOIN holds h ON h.key_id = k.key_id ORDER BY k.created_at"
            ).fetchall()
        return [_key_record(row) for row in rows]

    def live(self, key_id: str) -> KeyRecord:
        """Like :meth:`record` but a destroyed key is ``KeyDestroyed``."""
        record = self.record(key_id)
        if record.state == "destroyed":
            raise KeyDestroyed()
        return record

    def load(self, key_id: str, epoch: int | None = None) -> tuple[KeyRecord, dict[str, Any]]:
        """Open the active share (or a given epoch's, e.g. a pending refresh)."""
        record = self.live(key_id)
        wanted = record.epoch if epoch is None else epoch
        with self._lock:
            row = self._db.execute(
                "SELECT sealed FROM shares WHERE key_id = ? AND epoch = ?", (key_id, wanted)
            ).fetchone()
        if row is None:
            raise KeyNotFound()
        try:
            plain = self._master.open(row[0], self._aad(key_id, wanted, record.kind))
        except MasterKeyError:
            raise StoreIntegrityError("stored share failed authentication") from None
        return record, json.loads(plain)

    def exists(self, key_id: str) -> bool:
        """True for live keys and tombstones alike (ids are never reused)."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM keys WHERE key_id = ?", (key_id,)).fetchone() is not None

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM keys WHERE state != 'destroyed'").fetchone()[0])

    def has_share_row(self, key_id: str) -> bool:
        """True if any share row (active or pending) exists; used by tests and audits."""
        with self._lock:
            row = self._db.execute("SELECT 1 FROM shares WHERE key_id = ? LIMIT 1", (key_id,)).fetchone()
        return row is not None

    # -- writes ----------------------------------------------------------------------------

    def create(self, key_id: str, kind: Kind, provenance: str, payload: dict[str, Any]) -> KeyRecord:
        """Store epoch 0 of a new key; an id that exists (or existed) is refused."""
        sealed = self._master.seal(canonical(payload), self._aad(key_id, 0, kind))
        now = time.time()
        with self._lock, self._transaction():
            if self._db.execute("SELECT 1 FROM keys WHERE key_id = ?", (key_id,)).fetchone():
                raise KeyExists()
            self._db.execute(
                "INSERT INTO keys VALUES (?, ?, 'enabled', 0, ?, ?, ?)", (key_id, kind, provenance, now, now)
            )
            self._db.execute("INSERT INTO shares VALUES (?, 0, 'active', '', ?)", (key_id, sealed))
        return KeyRecord(key_id, kind, "enabled", 0, provenance)

    def put_pending(self, key_id: str, epoch: int, session: str, payload: dict[str, Any]) -> None:
        """Stage a refreshed share; replaces an older pending one for the same epoch."""
        record = self.live(key_id)
        if epoch != record.epoch + 1:
            raise Conflict("refresh does not follow the active epoch")
        sealed = self._master.seal(canonical(payload), self._aad(key_id, epoch, record.kind))
        with self._lock, self._transaction():
            self._db.execute("DELETE FROM shares WHERE key_id = ? AND status = 'pending'", (key_id,))
            self._db.execute(
                "INSERT INTO shares VALUES (?, ?, 'pending', ?, ?)", (key_id, epoch, session, sealed)
            )

    def activate(self, key_id: str, session: str) -> int:
        """Make the pending share of ``session`` active and wipe the previous one (idempotent)."""
        self.live(key_id)
        with self._lock:
            row = self._db.execute(
                "SELECT epoch, status FROM shares WHERE key_id = ? AND session = ?", (key_id, session)
            ).fetchone()
            if row is None:
                raise Conflict("no refresh staged for this session")
            epoch, status = row
            if status == "active":
                return int(epoch)
            with self._transaction():
                self._db.execute("DELETE FROM shares WHERE key_id = ? AND epoch != ?", (key_id, epoch))
                self._db.execute("UPDATE shares SET status = 'active' WHERE key_id = ?", (key_id,))
                self._db.execute(
                    "UPDATE keys SET epoch = ?, updated_at = ? WHERE key_id = ?", (epoch, time.time(), key_id)
                )
            self._db.execute("VACUUM")
        return int(epoch)

    def set_state(self, key_id: str, enabled: bool) -> KeyRecord:
        record = self.live(key_id)
        state: State = "enabled" if enabled else "disabled"
        with self._lock, self._transaction():
            self._db.execute(
                "UPDATE keys SET state = ?, updated_at = ? WHERE key_id = ? AND state != 'destroyed'",
                (state, time.time(), key_id),
            )
        return KeyRecord(record.key_id, record.kind, state, record.epoch, record.provenance, record.held)

    def set_hold(self, key_id: str, held: bool) -> KeyRecord:
        """The operator's local switch (see module docstring); idempotent."""
        record = self.live(key_id)
        with self._lock, self._transaction():
            if held:
                self._db.execute("INSERT OR IGNORE INTO holds VALUES (?, ?)", (key_id, time.time()))
            else:
                self._db.execute("DELETE FROM holds WHERE key_id = ?", (key_id,))
        return KeyRecord(record.key_id, record.kind, record.state, record.epoch, record.provenance, held)

    def destroy(self, key_id: str) -> None:
        """Delete every share row, keep a material-free tombstone, then VACUUM."""
        self.live(key_id)
        with self._lock:
            with self._transaction():
                self._db.execute("DELETE FROM shares WHERE key_id = ?", (key_id,))
                self._db.execute(
                    "UPDATE keys SET state = 'destroyed', updated_at = ? WHERE key_id = ?",
                    (time.time(), key_id),
                )
            self._db.execute("VACUUM")

    # -- helpers ---------------------------------------------------------------------------

    def _aad(self, key_id: str, epoch: int, kind: str) -> bytes:
        return length_prefixed("cockpit-mpc-node-share-v1", self._node_id, key_id, epoch, kind)

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (caller holds the lock)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
