"""Customer nodes: a tenant-run 4th node process whose key part every use of a composed key needs.

k = k_c + k_p: k_c is generated on the customer node and never leaves it, k_p is a
2-of-3 DKG key on the provider nodes. These tests run the three provider nodes and
the customer node as real processes.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keys.backends import (
    AeadCiphertext,
    BackendUnavailable,
    KeyMaterialNotFound,
    KeySpec,
    UnsupportedOperation,
)
from keys.backends.mpc import CustomerNodeRequired, KeyDisabledAtNodes, MpcBackend
from mpc.coordinator import (
    Coordinator,
    CustomerNodeSpec,
    CustomerNodeUnavailable,
    InvalidRequest,
    KeyNotFound,
    NodesUnavailable,
)
from mpc.crypto import tprf
from mpc.crypto.group import ORDER, RISTRETTO255
from mpc.crypto.oprf import input_element
from mpc.crypto.shamir import lagrange_coefficients
from mpc.node.local import _PROJECT_ROOT
from mpc.wire import b64e
from tests.mpc.node.harness import Harness

G = RISTRETTO255
AAD = b"tenant=acme"
CUSTOMER = "customer"


@pytest.fixture
def customer(harness: Harness) -> CustomerNodeSpec:
    return harness.customer(CUSTOMER)


@pytest.fixture
def backend(harness: Harness, customer: CustomerNodeSpec) -> MpcBackend:
    """The backend as the control plane wires it: a resolver names each key's customer node."""
    return MpcBackend(harness.coordinator(), customer_for=lambda handle: customer)


def _composed(backend: MpcBackend, customer: CustomerNodeSpec) -> str:
    return backend.generate(spec=KeySpec.AES_256, label="composed", customer=customer).handle


def _aes_key(handle: str, iv: bytes, k: int) -> bytes:
    """The per-message AES key, computed from a candidate PRF key k (as the backend derives it)."""
    x = tprf.make_input("", handle, 1, b"aes-256-gcm/v1:" + iv)
    return tprf.derive_aes_key(x, G.scalar_mult(k % ORDER, input_element(x, tprf.TPRF_CONTEXT)))


def _opens(key: bytes, sealed: AeadCiphertext, aad: bytes = AAD) -> bool:
    try:
        AESGCM(key).decrypt(sealed.iv, sealed.ciphertext + sealed.tag, aad)
    except InvalidTag:
        return False
    return True


def _provider_key(harness: Harness, handle: str, pair: tuple[int, int]) -> int:
    """k_p interpolated from two provider shares read from the nodes' stores."""
    shares = {i: harness.secret(i, handle) for i in pair}
    lambdas = lagrange_coefficients(shares)
    return sum(lambdas[i] * s for i, s in shares.items()) % ORDER


