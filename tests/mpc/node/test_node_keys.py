"""Key generation, use and lifecycle across real node processes."""

from __future__ import annotations

import base64
import itertools
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from keys.backends import OaepHash, oaep
from mpc.coordinator import Coordinator, InvalidRequest, KeyDisabled, KeyExists, KeyNotFound, ScalarKeyInfo
from mpc.crypto import tprf
from mpc.crypto.group import RISTRETTO255, encode_scalar
from mpc.wire import b64e
from tests.mpc.node.harness import Harness

PAIRS = list(itertools.combinations((1, 2, 3), 2))


def _x(key_id: str, nonce: bytes = b"\x07" * 12) -> bytes:
    return tprf.make_input("", key_id, 1, nonce)


def _secrets(harness: Harness, key_id: str) -> dict[int, int]:
    """Each node's current secret share, read from its store with its master key."""
    out = {}
    for node_id in (1, 2, 3):
        out[node_id] = int.from_bytes(base64.b64decode(harness.payload(node_id, key_id)["secret"]), "little")
    return out


def test_dkg_across_three_nodes_any_two_give_the_same_prf_output(
    harness: Harness, coordinator: Coordinator
) -> None:
    info = coordinator.generate_scalar_key("keys-dkg", "ristretto255")
    assert isinstance(info, ScalarKeyInfo)
    assert (info.threshold, sorted(info.public_shares), info.provenance) == (2, [1, 2, 3], "dealerless")
    xs = [_x("keys-dkg", bytes([i]) * 12) for i in range(3)]
    outputs = {pair: harness.coordinator(pair).tprf_evaluate("keys-dkg", xs) for pair in PAIRS}
    assert len({tuple(z) for z in outputs.values()}) == 1
    assert len(set(outputs[PAIRS[0]])) == 3  # different inputs, different outputs
    assert coordinator.public_info("keys-dkg", fresh=True) == info


def test_key_ids_are_validated_and_never_reused(coordinator: Coordinator) -> None:
    for bad in ("", "../x", "a" * 129, "-leading-dash", "spa ce"):
        with pytest.raises(InvalidRequest):
            coordinator.generate_scalar_key(bad, "ristretto255")
    with pytest.raises(InvalidRequest):
        coordinator.generate_scalar_key("keys-bad-group", "p256")
    coordinator.generate_scalar_key("keys-once", "ed25519")
    with pytest.raises(KeyExists):
        coordinator.generate_scalar_key("keys-once", "ristretto255")


def test_frost_signature_verifies_with_cryptography(harness: Harness, coordinator: Coordinator) -> None:
    info = coordinator.generate_scalar_key("keys-frost", "ed25519")
    public = Ed25519PublicKey.from_public_bytes(info.public_key)
    for pair in PAIRS:
        message = f"release signed by {pair}".encode()
        public.verify(harness.coordinator(pair).frost_sign("keys-frost", message), message)
    assert len(coordinator.frost_sign("keys-frost", b"")) == 64


def test_frost_nonces_are_single_use(harness: Harness, coordinator: Coordinator) -> None:
    coordinator.generate_scalar_key("keys-nonce", "ed25519")
    commit = harness.raw(1, "/keys/keys-nonce/frost/commit").body
    mine = {"identifier": 1, "hiding": commit["hiding"], "binding": commit["binding"]}
    other = harness.raw(2, "/keys/keys-nonce/frost/commit").body
    theirs = {"identifier": 2, "hiding": other["hiding"], "binding": other["binding"]}
    payload = {"commitment_id": commit["commitment_id"], "message": b64e(b"m"), "commitments": [mine, theirs]}
    assert harness.raw(1, "/keys/keys-nonce/frost/sign", payload).status == 200
    again = harness.raw(1, "/keys/keys-nonce/frost/sign", payload)
    assert (again.status, again.body["error"]["code"]) == (409, "conflict")


@pytest.mark.parametrize("hash", [OaepHash.SHA_256, OaepHash.SHA_1])
def test_threshold_rsa_decrypts_oaep_ciphertexts_made_by_cryptography(
    harness: Harness, coordinator: Coordinator, hash: OaepHash
) -> None:
    key_id = f"keys-rsa-{hash.value.lower()}"
    info = coordinator.generate_rsa_key(key_id, 2048)
    assert (info.bits, info.provenance) == (2048, "dealer")
    algorithm = hashes.SHA256() if hash is OaepHash.SHA_256 else hashes.SHA1()
    oaep_padding = padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)
    for pair in PAIRS:
        message = f"data key for {pair}".encode()
        ciphertext = info.public_key().encrypt(message, oaep_padding)
        raw = harness.coordinator(pair).rsa_decrypt_raw(key_id, ciphertext)
        assert oaep.decode(raw, hash=hash, k=256) == message


def test_disabled_key_is_refused_at_the_node_even_when_asked_directly(
    harness: Harness, coordinator: Coordinator
) -> None:
    coordinator.generate_scalar_key("keys-disable", "ristretto255")
    x = _x("keys-disable")
    before = coordinator.tprf_evaluate("keys-disable", [x])
    report = coordinator.set_state("keys-disable", False)
    assert report.succeeded == (1, 2, 3)
    for node_id in (1, 2, 3):
        reply = harness.raw(node_id, "/keys/keys-disable/tprf/evaluate", {"inputs": [b64e(x)]})
        assert (reply.status, reply.body["error"]["code"]) == (403, "key_disabled")
        assert harness.raw(node_id, "/keys/keys-disable/public").status == 200  # public data stays readable
    with pytest.raises(KeyDisabled):
        coordinator.tprf_evaluate("keys-disable", [x])
    coordinator.set_state("keys-disable", True)
    assert coordinator.tprf_evaluate("keys-disable", [x]) == before


