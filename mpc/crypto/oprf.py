"""RFC 9497 building blocks for the ristretto255-SHA512 suite.

Why implement the RFC rather than an ad-hoc DH-PRF: interoperable, reviewed domain
separation, and public test vectors (Appendix A.1.1) that pin hashing, transcripts and
proofs byte for byte. :mod:`mpc.crypto.tprf` builds the threshold PRF on top.

Implemented: expand_message_xmd (RFC 9380 §5.3.1, SHA-512), HashToGroup
(hash_to_ristretto255), HashToScalar, DeriveKeyPair (§3.2.1), OPRF Blind / BlindEvaluate
/ Finalize / Evaluate (§3.3.1), and the DLEQ proof of §2.2: GenerateProof,
ComputeCompositesFast, VerifyProof, ComputeComposites — batched, with the RFC's
"Seed-", "Composite" and "Challenge" labels. POPRF mode is not implemented.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import InvalidEncoding, InvalidInput, InvalidParameters
from .group import (
    ORDER,
    RISTRETTO255,
    Element,
    decode_scalar,
    encode_scalar,
    random_scalar,
    scalar_from_wide_bytes,
    scalar_inverse,
)

IDENTIFIER = b"ristretto255-SHA512"
MODE_OPRF = 0x00
MODE_VOPRF = 0x01
_HASH_BLOCK = 128  # SHA-512 input block size (s_in_bytes)
_HASH_OUT = 64  # SHA-512 output size (b_in_bytes, also Nh)
G = RISTRETTO255


def i2osp(value: int, length: int) -> bytes:
    """RFC 8017 I2OSP: big-endian, fixed length."""
    return value.to_bytes(length, "big")


def length_prefixed(data: bytes) -> bytes:
    """I2OSP(len(data), 2) || data, the RFC 9497 transcript framing."""
    if len(data) >= 1 << 16:
        raise InvalidParameters("transcript component longer than 65535 bytes")
    return i2osp(len(data), 2) + data


def context_string(mode: int) -> bytes:
    """CreateContextString: "OPRFV1-" || I2OSP(mode, 1) || "-" || identifier."""
    return b"OPRFV1-" + i2osp(mode, 1) + b"-" + IDENTIFIER


def expand_message_xmd(msg: bytes, dst: bytes, length: int) -> bytes:
    """RFC 9380 §5.3.1 expand_message_xmd with SHA-512."""
    ell = -(-length // _HASH_OUT)
    if ell > 255 or length > 65535 or len(dst) > 255:
        raise InvalidParameters("expand_message_xmd parameters out of range")
    dst_prime = dst + i2osp(len(dst), 1)
    msg_prime = bytes(_HASH_BLOCK) + msg + i2osp(length, 2) + b"\x00" + dst_prime
    b0 = hashlib.sha512(msg_prime).digest()
    blocks = [hashlib.sha512(b0 + b"\x01" + dst_prime).digest()]
    for i in range(2, ell + 1):
        mixed = bytes(x ^ y for x, y in zip(b0, blocks[-1], strict=True))
        blocks.append(hashlib.sha512(mixed + i2osp(i, 1) + dst_prime).digest())
    return b"".join(blocks)[:length]


def hash_to_group(msg: bytes, context: bytes) -> Element:
    """HashToGroup: hash_to_ristretto255 with DST "HashToGroup-" || contextString."""
    uniform = expand_message_xmd(msg, b"HashToGroup-" + context, 64)
    return G.from_uniform_bytes(uniform)


def hash_to_scalar(msg: bytes, context: bytes, dst: bytes | None = None) -> int:
    """HashToScalar: 64 XMD bytes, little-endian, mod L; DST defaults to "HashToScalar-"."""
    dst = b"HashToScalar-" + context if dst is None else dst
    return scalar_from_wide_bytes(expand_message_xmd(msg, dst, 64))


def derive_key_pair(seed: bytes, info: bytes, mode: int) -> tuple[int, Element]:
    """DeriveKeyPair (§3.2.1): deterministic (skS, pkS) from a 32-byte seed."""
    context = context_string(mode)
    derive_input = seed + length_prefixed(info)
    for counter in range(256):
        sk = hash_to_scalar(derive_input + i2osp(counter, 1), context, dst=b"DeriveKeyPair" + context)
        if sk != 0:
            return sk, G.scalar_base_mult(sk)
    raise InvalidParameters("DeriveKeyPairError")


def input_element(data: bytes, context: bytes) -> Element:
    """HashToGroup plus the RFC's identity check (InvalidInputError)."""
    element = hash_to_group(data, context)
    if G.is_identity(element):
        raise InvalidInput("input hashes to the identity element")
    return element


def blind(data: bytes, context: bytes, blind_scalar: int | None = None) -> tuple[int, Element]:
    """Blind (§3.3.1); ``blind_scalar`` is only for replaying test vectors."""
    r = random_scalar() if blind_scalar is None else blind_scalar
    if r % ORDER == 0:
        raise InvalidParameters("blind must be nonzero")
    return r, G.scalar_mult(r, input_element(data, context))


def blind_evaluate(sk: int, blinded_element: Element) -> Element:
    """BlindEvaluate (OPRF mode): skS · blindedElement."""
    return G.scalar_mult(sk, G.decode_element(blinded_element))


def finalize_hash(data: bytes, element: Element) -> bytes:
    """Hash(I2OSP(len(input),2)||input||I2OSP(len(E),2)||E||"Finalize"), Nh = 64."""
    transcript = length_prefixed(data) + length_prefixed(element) + b"Finalize"
    return hashlib.sha512(transcript).digest()


