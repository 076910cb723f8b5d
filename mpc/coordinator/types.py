"""Public data and reports the coordinator returns (no secrets anywhere in here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mpc.crypto.group import ED25519, PrimeOrderGroup
from mpc.crypto.threshold_rsa import RsaPublicParams


@dataclass(frozen=True)
class ScalarKeyInfo:
    """A DKG key: ristretto255 (threshold PRF / AES) or Ed25519 (FROST)."""

    key_id: str
    group: PrimeOrderGroup
    threshold: int
    public_key: bytes
    public_shares: Mapping[int, bytes]
    commitments: tuple[bytes, ...]
    epoch: int
    provenance: str  # "dealerless"

    def public_key_der(self) -> bytes:
        """SubjectPublicKeyInfo DER (Ed25519 keys only: a PRF key has no public-key use)."""
        if self.group is not ED25519:
            raise ValueError("only Ed25519 keys have an SPKI")
        key = ed25519.Ed25519PublicKey.from_public_bytes(self.public_key)
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class RsaKeyInfo:
    """A dealt threshold-RSA key."""

    key_id: str
    params: RsaPublicParams
    epoch: int
    provenance: str  # "dealer": the generating process briefly held the private key

    @property
    def bits(self) -> int:
        return self.params.modulus.bit_length()

    def public_key(self) -> rsa.RSAPublicKey:
        return rsa.RSAPublicNumbers(self.params.public_exponent, self.params.modulus).public_key()

    def public_key_der(self) -> bytes:
        return self.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )


PublicInfo = ScalarKeyInfo | RsaKeyInfo


@dataclass(frozen=True)
class Misbehaviour:
    """What the misbehaviour hook receives: which node, during what, and why."""

    node_id: int
    operation: str
    key_id: str | None
    reason: str


@dataclass(frozen=True)
class NodeHealth:
    node_id: int
    url: str
    ok: bool
    latency_ms: float | None
    version: str | None = None
    keys: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class FanoutReport:
    """Outcome of an all-nodes operation (state change, destroy, refresh)."""

    succeeded: tuple[int, ...]
    unreachable: tuple[int, ...] = ()
    refused: Mapping[int, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.unreachable and not self.refused


@dataclass(frozen=True)
class RefreshReport:
    epoch: int
    committed: tuple[int, ...]
    pending: tuple[int, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.pending
