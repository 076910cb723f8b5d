"""Conformance of the MPC custody backend, against a real 2-of-3 node cluster.

The spec-independent conformance tests are imported from the shared suites and
run here against ``MpcBackend`` (this module's ``backend`` fixture overrides the
software/pkcs11 one). Tests whose parametrisation covers specs MPC does not offer,
or RSA sizes above 2048 (too slow here), are restated below for the MPC specs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from keys.backends import (
    SIGNING_ALGORITHMS,
    SPEC_OPERATIONS,
    BackendUnavailable,
    CustodyBackend,
    GeneratedKey,
    InvalidArgument,
    InvalidCiphertext,
    KeyMaterialNotFound,
    KeySpec,
    OaepHash,
    Operation,
    SigningAlgorithm,
    UnsupportedOperation,
)
from keys.backends.mpc import CustomerNodeRequired, CustomerNodeSpec, MpcBackend
from tests.keys.backends.test_conformance import (  # run here against MpcBackend
    AAD,
    _flip,
    _oaep,
    _verify_with_cryptography,
    test_ciphertexts_are_bound_to_their_key,
    test_decrypt_rejects_tampering,
    test_decrypt_rejects_wrong_aad,
    test_encrypt_decrypt_round_trip,
    test_encrypt_random_iv_and_caller_iv,
    test_encrypt_rejects_bad_iv,
    test_rsa_decrypt_rejects_bad_ciphertexts,
    test_unwrap_rejects_tampering,
    test_wrap_rejects_bad_sizes,
)
from tests.keys.backends.test_conformance_lifecycle import (
    BAD_HANDLES,
    _call,
    test_backends_hide_secrets,
    test_unknown_signing_algorithm_is_unsupported,
)
from tests.mpc.node.harness import Harness, running_cluster

KeyFor = Callable[[KeySpec], GeneratedKey]
MPC_SPECS = [KeySpec.AES_256, KeySpec.RSA_2048, KeySpec.ED25519]
IMPORTED = [
    test_backends_hide_secrets,
    test_ciphertexts_are_bound_to_their_key,
    test_decrypt_rejects_tampering,
    test_decrypt_rejects_wrong_aad,
    test_encrypt_decrypt_round_trip,
    test_encrypt_random_iv_and_caller_iv,
    test_encrypt_rejects_bad_iv,
    test_rsa_decrypt_rejects_bad_ciphertexts,
    test_unknown_signing_algorithm_is_unsupported,
    test_unwrap_rejects_tampering,
    test_wrap_rejects_bad_sizes,
]


@pytest.fixture(scope="module")
def mpc_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with running_cluster(tmp_path_factory, "mpc-backend-cluster") as harness:
        yield harness


@pytest.fixture(scope="module")
def backend(mpc_cluster: Harness) -> MpcBackend:
    """Overrides the conftest's software/pkcs11 ``backend`` for this module."""
    return MpcBackend(mpc_cluster.coordinator())


@pytest.fixture(scope="module")
def _key_cache() -> dict[tuple[int, KeySpec], GeneratedKey]:
    """Own cache for the conftest's ``key_for``: MPC keys die with this module's cluster."""
    return {}


def test_backend_satisfies_protocol(backend: CustodyBackend) -> None:
    assert isinstance(backend, CustodyBackend)
    assert backend.name == "mpc"
    backend.health()


@pytest.mark.parametrize("spec", MPC_SPECS)
def test_generate_and_public_key(backend: CustodyBackend, key_for: KeyFor, spec: KeySpec) -> None:
    key = key_for(spec)
    assert key.handle.startswith("mpc_") and len(key.handle) == 36
    if spec is KeySpec.AES_256:
        assert key.public_key_der is None
        return
    assert backend.public_key(key.handle) == key.public_key_der
    public = serialization.load_der_public_key(key.public_key_der)
    if spec is KeySpec.RSA_2048:
        assert isinstance(public, rsa.RSAPublicKey)
        assert (public.key_size, public.public_numbers().e) == (2048, 65537)
    else:
        assert isinstance(public, ed25519.Ed25519PublicKey)


