"""HTTP client for one node: signs requests, verifies signed responses, pools connections.

Failure taxonomy (the fan-out logic acts on the type, never on message text):

* :class:`NodeUnreachable` — connect/read timeout, refused, reset: the node is down
  or slow. Try another node.
* :class:`NodeMisbehaved` — the node answered but the answer cannot be trusted (bad
  response signature, wrong node id header, malformed JSON, a partial that fails
  verification). Try another node *and* report it through the misbehaviour hook.
* :class:`NodeRefused` — a correctly signed error (key disabled, not found, ...).

Per-node statistics (EWMA latency, last failure, last misbehaviour) feed the
ranking that picks which t nodes to ask first; counters of requests sent and
connections opened show how well batching and keep-alive work.

Connections: each client keeps a pool of idle keep-alive connections (up to
``MAX_IDLE``). A call takes one from the pool or opens a new one and gives it back
afterwards, so concurrent calls to one node run on separate connections in
parallel; nothing holds a lock while a request is on the wire. In a forked child
the inherited connections are dropped (see :mod:`.forksafe`).
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mpc.node.config import NodeEntry
from mpc.wire import (
    HDR_CALLER,
    HDR_NODE,
    HDR_NONCE,
    HDR_SIGNATURE,
    HDR_TIMESTAMP,
    Audience,
    b64d,
    b64e,
    new_nonce,
    public_hex,
    request_message,
    response_message,
    verify,
)

from . import forksafe

MAX_RESPONSE = 8 << 20
MAX_IDLE = 32  # idle keep-alive connections kept per node
_IDLE_REUSE_SECONDS = 10.0  # nodes close idle keep-alive sockets after 15 s
_RETRIABLE = (
    http.client.RemoteDisconnected,
    BrokenPipeError,
    ConnectionResetError,
    http.client.BadStatusLine,
)


class NodeCallError(Exception):
    """Base: a call to ``node_id`` did not produce a usable result."""

    def __init__(self, node_id: int, reason: str) -> None:
        self.node_id, self.reason = node_id, reason
        super().__init__(f"node {node_id}: {reason}")


class NodeUnreachable(NodeCallError):
    pass


class NodeMisbehaved(NodeCallError):
    pass


class NodeStale(NodeCallError):
    """The node answered from a newer share epoch than the cached public data (a refresh)."""


class NodeRefused(NodeCallError):
    def __init__(self, node_id: int, status: int, error: dict[str, Any]) -> None:
        self.status = status
        self.code = str(error.get("code", "unknown"))
        self.details = error
        super().__init__(node_id, f"refused ({status} {self.code})")


def _truncated(response: http.client.HTTPResponse, data: bytes) -> bool:
    """True if fewer body bytes arrived than Content-Length announced.

    ``HTTPResponse.read(amt)`` returns a short body instead of raising when the peer
    closes early (e.g. a node SIGKILLed between writing its headers and its body);
    without this check that would surface as a bad signature and be blamed on the node.
    """
    announced = response.getheader("Content-Length")
    return announced is not None and announced.isdigit() and len(data) < int(announced)


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    nonce: str
    node: str | None
    signature: str


@dataclass
class NodeStats:
    latency: float | None = None
    last_failure: float = 0.0
    last_misbehaviour: float = 0.0
    requests: int = 0
    """HTTP requests sent to the node (retries on a stale keep-alive socket included)."""
    connects: int = 0
    """New connections opened (the rest of the requests reused a keep-alive one)."""

    def record(self, seconds: float) -> None:
        self.latency = seconds if self.latency is None else 0.8 * self.latency + 0.2 * seconds


def _connect(conn: http.client.HTTPConnection) -> None:
    """Open the connection, Nagle off: requests are small and each waits for its answer."""
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NodeClient:
    """Signed JSON-over-HTTP calls to one node (thread-safe; keeps a small connection pool)."""

    def __init__(
        self,
        entry: NodeEntry,
        signer: Ed25519PrivateKey,
        *,
        connect_timeout: float = 2.0,
        read_timeout: float = 2.0,
        audience: str | None = None,
    ) -> None:
        self.entry = entry
        self.node_id = entry.node_id
        # Customer nodes are addressed by "customer:<identity key>", providers by their id.
        self.audience: Audience = audience if audience is not None else entry.node_id
        self._signer = signer
        self._caller = public_hex(signer)
        parts = urlsplit(entry.url)
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self._idle: list[tuple[http.client.HTTPConnection, float]] = []
        self._lock = threading.Lock()
        self.stats = NodeStats()
        forksafe.register(self)

    def __repr__(self) -> str:
        return f"NodeClient(audience={self.audience!r}, url={self.entry.url!r})"

    # -- public API -----------------------------------------------------------------------------

    def call(
        self, method: str, path: str, payload: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send one signed request; return the verified JSON body or raise a NodeCallError."""
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        started = time.monotonic()
        try:
            reply = self._exchange(method, path, body, timeout or self.read_timeout)
        except NodeCallError:
            self.stats.last_failure = time.monotonic()
            raise
        self.stats.record(time.monotonic() - started)
        return self._verify(reply)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.close()

    def after_fork_in_child(self) -> None:
        """Drop the parent's connections (closing only this process's copies) and lock."""
        idle, self._idle = self._idle, []
        self._lock = threading.Lock()
        for conn, _ in idle:
            conn.close()

    # -- internals ------------------------------------------------------------------------------

    def _exchange(self, method: str, path: str, body: bytes, timeout: float) -> _Reply:
        for attempt in range(2):
            conn, reused = self._connection()
            nonce = new_nonce()
            try:
                self._send(conn, method, path, body, nonce, timeout)
                response = conn.getresponse()
                data = response.read(MAX_RESPONSE + 1)
                if len(data) > MAX_RESPONSE:
                    raise NodeMisbehaved(self.node_id, "response too large")
                if _truncated(response, data):  # the node died mid-response: an outage, not a lie
                    raise NodeUnreachable(self.node_id, "connection lost during the response")
                if not response.will_close:
                    self._release(conn)
                else:
                    conn.close()
                node, signature = response.getheader(HDR_NODE), response.getheader(HDR_SIGNATURE) or ""
                return _Reply(response.status, data, nonce, node, signature)
            except _RETRIABLE:
                conn.close()
                if not reused or attempt:
                    raise NodeUnreachable(self.node_id, "connection lost") from None
            except (OSError, http.client.HTTPException):
                conn.close()
                raise NodeUnreachable(self.node_id, "unreachable or timed out") from None
            except NodeCallError:
                conn.close()
                raise
        raise NodeUnreachable(self.node_id, "connection lost")  # pragma: no cover

    def _send(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        path: str,
        body: bytes,
        nonce: str,
        timeout: float,
    ) -> None:
        full_path = self._prefix + path
        timestamp = int(time.time())
        message = request_message(method, full_path, self.audience, timestamp, nonce, body)
        headers = {
            "Content-Type": "application/json",
            HDR_CALLER: self._caller,
            HDR_TIMESTAMP: str(timestamp),
            HDR_NONCE: nonce,
            HDR_SIGNATURE: b64e(self._signer.sign(message)),
        }
        if conn.sock is None:
            _connect(conn)
        conn.sock.settimeout(timeout)
        conn.request(method, full_path, body=body if method != "GET" else None, headers=headers)

    def _verify(self, reply: _Reply) -> dict[str, Any]:
        """Signature first: nothing in an unauthenticated body is even parsed."""
        if reply.node != str(self.audience):
            raise NodeMisbehaved(self.node_id, "response from the wrong node")
        try:
            raw_signature = b64d(reply.signature, field="signature", size=64)
        except ValueError:
            raise NodeMisbehaved(self.node_id, "response signature missing") from None
        message = response_message(self.audience, reply.nonce, reply.status, reply.body)
        if not verify(self.entry.identity, raw_signature, message):
            raise NodeMisbehaved(self.node_id, "response signature invalid")
        status = reply.status
        try:
            parsed = json.loads(reply.body)
        except (ValueError, UnicodeDecodeError):
            raise NodeMisbehaved(self.node_id, "response is not JSON") from None
        if not isinstance(parsed, dict):
            raise NodeMisbehaved(self.node_id, "response is not a JSON object")
        if status != 200:
            error = parsed.get("error")
            raise NodeRefused(self.node_id, status, error if isinstance(error, dict) else {})
        return parsed

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        now = time.monotonic()
        conn: http.client.HTTPConnection | None = None
        stale = []
        with self._lock:
            self.stats.requests += 1
            while self._idle and conn is None:
                candidate, since = self._idle.pop()
                if now - since < _IDLE_REUSE_SECONDS:
                    conn = candidate
                else:
                    stale.append(candidate)
            if conn is None:
                self.stats.connects += 1
        for old in stale:
            old.close()
        if conn is not None:
            return conn, True
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return cls(self._host, self._port, timeout=self.connect_timeout), False

    def _release(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE:
                self._idle.append((conn, time.monotonic()))
                return
        conn.close()