def finalize(data: bytes, blind_scalar: int, evaluated_element: Element) -> bytes:
    """Finalize (§3.3.1): unblind and hash."""
    unblinded = G.scalar_mult(scalar_inverse(blind_scalar), G.decode_element(evaluated_element))
    return finalize_hash(data, unblinded)


def evaluate(sk: int, data: bytes, context: bytes) -> bytes:
    """Evaluate (§3.3.1): the PRF value computed directly by a holder of skS."""
    return finalize_hash(data, G.scalar_mult(sk, input_element(data, context)))


# -- DLEQ proofs (§2.2) ------------------------------------------------------------------


@dataclass(frozen=True)
class Proof:
    """A DLEQ proof (c, s); wire format SerializeScalar(c) || SerializeScalar(s)."""

    c: int
    s: int

    def to_bytes(self) -> bytes:
        return encode_scalar(self.c) + encode_scalar(self.s)

    @classmethod
    def from_bytes(cls, data: bytes) -> Proof:
        if len(data) != 64:
            raise InvalidEncoding("proof must be 64 bytes")
        return cls(decode_scalar(data[:32]), decode_scalar(data[32:]))


def _composite_weights(b: Element, cs: Sequence[Element], ds: Sequence[Element], context: bytes) -> list[int]:
    if not cs or len(cs) != len(ds):
        raise InvalidParameters("C and D must be non-empty lists of equal length")
    seed_dst = b"Seed-" + context
    seed = hashlib.sha512(length_prefixed(b) + length_prefixed(seed_dst)).digest()
    weights = []
    for i, (ci, di) in enumerate(zip(cs, ds, strict=True)):
        transcript = (
            length_prefixed(seed) + i2osp(i, 2) + length_prefixed(ci) + length_prefixed(di) + b"Composite"
        )
        weights.append(hash_to_scalar(transcript, context))
    return weights


def compute_composites(
    b: Element, cs: Sequence[Element], ds: Sequence[Element], context: bytes
) -> tuple[Element, Element]:
    """ComputeComposites (verifier side): M = Σ d_i·C_i, Z = Σ d_i·D_i."""
    weights = _composite_weights(b, cs, ds, context)
    m = G.linear_combination(zip(weights, cs, strict=True))
    z = G.linear_combination(zip(weights, ds, strict=True))
    return m, z


def compute_composites_fast(
    k: int, b: Element, cs: Sequence[Element], ds: Sequence[Element], context: bytes
) -> tuple[Element, Element]:
    """ComputeCompositesFast (prover side, knows k): Z = k·M."""
    weights = _composite_weights(b, cs, ds, context)
    m = G.linear_combination(zip(weights, cs, strict=True))
    return m, G.scalar_mult(k, m)


def _challenge(b: Element, m: Element, z: Element, t2: Element, t3: Element, context: bytes) -> int:
    transcript = b"".join(length_prefixed(x) for x in (b, m, z, t2, t3)) + b"Challenge"
    return hash_to_scalar(transcript, context)


def generate_proof(
    k: int,
    a: Element,
    b: Element,
    cs: Sequence[Element],
    ds: Sequence[Element],
    context: bytes,
    r: int | None = None,
) -> Proof:
    """GenerateProof: proves log_A(B) = log_{C_i}(D_i) = k for all i with one proof.

    ``r`` (ProofRandomScalar) is injectable only to replay the RFC test vectors.
    """
    m, z = compute_composites_fast(k, b, cs, ds, context)
    r = random_scalar() if r is None else r
    t2, t3 = G.scalar_mult(r, a), G.scalar_mult(r, m)
    c = _challenge(b, m, z, t2, t3, context)
    return Proof(c, (r - c * k) % ORDER)


def verify_proof(
    a: Element, b: Element, cs: Sequence[Element], ds: Sequence[Element], proof: Proof, context: bytes
) -> bool:
    """VerifyProof: recompute t2 = s·A + c·B, t3 = s·M + c·Z and the challenge."""
    m, z = compute_composites(b, cs, ds, context)
    t2 = G.add(G.scalar_mult(proof.s, a), G.scalar_mult(proof.c, b))
    t3 = G.add(G.scalar_mult(proof.s, m), G.scalar_mult(proof.c, z))
    return _challenge(b, m, z, t2, t3, context) == proof.c


def voprf_blind_evaluate(
    sk: int, pk: Element, blinded: Sequence[Element], r: int | None = None
) -> tuple[list[Element], Proof]:
    """VOPRF BlindEvaluate, batched: evaluated elements and one proof for all of them."""
    context = context_string(MODE_VOPRF)
    checked = [G.decode_element(x) for x in blinded]
    evaluated = [G.scalar_mult(sk, x) for x in checked]
    return evaluated, generate_proof(sk, G.generator, pk, checked, evaluated, context, r)


def voprf_finalize(
    inputs: Sequence[bytes],
    blinds: Sequence[int],
    evaluated: Sequence[Element],
    blinded: Sequence[Element],
    pk: Element,
    proof: Proof,
) -> list[bytes]:
    """VOPRF Finalize, batched: verify the proof, then unblind and hash each output."""
    context = context_string(MODE_VOPRF)
    if not verify_proof(G.generator, pk, blinded, evaluated, proof, context):
        raise InvalidInput("VOPRF proof verification failed")
    return [finalize(x, r, e) for x, r, e in zip(inputs, blinds, evaluated, strict=True)]
