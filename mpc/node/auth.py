"""Request authentication and replay protection on the node side; response signing.

A request is accepted only if (in this order, cheapest first):

1. the caller header names a trusted coordinator public key (config);
2. the timestamp is within ±skew of the node's clock and not older than the
   process start (nonces are kept in memory, so this closes the replay window a
   restart would otherwise open);
3. the Ed25519 signature covers method, path, *this* node's id (a customer node's
   ``customer:<identity key>`` audience), timestamp, nonce and SHA-256(body);
4. the nonce was not seen in the last skew window (remembered until ts + skew).

Only then is the nonce remembered, so unauthenticated traffic cannot fill the cache;
when the cache is full the node refuses new requests (503) instead of forgetting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mpc.wire import (
    HDR_CALLER,
    HDR_NONCE,
    HDR_SIGNATURE,
    HDR_TIMESTAMP,
    NONCE_RE,
    Audience,
    WireError,
    b64d,
    b64e,
    ed25519_public_from_hex,
    request_message,
    response_message,
    verify,
)

from .errors import Overloaded, Unauthorized


class Headers(Protocol):
    """Request headers as authentication reads them: a mapping, or http.server's ``email.message.Message``."""

    def get(self, name: str, default: str, /) -> str: ...


MAX_REMEMBERED_NONCES = 200_000


class ReplayCache:
    """Nonces seen recently, each kept until its request's timestamp leaves the window."""

    def __init__(self, limit: int = MAX_REMEMBERED_NONCES) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._limit = limit

    def remember(self, nonce: str, expires_at: float, now: float) -> bool:
        """Record ``nonce``; False if it is a replay."""
        with self._lock:
            if nonce in self._seen:
                return False
            if len(self._seen) >= self._limit:
                self._purge(now)
                if len(self._seen) >= self._limit:
                    raise Overloaded()
            self._seen[nonce] = expires_at
            return True

    def _purge(self, now: float) -> None:
        self._seen = {n: exp for n, exp in self._seen.items() if exp > now}


class RequestAuthenticator:
    """Checks coordinator signatures for one node (see module docstring)."""

    def __init__(
        self,
        node_id: Audience,
        trusted: list[str] | tuple[str, ...],
        *,
        skew: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._node_id = node_id
        self._trusted: dict[str, Ed25519PublicKey] = {k: ed25519_public_from_hex(k) for k in trusted}
        self._skew = skew
        self._clock = clock
        self._started = int(clock())
        self._replays = ReplayCache()

    def authenticate(self, method: str, path: str, headers: Headers, body: bytes) -> str:
        """Return the caller's public key (hex) or raise :class:`Unauthorized`."""
        caller = headers.get(HDR_CALLER, "")
        public = self._trusted.get(caller)
        if public is None:
            raise Unauthorized("unknown caller")
        timestamp, nonce, signature = self._parse(headers)
        now = self._clock()
        if abs(now - timestamp) > self._skew or timestamp < self._started:
            raise Unauthorized("timestamp outside the accepted window")
        message = request_message(method, path, self._node_id, timestamp, nonce, body)
        if not verify(public, signature, message):
            raise Unauthorized("bad request signature")
        if not self._replays.remember(nonce, timestamp + self._skew + 1, now):
            raise Unauthorized("replayed request")
        return caller

    @staticmethod
    def _parse(headers: Headers) -> tuple[int, str, bytes]:
        raw_ts, nonce = headers.get(HDR_TIMESTAMP, ""), headers.get(HDR_NONCE, "")
        if not raw_ts.isdigit() or len(raw_ts) > 12 or NONCE_RE.fullmatch(nonce) is None:
            raise Unauthorized("missing or malformed authentication headers")
        try:
            signature = b64d(headers.get(HDR_SIGNATURE, ""), field="signature", size=64)
        except WireError:
            raise Unauthorized("missing or malformed authentication headers") from None
        return int(raw_ts), nonce, signature


class ResponseSigner:
    """Signs every response (errors included) with the node's identity key."""

    def __init__(self, node_id: Audience, identity: Ed25519PrivateKey) -> None:
        self._node_id = node_id
        self._identity = identity

    def __repr__(self) -> str:
        return f"ResponseSigner(node_id={self._node_id})"

    def sign(self, nonce: str, status: int, body: bytes) -> str:
        return b64e(self._identity.sign(response_message(self._node_id, nonce, status, body)))
