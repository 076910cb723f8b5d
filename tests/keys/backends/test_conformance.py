"""Conformance: every backend, every spec, every applicable operation.

Results are checked with ``cryptography`` from ``public_key()`` wherever the
operation is public, so a backend cannot pass by agreeing with itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, mlkem, padding, rsa

from keys.backends import (
    MAX_WRAP_INPUT,
    RSA_SPECS,
    SIGNING_ALGORITHMS,
    CustodyBackend,
    GeneratedKey,
    InvalidArgument,
    InvalidCiphertext,
    KeySpec,
    OaepHash,
    SigningAlgorithm,
)

KeyFor = Callable[[KeySpec], GeneratedKey]
AAD = b"tenant=42|purpose=dek"
PUBLIC_TYPES = {
    KeySpec.RSA_2048: rsa.RSAPublicKey,
    KeySpec.RSA_3072: rsa.RSAPublicKey,
    KeySpec.RSA_4096: rsa.RSAPublicKey,
    KeySpec.EC_P256: ec.EllipticCurvePublicKey,
    KeySpec.ED25519: ed25519.Ed25519PublicKey,
    KeySpec.ML_KEM_768: mlkem.MLKEM768PublicKey,
    KeySpec.ML_DSA_65: mldsa.MLDSA65PublicKey,
}
OAEP_HASHES = {OaepHash.SHA_256: hashes.SHA256, OaepHash.SHA_1: hashes.SHA1}


def test_backend_satisfies_protocol(backend: CustodyBackend) -> None:
    assert isinstance(backend, CustodyBackend)
    assert backend.name in {"software", "pkcs11"}
    backend.health()


@pytest.mark.parametrize("spec", list(KeySpec))
def test_generate_and_public_key(backend: CustodyBackend, key_for: KeyFor, spec: KeySpec) -> None:
    key = key_for(spec)
    prefix = {"software": "sw_", "pkcs11": "p11_"}[backend.name]
    assert key.handle.startswith(prefix)
    assert len(key.handle) == len(prefix) + 32
    if spec is KeySpec.AES_256:
        assert key.public_key_der is None
        return
    assert backend.public_key(key.handle) == key.public_key_der
    public = serialization.load_der_public_key(key.public_key_der)
    assert isinstance(public, PUBLIC_TYPES[spec])
    if spec in RSA_SPECS:
        assert public.key_size == RSA_SPECS[spec]
        assert public.public_numbers().e == 65537
    if spec is KeySpec.EC_P256:
        assert isinstance(public.curve, ec.SECP256R1)


def test_handles_are_unique(backend: CustodyBackend) -> None:
    handles = {backend.generate(spec=KeySpec.AES_256, label="u").handle for _ in range(5)}
    assert len(handles) == 5
    for handle in handles:
        backend.destroy(handle)


# -- AES-256-GCM ----------------------------------------------------------------


@pytest.mark.parametrize("plaintext", [b"", b"x", b"secret data key" * 5, bytes(range(256)) * 8])
def test_encrypt_decrypt_round_trip(backend: CustodyBackend, key_for: KeyFor, plaintext: bytes) -> None:
    handle = key_for(KeySpec.AES_256).handle
    sealed = backend.encrypt(handle, plaintext=plaintext, aad=AAD)
    assert len(sealed.iv) == 12
    assert len(sealed.tag) == 16
    assert len(sealed.ciphertext) == len(plaintext)
    assert backend.decrypt(handle, ciphertext=sealed, aad=AAD) == plaintext


def test_encrypt_random_iv_and_caller_iv(backend: CustodyBackend, key_for: KeyFor) -> None:
    handle = key_for(KeySpec.AES_256).handle
    first = backend.encrypt(handle, plaintext=b"same", aad=AAD)
    second = backend.encrypt(handle, plaintext=b"same", aad=AAD)
    assert first.iv != second.iv
    assert first.ciphertext != second.ciphertext
    iv = bytes(range(12))
    fixed = backend.encrypt(handle, plaintext=b"same", aad=AAD, iv=iv)
    assert fixed.iv == iv
    assert fixed == backend.encrypt(handle, plaintext=b"same", aad=AAD, iv=iv)  # deterministic
    assert backend.decrypt(handle, ciphertext=fixed, aad=AAD) == b"same"


@pytest.mark.parametrize("iv", [b"", b"\x00" * 11, b"\x00" * 13, b"\x00" * 16])
def test_encrypt_rejects_bad_iv(backend: CustodyBackend, key_for: KeyFor, iv: bytes) -> None:
    with pytest.raises(InvalidArgument):
        backend.encrypt(key_for(KeySpec.AES_256).handle, plaintext=b"x", aad=b"", iv=iv)


def _flip(data: bytes, index: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda c: dataclasses.replace(c, tag=_flip(c.tag)), id="tag"),
        pytest.param(lambda c: dataclasses.replace(c, tag=_flip(c.tag, 15)), id="tag-last-byte"),
        pytest.param(lambda c: dataclasses.replace(c, ciphertext=_flip(c.ciphertext)), id="ct"),
        pytest.param(lambda c: dataclasses.replace(c, iv=_flip(c.iv)), id="iv"),
        pytest.param(lambda c: dataclasses.replace(c, tag=c.tag[:12]), id="short-tag"),
        pytest.param(lambda c: dataclasses.replace(c, iv=c.iv + b"\0"), id="long-iv"),
        pytest.param(lambda c: dataclasses.replace(c, ciphertext=c.ciphertext[:-1]), id="truncated"),
    ],
)
def test_decrypt_rejects_tampering(backend: CustodyBackend, key_for: KeyFor, tamper) -> None:
    handle = key_for(KeySpec.AES_256).handle
    sealed = backend.encrypt(handle, plaintext=b"attack at dawn", aad=AAD)
    with pytest.raises(InvalidCiphertext) as excinfo:
        backend.decrypt(handle, ciphertext=tamper(sealed), aad=AAD)
    assert str(excinfo.value) == "ciphertext is invalid"


@pytest.mark.parametrize("aad", [b"", AAD + b"x", b"tenant=43|purpose=dek"])
def test_decrypt_rejects_wrong_aad(backend: CustodyBackend, key_for: KeyFor, aad: bytes) -> None:
    handle = key_for(KeySpec.AES_256).handle
    sealed = backend.encrypt(handle, plaintext=b"attack at dawn", aad=AAD)
    with pytest.raises(InvalidCiphertext):
        backend.decrypt(handle, ciphertext=sealed, aad=aad)


def test_ciphertexts_are_bound_to_their_key(backend: CustodyBackend, key_for: KeyFor) -> None:
    other = backend.generate(spec=KeySpec.AES_256, label="other")
    sealed = backend.encrypt(key_for(KeySpec.AES_256).handle, plaintext=b"p", aad=AAD)
    with pytest.raises(InvalidCiphertext):
        backend.decrypt(other.handle, ciphertext=sealed, aad=AAD)
    backend.destroy(other.handle)


# -- RFC 5649 wrap ----------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 64, 100, 1217])
def test_wrap_unwrap_round_trip(backend: CustodyBackend, key_for: KeyFor, size: int) -> None:
    handle = key_for(KeySpec.AES_256).handle
    material = bytes((i * 7 + size) % 256 for i in range(size))
    wrapped = backend.wrap(handle, key_material=material)
    assert len(wrapped) == 8 + (size + 7) // 8 * 8  # RFC 5649 output length
    assert wrapped == backend.wrap(handle, key_material=material)  # KWP is deterministic
    assert backend.unwrap(handle, wrapped=wrapped) == material


def test_unwrap_rejects_tampering(backend: CustodyBackend, key_for: KeyFor) -> None:
    handle = key_for(KeySpec.AES_256).handle
    wrapped = backend.wrap(handle, key_material=b"k" * 32)
    for bad in (
        _flip(wrapped),
        _flip(wrapped, len(wrapped) - 1),
        wrapped[:-8],
        wrapped[:8],
        wrapped + b"\0" * 8,
        wrapped[:-1],
        b"\0" * 24,
    ):
        with pytest.raises(InvalidCiphertext):
            backend.unwrap(handle, wrapped=bad)


@pytest.mark.parametrize("material", [b"", b"x" * (MAX_WRAP_INPUT + 1)])
def test_wrap_rejects_bad_sizes(backend: CustodyBackend, key_for: KeyFor, material: bytes) -> None:
    with pytest.raises(InvalidArgument):
        backend.wrap(key_for(KeySpec.AES_256).handle, key_material=material)


# -- RSA-OAEP -----------------------------------------------------------------------

RSA_CASES = [(spec, h) for spec in RSA_SPECS for h in OaepHash]


def _oaep(hash: OaepHash) -> padding.OAEP:
    algorithm = OAEP_HASHES[hash]()
    return padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)


@pytest.mark.parametrize(("spec", "hash"), RSA_CASES)
def test_rsa_decrypt_cryptography_ciphertexts(
    backend: CustodyBackend, key_for: KeyFor, spec: KeySpec, hash: OaepHash
) -> None:
    key = key_for(spec)
    public = serialization.load_der_public_key(backend.public_key(key.handle))
    h_len = OAEP_HASHES[hash].digest_size
    longest = RSA_SPECS[spec] // 8 - 2 * h_len - 2
    for message in (b"", b"\x00", b"\x01\x00\x01", b"dek-" * 8, b"\xff" * longest):
        ciphertext = public.encrypt(message, _oaep(hash))
        assert backend.rsa_decrypt(key.handle, ciphertext=ciphertext, hash=hash) == message


@pytest.mark.parametrize("hash", list(OaepHash))
def test_rsa_decrypt_rejects_bad_ciphertexts(
    backend: CustodyBackend, key_for: KeyFor, hash: OaepHash
) -> None:
    key = key_for(KeySpec.RSA_2048)
    public = serialization.load_der_public_key(key.public_key_der)
    good = public.encrypt(b"data key", _oaep(hash))
    other_hash = OaepHash.SHA_1 if hash is OaepHash.SHA_256 else OaepHash.SHA_256
    n = public.public_numbers().n
    cases = [_flip(good, 5), _flip(good, 255), good[:-1], good + b"\0", b"\0" * 256,
             n.to_bytes(256, "big"), b"\xff" * 256,
             public.encrypt(b"data key", _oaep(other_hash))]  # fmt: skip
    for bad in cases:
        with pytest.raises(InvalidCiphertext) as excinfo:
            backend.rsa_decrypt(key.handle, ciphertext=bad, hash=hash)
        assert str(excinfo.value) == "ciphertext is invalid"


# -- signatures ---------------------------------------------------------------------

SIGN_CASES = [(spec, alg) for spec, algs in SIGNING_ALGORITHMS.items() for alg in algs]


def _verify_with_cryptography(public_der: bytes, signature: bytes, message: bytes) -> None:
    public = serialization.load_der_public_key(public_der)
    if isinstance(public, rsa.RSAPublicKey):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
        public.verify(signature, message, pss, hashes.SHA256())
        strict = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        public.verify(signature, message, strict, hashes.SHA256())
    elif isinstance(public, ec.EllipticCurvePublicKey):
        public.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    else:
        public.verify(signature, message)


@pytest.mark.parametrize(("spec", "algorithm"), SIGN_CASES)
def test_sign_verify(
    backend: CustodyBackend, key_for: KeyFor, spec: KeySpec, algorithm: SigningAlgorithm
) -> None:
    key = key_for(spec)
    for message in (b"", b"release v1.2.3", bytes(range(256)) * 40):
        signature = backend.sign(key.handle, message=message, algorithm=algorithm)
        _verify_with_cryptography(backend.public_key(key.handle), signature, message)
        assert backend.verify(key.handle, message=message, signature=signature, algorithm=algorithm)
        assert not backend.verify(
            key.handle, message=message + b"!", signature=signature, algorithm=algorithm
        )
        assert not backend.verify(
            key.handle, message=message, signature=_flip(signature, 10), algorithm=algorithm
        )
    for garbage in (b"", b"\x30\x00", b"\x00" * 64):
        assert not backend.verify(key.handle, message=b"m", signature=garbage, algorithm=algorithm)
