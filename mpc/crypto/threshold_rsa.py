"""Threshold RSA decryption with a replicated additive sharing of d.

Why this construction: it needs no trusted setup beyond one dealing, no safe primes
and no interaction between nodes; with the small n used here (3-7) the number of share
pieces stays small. For t-of-n, every maximal unqualified set A (|A| = t-1) gets one
piece r_A and Σ_A r_A = d over the integers; r_A goes to every node *not* in A.

* Any t nodes Q cover every A (Q ⊄ A because |Q| > |A|), so together they hold all r_A;
  :func:`assign` picks one holder per piece and the partials multiply to c^d mod N.
* Any t-1 nodes U miss every r_A with A ⊇ U. All pieces but one are uniform in
  [0, 2^(|N|+κ)) and the last is d - Σ(others), so the missing pieces hide d
  statistically (distance ≤ 2^-κ, κ = 128 by default). Sharing over the integers, not
  mod φ(N), keeps nodes from learning anything about φ(N) from the piece sizes.
* The last piece is negative; a node whose exponent sum is negative uses c^-1 mod N.

The dealer (:func:`deal`) sees d. It must run in a short-lived trusted worker that
imports the RSA key, deals, ships each node its pieces over an encrypted channel, and
then deletes the private key and every piece (Python cannot zeroise memory, so the
worker process should exit). Nodes never see d, and no single node holds all pieces.

Output is the raw RSA result m = c^d mod N; OAEP decoding is the caller's job.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from math import comb

import gmpy2
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import InvalidParameters, MpcError, NotEnoughShares, VerificationFailed

Label = tuple[int, ...]
"""A piece label: the sorted ids of the unqualified set A that does *not* hold r_A."""

MAX_PIECES = 4096


@dataclass(frozen=True)
class RsaPublicParams:
    """Public description of a dealt key, held by the coordinator."""

    modulus: int
    public_exponent: int
    threshold: int
    node_ids: tuple[int, ...]
    labels: tuple[Label, ...]

    @property
    def byte_length(self) -> int:
        return (self.modulus.bit_length() + 7) // 8

    def holders(self, label: Label) -> tuple[int, ...]:
        """Nodes that hold r_label: everyone outside the label's set."""
        return tuple(i for i in self.node_ids if i not in label)


@dataclass(frozen=True, repr=False)
class RsaNodeShare:
    """What one node stores: its pieces r_A (secret) plus public parameters."""

    node_id: int
    modulus: int
    public_exponent: int
    pieces: Mapping[Label, int] = field(repr=False)

    def __repr__(self) -> str:
        return f"RsaNodeShare(node_id={self.node_id}, pieces={len(self.pieces)}, values=<hidden>)"


@dataclass(frozen=True)
class RsaPartial:
    """A node's answer: c^(Σ r_A over ``labels``) mod N."""

    node_id: int
    labels: tuple[Label, ...]
    value: int


def _labels(node_ids: Sequence[int], threshold: int) -> tuple[Label, ...]:
    return tuple(combinations(sorted(node_ids), threshold - 1))


def deal(
    private_key: rsa.RSAPrivateKey, threshold: int, n: int, *, statistical_security: int = 128
) -> tuple[RsaPublicParams, list[RsaNodeShare]]:
    """Split d into replicated additive pieces for nodes 1..n (run in a trusted worker)."""
    if not 2 <= threshold <= n:
        raise InvalidParameters("threshold RSA needs 2 <= t <= n")
    if comb(n, threshold - 1) > MAX_PIECES:
        raise InvalidParameters("too many pieces for this (t, n)")
    if statistical_security < 64:
        raise InvalidParameters("statistical security parameter too small")
    numbers = private_key.private_numbers()
    modulus, d = numbers.public_numbers.n, numbers.d
    node_ids = tuple(range(1, n + 1))
    labels = _labels(node_ids, threshold)
    bound = 1 << (modulus.bit_length() + statistical_security)
    values = [secrets.randbelow(bound) for _ in labels[:-1]]
    values.append(d - sum(values))
    by_label = dict(zip(labels, values, strict=True))
    params = RsaPublicParams(modulus, numbers.public_numbers.e, threshold, node_ids, labels)
    shares = [
        RsaNodeShare(i, modulus, params.public_exponent, {a: v for a, v in by_label.items() if i not in a})
        for i in node_ids
    ]
    return params, shares