@pytest.mark.parametrize("spec", [KeySpec.EC_P256, KeySpec.ML_KEM_768, KeySpec.ML_DSA_65])
def test_unsupported_specs_raise_unsupported_operation(backend: CustodyBackend, spec: KeySpec) -> None:
    with pytest.raises(UnsupportedOperation):
        backend.generate(spec=spec, label="no")


@pytest.mark.parametrize("size", [1, 8, 9, 32, 33, 1217])
def test_wrap_unwrap_round_trip(backend: CustodyBackend, key_for: KeyFor, size: int) -> None:
    """Like the shared test, but MPC wraps are randomised: header || nonce || RFC 5649."""
    handle = key_for(KeySpec.AES_256).handle
    material = bytes((i * 7 + size) % 256 for i in range(size))
    wrapped = backend.wrap(handle, key_material=material)
    assert wrapped[:5] == b"CKMW\x01"
    assert len(wrapped) == 5 + 16 + 8 + (size + 7) // 8 * 8
    assert backend.unwrap(handle, wrapped=wrapped) == material
    assert backend.wrap(handle, key_material=material) != wrapped


def test_wrap_is_bound_to_its_key(backend: CustodyBackend, key_for: KeyFor) -> None:
    other = backend.generate(spec=KeySpec.AES_256, label="other")
    wrapped = backend.wrap(key_for(KeySpec.AES_256).handle, key_material=b"k" * 32)
    with pytest.raises(InvalidCiphertext):
        backend.unwrap(other.handle, wrapped=wrapped)
    backend.destroy(other.handle)


@pytest.mark.parametrize("hash", list(OaepHash))
def test_rsa_decrypt_cryptography_ciphertexts(
    backend: CustodyBackend, key_for: KeyFor, hash: OaepHash
) -> None:
    key = key_for(KeySpec.RSA_2048)
    public = serialization.load_der_public_key(backend.public_key(key.handle))
    longest = 256 - 2 * (32 if hash is OaepHash.SHA_256 else 20) - 2
    for message in (b"", b"\x00", b"dek-" * 8, b"\xff" * longest):
        ciphertext = public.encrypt(message, _oaep(hash))
        assert backend.rsa_decrypt(key.handle, ciphertext=ciphertext, hash=hash) == message


def test_ed25519_sign_verify(backend: CustodyBackend, key_for: KeyFor) -> None:
    key = key_for(KeySpec.ED25519)
    alg = SigningAlgorithm.ED25519
    for message in (b"", b"release v1.2.3", bytes(range(256)) * 40):
        signature = backend.sign(key.handle, message=message, algorithm=alg)
        _verify_with_cryptography(backend.public_key(key.handle), signature, message)
        assert backend.verify(key.handle, message=message, signature=signature, algorithm=alg)
        assert not backend.verify(key.handle, message=message + b"!", signature=signature, algorithm=alg)
        assert not backend.verify(key.handle, message=message, signature=_flip(signature, 10), algorithm=alg)
    for garbage in (b"", b"\x30\x00", b"\x00" * 64):
        assert not backend.verify(key.handle, message=b"m", signature=garbage, algorithm=alg)


def test_rsa_signing_is_unsupported_but_verify_works(backend: CustodyBackend, key_for: KeyFor) -> None:
    handle = key_for(KeySpec.RSA_2048).handle
    with pytest.raises(UnsupportedOperation):
        backend.sign(handle, message=b"m", algorithm=SigningAlgorithm.RSASSA_PSS_SHA_256)
    assert not backend.verify(
        handle, message=b"m", signature=b"\0" * 256, algorithm=SigningAlgorithm.RSASSA_PSS_SHA_256
    )


MISMATCHES = [(spec, op) for spec in MPC_SPECS for op in Operation if op not in SPEC_OPERATIONS[spec]]


@pytest.mark.parametrize(("spec", "operation"), MISMATCHES)
def test_spec_operation_mismatch(
    backend: CustodyBackend, key_for: KeyFor, spec: KeySpec, operation: Operation
) -> None:
    with pytest.raises(UnsupportedOperation):
        _call(backend, operation, key_for(spec).handle)


