"""Entra ID's token-signing keys: uploaded (static mode) or fetched from Entra and cached (url mode).

The cache is per process and per URL (every binding on Entra's common endpoint shares one entry). An
unknown ``kid`` triggers one refetch, at most once per ``REFETCH_COOLDOWN`` seconds, so tokens with
made-up kids cannot turn Cockpit into a request amplifier against Entra. If Entra cannot be reached,
keys fetched within ``STALE_LIMIT`` keep working.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt

logger = logging.getLogger(__name__)

FETCH_TIMEOUT = 3.0  # seconds; the Office client is waiting
MAX_DOCUMENT = 512 * 1024
CACHE_TTL = 3600.0
REFETCH_COOLDOWN = 60.0
STALE_LIMIT = 24 * 3600.0


class JwksUnavailable(Exception):
    """Entra's keys could not be fetched and nothing recent enough is cached."""


@dataclass
class _Entry:
    keys: dict[str, jwt.PyJWK]
    fetched_at: float
    attempted_at: float


_cache: dict[str, _Entry] = {}
_lock = threading.Lock()


def _now() -> float:
    return time.monotonic()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect could lead off Entra's hosts


_opener = urllib.request.build_opener(_NoRedirect)


def _http_get(url: str) -> bytes:
    """The one network call: GET ``url`` with a short timeout and a size cap."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 (https host checked in config)
    with _opener.open(request, timeout=FETCH_TIMEOUT) as response:
        body = response.read(MAX_DOCUMENT + 1)
    if len(body) > MAX_DOCUMENT:
        raise ValueError("JWKS document too large")
    return body


def parse_jwks(document: Any) -> dict[str, jwt.PyJWK]:
    """Usable RS256 signing keys by kid; other keys (encryption, EC, no kid) are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys: dict[str, jwt.PyJWK] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig":
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            continue
        public = {"kty": "RSA", "kid": kid, "n": jwk.get("n"), "e": jwk.get("e")}
        try:
            keys[kid] = jwt.PyJWK(public, algorithm="RS256")
        except (jwt.PyJWKError, jwt.InvalidKeyError, TypeError, ValueError):
            continue
    return keys


def _refresh(url: str, entry: _Entry | None) -> _Entry:
    now = _now()
    try:
        keys = parse_jwks(json.loads(_http_get(url)))
        if not keys:
            raise ValueError("no RS256 signing keys")
    except (OSError, ValueError) as exc:
        logger.warning("fetching Entra signing keys from %s failed: %s", url, exc)
        if entry is not None and now - entry.fetched_at < STALE_LIMIT:
            entry.attempted_at = now
            return entry
        _cache.pop(url, None)
        raise JwksUnavailable(str(exc)) from None
    fresh = _Entry(keys=keys, fetched_at=now, attempted_at=now)
    _cache[url] = fresh
    return fresh


def _from_url(url: str, kid: str) -> jwt.PyJWK | None:
    with _lock:
        entry = _cache.get(url)
        if entry is None:
            entry = _refresh(url, None)
        elif _now() - entry.fetched_at > CACHE_TTL and _now() - entry.attempted_at >= REFETCH_COOLDOWN:
            entry = _refresh(url, entry)
        if kid not in entry.keys and _now() - entry.attempted_at >= REFETCH_COOLDOWN:
            entry = _refresh(url, entry)  # Entra rolled its keys since we last looked
        return entry.keys.get(kid)


def signing_key(jwks: dict[str, Any], kid: str) -> jwt.PyJWK | None:
    """The public key Entra signed with (None if unknown); JwksUnavailable if Entra can't be reached."""
    if jwks["mode"] == "static":
        return parse_jwks({"keys": jwks["keys"]}).get(kid)
    return _from_url(jwks["url"], kid)


def clear_cache() -> None:
    """Forget every fetched key set (tests, and operators after an Entra incident)."""
    with _lock:
        _cache.clear()