def assign(params: RsaPublicParams, quorum: Sequence[int]) -> dict[int, tuple[Label, ...]]:
    """Coordinator: give each piece to one quorum member that holds it, balancing load."""
    members = sorted(set(quorum))
    if len(members) != len(quorum) or not set(members) <= set(params.node_ids):
        raise InvalidParameters("quorum must list distinct known node ids")
    if len(members) < params.threshold:
        raise NotEnoughShares(len(members), params.threshold)
    load: dict[int, list[Label]] = {i: [] for i in members}
    for label in params.labels:
        candidates = [i for i in members if i not in label]
        chosen = min(candidates, key=lambda i: (len(load[i]), i))
        load[chosen].append(label)
    return {i: tuple(labels) for i, labels in load.items()}


def _check_ciphertext(ciphertext: int, modulus: int) -> None:
    if not 0 <= ciphertext < modulus:
        raise InvalidParameters("ciphertext representative out of range")


def _signed_powmod(base: int, exponent: int, modulus: int) -> int:
    """base^exponent mod N for any sign of exponent, side-channel-hardened for the exponent.

    ``gmpy2.powmod_sec`` (GMP's mpz_powm_sec) needs a positive exponent and odd modulus;
    a negative exponent is handled as (base^-1)^|exponent|.
    """
    if exponent == 0:
        return 1 % modulus
    if exponent < 0:
        try:
            base = int(gmpy2.invert(base, modulus))
        except ZeroDivisionError as exc:
            raise MpcError("ciphertext is not invertible modulo N") from exc
        exponent = -exponent
    return int(gmpy2.powmod_sec(base, exponent, modulus))


def partial_decrypt(share: RsaNodeShare, ciphertext: int, labels: Sequence[Label]) -> RsaPartial:
    """Node side: c^(Σ r_A for the assigned labels) mod N."""
    _check_ciphertext(ciphertext, share.modulus)
    wanted = tuple(tuple(label) for label in labels)
    if len(set(wanted)) != len(wanted):
        raise InvalidParameters("duplicate label in assignment")
    missing = [a for a in wanted if a not in share.pieces]
    if missing:
        raise InvalidParameters(f"node {share.node_id} does not hold {len(missing)} piece(s)")
    exponent = sum(share.pieces[a] for a in wanted)
    return RsaPartial(share.node_id, wanted, _signed_powmod(ciphertext, exponent, share.modulus))


def combine(partials: Sequence[RsaPartial], modulus: int, *, labels: Sequence[Label] | None = None) -> int:
    """Coordinator: Π partials mod N; with ``labels``, also check exact coverage."""
    if labels is not None:
        used = [a for p in partials for a in p.labels]
        if len(used) != len(set(used)) or set(used) != {tuple(a) for a in labels}:
            raise InvalidParameters("partials must cover every piece exactly once")
    result = 1
    for partial in partials:
        result = result * partial.value % modulus
    return result


def check(m: int, c: int, e: int, n: int) -> bool:
    """Re-encryption check m^e ≡ c (mod N): catches any corrupted partial."""
    return 0 <= m < n and pow(m, e, n) == c % n


def decrypt(params: RsaPublicParams, partials: Sequence[RsaPartial], ciphertext: int) -> bytes:
    """Combine, verify by re-encryption, and return m as a k-byte big-endian string."""
    _check_ciphertext(ciphertext, params.modulus)
    m = combine(partials, params.modulus, labels=params.labels)
    if not check(m, ciphertext, params.public_exponent, params.modulus):
        raise VerificationFailed("re-encryption check failed: a partial is wrong")
    return m.to_bytes(params.byte_length, "big")


def ciphertext_to_int(ciphertext: bytes, params: RsaPublicParams) -> int:
    """OS2IP with the RFC 8017 length and range checks."""
    if len(ciphertext) != params.byte_length:
        raise InvalidParameters("ciphertext length does not match the modulus")
    value = int.from_bytes(ciphertext, "big")
    _check_ciphertext(value, params.modulus)
    return value
