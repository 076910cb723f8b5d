"""FROST(Ed25519, SHA-512), RFC 9591: two-round threshold Schnorr signing.

Why FROST: signing needs only t share holders, the full key is never assembled, and the
resulting (R, z) is a standard RFC 8032 Ed25519 signature that any verifier accepts.

Round 1 (:func:`commit`): each signer derives hiding/binding nonces with
``nonce_generate`` (H3 over fresh randomness and its share, RFC 9591 §4.1) and
publishes the two commitments. Round 2 (:func:`sign`): binding factors (§4.4), group
commitment (§4.5), challenge (§4.6, H2 = plain SHA-512 as in Ed25519), signature share
(§5.2). The coordinator aggregates (§5.3), verifies the result and, on failure, checks
every share (§5.3 ``verify_signature_share``) to name the cheaters (§5.4).

Nonces are single use: :class:`SigningNonces` is consumed by :func:`sign` and refuses a
second use, because nonce reuse leaks the signing share.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .errors import InvalidEncoding, InvalidParameters, InvalidProof, MpcError, NonceReuse
from .group import (
    ED25519,
    Element,
    decode_scalar,
    encode_scalar,
    scalar_from_wide_bytes,
)
from .shamir import KeyShare, lagrange_coefficient

G = ED25519
CONTEXT_STRING = b"FROST-ED25519-SHA512-v1"
SIGNATURE_SIZE = 64


def h1(m: bytes) -> int:
    """Binding-factor hash: SHA-512(contextString || "rho" || m) mod L."""
    return scalar_from_wide_bytes(hashlib.sha512(CONTEXT_STRING + b"rho" + m).digest())


def h2(m: bytes) -> int:
    """Challenge hash: plain SHA-512(m) mod L, for RFC 8032 compatibility."""
    return scalar_from_wide_bytes(hashlib.sha512(m).digest())


def h3(m: bytes) -> int:
    """Nonce hash: SHA-512(contextString || "nonce" || m) mod L."""
    return scalar_from_wide_bytes(hashlib.sha512(CONTEXT_STRING + b"nonce" + m).digest())


def h4(m: bytes) -> bytes:
    """Message hash: SHA-512(contextString || "msg" || m)."""
    return hashlib.sha512(CONTEXT_STRING + b"msg" + m).digest()


def h5(m: bytes) -> bytes:
    """Commitment-list hash: SHA-512(contextString || "com" || m)."""
    return hashlib.sha512(CONTEXT_STRING + b"com" + m).digest()


def nonce_generate(secret: int, random_bytes: bytes | None = None) -> int:
    """§4.1: H3(random_bytes(32) || SerializeScalar(secret)); hedges against a bad RNG."""
    random_bytes = secrets.token_bytes(32) if random_bytes is None else random_bytes
    if len(random_bytes) != 32:
        raise InvalidParameters("nonce randomness must be 32 bytes")
    return h3(random_bytes + encode_scalar(secret))


@dataclass(frozen=True)
class SigningCommitment:
    """Round-1 public output (identifier, hiding commitment D_i, binding commitment E_i)."""

    identifier: int
    hiding: Element
    binding: Element

    def validated(self) -> SigningCommitment:
        """DeserializeElement on both commitments (non-identity, prime-order subgroup)."""
        if self.identifier < 1:
            raise InvalidEncoding("identifier must be a nonzero scalar")
        return SigningCommitment(
            self.identifier, G.decode_element(self.hiding), G.decode_element(self.binding)
        )


class SigningNonces:
    """Round-1 secret state for one signing session; consumed by :func:`sign`."""

    __slots__ = ("_nonces", "commitment")

    def __init__(self, hiding: int, binding: int, commitment: SigningCommitment) -> None:
        self._nonces: tuple[int, int] | None = (hiding, binding)
        self.commitment = commitment

    def __repr__(self) -> str:
        state = "used" if self._nonces is None else "unused"
        return f"SigningNonces(identifier={self.commitment.identifier}, {state})"

    def consume(self) -> tuple[int, int]:
        """Hand out the nonces exactly once."""
        if self._nonces is None:
            raise NonceReuse("FROST nonces may be used for one signature only")
        nonces, self._nonces = self._nonces, None
        return nonces


def commit(
    key_share: KeyShare,
    *,
    hiding_randomness: bytes | None = None,
    binding_randomness: bytes | None = None,
) -> tuple[SigningNonces, SigningCommitment]:
    """§5.1 round one. The randomness arguments exist only to replay test vectors."""
    _require_ed25519(key_share)
    hiding = nonce_generate(key_share.secret, hiding_randomness)
    binding = nonce_generate(key_share.secret, binding_randomness)
    commitment = SigningCommitment(
        key_share.participant_id, G.scalar_base_mult(hiding), G.scalar_base_mult(binding)
    )
    return SigningNonces(hiding, binding, commitment), commitment


def _require_ed25519(key_share: KeyShare) -> None:
    if key_share.group is not G:
        raise InvalidParameters("FROST(Ed25519, SHA-512) needs an ed25519 key share")


def sort_commitments(commitments: Sequence[SigningCommitment]) -> list[SigningCommitment]:
    """Validate and sort by identifier; duplicates are a protocol error."""
    checked = sorted((c.validated() for c in commitments), key=lambda c: c.identifier)
    ids = [c.identifier for c in checked]
    if len(set(ids)) != len(ids):
        raise InvalidParameters("duplicate identifier in commitment list")
    if not checked:
        raise InvalidParameters("empty commitment list")
    return checked


def encode_group_commitment_list(commitments: Sequence[SigningCommitment]) -> bytes:
    """§4.3: Σ SerializeScalar(i) || SerializeElement(D_i) || SerializeElement(E_i)."""
    return b"".join(encode_scalar(c.identifier) + c.hiding + c.binding for c in commitments)


def binding_factor_input(
    group_public_key: Element,
    commitments: Sequence[SigningCommitment],
    msg: bytes,
    identifier: int,
) -> bytes:
    """rho_input = PK || H4(msg) || H5(encoded commitments) || SerializeScalar(i)."""
    prefix = group_public_key + h4(msg) + h5(encode_group_commitment_list(commitments))
    return prefix + encode_scalar(identifier)


def compute_binding_factors(
    group_public_key: Element, commitments: Sequence[SigningCommitment], msg: bytes
) -> dict[int, int]:
    """§4.4: rho_i = H1(rho_input_i) for each participant in the (sorted) list."""
    return {
        c.identifier: h1(binding_factor_input(group_public_key, commitments, msg, c.identifier))
        for c in commitments
    }


def compute_group_commitment(
    commitments: Sequence[SigningCommitment], binding_factors: Mapping[int, int]
) -> Element:
    """§4.5: R = Σ (D_i + rho_i·E_i)."""
    return G.sum(
        G.add(c.hiding, G.scalar_mult(binding_factors[c.identifier], c.binding)) for c in commitments
    )


def compute_challenge(group_commitment: Element, group_public_key: Element, msg: bytes) -> int:
    """§4.6: c = H2(R || PK || msg), exactly Ed25519's challenge."""
    return h2(group_commitment + group_public_key + msg)