@pytest.mark.parametrize("spec", [KeySpec.RSA_2048, KeySpec.ED25519])
def test_signing_algorithm_mismatch(backend: CustodyBackend, key_for: KeyFor, spec: KeySpec) -> None:
    handle = key_for(spec).handle
    for algorithm in set(SigningAlgorithm) - SIGNING_ALGORITHMS[spec]:
        with pytest.raises(UnsupportedOperation):
            backend.sign(handle, message=b"m", algorithm=algorithm)
        with pytest.raises(UnsupportedOperation):
            backend.verify(handle, message=b"m", signature=b"s" * 64, algorithm=algorithm)


@pytest.mark.parametrize("spec", MPC_SPECS)
def test_destroy_is_irreversible(backend: CustodyBackend, spec: KeySpec) -> None:
    key = backend.generate(spec=spec, label="doomed")
    h = key.handle
    if spec is KeySpec.AES_256:
        sealed = backend.encrypt(h, plaintext=b"p", aad=b"a")
        wrapped = backend.wrap(h, key_material=b"k" * 32)
        later = [
            lambda: backend.decrypt(h, ciphertext=sealed, aad=b"a"),
            lambda: backend.unwrap(h, wrapped=wrapped),
        ]
    elif spec is KeySpec.ED25519:
        sig = backend.sign(h, message=b"m", algorithm=SigningAlgorithm.ED25519)
        later = [lambda: backend.verify(h, message=b"m", signature=sig, algorithm=SigningAlgorithm.ED25519)]
    else:
        public = serialization.load_der_public_key(key.public_key_der)
        ct = public.encrypt(b"p", _oaep(OaepHash.SHA_256))
        later = [lambda: backend.rsa_decrypt(h, ciphertext=ct, hash=OaepHash.SHA_256)]
    for call in later:
        call()
    backend.destroy(h)
    for call in later:
        with pytest.raises(KeyMaterialNotFound):
            call()
    for operation in SPEC_OPERATIONS[spec]:
        with pytest.raises(KeyMaterialNotFound):
            _call(backend, operation, h)
    with pytest.raises(KeyMaterialNotFound):
        backend.destroy(h)


@pytest.mark.parametrize("handle", [*BAD_HANDLES, "mpc_" + "0" * 32, "mpc_" + "A" * 32])
def test_unknown_or_malformed_handles(backend: CustodyBackend, handle: str) -> None:
    for operation in Operation:
        with pytest.raises(KeyMaterialNotFound):
            _call(backend, operation, handle)
    with pytest.raises(KeyMaterialNotFound):
        backend.destroy(handle)


def test_batched_encrypt_decrypts_one_by_one(backend: MpcBackend, key_for: KeyFor) -> None:
    handle = key_for(KeySpec.AES_256).handle
    items = [(f"dek {i}".encode(), AAD + bytes([i])) for i in range(20)]
    sealed = backend.encrypt_many(handle, items)
    assert len({c.iv for c in sealed}) == 20
    for (plaintext, aad), ciphertext in zip(items, sealed, strict=True):
        assert backend.decrypt(handle, ciphertext=ciphertext, aad=aad) == plaintext


def test_nodes_down_maps_to_backend_unavailable(mpc_cluster: Harness, key_for: KeyFor) -> None:
    backend = MpcBackend(mpc_cluster.coordinator())
    handle = key_for(KeySpec.AES_256).handle
    sealed = backend.encrypt(handle, plaintext=b"p", aad=b"")
    mpc_cluster.cluster.kill(2)
    mpc_cluster.cluster.kill(3)
    try:
        with pytest.raises(BackendUnavailable, match=r"1 of 3 answered usably, 2 needed"):
            backend.decrypt(handle, ciphertext=sealed, aad=b"")
        with pytest.raises(BackendUnavailable, match=r"1 of 3 healthy, 2 needed"):
            backend.health()
    finally:
        mpc_cluster.ensure_healthy()
    assert backend.decrypt(handle, ciphertext=sealed, aad=b"") == b"p"


def test_invalid_arguments_are_rejected_before_the_nodes(backend: CustodyBackend, key_for: KeyFor) -> None:
    handle = key_for(KeySpec.AES_256).handle
    with pytest.raises(InvalidArgument):
        backend.encrypt(handle, plaintext=b"x", aad=b"", iv=b"short")


