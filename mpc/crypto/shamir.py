"""Shamir secret sharing over Z_L with Feldman commitments.

Why Feldman: every share can be checked against public commitments C_k = a_k·G, so a
participant can detect a bad share without learning anything beyond the public key.
The same commitments give each participant's public verification share
Y_j = Σ_k C_k·j^k = f(j)·G, which the threshold PRF and FROST use to blame cheaters.

Participant ids are the Shamir x-coordinates: 1-based ints (never 0: f(0) is the secret).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from math import lcm

from .errors import InvalidParameters, NotEnoughShares
from .group import ORDER, Element, PrimeOrderGroup, random_scalar, scalar_inverse


@dataclass(frozen=True, repr=False)
class Polynomial:
    """f(x) = a_0 + a_1·x + … over Z_L; ``coefficients[0]`` is the shared secret."""

    coefficients: tuple[int, ...] = field(repr=False)

    def __post_init__(self) -> None:
        if not self.coefficients:
            raise InvalidParameters("a polynomial needs at least one coefficient")
        object.__setattr__(self, "coefficients", tuple(c % ORDER for c in self.coefficients))

    def __repr__(self) -> str:
        return f"Polynomial(degree={self.degree}, coefficients=<hidden>)"

    @property
    def degree(self) -> int:
        return len(self.coefficients) - 1

    def evaluate(self, x: int) -> int:
        """f(x) mod L by Horner's rule."""
        result = 0
        for coefficient in reversed(self.coefficients):
            result = (result * x + coefficient) % ORDER
        return result


@dataclass(frozen=True, repr=False)
class Share:
    """One Shamir share (x = ``index``, y = ``value``); the value never appears in repr."""

    index: int
    value: int = field(repr=False)

    def __repr__(self) -> str:
        return f"Share(index={self.index}, value=<hidden>)"


def check_participant_ids(ids: Iterable[int]) -> tuple[int, ...]:
    """Validate ids as distinct nonzero x-coordinates below L; returns them as a tuple."""
    checked = tuple(ids)
    if not checked:
        raise InvalidParameters("no participants")
    for i in checked:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 < i < ORDER:
            raise InvalidParameters("participant ids must be ints in [1, L)")
    if len(set(checked)) != len(checked):
        raise InvalidParameters("duplicate participant id")
    return checked


def check_threshold(threshold: int, n: int) -> None:
    """1 ≤ t ≤ n, else the sharing is meaningless or unrecoverable."""
    if not 1 <= threshold <= n:
        raise InvalidParameters(f"threshold must satisfy 1 <= t <= n (t={threshold}, n={n})")


def random_polynomial(constant: int, threshold: int) -> Polynomial:
    """Random polynomial of degree t-1 with the given constant term."""
    if threshold < 1:
        raise InvalidParameters("threshold must be at least 1")
    return Polynomial((constant, *(random_scalar() for _ in range(threshold - 1))))


def shares_from_polynomial(polynomial: Polynomial, participant_ids: Iterable[int]) -> list[Share]:
    """Evaluate f at every participant id."""
    ids = check_participant_ids(participant_ids)
    return [Share(i, polynomial.evaluate(i)) for i in ids]


def split(secret: int, threshold: int, n: int) -> list[Share]:
    """Trusted-dealer split of ``secret`` into n shares for ids 1..n, any t reconstruct."""
    check_threshold(threshold, n)
    return shares_from_polynomial(random_polynomial(secret, threshold), range(1, n + 1))


def feldman_commit(group: PrimeOrderGroup, polynomial: Polynomial) -> tuple[Element, ...]:
    """Public commitments C_k = a_k·G to each coefficient."""
    return tuple(group.scalar_base_mult(a) for a in polynomial.coefficients)


def public_share(group: PrimeOrderGroup, index: int, commitments: Sequence[Element]) -> Element:
    """Y_index = Σ_k C_k·index^k = f(index)·G, computable by anyone from the commitments."""
    terms = ((pow(index, k, ORDER), c) for k, c in enumerate(commitments))
    return group.linear_combination(terms)


