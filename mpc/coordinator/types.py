"""Public data and reports the coordinator returns (no secrets anywhere in here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mpc.crypto import tprf
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
    customer_public_key: bytes | None = None
    """Composed keys only: Y_c of the customer node's part, pinned by the provider nodes.
    ``public_key`` and ``public_shares`` then describe the provider part k_p alone."""

    @property
    def composed(self) -> bool:
        return self.customer_public_key is not None

    @property
    def composed_public_key(self) -> bytes:
        """Y = Y_c + Y_p, the public key of k = k_c + k_p (composed keys only)."""
        if self.customer_public_key is None:
            raise ValueError("not a composed key")
        return tprf.composed_public_key(self.customer_public_key, self.public_key)

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

    node_id: int  # 0 (tprf.CUSTOMER_NODE_ID) for a customer node, named by ``customer``
    operation: str
    key_id: str | None
    reason: str
    customer: str | None = None  # the customer node's URL when it misbehaved


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
    customer: str | None = None
    """Composed keys: "succeeded", or the ``CustomerNodeUnavailable.reason`` code of the
    customer node's failure; None when no customer node was involved."""

    @property
    def complete(self) -> bool:
        return not self.unreachable and not self.refused and self.customer in (None, "succeeded")


@dataclass(frozen=True)
class RefreshReport:
    epoch: int
    committed: tuple[int, ...]
    pending: tuple[int, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.pending
