"""Custody backend interface shared by every backend (software, pkcs11, later mpc).

Backends hold key material; the control plane only stores the opaque ``handle``
returned by :meth:`CustodyBackend.generate` and public keys.  Nothing here
imports Django: configuration is passed to backend constructors.

Refinements to the original interface brief (all backwards compatible):

* :class:`Operation` and :data:`SPEC_OPERATIONS` — one table saying which
  operation each :class:`KeySpec` allows, so every backend (and the control
  plane) enforces the same ``UnsupportedOperation`` rules.
* :func:`check_signing_algorithm` / :data:`SIGNING_ALGORITHMS` — the
  spec -> allowed signing algorithm helper.
* ``errors.InvalidArgument`` (malformed non-ciphertext input such as a wrong
  IV length or empty/oversized key-wrap input) and
  ``errors.KeyStoreIntegrityError`` (stored material fails authentication).
* ``verify`` returns ``False`` for wrong *and* malformed signatures; it raises
  ``UnsupportedOperation`` only for a spec/algorithm mismatch.
* ``wrap`` accepts 1..:data:`MAX_WRAP_INPUT` bytes (RFC 5649 needs >= 1 byte;
  the upper bound keeps a single call from monopolising an HSM).
* ``public_key`` raises ``UnsupportedOperation`` for symmetric keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from .errors import UnsupportedOperation

GCM_IV_SIZE = 12
GCM_TAG_SIZE = 16
MAX_WRAP_INPUT = 8192
"""Largest ``key_material`` accepted by ``wrap`` (an RSA-4096 PKCS#8 is ~2.4 KB)."""


class KeySpec(StrEnum):
    """Key type and size.  The value is what the control plane persists."""

    AES_256 = "AES_256"
    RSA_2048 = "RSA_2048"
    RSA_3072 = "RSA_3072"
    RSA_4096 = "RSA_4096"
    EC_P256 = "EC_P256"
    ED25519 = "ED25519"
    ML_KEM_768 = "ML_KEM_768"
    ML_DSA_65 = "ML_DSA_65"


class SigningAlgorithm(StrEnum):
    """Signature schemes.  RSA-PSS uses MGF1-SHA256 and a 32-byte salt."""

    RSASSA_PSS_SHA_256 = "RSASSA_PSS_SHA_256"
    ECDSA_SHA_256 = "ECDSA_SHA_256"  # DER-encoded (r, s), as X.509/JOSE-DER expect
    ED25519 = "ED25519"
    ML_DSA_65 = "ML_DSA_65"  # pure ML-DSA, empty context


class OaepHash(StrEnum):
    """Hash for RSA-OAEP (and its MGF1); the label is always empty."""

    SHA_256 = "SHA_256"
    SHA_1 = "SHA_1"  # for legacy importers (e.g. BYOK tooling) only


class Operation(StrEnum):
    """Backend operations that depend on the key spec."""

    ENCRYPT = "encrypt"
    DECRYPT = "decrypt"
    WRAP = "wrap"
    UNWRAP = "unwrap"
    RSA_DECRYPT = "rsa_decrypt"
    SIGN = "sign"
    VERIFY = "verify"
    KEM_DECAPSULATE = "kem_decapsulate"
    PUBLIC_KEY = "public_key"


RSA_SPECS: Mapping[KeySpec, int] = {
    KeySpec.RSA_2048: 2048,
    KeySpec.RSA_3072: 3072,
    KeySpec.RSA_4096: 4096,
}

_AES_OPS = frozenset({Operation.ENCRYPT, Operation.DECRYPT, Operation.WRAP, Operation.UNWRAP})
_RSA_OPS = frozenset({Operation.RSA_DECRYPT, Operation.SIGN, Operation.VERIFY, Operation.PUBLIC_KEY})
_SIG_OPS = frozenset({Operation.SIGN, Operation.VERIFY, Operation.PUBLIC_KEY})

SPEC_OPERATIONS: Mapping[KeySpec, frozenset[Operation]] = {
    KeySpec.AES_256: _AES_OPS,
    KeySpec.RSA_2048: _RSA_OPS,
    KeySpec.RSA_3072: _RSA_OPS,
    KeySpec.RSA_4096: _RSA_OPS,
    KeySpec.EC_P256: _SIG_OPS,
    KeySpec.ED25519: _SIG_OPS,
    KeySpec.ML_KEM_768: frozenset({Operation.KEM_DECAPSULATE, Operation.PUBLIC_KEY}),
    KeySpec.ML_DSA_65: _SIG_OPS,
}

SIGNING_ALGORITHMS: Mapping[KeySpec, frozenset[SigningAlgorithm]] = {
    KeySpec.RSA_2048: frozenset({SigningAlgorithm.RSASSA_PSS_SHA_256}),
    KeySpec.RSA_3072: frozenset({SigningAlgorithm.RSASSA_PSS_SHA_256}),
    KeySpec.RSA_4096: frozenset({SigningAlgorithm.RSASSA_PSS_SHA_256}),
    KeySpec.EC_P256: frozenset({SigningAlgorithm.ECDSA_SHA_256}),
    KeySpec.ED25519: frozenset({SigningAlgorithm.ED25519}),
    KeySpec.ML_DSA_65: frozenset({SigningAlgorithm.ML_DSA_65}),
}


def is_asymmetric(spec: KeySpec) -> bool:
    """True if the spec has a public key (everything but AES)."""
    return Operation.PUBLIC_KEY in SPEC_OPERATIONS[spec]


def allowed_signing_algorithms(spec: KeySpec) -> frozenset[SigningAlgorithm]:
    """Signing algorithms usable with ``spec`` (empty for non-signing specs)."""
    return SIGNING_ALGORITHMS.get(spec, frozenset())


def check_operation(spec: KeySpec, operation: Operation) -> None:
    """Raise ``UnsupportedOperation`` unless ``spec`` allows ``operation``."""
    if operation not in SPEC_OPERATIONS[spec]:
        raise UnsupportedOperation()


def check_signing_algorithm(spec: KeySpec, algorithm: SigningAlgorithm) -> None:
    """Raise ``UnsupportedOperation`` unless ``algorithm`` fits ``spec``."""
    if algorithm not in allowed_signing_algorithms(spec):  # also rejects unknown values
        raise UnsupportedOperation("signing algorithm not allowed for this key spec")


@dataclass(frozen=True)
class GeneratedKey:
    """Result of ``generate``: what the control plane may persist."""

    handle: str
    public_key_der: bytes | None  # SubjectPublicKeyInfo DER; None for AES


@dataclass(frozen=True)
class AeadCiphertext:
    """AES-256-GCM output: 12-byte IV, ciphertext, 16-byte tag."""

    iv: bytes
    ciphertext: bytes
    tag: bytes


@runtime_checkable
class CustodyBackend(Protocol):
    """What the control plane needs from a key-custody backend.

    All methods raise ``KeyMaterialNotFound`` for unknown/destroyed handles,
    ``UnsupportedOperation`` for spec/operation mismatches and
    ``BackendUnavailable`` when the backend cannot serve.
    """

    name: str  # "software" | "pkcs11" (later "mpc")

    def generate(self, *, spec: KeySpec, label: str) -> GeneratedKey:
        """Create new key material; ``label`` is informational only."""
        ...

    def encrypt(
        self, handle: str, *, plaintext: bytes, aad: bytes, iv: bytes | None = None
    ) -> AeadCiphertext:
        """AES-256-GCM; ``iv=None`` -> random 12-byte IV picked by the backend."""
        ...

    def decrypt(self, handle: str, *, ciphertext: AeadCiphertext, aad: bytes) -> bytes:
        """AES-256-GCM; raises ``InvalidCiphertext`` on any failure."""
        ...

    def rsa_decrypt(self, handle: str, *, ciphertext: bytes, hash: OaepHash) -> bytes:
        """RSA-OAEP (MGF1 with the same hash, empty label)."""
        ...

    def sign(self, handle: str, *, message: bytes, algorithm: SigningAlgorithm) -> bytes:
        """Sign the full message (hashing, if any, happens in the backend)."""
        ...

    def verify(self, handle: str, *, message: bytes, signature: bytes, algorithm: SigningAlgorithm) -> bool:
        """True iff ``signature`` is valid for ``message``."""
        ...

    def wrap(self, handle: str, *, key_material: bytes) -> bytes:
        """RFC 5649 AES key wrap with padding under an AES_256 key."""
        ...

    def unwrap(self, handle: str, *, wrapped: bytes) -> bytes:
        """Inverse of ``wrap``; raises ``InvalidCiphertext`` on failure."""
        ...

    def kem_decapsulate(self, handle: str, *, kem_ciphertext: bytes) -> bytes:
        """ML-KEM-768 decapsulation -> 32-byte shared secret."""
        ...

    def public_key(self, handle: str) -> bytes:
        """SubjectPublicKeyInfo DER of an asymmetric key."""
        ...

    def destroy(self, handle: str) -> None:
        """Crypto-shred: irreversible; later calls raise ``KeyMaterialNotFound``."""
        ...

    def health(self) -> None:
        """Raise ``BackendUnavailable`` if the backend cannot serve."""
        ...