def verify_share(group: PrimeOrderGroup, share: Share, commitments: Sequence[Element]) -> bool:
    """Feldman check: value·G == Σ_k C_k·index^k."""
    expected = public_share(group, share.index, commitments)
    return group.scalar_base_mult(share.value) == expected


def lagrange_coefficient(index: int, indices: Iterable[int]) -> int:
    """λ_index for interpolation at x = 0 over the set ``indices`` (RFC 9591 §4.2)."""
    ids = check_participant_ids(indices)
    if index not in ids:
        raise InvalidParameters("index is not part of the interpolation set")
    numerator, denominator = 1, 1
    for j in ids:
        if j == index:
            continue
        numerator = numerator * j % ORDER
        denominator = denominator * (j - index) % ORDER
    return numerator * scalar_inverse(denominator) % ORDER


def lagrange_coefficients(indices: Iterable[int]) -> dict[int, int]:
    """λ_i for every i in the set."""
    ids = check_participant_ids(indices)
    return {i: lagrange_coefficient(i, ids) for i in ids}


def reconstruct(shares: Sequence[Share], threshold: int | None = None) -> int:
    """Interpolate f(0). Only for dealers, tests and migrations: never on a live node."""
    if threshold is not None and len(shares) < threshold:
        raise NotEnoughShares(len(shares), threshold)
    coefficients = lagrange_coefficients(s.index for s in shares)
    return sum(coefficients[s.index] * s.value for s in shares) % ORDER


def interpolate_in_exponent(group: PrimeOrderGroup, points: Mapping[int, Element]) -> Element:
    """Σ λ_i·P_i: combines per-participant group elements f(i)·X into f(0)·X."""
    coefficients = lagrange_coefficients(points)
    return group.linear_combination((coefficients[i], p) for i, p in points.items())


# Relative costs in group additions (libsodium decodes and re-encodes for each one):
# a scalar multiplication costs about as much as three and a half additions.
_ADD_COST = 1.0
_MULT_COST = 3.5