@dataclass(frozen=True)
class _SessionValues:
    binding_factors: dict[int, int]
    group_commitment: Element
    challenge: int
    identifiers: tuple[int, ...]


def _session(
    group_public_key: Element, commitments: Sequence[SigningCommitment], msg: bytes
) -> _SessionValues:
    factors = compute_binding_factors(group_public_key, commitments, msg)
    r = compute_group_commitment(commitments, factors)
    return _SessionValues(
        factors, r, compute_challenge(r, group_public_key, msg), tuple(c.identifier for c in commitments)
    )


def sign(
    key_share: KeyShare,
    nonces: SigningNonces,
    msg: bytes,
    commitments: Sequence[SigningCommitment],
) -> int:
    """§5.2 round two: z_i = d_i + e_i·rho_i + λ_i·s_i·c. Consumes ``nonces``."""
    _require_ed25519(key_share)
    ordered = sort_commitments(commitments)
    own = nonces.commitment
    if own.identifier != key_share.participant_id or own not in ordered:
        raise InvalidParameters("own commitment missing from the commitment list")
    session = _session(key_share.public_key, ordered, msg)
    hiding, binding = nonces.consume()
    lam = lagrange_coefficient(key_share.participant_id, session.identifiers)
    rho = session.binding_factors[key_share.participant_id]
    return (hiding + binding * rho + lam * key_share.secret * session.challenge) % G.order


def verify_signature_share(
    identifier: int,
    public_share: Element,
    sig_share: int,
    commitments: Sequence[SigningCommitment],
    group_public_key: Element,
    msg: bytes,
) -> bool:
    """§5.3: z_i·B == D_i + rho_i·E_i + (c·λ_i)·PK_i."""
    ordered = sort_commitments(commitments)
    session = _session(group_public_key, ordered, msg)
    own = next((c for c in ordered if c.identifier == identifier), None)
    if own is None:
        raise InvalidParameters("identifier not in the commitment list")
    lam = lagrange_coefficient(identifier, session.identifiers)
    comm_share = G.add(own.hiding, G.scalar_mult(session.binding_factors[identifier], own.binding))
    expected = G.add(comm_share, G.scalar_mult(session.challenge * lam, public_share))
    return G.scalar_base_mult(sig_share) == expected


def verify_signature(group_public_key: Element, msg: bytes, signature: bytes) -> bool:
    """Schnorr check z·B == R + c·PK over validated (prime-order) R and PK.

    With both points in the prime-order subgroup this agrees with RFC 8032's cofactored
    equation [8]zB = [8]R + [8]cPK that RFC 9591 §6.1 asks for.
    """
    if len(signature) != SIGNATURE_SIZE:
        return False
    try:
        r = G.decode_element(signature[:32])
        z = decode_scalar(signature[32:])
        pk = G.decode_element(group_public_key)
    except InvalidEncoding:
        return False
    c = compute_challenge(r, pk, msg)
    return G.scalar_base_mult(z) == G.add(r, G.scalar_mult(c, pk))


def aggregate(
    commitments: Sequence[SigningCommitment],
    msg: bytes,
    group_public_key: Element,
    sig_shares: Mapping[int, int],
    public_shares: Mapping[int, Element],
) -> bytes:
    """§5.3: (R, z = Σ z_i) encoded as R || z; verified, cheaters named on failure."""
    ordered = sort_commitments(commitments)
    if set(sig_shares) != {c.identifier for c in ordered}:
        raise InvalidParameters("signature shares do not match the commitment list")
    session = _session(group_public_key, ordered, msg)
    z = sum(sig_shares.values()) % G.order
    signature = session.group_commitment + encode_scalar(z)
    if verify_signature(group_public_key, msg, signature):
        return signature
    cheaters = [
        i
        for i in session.identifiers
        if i not in public_shares
        or not verify_signature_share(i, public_shares[i], sig_shares[i], ordered, group_public_key, msg)
    ]
    if cheaters:
        raise InvalidProof(cheaters, "invalid FROST signature share")
    raise MpcError("aggregate signature invalid although every share verified")
