"""Conformance, part 2: KEM/hybrid, spec/op mismatches, destroy, bad handles."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from keys.backends import (
    SIGNING_ALGORITHMS,
    SPEC_OPERATIONS,
    AeadCiphertext,
    CustodyBackend,
    GeneratedKey,
    InvalidCiphertext,
    KeyMaterialNotFound,
    KeySpec,
    OaepHash,
    Operation,
    SigningAlgorithm,
    UnsupportedOperation,
    hybrid,
)

KeyFor = Callable[[KeySpec], GeneratedKey]


def _call(backend: CustodyBackend, operation: Operation, handle: str) -> Any:
    """Invoke ``operation`` with plausible arguments."""
    calls: dict[Operation, Callable[[], Any]] = {
        Operation.ENCRYPT: lambda: backend.encrypt(handle, plaintext=b"p", aad=b"a"),
        Operation.DECRYPT: lambda: backend.decrypt(
            handle, ciphertext=AeadCiphertext(b"\0" * 12, b"c", b"\0" * 16), aad=b"a"
        ),
        Operation.WRAP: lambda: backend.wrap(handle, key_material=b"k" * 32),
        Operation.UNWRAP: lambda: backend.unwrap(handle, wrapped=b"\0" * 40),
        Operation.RSA_DECRYPT: lambda: backend.rsa_decrypt(
            handle, ciphertext=b"\0" * 256, hash=OaepHash.SHA_256
        ),
        Operation.SIGN: lambda: backend.sign(handle, message=b"m", algorithm=SigningAlgorithm.ECDSA_SHA_256),
        Operation.VERIFY: lambda: backend.verify(
            handle, message=b"m", signature=b"s", algorithm=SigningAlgorithm.ECDSA_SHA_256
        ),
        Operation.KEM_DECAPSULATE: lambda: backend.kem_decapsulate(handle, kem_ciphertext=b"\0" * 1088),
        Operation.PUBLIC_KEY: lambda: backend.public_key(handle),
    }
    return calls[operation]()


# -- ML-KEM ---------------------------------------------------------------------------


def test_kem_decapsulate_matches_cryptography(backend: CustodyBackend, key_for: KeyFor) -> None:
    key = key_for(KeySpec.ML_KEM_768)
    public = serialization.load_der_public_key(key.public_key_der)
    shared_secret, kem_ciphertext = public.encapsulate()
    assert backend.kem_decapsulate(key.handle, kem_ciphertext=kem_ciphertext) == shared_secret
    with pytest.raises(InvalidCiphertext):
        backend.kem_decapsulate(key.handle, kem_ciphertext=kem_ciphertext[:-1])


@pytest.mark.parametrize("size", [1, 16, 32, 33, 1217])
def test_hybrid_wrap_unwrap(backend: CustodyBackend, key_for: KeyFor, size: int) -> None:
    key = key_for(KeySpec.ML_KEM_768)
    material = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    blob = hybrid.kem_wrap(key.public_key_der, material)
    assert blob[:4] == b"CKKW"
    assert blob[4] == 1
    assert blob[5] == 1
    assert hybrid.kem_unwrap(backend, key.handle, blob) == material
    assert hybrid.kem_wrap(key.public_key_der, material) != blob  # fresh encapsulation


def test_hybrid_rejects_tampering(backend: CustodyBackend, key_for: KeyFor) -> None:
    key = key_for(KeySpec.ML_KEM_768)
    blob = hybrid.kem_wrap(key.public_key_der, b"k" * 32)
    positions = [0, 4, 5, 7, 8, 500, 8 + 1087, 8 + 1088, len(blob) - 1]
    tampered = [blob[:i] + bytes([blob[i] ^ 1]) + blob[i + 1 :] for i in positions]
    for bad in [*tampered, blob[:-8], blob[:100], b"", blob + b"\0" * 8]:
        with pytest.raises(InvalidCiphertext):
            hybrid.kem_unwrap(backend, key.handle, bad)


def test_hybrid_blob_is_bound_to_recipient(backend: CustodyBackend, key_for: KeyFor) -> None:
    other = backend.generate(spec=KeySpec.ML_KEM_768, label="other")
    blob = hybrid.kem_wrap(key_for(KeySpec.ML_KEM_768).public_key_der, b"k" * 32)
    with pytest.raises(InvalidCiphertext):
        hybrid.kem_unwrap(backend, other.handle, blob)
    backend.destroy(other.handle)


def test_hybrid_wrap_needs_mlkem_public_key(backend: CustodyBackend, key_for: KeyFor) -> None:
    for spec in (KeySpec.RSA_2048, KeySpec.ML_DSA_65):
        with pytest.raises(UnsupportedOperation):
            hybrid.kem_wrap(key_for(spec).public_key_der, b"k" * 32)
    with pytest.raises(UnsupportedOperation):
        hybrid.kem_wrap(b"not der", b"k")


# -- spec / operation mismatches -------------------------------------------------------

MISMATCHES = [(spec, op) for spec in KeySpec for op in Operation if op not in SPEC_OPERATIONS[spec]]


@pytest.mark.parametrize(("spec", "operation"), MISMATCHES)
def test_spec_operation_mismatch(
    backend: CustodyBackend, key_for: KeyFor, spec: KeySpec, operation: Operation
) -> None:
    with pytest.raises(UnsupportedOperation):
        _call(backend, operation, key_for(spec).handle)


SIGNING_MISMATCHES = [
    (spec, alg)
    for spec, allowed in SIGNING_ALGORITHMS.items()
    for alg in SigningAlgorithm
    if alg not in allowed
]


@pytest.mark.parametrize(("spec", "algorithm"), SIGNING_MISMATCHES)
def test_signing_algorithm_mismatch(
    backend: CustodyBackend, key_for: KeyFor, spec: KeySpec, algorithm: SigningAlgorithm
) -> None:
    handle = key_for(spec).handle
    with pytest.raises(UnsupportedOperation):
        backend.sign(handle, message=b"m", algorithm=algorithm)
    with pytest.raises(UnsupportedOperation):
        backend.verify(handle, message=b"m", signature=b"s" * 64, algorithm=algorithm)


# -- destroy ----------------------------------------------------------------------------


def _artifacts(backend: CustodyBackend, spec: KeySpec, key: GeneratedKey) -> list[Callable[[], Any]]:
    """Make ciphertexts/signatures now; return calls that use them later."""
    h = key.handle
    if spec is KeySpec.AES_256:
        sealed = backend.encrypt(h, plaintext=b"p", aad=b"a")
        wrapped = backend.wrap(h, key_material=b"k" * 32)
        return [lambda: backend.decrypt(h, ciphertext=sealed, aad=b"a"),
                lambda: backend.unwrap(h, wrapped=wrapped)]  # fmt: skip
    calls: list[Callable[[], Any]] = [lambda: backend.public_key(h)]
    public = serialization.load_der_public_key(key.public_key_der)
    if spec is KeySpec.ML_KEM_768:
        blob = hybrid.kem_wrap(key.public_key_der, b"k" * 32)
        calls.append(lambda: hybrid.kem_unwrap(backend, h, blob))
    else:
        (alg,) = SIGNING_ALGORITHMS[spec]
        sig = backend.sign(h, message=b"m", algorithm=alg)
        calls.append(lambda: backend.verify(h, message=b"m", signature=sig, algorithm=alg))
    if spec.name.startswith("RSA"):
        oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
        ct = public.encrypt(b"p", oaep)
        calls.append(lambda: backend.rsa_decrypt(h, ciphertext=ct, hash=OaepHash.SHA_256))
    return calls


@pytest.mark.parametrize("spec", list(KeySpec))
def test_destroy_is_irreversible(backend: CustodyBackend, spec: KeySpec) -> None:
    key = backend.generate(spec=spec, label="doomed")
    later = _artifacts(backend, spec, key)
    for call in later:
        call()  # all work before destroy
    backend.destroy(key.handle)
    for call in later:
        with pytest.raises(KeyMaterialNotFound):
            call()
    for operation in SPEC_OPERATIONS[spec]:
        with pytest.raises(KeyMaterialNotFound):
            _call(backend, operation, key.handle)
    with pytest.raises(KeyMaterialNotFound):
        backend.destroy(key.handle)


BAD_HANDLES = ["", "sw_", "p11_", "../../etc/passwd", "sw_" + "0" * 32, "p11_" + "0" * 32,
               "sw_" + "A" * 32, "p11_" + "g" * 32, "sw_" + "0" * 31 + "/", "x" * 1000]  # fmt: skip


@pytest.mark.parametrize("handle", BAD_HANDLES)
def test_unknown_or_malformed_handles(backend: CustodyBackend, handle: str) -> None:
    for operation in Operation:
        with pytest.raises(KeyMaterialNotFound):
            _call(backend, operation, handle)
    with pytest.raises(KeyMaterialNotFound):
        backend.destroy(handle)


def test_foreign_backend_handle_is_not_found(
    software_backend: CustodyBackend, pkcs11_backend: CustodyBackend
) -> None:
    sw = software_backend.generate(spec=KeySpec.AES_256, label="x")
    with pytest.raises(KeyMaterialNotFound):
        pkcs11_backend.encrypt(sw.handle, plaintext=b"p", aad=b"")
    software_backend.destroy(sw.handle)


def test_backends_hide_secrets(backend: CustodyBackend) -> None:
    """Reprs name the class and location only; backends refuse to be pickled."""
    assert repr(backend).startswith(f"{type(backend).__name__}(")
    with pytest.raises(TypeError):
        pickle.dumps(backend)


@pytest.mark.parametrize("algorithm", ["", "RSASSA_PKCS1_V1_5_SHA_256", "ed25519"])
def test_unknown_signing_algorithm_is_unsupported(
    backend: CustodyBackend, key_for: KeyFor, algorithm: str
) -> None:
    with pytest.raises(UnsupportedOperation):
        backend.sign(key_for(KeySpec.ED25519).handle, message=b"m", algorithm=algorithm)  # type: ignore[arg-type]