def lagrange_fractions(indices: Iterable[int]) -> tuple[dict[int, int], int]:
    """λ_i = a_i / d over the integers: numerators a_i and one positive common denominator d.

    For the small ids of a real cluster these are small: {1, 2} gives a = {1: 2, 2: -1}
    and d = 1, so Σ λ_i·P_i needs a few group additions instead of t multiplications.
    """
    ids = check_participant_ids(indices)
    numerators: dict[int, int] = {}
    denominators: dict[int, int] = {}
    for i in ids:
        numerator, denominator = 1, 1
        for j in ids:
            if j != i:
                numerator, denominator = numerator * j, denominator * (j - i)
        numerators[i], denominators[i] = numerator, denominator
    d = lcm(*(abs(den) for den in denominators.values()))
    return {i: numerators[i] * (d // denominators[i]) for i in ids}, d


def _chain_cost(m: int) -> float:
    """Additions to compute m·P by double-and-add (m ≥ 1); capped by one multiplication."""
    return min((m.bit_length() - 1 + m.bit_count() - 1) * _ADD_COST, _MULT_COST)


def _small_multiple(group: PrimeOrderGroup, m: int, point: Element) -> Element:
    """m·P for m ≥ 1: double-and-add when that is cheaper than a scalar multiplication."""
    if (m.bit_length() - 1 + m.bit_count() - 1) * _ADD_COST > _MULT_COST:
        return group.scalar_mult(m, point)
    result = point
    for bit in bin(m)[3:]:
        result = group.add(result, result)
        if bit == "1":
            result = group.add(result, point)
    return result


def interpolate_batch_in_exponent(
    group: PrimeOrderGroup, points: Mapping[int, Sequence[Element]]
) -> list[Element]:
    """:func:`interpolate_in_exponent` for many values at once: Σ_i λ_i·P_{i,k} for every k.

    Same result, computed as d⁻¹·Σ_i a_i·P_{i,k} (see :func:`lagrange_fractions`) when that
    is cheaper: small multiples by additions, at most one multiplication by d⁻¹. Public
    values only (partials that were already verified): additions are not constant time.
    """
    numerators, d = lagrange_fractions(points)
    lengths = {len(values) for values in points.values()}
    if len(lengths) != 1:
        raise InvalidParameters("every participant needs one element per value")
    fraction_cost = sum(_chain_cost(abs(a)) for a in numerators.values()) + (_MULT_COST if d != 1 else 0)
    if fraction_cost >= _MULT_COST * len(points):
        coefficients = lagrange_coefficients(points)
        return [
            group.linear_combination((coefficients[i], values[k]) for i, values in points.items())
            for k in range(lengths.pop())
        ]
    inverse = scalar_inverse(d)
    out = []
    for k in range(lengths.pop()):
        total = group.identity
        for i, a in numerators.items():
            term = _small_multiple(group, abs(a), points[i][k])
            total = group.add(total, term) if a > 0 else group.sub(total, term)
        out.append(total if d == 1 else group.scalar_mult(inverse, total))
    return out


@dataclass(frozen=True, eq=False, repr=False)
class KeyShare:
    """What one participant holds after key generation (dealerless or trusted dealer).

    ``secret`` is this participant's share x_j; everything else is public group info:
    the group public key Y, every participant's verification share Y_i and the
    combined Feldman commitments (needed to refresh and to re-derive Y_i).
    """

    group: PrimeOrderGroup
    participant_id: int
    threshold: int
    secret: int = field(repr=False)
    public_key: Element
    public_shares: Mapping[int, Element]
    commitments: tuple[Element, ...]

    def __repr__(self) -> str:
        return (
            f"KeyShare(group={self.group.name}, participant_id={self.participant_id}, "
            f"threshold={self.threshold}, n={len(self.public_shares)}, "
            f"public_key={self.public_key.hex()}, secret=<hidden>)"
        )

    @property
    def participant_ids(self) -> tuple[int, ...]:
        return tuple(sorted(self.public_shares))

    @property
    def public_share(self) -> Element:
        """This participant's own verification share Y_j = x_j·G."""
        return self.public_shares[self.participant_id]


def key_shares_from_commitments(
    group: PrimeOrderGroup,
    threshold: int,
    commitments: Sequence[Element],
    secrets_by_id: Mapping[int, int],
    participant_ids: Sequence[int],
) -> dict[int, KeyShare]:
    """Assemble :class:`KeyShare` objects from combined commitments and secret shares."""
    publics = {i: public_share(group, i, commitments) for i in participant_ids}
    return {
        i: KeyShare(group, i, threshold, secrets_by_id[i], commitments[0], publics, tuple(commitments))
        for i in secrets_by_id
    }


def trusted_dealer_keygen(
    group: PrimeOrderGroup,
    threshold: int,
    n: int,
    *,
    secret: int | None = None,
    coefficients: Sequence[int] | None = None,
) -> list[KeyShare]:
    """RFC 9591 Appendix D-style dealer keygen: for tests, vectors and imports only.

    Production keys come from :mod:`mpc.crypto.dkg`, where nobody ever sees the whole key.
    ``coefficients`` (a_1..a_{t-1}) exist so that the RFC test vectors can be replayed.
    """
    check_threshold(threshold, n)
    secret = random_scalar() if secret is None else secret
    if coefficients is None:
        polynomial = random_polynomial(secret, threshold)
    else:
        if len(coefficients) != threshold - 1:
            raise InvalidParameters("need exactly t-1 coefficients")
        polynomial = Polynomial((secret, *coefficients))
    ids = list(range(1, n + 1))
    secrets_by_id = {s.index: s.value for s in shares_from_polynomial(polynomial, ids)}
    commitments = feldman_commit(group, polynomial)
    shares = key_shares_from_commitments(group, threshold, commitments, secrets_by_id, ids)
    return [shares[i] for i in ids]