def _keys_cli(harness: Harness, action: str, handle: str) -> str:
    """The customer operator's local switch: ``python -m mpc.node keys ...`` on the node's host."""
    config = harness.cluster.node_dir(CUSTOMER) / "node.json"
    env = {**os.environ, "PYTHONPATH": str(_PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "mpc.node", "keys", "--config", str(config), action, handle],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return done.stdout


def test_composed_key_round_trip_through_the_backend(
    harness: Harness, customer: CustomerNodeSpec, backend: MpcBackend
) -> None:
    handle = _composed(backend, customer)
    assert handle.startswith("mpcc_") and len(handle) == 37 and backend.is_composed(handle)
    sealed = backend.encrypt(handle, plaintext=b"customer-held", aad=AAD)
    assert backend.decrypt(handle, ciphertext=sealed, aad=AAD) == b"customer-held"
    items = [(f"dek {i}".encode(), AAD) for i in range(5)]
    for (plaintext, aad), ciphertext in zip(items, backend.encrypt_many(handle, items), strict=True):
        assert backend.decrypt(handle, ciphertext=ciphertext, aad=aad) == plaintext
    wrapped = backend.wrap(handle, key_material=b"k" * 32)
    assert backend.unwrap(handle, wrapped=wrapped) == b"k" * 32
    with pytest.raises(UnsupportedOperation):
        backend.public_key(handle)

    # The key really is k_c + k_p: k_c only on the customer node, k_p as shares on the providers.
    k_c = harness.secret(CUSTOMER, handle)
    k_p = _provider_key(harness, handle, (1, 3))
    coordinator = harness.coordinator()
    info = coordinator.public_info(handle)
    assert info.composed and info.customer_public_key == G.scalar_base_mult(k_c)
    assert info.public_key == G.scalar_base_mult(k_p)
    assert info.composed_public_key == G.scalar_base_mult(k_c + k_p)
    assert coordinator.customer_public_key(handle, customer) == info.customer_public_key
    assert _opens(_aes_key(handle, sealed.iv, k_c + k_p), sealed)
    for node_id in (1, 2, 3):
        payload = harness.payload(node_id, handle)
        assert payload["customer_public_key"] == b64e(G.scalar_base_mult(k_c))  # pinned, public
        assert "customer" not in payload and harness.secret(node_id, handle) != k_c


def test_the_provider_nodes_alone_cannot_produce_the_prf_output(
    harness: Harness, customer: CustomerNodeSpec, backend: MpcBackend
) -> None:
    handle = _composed(backend, customer)
    sealed = backend.encrypt(handle, plaintext=b"only with the customer", aad=AAD)
    x = tprf.make_input("", handle, 1, b"aes-256-gcm/v1:" + sealed.iv)
    coordinator = harness.coordinator()

    # Every provider share, even all three together: they only ever give k_p.
    k_p = _provider_key(harness, handle, (1, 2))
    assert k_p == _provider_key(harness, handle, (2, 3)) == _provider_key(harness, handle, (1, 3))
    z_p = G.scalar_mult(k_p, input_element(x, tprf.TPRF_CONTEXT))
    assert not _opens(tprf.derive_aes_key(x, z_p), sealed)
    assert not _opens(_aes_key(handle, sealed.iv, k_p), sealed)
    # ... and the coordinator will not even ask the providers without the customer node.
    with pytest.raises(CustomerNodeUnavailable) as excinfo:
        coordinator.tprf_evaluate(handle, [x])
    assert excinfo.value.reason == "not_given"
    # With the customer's k_c added, the same computation opens it (so the test maths is right).
    assert _opens(_aes_key(handle, sealed.iv, harness.secret(CUSTOMER, handle) + k_p), sealed)


def test_a_killed_customer_node_stops_the_key_while_every_provider_is_up(
    harness: Harness, customer: CustomerNodeSpec, backend: MpcBackend
) -> None:
    handle = _composed(backend, customer)
    sealed = backend.encrypt(handle, plaintext=b"p", aad=AAD)
    plain_key = backend.generate(spec=KeySpec.AES_256, label="plain").handle
    harness.cluster.kill(CUSTOMER)  # SIGKILL by PID
    assert all(h.ok for h in harness.coordinator().health())  # all three providers are up
    for call in (
        lambda: backend.decrypt(handle, ciphertext=sealed, aad=AAD),
        lambda: backend.encrypt(handle, plaintext=b"p", aad=AAD),
        lambda: backend.wrap(handle, key_material=b"k" * 16),
    ):
        with pytest.raises(CustomerNodeRequired, match="customer node required by this key") as excinfo:
            call()
        assert isinstance(excinfo.value, BackendUnavailable)
        assert "unreachable" in str(excinfo.value)
    assert backend.customer_node_health(customer)["ok"] is False
    backend.encrypt(plain_key, plaintext=b"p", aad=AAD)  # keys without a customer node are unaffected
    assert harness.reports == []  # being down is not misbehaviour

    harness.cluster.start(CUSTOMER)
    assert backend.decrypt(handle, ciphertext=sealed, aad=AAD) == b"p"
    assert backend.customer_node_health(customer)["ok"] is True


def test_the_customer_operator_disables_the_key_on_its_own_node(
    harness: Harness, customer: CustomerNodeSpec, backend: MpcBackend
) -> None:
    handle = _composed(backend, customer)
    sealed = backend.encrypt(handle, plaintext=b"p", aad=AAD)
    assert '"held": true' in _keys_cli(harness, "disable", handle)
    with pytest.raises(CustomerNodeRequired, match="its operator has disabled the key"):
        backend.decrypt(handle, ciphertext=sealed, aad=AAD)
    with pytest.raises(CustomerNodeRequired, match="its operator has disabled the key"):
        backend.set_enabled(handle, True)  # the control plane cannot override the customer
    with pytest.raises(CustomerNodeRequired):
        backend.encrypt(handle, plaintext=b"p", aad=AAD)
    assert '"held": false' in _keys_cli(harness, "enable", handle)
    assert backend.decrypt(handle, ciphertext=sealed, aad=AAD) == b"p"


@pytest.mark.parametrize("fault", ["bad-partial", "tamper-response"])
def test_a_customer_node_returning_a_bad_answer_is_refused_and_reported(
    harness: Harness, customer: CustomerNodeSpec, backend: MpcBackend, fault: str
) -> None:
    handle = _composed(backend, customer)
    sealed = backend.encrypt(handle, plaintext=b"p", aad=AAD)
    harness.restart(CUSTOMER, (fault,))
    with pytest.raises(CustomerNodeRequired, match="did not verify"):
        backend.decrypt(handle, ciphertext=sealed, aad=AAD)
    with pytest.raises(CustomerNodeRequired, match="did not verify"):
        backend.encrypt(handle, plaintext=b"p", aad=AAD)
    assert {(r.node_id, r.operation, r.customer) for r in harness.reports} == {
        (tprf.CUSTOMER_NODE_ID, "tprf", customer.url)
    }
    harness.restart(CUSTOMER)
    assert backend.decrypt(handle, ciphertext=sealed, aad=AAD) == b"p"


def test_another_customer_node_cannot_stand_in(
    harness: Harness, customer: CustomerNodeSpec, backend: MpcBackend
) -> None:
    handle = _composed(backend, customer)
    sealed = backend.encrypt(handle, plaintext=b"p", aad=AAD)
    impostor = harness.customer("impostor")
    # The impostor even holds a part under the same key id, but not the pinned k_c.
    assert harness.raw("impostor", "/keys/customer/generate", {"key_id": handle}).status == 200
    swapped = MpcBackend(harness.coordinator(), customer_for=lambda h: impostor)
    with pytest.raises(CustomerNodeRequired, match="did not verify"):
        swapped.decrypt(handle, ciphertext=sealed, aad=AAD)
    with pytest.raises(CustomerNodeUnavailable) as excinfo:
        harness.coordinator().customer_public_key(handle, impostor)
    assert excinfo.value.reason == "mismatch"
    # Right URL, wrong identity key: its signed answers are rejected before they are parsed.
    forged = CustomerNodeSpec(customer.url, impostor.identity_public_key, customer.x25519_public_key)
    with pytest.raises(CustomerNodeRequired, match="did not verify"):
        MpcBackend(harness.coordinator(), customer_for=lambda h: forged).decrypt(
            handle, ciphertext=sealed, aad=AAD
        )
    nobody = MpcBackend(harness.coordinator(), customer_for=lambda h: None)
    with pytest.raises(CustomerNodeRequired, match="no customer node is enrolled"):
        nobody.decrypt(handle, ciphertext=sealed, aad=AAD)
    assert backend.decrypt(handle, ciphertext=sealed, aad=AAD) == b"p"


def test_state_and_destroy_are_mirrored_and_refresh_leaves_the_customer_part_alone(
    harness: Harness, customer: CustomerNodeSpec, backend: MpcBackend
) -> None:
    handle = _composed(backend, customer)
    sealed = backend.encrypt(handle, plaintext=b"p", aad=AAD)
    backend.set_enabled(handle, False)
    for node in (1, 2, 3, CUSTOMER):
        with harness.store(node) as store:
            assert store.record(handle).state == "disabled"
    with pytest.raises(KeyDisabledAtNodes):
        backend.decrypt(handle, ciphertext=sealed, aad=AAD)
    backend.set_enabled(handle, True)
    assert backend.decrypt(handle, ciphertext=sealed, aad=AAD) == b"p"

    k_c, before = harness.secret(CUSTOMER, handle), {i: harness.secret(i, handle) for i in (1, 2, 3)}
    backend.refresh(handle)
    assert harness.secret(CUSTOMER, handle) == k_c
    assert all(harness.secret(i, handle) != before[i] for i in (1, 2, 3))
    assert harness.coordinator().public_info(handle).customer_public_key == G.scalar_base_mult(k_c)
    assert backend.decrypt(handle, ciphertext=sealed, aad=AAD) == b"p"

    backend.destroy(handle)
    for node in (1, 2, 3, CUSTOMER):
        assert not harness.has_share(node, handle)
    with pytest.raises(KeyMaterialNotFound):
        backend.decrypt(handle, ciphertext=sealed, aad=AAD)


def test_a_customer_side_destroy_alone_shreds_the_key(
    harness: Harness, customer: CustomerNodeSpec, backend: MpcBackend
) -> None:
    handle = _composed(backend, customer)
    sealed = backend.encrypt(handle, plaintext=b"p", aad=AAD)
    _keys_cli(harness, "destroy", handle)
    assert not harness.has_share(CUSTOMER, handle)
    with pytest.raises(CustomerNodeRequired, match="destroyed its part"):
        backend.decrypt(handle, ciphertext=sealed, aad=AAD)
    # Control-plane destroy with two providers down still succeeds: k_c is already gone.
    harness.cluster.kill(2)
    harness.cluster.kill(3)
    report = harness.coordinator().destroy(handle, customer=customer)
    assert report.customer == "succeeded" and report.unreachable == (2, 3)
    backend.destroy(handle)


def test_generation_needs_the_customer_node_and_cleans_up_after_a_failed_dkg(
    harness: Harness, customer: CustomerNodeSpec
) -> None:
    coordinator = harness.coordinator()
    harness.cluster.kill(CUSTOMER)
    with pytest.raises(CustomerNodeUnavailable) as excinfo:
        coordinator.generate_composed_key("cust-down", customer)
    assert excinfo.value.reason == "unreachable"
    for node_id in (1, 2, 3):
        with harness.store(node_id) as store:
            assert not store.exists("cust-down")  # the providers were never asked
    harness.cluster.start(CUSTOMER)
    harness.cluster.kill(3)
    with pytest.raises(NodesUnavailable):
        coordinator.generate_composed_key("cust-dkg-fails", customer)
    with harness.store(CUSTOMER) as store:
        assert store.record("cust-dkg-fails").state == "destroyed"
    with pytest.raises(UnsupportedOperation):
        MpcBackend(coordinator).generate(spec=KeySpec.ED25519, label="no", customer=customer)


def test_enrolment_check(harness: Harness, customer: CustomerNodeSpec) -> None:
    coordinator = harness.coordinator()
    health = coordinator.check_customer_node(customer)
    assert health.ok and health.url == customer.url
    assert CustomerNodeSpec.from_json(customer.to_json()) == customer
    for bad in (
        {**customer.to_json(), "url": "ftp://x"},
        {**customer.to_json(), "identity_public_key": "00" * 31},
        {**customer.to_json(), "role": "provider"},
    ):
        with pytest.raises(ValueError, match="customer node"):
            CustomerNodeSpec.from_json(bad)
    wrong_x25519 = CustomerNodeSpec(
        customer.url, customer.identity_public_key, harness.customer("impostor").x25519_public_key
    )
    with pytest.raises(CustomerNodeUnavailable) as excinfo:
        coordinator.check_customer_node(wrong_x25519)
    assert excinfo.value.reason == "mismatch"
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    stranger = Coordinator(harness.spec, Ed25519PrivateKey.generate())  # a coordinator it does not trust
    try:
        with pytest.raises(CustomerNodeUnavailable) as excinfo:
            stranger.check_customer_node(customer)
        assert excinfo.value.reason == "unauthorized"
    finally:
        stranger.close()


def test_roles_and_audiences_are_separate(harness: Harness, customer: CustomerNodeSpec) -> None:
    # A customer node serves no DKG/FROST/RSA/refresh, a provider node no customer keygen.
    reply = harness.raw(CUSTOMER, "/keys/dkg/deal", {})
    assert (reply.status, reply.body["error"]["code"]) == (404, "not_found")
    assert harness.raw(CUSTOMER, "/keys/x/refresh/deal", {}).status == 404
    reply = harness.raw(1, "/keys/customer/generate", {"key_id": "cust-on-provider"})
    assert (reply.status, reply.body["error"]["code"]) == (404, "not_found")
    # A request signed for the customer node is refused by provider node 1, and vice versa.
    reply = harness.raw(1, "/node/info", {}, signed_for=customer.audience)
    assert (reply.status, reply.body["error"]["code"]) == (401, "unauthorized")
    assert harness.raw(CUSTOMER, "/node/info", {}, signed_for=1).status == 401
    assert harness.raw(CUSTOMER, "/node/info", {}).body["audience"] == customer.audience


def test_providers_refuse_a_customer_part_without_a_valid_proof(harness: Harness) -> None:
    k_c = tprf.new_customer_key()
    request = {
        "key_id": "cust-rogue",
        "group": "ristretto255",
        "threshold": 2,
        "participants": [1, 2, 3],
        "session_id": b64e(os.urandom(32)),
        "customer_public_key": b64e(G.scalar_base_mult(k_c)),
        "customer_proof": b64e(tprf.customer_key_proof(k_c, b"another-key-id")),  # bound to another key
    }
    reply = harness.raw(1, "/keys/dkg/deal", request)
    assert (reply.status, reply.body["error"]["message"]) == (400, "customer key proof does not verify")
    request["customer_proof"] = b64e(tprf.customer_key_proof(k_c, b"cust-rogue"))
    assert harness.raw(1, "/keys/dkg/deal", request).status == 200


def test_composed_and_plain_handles_do_not_mix(
    harness: Harness, customer: CustomerNodeSpec, backend: MpcBackend
) -> None:
    handle = _composed(backend, customer)
    coordinator = harness.coordinator()
    x = tprf.make_input("", handle, 1, b"n")
    plain = coordinator.generate_scalar_key("cust-plain", "ristretto255")
    with pytest.raises(InvalidRequest):
        coordinator.tprf_evaluate(plain.key_id, [x], customer=customer)
    with pytest.raises(InvalidRequest):
        coordinator.customer_public_key(plain.key_id, customer)
    with pytest.raises(KeyMaterialNotFound):  # a composed key id under the plain prefix
        backend.encrypt("mpc_" + handle[5:], plaintext=b"p", aad=AAD)
    with pytest.raises(KeyNotFound):
        coordinator.tprf_evaluate("cust-missing", [x], customer=customer)
