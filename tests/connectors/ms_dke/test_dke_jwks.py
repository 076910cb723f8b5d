"""JWKS url mode: Entra's keys fetched over HTTP, cached, refetched once on key rollover, never hammered.

A tiny HTTP server on 127.0.0.1 plays login.microsoftonline.com; the only thing patched is where the one
fetch function sends its request. Time is a fake clock so TTL and cooldown are tested without sleeping.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from dke_kit import Dke, Entra, dke_settings, encrypt_to, get_key, post_decrypt

from connectors.ms_dke import jwks

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("custody")]

ENTRA_KEYS_URL = "https://login.microsoftonline.com/common/discovery/v2.0/keys"


class FakeEntra:
    """What the local server answers: a JWKS document, a redirect, or an oversized body."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.hits = 0
        self.mode = "jwks"


@pytest.fixture
def keys_server() -> Iterator[tuple[FakeEntra, str]]:
    state = FakeEntra()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits += 1
            if state.mode == "redirect":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.end_headers()
                return
            body = (
                b"x" * (jwks.MAX_DOCUMENT + 10)
                if state.mode == "huge"
                else json.dumps(state.document).encode()
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/common/discovery/v2.0/keys"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def entra_online(
    keys_server: tuple[FakeEntra, str], monkeypatch: pytest.MonkeyPatch, entra: Entra
) -> tuple[FakeEntra, Clock]:
    """Entra's JWKS URL answered by the local server (publishing ``entra``'s key), on a fake clock."""
    state, local_url = keys_server
    state.document = {"keys": [entra.jwk()]}
    real_get = jwks._http_get
    monkeypatch.setattr(jwks, "_http_get", lambda url: real_get(url.replace(ENTRA_KEYS_URL, local_url)))
    clock = Clock()
    monkeypatch.setattr(jwks, "_now", lambda: clock.now)
    return state, clock


@pytest.fixture
def url_dke(bind: Any, entra: Entra) -> Dke:
    return bind(settings=dke_settings(entra, jwks={"mode": "url", "url": ENTRA_KEYS_URL}))


def decrypt_status(dke: Dke, token: str) -> int:
    body = {"alg": "RSA-OAEP-256", "value": encrypt_to(get_key(dke).json(), b"content key")}
    response = post_decrypt(dke.decrypt_url(1), body, HTTP_AUTHORIZATION=f"Bearer {token}")
    return response.status_code


def test_keys_are_fetched_once_and_cached_for_the_ttl(
    url_dke: Dke, entra: Entra, entra_online: tuple[FakeEntra, Clock]
) -> None:
    state, clock = entra_online
    assert [decrypt_status(url_dke, entra.token()) for _ in range(3)] == [200, 200, 200]
    assert state.hits == 1
    clock.advance(jwks.CACHE_TTL + 1)
    assert decrypt_status(url_dke, entra.token()) == 200
    assert state.hits == 2


def test_a_new_signing_key_is_picked_up_with_one_refetch(
    url_dke: Dke, entra: Entra, entra_online: tuple[FakeEntra, Clock]
) -> None:
    state, clock = entra_online
    assert decrypt_status(url_dke, entra.token()) == 200
    rolled = Entra(rsa.generate_private_key(public_exponent=65537, key_size=2048), "entra-key-2")
    state.document = {"keys": [entra.jwk(), rolled.jwk()]}
    clock.advance(jwks.REFETCH_COOLDOWN)
    assert decrypt_status(url_dke, rolled.token()) == 200
    assert state.hits == 2


def test_made_up_kids_cause_at_most_one_refetch_per_cooldown(
    url_dke: Dke, entra: Entra, rogue: Entra, entra_online: tuple[FakeEntra, Clock]
) -> None:
    state, clock = entra_online
    assert decrypt_status(url_dke, entra.token()) == 200
    clock.advance(jwks.REFETCH_COOLDOWN)
    statuses = [decrypt_status(url_dke, rogue.token(headers={"kid": f"made-up-{i}"})) for i in range(5)]
    assert statuses == [401] * 5 and state.hits == 2


def test_entra_unreachable_without_cached_keys_is_503_not_401(
    url_dke: Dke, entra: Entra, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(url: str) -> bytes:
        raise OSError("connection refused")

    monkeypatch.setattr(jwks, "_http_get", offline)
    body = {"alg": "RSA-OAEP-256", "value": encrypt_to(get_key(url_dke).json(), b"k")}
    response = post_decrypt(url_dke.decrypt_url(1), body, **entra.auth())
    assert response.status_code == 503 and response.json()["error"] == "jwks_unavailable"


def test_cached_keys_keep_working_while_entra_is_unreachable(
    url_dke: Dke, entra: Entra, entra_online: tuple[FakeEntra, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, clock = entra_online
    assert decrypt_status(url_dke, entra.token()) == 200
    monkeypatch.setattr(jwks, "_http_get", lambda url: (_ for _ in ()).throw(OSError("timed out")))
    clock.advance(jwks.CACHE_TTL + 1)
    assert decrypt_status(url_dke, entra.token()) == 200
    clock.advance(jwks.STALE_LIMIT)
    assert decrypt_status(url_dke, entra.token()) == 503


def test_the_fetch_follows_no_redirects_and_caps_the_document_size(
    keys_server: tuple[FakeEntra, str],
) -> None:
    state, url = keys_server
    state.mode = "redirect"
    with pytest.raises(OSError):
        jwks._http_get(url)
    state.mode = "huge"
    with pytest.raises(ValueError):
        jwks._http_get(url)
    assert state.hits == 2  # the redirect target was never requested


def test_only_rs256_signing_keys_with_a_kid_are_used(entra: Entra) -> None:
    document = {
        "keys": [
            {**entra.jwk(), "kid": "enc", "use": "enc"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
            {**entra.jwk(), "kid": ""},
            {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
            entra.jwk(),
        ]
    }
    assert list(jwks.parse_jwks(document)) == [entra.kid]
