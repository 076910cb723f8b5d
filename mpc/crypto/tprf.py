"""Threshold PRF (2HashDH) over ristretto255, RFC 9497 VOPRF style, and AES key derivation.

Why: a tenant's data-encryption keys are PRF outputs F_k(x) = H2(x, k·H1(x)) where the
PRF key k exists only as Shamir shares on the MPC nodes. Each node i returns
Z_i = k_i·H(x) with an RFC 9497 DLEQ proof that log_G(Y_i) = log_{H(x)}(Z_i); the
coordinator verifies every proof (blaming the node on failure), interpolates
Z = Σ λ_i·Z_i = k·H(x) and derives a one-message AES-256 key with HKDF-SHA256.

Compatibility: with contextString = "OPRFV1-\\x01-ristretto255-SHA512" (VOPRF mode),
:func:`prf_output` equals RFC 9497 ``Evaluate(k, x)``, so a threshold evaluation of a
key that was split from an RFC test key reproduces the RFC outputs. Inputs are not
blinded: the coordinator is trusted to see x (it needs the resulting key anyway).

Customer-held key part: k = k_customer + k_provider, and Z = Z_customer + Z_provider,
where the customer node proves its own DLEQ against its public key Y_c. The customer
node generates k_customer itself and publishes only Y_c with a Schnorr proof of
knowledge bound to the key id (:func:`customer_key_proof`), so nobody can register a
Y_c whose discrete log they do not know (a rogue key such as T - Y_provider).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import InvalidEncoding, InvalidParameters, InvalidProof, NotEnoughShares
from .group import (
    RISTRETTO255,
    Element,
    decode_scalar,
    encode_scalar,
    random_nonzero_scalar,
    scalar_from_wide_bytes,
)
from .oprf import (
    MODE_VOPRF,
    Proof,
    context_string,
    finalize_hash,
    generate_proof,
    input_element,
    length_prefixed,
    verify_proof,
)
from .shamir import KeyShare, interpolate_batch_in_exponent

G = RISTRETTO255
TPRF_CONTEXT = context_string(MODE_VOPRF)
CUSTOMER_NODE_ID = 0
"""Node id used for the customer-held key part (never a Shamir id, those start at 1)."""
_INPUT_LABEL = b"cockpit/tprf/input/v1"
_AES_KEY_LABEL = b"cockpit/tprf/aes-256/v1"
_CUSTOMER_POK_LABEL = b"cockpit/tprf/customer-key-pok/v1"
_MAX_INPUT = (1 << 16) - 1


def make_input(tenant_id: str, key_id: str, key_version: int, nonce: bytes) -> bytes:
    """Unambiguous PRF input: every field is length-prefixed, the version is a uint64.

    Length prefixes make the encoding injective, so ("ab", "c") and ("a", "bc") can
    never collide; the label pins the format version.
    """
    if isinstance(key_version, bool) or not 0 <= key_version < 1 << 64:
        raise InvalidParameters("key_version must be an unsigned 64-bit integer")
    fields = (
        _INPUT_LABEL,
        tenant_id.encode("utf-8"),
        key_id.encode("utf-8"),
        key_version.to_bytes(8, "big"),
        bytes(nonce),
    )
    encoded = b"".join(length_prefixed(f) for f in fields)
    if len(encoded) > _MAX_INPUT:
        raise InvalidParameters("PRF input longer than 65535 bytes")
    return encoded


@dataclass(frozen=True)
class PartialEvaluation:
    """One node's answer: Z_i per input and a single (batched) DLEQ proof."""

    node_id: int
    elements: tuple[Element, ...]
    proof: bytes


def hash_inputs(inputs: Sequence[bytes]) -> list[Element]:
    """H(x) for each input, exactly as the nodes compute it (see :func:`verify_partial_hashed`)."""
    return _input_elements(inputs)


def _input_elements(inputs: Sequence[bytes]) -> list[Element]:
    if not inputs:
        raise InvalidParameters("at least one PRF input is required")
    for x in inputs:
        if len(x) > _MAX_INPUT:
            raise InvalidParameters("PRF input longer than 65535 bytes")
    return [input_element(x, TPRF_CONTEXT) for x in inputs]


def _evaluate(node_id: int, secret: int, inputs: Sequence[bytes]) -> PartialEvaluation:
    hashed = _input_elements(inputs)
    evaluated = [G.scalar_mult(secret, h) for h in hashed]
    public = G.scalar_base_mult(secret)
    proof = generate_proof(secret, G.generator, public, hashed, evaluated, TPRF_CONTEXT)
    return PartialEvaluation(node_id, tuple(evaluated), proof.to_bytes())


