"""Authentication both ways, replay protection and input hardening of the node service."""

from __future__ import annotations

import http.client
import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mpc.coordinator import Coordinator
from mpc.crypto import tprf
from mpc.node.config import load_config
from mpc.wire import HDR_NODE, HDR_SIGNATURE, b64d, response_message, verify
from tests.mpc.node.harness import Harness, prefer


def test_unknown_caller_is_refused(harness: Harness) -> None:
    reply = harness.raw(1, "/keys/anything/public", key=Ed25519PrivateKey.generate())
    assert reply.status == 401
    assert reply.body == {"error": {"code": "unauthorized", "message": "unknown caller"}}


def test_trusted_caller_is_accepted(harness: Harness) -> None:
    reply = harness.raw(1, "/keys/never-created/public")
    assert reply.status == 404
    assert reply.body["error"]["code"] == "key_not_found"


def test_replayed_request_is_refused(harness: Harness) -> None:
    nonce = "ab" * 16
    first = harness.raw(1, "/keys/replay-probe/public", nonce=nonce)
    second = harness.raw(1, "/keys/replay-probe/public", nonce=nonce, timestamp=int(time.time()))
    assert first.status == 404
    assert second.status == 401
    assert second.body["error"]["message"] == "replayed request"


def test_request_signed_for_another_node_is_refused(harness: Harness) -> None:
    reply = harness.raw(2, "/keys/x/public", signed_for=1)
    assert reply.status == 401
    assert reply.body["error"]["message"] == "bad request signature"


@pytest.mark.parametrize("skew", [-120, 120])
def test_stale_or_future_timestamp_is_refused(harness: Harness, skew: int) -> None:
    reply = harness.raw(1, "/keys/x/public", timestamp=int(time.time()) + skew)
    assert reply.status == 401
    assert reply.body["error"]["message"] == "timestamp outside the accepted window"


def test_tampered_body_is_refused(harness: Harness) -> None:
    good = harness.raw(1, "/keys/x/public")
    assert good.status == 404
    headers = {"X-Cockpit-Mpc-Caller": "00" * 32, "Content-Type": "application/json"}
    assert harness.send(1, "POST", "/keys/x/public", b"{}", headers).status == 401


def test_responses_are_signed_by_the_node(harness: Harness) -> None:
    nonce = "cd" * 16
    reply = harness.raw(3, "/keys/x/public", nonce=nonce)
    body = b'{"error":{"code":"key_not_found","message":"no such key on this node"}}'
    assert reply.headers[HDR_NODE] == "3"
    signature = b64d(reply.headers[HDR_SIGNATURE], size=64)
    assert verify(harness.spec.nodes[3].identity, signature, response_message(3, nonce, 404, body))
    assert not verify(harness.spec.nodes[2].identity, signature, response_message(3, nonce, 404, body))


def test_tampered_response_is_detected_and_the_node_excluded(
    harness: Harness, coordinator: Coordinator
) -> None:
    coordinator.generate_scalar_key("auth-tamper", "ristretto255")
    harness.restart(3, ("tamper-response",))
    health = {h.node_id: h for h in coordinator.health()}
    assert health[3].ok is False
    assert health[3].error == "response signature invalid"
    prefer(coordinator, 3, 1)
    x = tprf.make_input("", "auth-tamper", 1, b"n" * 12)
    assert len(coordinator.tprf_evaluate("auth-tamper", [x])) == 1
    assert {(r.node_id, r.reason) for r in harness.reports} >= {(3, "response signature invalid")}


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/keys/dkg/deal", b"not json", 400, "bad_request"),
        ("/keys/dkg/deal", b"[]", 400, "bad_request"),
        ("/keys/dkg/deal", b'{"key_id": "../etc", "group": "ristretto255"}', 400, "bad_request"),
        ("/keys/dkg/deal", b'{"key_id": "k", "group": "p256", "threshold": 2}', 400, "bad_request"),
        ("/keys/rsa/import", b'{"key_id": "k", "params": {"modulus": "zz"}}', 400, "bad_request"),
        ("/keys/k/tprf/evaluate", b'{"inputs": "x"}', 400, "bad_request"),
        ("/keys/k/frost/sign", b'{"commitment_id": 5}', 400, "bad_request"),
        ("/keys/k/nope", b"{}", 404, "not_found"),
        ("/keys/" + "k" * 200 + "/public", b"{}", 404, "not_found"),
    ],
)
def test_malformed_input_is_a_clean_client_error(
    harness: Harness, path: str, body: bytes, status: int, code: str
) -> None:
    reply = harness.raw(1, path, body=body)
    assert (reply.status, reply.body["error"]["code"]) == (status, code)
    assert harness.cluster.is_running(1)


def test_oversized_body_is_refused_without_reading_it(harness: Harness) -> None:
    config = load_config(harness.cluster.node_dir(1) / "node.json")
    conn = http.client.HTTPConnection(config.host, config.port, timeout=5)
    try:
        conn.putrequest("POST", "/keys/k/tprf/evaluate")
        conn.putheader("Content-Length", str(64 << 20))
        conn.endheaders()  # the 64 MiB body is never sent: the node must not wait for it
        response = conn.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["error"]["code"] == "payload_too_large"
    finally:
        conn.close()
    assert harness.cluster.is_running(1)


def test_health_needs_no_authentication_but_is_signed(harness: Harness) -> None:
    reply = harness.send(2, "GET", "/health", b"", {})
    assert reply.status == 200
    assert reply.body["node_id"] == 2
    assert HDR_SIGNATURE in reply.headers
    assert harness.raw(2, "/health", method="POST").status == 405