# -- customer nodes (composed AES keys) -----------------------------------------------------------


@pytest.fixture(scope="module")
def customer(mpc_cluster: Harness) -> CustomerNodeSpec:
    return mpc_cluster.customer("customer")


@pytest.fixture(scope="module")
def composed_backend(mpc_cluster: Harness, customer: CustomerNodeSpec) -> MpcBackend:
    resolver = {"node": customer}
    return MpcBackend(mpc_cluster.coordinator(), customer_for=lambda handle: resolver["node"])


def test_composed_key_conformance(composed_backend: MpcBackend, customer: CustomerNodeSpec) -> None:
    backend = composed_backend
    assert isinstance(backend, CustodyBackend)
    key = backend.generate(spec=KeySpec.AES_256, label="composed", customer=customer)
    handle = key.handle
    assert handle.startswith("mpcc_") and len(handle) == 37 and key.public_key_der is None
    sealed = backend.encrypt(handle, plaintext=b"p" * 100, aad=AAD, iv=b"\x01" * 12)
    assert sealed.iv == b"\x01" * 12
    assert backend.decrypt(handle, ciphertext=sealed, aad=AAD) == b"p" * 100
    with pytest.raises(InvalidCiphertext):
        backend.decrypt(handle, ciphertext=sealed, aad=AAD + b"!")
    with pytest.raises(InvalidArgument):
        backend.encrypt(handle, plaintext=b"x", aad=b"", iv=b"short")
    wrapped = backend.wrap(handle, key_material=b"m" * 24)
    assert backend.unwrap(handle, wrapped=wrapped) == b"m" * 24
    for operation in (Operation.SIGN, Operation.VERIFY, Operation.RSA_DECRYPT, Operation.PUBLIC_KEY):
        with pytest.raises(UnsupportedOperation):
            _call(backend, operation, handle)
    # A plain key is not usable through the composed prefix, nor the other way round.
    plain = backend.generate(spec=KeySpec.AES_256, label="plain").handle
    for wrong in ("mpcc_" + plain[4:], "mpc_" + handle[5:]):
        with pytest.raises(KeyMaterialNotFound):
            backend.encrypt(wrong, plaintext=b"p", aad=b"")
    backend.destroy(handle)
    with pytest.raises(KeyMaterialNotFound):
        backend.decrypt(handle, ciphertext=sealed, aad=AAD)


@pytest.mark.parametrize("handle", ["mpcc_" + "0" * 32, "mpcc_" + "A" * 32, "mpcc_", "mpcc_00"])
def test_unknown_or_malformed_composed_handles(composed_backend: MpcBackend, handle: str) -> None:
    for operation in (Operation.ENCRYPT, Operation.DECRYPT, Operation.WRAP, Operation.UNWRAP):
        with pytest.raises(KeyMaterialNotFound):
            _call(composed_backend, operation, handle)


def test_composed_keys_are_aes_only_and_need_a_resolver(
    mpc_cluster: Harness, composed_backend: MpcBackend, customer: CustomerNodeSpec
) -> None:
    for spec in (KeySpec.ED25519, KeySpec.RSA_2048):
        with pytest.raises(UnsupportedOperation, match="only AES_256"):
            composed_backend.generate(spec=spec, label="no", customer=customer)
    handle = composed_backend.generate(spec=KeySpec.AES_256, label="c", customer=customer).handle
    without_resolver = MpcBackend(mpc_cluster.coordinator())
    with pytest.raises(CustomerNodeRequired, match="customer node required") as excinfo:
        without_resolver.encrypt(handle, plaintext=b"p", aad=b"")
    assert isinstance(excinfo.value, BackendUnavailable)
    composed_backend.check_customer_node(customer)
    assert composed_backend.customer_node_health(customer)["ok"] is True
    mpc_cluster.cluster.kill("customer")
    try:
        with pytest.raises(CustomerNodeRequired, match="unreachable"):
            composed_backend.check_customer_node(customer)
        assert composed_backend.customer_node_health(customer) == {
            "id": "customer-node",
            "ok": False,
            "latency_ms": None,
            "error": "unreachable",
        }
        composed_backend.health()  # the provider cluster itself is healthy
    finally:
        mpc_cluster.ensure_healthy()