def _require_ristretto(share: KeyShare) -> None:
    if share.group is not G:
        raise InvalidParameters("the threshold PRF needs a ristretto255 key share")


def evaluate_partial(share: KeyShare, x: bytes) -> PartialEvaluation:
    """Node side: Z_i = k_i·H(x) with a DLEQ proof against Y_i."""
    return evaluate_partial_batch(share, [x])


def evaluate_partial_batch(share: KeyShare, inputs: Sequence[bytes]) -> PartialEvaluation:
    """Node side, many inputs in one request: one batched DLEQ proof for all of them."""
    _require_ristretto(share)
    return _evaluate(share.participant_id, share.secret, inputs)


def evaluate_customer(secret: int, inputs: Sequence[bytes]) -> PartialEvaluation:
    """Customer node side: same as a partial, with the customer's whole key part."""
    return _evaluate(CUSTOMER_NODE_ID, secret, inputs)


def verify_partial(partial: PartialEvaluation, public_share: Element, x: bytes) -> None:
    """Coordinator side: raise :class:`InvalidProof` naming the node if the proof fails."""
    verify_partial_batch(partial, public_share, [x])


def verify_partial_batch(partial: PartialEvaluation, public_share: Element, inputs: Sequence[bytes]) -> None:
    """Batched verification of one node's answer for ``inputs`` (same order)."""
    verify_partial_hashed(partial, public_share, _input_elements(inputs))


def verify_partial_hashed(
    partial: PartialEvaluation, public_share: Element, hashed: Sequence[Element]
) -> None:
    """:func:`verify_partial_batch` with the inputs already hashed by :func:`hash_inputs`.

    Hashing is the same for every node's partial, so a coordinator that checks t
    partials of one batch hashes the inputs once; each proof is still checked in full.
    """
    if not hashed:
        raise InvalidParameters("at least one PRF input is required")
    try:
        if len(partial.elements) != len(hashed):
            raise InvalidEncoding("wrong number of evaluated elements")
        evaluated = [G.decode_element(z) for z in partial.elements]
        proof = Proof.from_bytes(partial.proof)
        public = G.decode_element(public_share)
    except InvalidEncoding as exc:
        raise InvalidProof(partial.node_id, f"malformed evaluation ({exc})") from exc
    if not verify_proof(G.generator, public, hashed, evaluated, proof, TPRF_CONTEXT):
        raise InvalidProof(partial.node_id, "DLEQ proof does not verify")


def _verified_points(
    partials: Sequence[PartialEvaluation],
    public_shares: Mapping[int, Element],
    inputs: Sequence[bytes],
    threshold: int,
) -> dict[int, tuple[Element, ...]]:
    ids = [p.node_id for p in partials]
    if len(set(ids)) != len(ids):
        raise InvalidParameters("duplicate node id among partial evaluations")
    if len(partials) < threshold:
        raise NotEnoughShares(len(partials), threshold)
    bad: list[int] = []
    hashed = _input_elements(inputs)
    for partial in partials:
        public = public_shares.get(partial.node_id)
        try:
            if public is None:
                raise InvalidProof(partial.node_id, "unknown node")
            verify_partial_hashed(partial, public, hashed)
        except InvalidProof:
            bad.append(partial.node_id)
    if bad:
        raise InvalidProof(bad)
    return {p.node_id: p.elements for p in partials}


def combine_batch(
    partials: Sequence[PartialEvaluation],
    public_shares: Mapping[int, Element],
    inputs: Sequence[bytes],
    threshold: int,
) -> list[Element]:
    """Verify every partial (all culprits reported at once), then Z = Σ λ_i·Z_i per input."""
    return interpolate_batch_in_exponent(G, _verified_points(partials, public_shares, inputs, threshold))


def combine(
    partials: Sequence[PartialEvaluation],
    public_shares: Mapping[int, Element],
    x: bytes,
    threshold: int,
) -> Element:
    """Single-input :func:`combine_batch`: returns Z = k·H(x)."""
    return combine_batch(partials, public_shares, [x], threshold)[0]


def composed_public_key(customer_public_key: Element, provider_public_key: Element) -> Element:
    """Public key of k = k_customer + k_provider."""
    return G.add(G.decode_element(customer_public_key), G.decode_element(provider_public_key))


