"""Key operations with ``cryptography`` objects, shared by backends.

Used by the software backend for everything, and by the pkcs11 backend for
the post-quantum specs tokens cannot hold and for public-key verification.
Keeping the exact algorithm parameters (PSS salt, OAEP label, ...) in one
place makes the backends produce interchangeable results.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, mlkem, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .base import (
    GCM_TAG_SIZE,
    RSA_SPECS,
    AeadCiphertext,
    KeySpec,
    OaepHash,
    SigningAlgorithm,
    check_signing_algorithm,
)
from .errors import InvalidCiphertext, KeyStoreIntegrityError

type PrivateKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | mlkem.MLKEM768PrivateKey
    | mldsa.MLDSA65PrivateKey
)
PSS_SALT_LENGTH = 32  # = digest length of SHA-256; what HSM PSS params use
_OAEP_HASHES = {OaepHash.SHA_256: hashes.SHA256, OaepHash.SHA_1: hashes.SHA1}
_PQ_SPECS = (KeySpec.ML_KEM_768, KeySpec.ML_DSA_65)


def generate_material(spec: KeySpec) -> bytes:
    """Fresh serialized material: raw AES key, PQ seed, or PKCS#8 DER."""
    if spec is KeySpec.AES_256:
        return AESGCM.generate_key(bit_length=256)
    return serialize_private(spec, _generate_private(spec))


def _generate_private(spec: KeySpec) -> PrivateKey:
    if spec in RSA_SPECS:
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_SPECS[spec])
    if spec is KeySpec.EC_P256:
        return ec.generate_private_key(ec.SECP256R1())
    if spec is KeySpec.ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    if spec is KeySpec.ML_KEM_768:
        return mlkem.MLKEM768PrivateKey.generate()
    if spec is KeySpec.ML_DSA_65:
        return mldsa.MLDSA65PrivateKey.generate()
    raise ValueError("not an asymmetric key spec")


def serialize_private(spec: KeySpec, key: PrivateKey) -> bytes:
    """PQ keys as their seed (compact, canonical); classical keys as PKCS#8 DER."""
    if spec in _PQ_SPECS:
        return key.private_bytes_raw()  # type: ignore[union-attr]  # PQ specs hold ML-KEM/ML-DSA keys
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private(spec: KeySpec, material: bytes) -> PrivateKey:
    """Inverse of ``serialize_private``; a mismatch means store corruption.

    RSA key validation (a primality check costing ~0.5 s for RSA-4096 on every
    load) is skipped: callers only pass material they generated themselves and
    that was authenticated (AES-GCM) on its way back from storage.
    """
    try:
        if spec is KeySpec.ML_KEM_768:
            return mlkem.MLKEM768PrivateKey.from_seed_bytes(material)
        if spec is KeySpec.ML_DSA_65:
            return mldsa.MLDSA65PrivateKey.from_seed_bytes(material)
        key = serialization.load_der_private_key(material, password=None, unsafe_skip_rsa_key_validation=True)
    except ValueError:
        raise KeyStoreIntegrityError() from None
    return key  # type: ignore[return-value]  # DER of a key we generated: one of the PrivateKey types


def spki_der(key: PrivateKey) -> bytes:
    """SubjectPublicKeyInfo DER of a private key's public half."""
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def gcm_encrypt(key: bytes, *, iv: bytes, plaintext: bytes, aad: bytes) -> AeadCiphertext:
    """AES-256-GCM with a 16-byte tag, split into the dataclass fields."""
    sealed = AESGCM(key).encrypt(iv, plaintext, aad)
    return AeadCiphertext(iv=iv, ciphertext=sealed[:-GCM_TAG_SIZE], tag=sealed[-GCM_TAG_SIZE:])


def gcm_decrypt(key: bytes, *, ciphertext: AeadCiphertext, aad: bytes) -> bytes:
    """AES-256-GCM open; any failure is the generic ``InvalidCiphertext``."""
    try:
        return AESGCM(key).decrypt(ciphertext.iv, ciphertext.ciphertext + ciphertext.tag, aad)
    except (InvalidTag, ValueError):
        raise InvalidCiphertext() from None


def kwp_wrap(key: bytes, material: bytes) -> bytes:
    """RFC 5649 AES key wrap with padding."""
    return keywrap.aes_key_wrap_with_padding(key, material)


def kwp_unwrap(key: bytes, wrapped: bytes) -> bytes:
    """RFC 5649 unwrap; integrity failure -> ``InvalidCiphertext``."""
    try:
        return keywrap.aes_key_unwrap_with_padding(key, wrapped)
    except (keywrap.InvalidUnwrap, ValueError):
        raise InvalidCiphertext() from None


def oaep_padding(hash: OaepHash) -> padding.OAEP:
    """OAEP with MGF1 over the same hash and an empty label."""
    algorithm = _OAEP_HASHES[OaepHash(hash)]()
    return padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)


def rsa_oaep_decrypt(key: rsa.RSAPrivateKey, ciphertext: bytes, hash: OaepHash) -> bytes:
    """RSA-OAEP decryption; one generic error for every failure."""
    try:
        return key.decrypt(ciphertext, oaep_padding(hash))
    except ValueError:
        raise InvalidCiphertext() from None


def pss_padding() -> padding.PSS:
    """RSASSA-PSS with MGF1-SHA256 and a 32-byte salt (HSM-compatible)."""
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT_LENGTH)


def sign(spec: KeySpec, key: PrivateKey, message: bytes, algorithm: SigningAlgorithm) -> bytes:
    """Sign ``message`` with the scheme ``algorithm`` (already spec-checked)."""
    check_signing_algorithm(spec, algorithm)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(message, pss_padding(), hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(message, ec.ECDSA(hashes.SHA256()))
    return key.sign(message)  # type: ignore[union-attr]  # Ed25519, ML-DSA (empty context)


def verify(
    spec: KeySpec, public_der: bytes, message: bytes, signature: bytes, algorithm: SigningAlgorithm
) -> bool:
    """Verify with the public key only: it is public, so no custody needed."""
    check_signing_algorithm(spec, algorithm)
    public = serialization.load_der_public_key(public_der)
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, message, pss_padding(), hashes.SHA256())
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        else:
            public.verify(signature, message)  # type: ignore[union-attr, call-arg]  # Ed25519, ML-DSA
    except (InvalidSignature, ValueError):
        return False
    return True


def decapsulate(key: mlkem.MLKEM768PrivateKey, kem_ciphertext: bytes) -> bytes:
    """ML-KEM-768 decapsulation (implicit rejection: only length can fail)."""
    try:
        return key.decapsulate(kem_ciphertext)
    except ValueError:
        raise InvalidCiphertext() from None