def test_destroy_wipes_the_share_from_every_node(harness: Harness, coordinator: Coordinator) -> None:
    coordinator.generate_scalar_key("keys-destroy", "ristretto255")
    sealed = {}
    for node_id in (1, 2, 3):
        with harness.store(node_id) as store:
            row = store._db.execute("SELECT sealed FROM shares WHERE key_id = 'keys-destroy'").fetchone()
        sealed[node_id] = bytes(row[0])
    report = coordinator.destroy("keys-destroy")
    assert report.succeeded == (1, 2, 3) and report.complete
    for node_id in (1, 2, 3):
        assert not harness.has_share(node_id, "keys-destroy")
        assert sealed[node_id] not in harness.cluster.db_path(node_id).read_bytes()
        reply = harness.raw(node_id, "/keys/keys-destroy/public")
        assert (reply.status, reply.body["error"]["code"]) == (410, "key_destroyed")
    with pytest.raises(KeyNotFound):
        coordinator.tprf_evaluate("keys-destroy", [_x("keys-destroy")])
    with pytest.raises(KeyNotFound):
        coordinator.destroy("keys-destroy")
    with pytest.raises(KeyExists):  # the id stays tombstoned
        coordinator.generate_scalar_key("keys-destroy", "ristretto255")


def test_shares_at_rest_are_encrypted(harness: Harness, coordinator: Coordinator) -> None:
    coordinator.generate_scalar_key("keys-at-rest", "ristretto255")
    for node_id, secret in _secrets(harness, "keys-at-rest").items():
        raw = harness.cluster.db_path(node_id).read_bytes()
        encoded = encode_scalar(secret)
        assert encoded not in raw
        assert b64e(encoded).encode() not in raw
        assert b'"secret"' not in raw


def test_proactive_refresh_changes_every_share_but_not_the_outputs(
    harness: Harness, coordinator: Coordinator
) -> None:
    info = coordinator.generate_scalar_key("keys-refresh", "ristretto255")
    x = _x("keys-refresh")
    before_z = coordinator.tprf_evaluate("keys-refresh", [x])
    before = _secrets(harness, "keys-refresh")
    report = coordinator.refresh("keys-refresh")
    assert (report.epoch, report.committed, report.complete) == (1, (1, 2, 3), True)
    after = _secrets(harness, "keys-refresh")
    assert all(before[i] != after[i] for i in (1, 2, 3))
    fresh = coordinator.public_info("keys-refresh")
    assert isinstance(fresh, ScalarKeyInfo)
    assert fresh.public_key == info.public_key and fresh.epoch == 1
    assert fresh.public_shares != info.public_shares
    assert RISTRETTO255.scalar_base_mult(after[2]) == fresh.public_shares[2]
    for pair in PAIRS:
        assert harness.coordinator(pair).tprf_evaluate("keys-refresh", [x]) == before_z


def test_a_stale_coordinator_rereads_public_data_after_someone_else_refreshed(harness: Harness) -> None:
    first, second = harness.coordinator(), harness.coordinator()
    first.generate_scalar_key("keys-stale", "ed25519")
    second.public_info("keys-stale")  # cached at epoch 0
    first.refresh("keys-stale")
    message = b"after refresh"
    Ed25519PublicKey.from_public_bytes(first.public_info("keys-stale").public_key).verify(
        second.frost_sign("keys-stale", message), message
    )
    assert harness.reports == []  # nobody was blamed for the epoch change


def _dkg_request(key_id: str, threshold: int = 2) -> dict[str, object]:
    return {
        "key_id": key_id,
        "group": "ristretto255",
        "threshold": threshold,
        "participants": [1, 2, 3],
        "session_id": b64e(bytes(range(32))),
    }


def test_nodes_refuse_keygen_with_a_threshold_other_than_the_clusters(harness: Harness) -> None:
    reply = harness.raw(1, "/keys/dkg/deal", _dkg_request("keys-t1", threshold=1))
    assert (reply.status, reply.body["error"]["message"]) == (400, "threshold differs from the cluster's")


def test_a_relayed_deal_cannot_be_altered_by_the_coordinator(harness: Harness) -> None:
    request = _dkg_request("keys-forged")
    deals = [harness.raw(i, "/keys/dkg/deal", request).body for i in (1, 2, 3)]
    forged = json.loads(json.dumps(deals))
    forged[0]["deal"]["commitments"][1] = deals[1]["deal"]["commitments"][1]  # swap in another dealer's value
    for node_id in (2, 3):
        reply = harness.raw(node_id, "/keys/dkg/finalize", {**request, "deals": forged})
        assert reply.status == 422
        assert reply.body["error"] == {
            "code": "dealer_misbehaved",
            "message": "dealer contribution did not verify",
            "dealers": [1],
        }
    again = harness.raw(1, "/keys/dkg/deal", request)  # a node deals only once per session
    assert (again.status, again.body["error"]["code"]) == (409, "conflict")


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_disabled_signing_and_rsa_keys_are_refused_too(coordinator: Coordinator, kind: str) -> None:
    key_id = f"keys-disable-{kind}"
    if kind == "rsa":
        info = coordinator.generate_rsa_key(key_id, 2048)
        ciphertext = info.public_key().encrypt(
            b"k", padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
        )
        use = lambda: coordinator.rsa_decrypt_raw(key_id, ciphertext)  # noqa: E731
    else:
        coordinator.generate_scalar_key(key_id, "ed25519")
        use = lambda: coordinator.frost_sign(key_id, b"m")  # noqa: E731
    use()
    coordinator.set_state(key_id, False)
    with pytest.raises(KeyDisabled):
        use()
    coordinator.set_state(key_id, True)
    use()