def combine_composed(
    customer: PartialEvaluation,
    customer_public_key: Element,
    partials: Sequence[PartialEvaluation],
    public_shares: Mapping[int, Element],
    inputs: Sequence[bytes],
    threshold: int,
) -> list[Element]:
    """Z = Z_customer + Z_provider per input; both halves are verified first."""
    if customer.node_id != CUSTOMER_NODE_ID:
        raise InvalidParameters("customer evaluation must use CUSTOMER_NODE_ID")
    verify_partial_batch(customer, customer_public_key, inputs)
    provider = combine_batch(partials, public_shares, inputs, threshold)
    return [G.add(zc, zp) for zc, zp in zip(customer.elements, provider, strict=True)]


def new_customer_key() -> int:
    """Customer node side: a fresh, uniformly random, non-zero key part k_customer."""
    return random_nonzero_scalar()


def _customer_challenge(public: Element, commitment: Element, context: bytes) -> int:
    h = hashlib.sha512()
    for part in (_CUSTOMER_POK_LABEL, context, public, commitment):
        h.update(length_prefixed(part))
    return scalar_from_wide_bytes(h.digest())


def customer_key_proof(secret: int, context: bytes) -> bytes:
    """Schnorr proof of knowledge of k_customer for Y_c = k_customer·G, bound to ``context``.

    ``context`` is the key id: a proof made for one key cannot be replayed for another.
    The output is R || μ (64 bytes) with μ = r + c·k and c = H(label, context, Y_c, R).
    """
    if not 0 < secret < G.order:
        raise InvalidParameters("customer key part must be a non-zero scalar")
    public = G.scalar_base_mult(secret)
    nonce = random_nonzero_scalar()
    commitment = G.scalar_base_mult(nonce)
    mu = (nonce + _customer_challenge(public, commitment, context) * secret) % G.order
    return commitment + encode_scalar(mu)


def verify_customer_key_proof(public: Element, proof: bytes, context: bytes) -> Element:
    """Check a :func:`customer_key_proof`; returns the validated Y_c or raises :class:`InvalidProof`."""
    try:
        if len(proof) != 64:
            raise InvalidEncoding("proof must be 64 bytes")
        y = G.decode_element(public)
        commitment = G.decode_element(proof[:32])
        mu = decode_scalar(proof[32:])
    except InvalidEncoding as exc:
        raise InvalidProof(CUSTOMER_NODE_ID, f"malformed customer key proof ({exc})") from exc
    c = _customer_challenge(y, commitment, context)
    if G.scalar_base_mult(mu) != G.add(commitment, G.scalar_mult(c, y)):
        raise InvalidProof(CUSTOMER_NODE_ID, "customer key proof does not verify")
    return y


def add_customer_part(
    customer: PartialEvaluation,
    customer_public_key: Element,
    provider: Sequence[Element],
    inputs: Sequence[bytes],
) -> list[Element]:
    """Z = Z_customer + Z_provider for an already combined (and verified) provider part.

    Like :func:`combine_composed`, for callers that verified and interpolated the
    provider partials as they arrived; the customer's DLEQ proof is checked here.
    """
    return add_customer_part_hashed(customer, customer_public_key, provider, _input_elements(inputs))


def add_customer_part_hashed(
    customer: PartialEvaluation,
    customer_public_key: Element,
    provider: Sequence[Element],
    hashed: Sequence[Element],
) -> list[Element]:
    """:func:`add_customer_part` with the inputs already hashed by :func:`hash_inputs`."""
    if customer.node_id != CUSTOMER_NODE_ID:
        raise InvalidParameters("customer evaluation must use CUSTOMER_NODE_ID")
    if len(provider) != len(hashed):
        raise InvalidParameters("one provider element per input is required")
    verify_partial_hashed(customer, customer_public_key, hashed)
    return [G.add(zc, zp) for zc, zp in zip(customer.elements, provider, strict=True)]


def prf_output(x: bytes, z: Element) -> bytes:
    """The 64-byte PRF value; identical to RFC 9497 VOPRF ``Evaluate(k, x)``."""
    return finalize_hash(x, z)


def derive_aes_key(x: bytes, z: Element) -> bytes:
    """AES-256 key for the message bound to x: HKDF-SHA256(IKM = PRF(x), info ⊇ x).

    The IKM already hashes (x, Z) with length prefixes; x is repeated in ``info`` with a
    versioned label so a key can never be confused across inputs or with other uses of
    the same PRF value.
    """
    ikm = prf_output(x, G.decode_element(z))
    info = length_prefixed(_AES_KEY_LABEL) + length_prefixed(x)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(ikm)
