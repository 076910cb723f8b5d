"""Dealerless key generation (joint Feldman / Pedersen DKG) and proactive refresh.

Why dealerless: the tenant key k must never exist in one place, not even at creation.
Every participant i acts as a dealer of a random polynomial f_i of degree t-1; the key
is k = Σ_i f_i(0), which nobody knows, and participant j's share is x_j = Σ_i f_i(j).

The protocol is written as pure functions, one per round, so that node processes can
wrap them with any transport:

1. :func:`deal` — dealer i samples f_i, broadcasts Feldman commitments C_{i,k} plus a
   Schnorr proof of knowledge of f_i(0) (as in FROST's KeyGen, stops rogue-key attacks
   and replays across sessions), and sends f_i(j) privately to each j.
2. :func:`verify_deals` — recipient j checks every broadcast and its private share;
   any failure raises :class:`DealerMisbehaved` naming *all* bad dealers, and the run
   aborts (nobody finalises, so no partial key exists).
3. :func:`finalize` — x_j = Σ_i f_i(j); Y = Σ_i C_{i,0}; Y_m for every m from the
   combined commitments.

Assumptions (documented for the callers): private shares travel over authenticated,
encrypted channels; broadcasts go over a reliable broadcast (every participant must see
the same commitments; compare :func:`broadcast_digest` to check).

Proactive refresh (:func:`deal_refresh` / :func:`finalize_refresh`) is the same dance
with constant term 0: the key is unchanged, every share moves, and shares from before
the refresh cannot be combined with shares after it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .errors import DealerMisbehaved, InvalidEncoding, InvalidParameters
from .group import (
    ORDER,
    Element,
    PrimeOrderGroup,
    decode_scalar,
    encode_scalar,
    random_nonzero_scalar,
    scalar_from_wide_bytes,
)
from .shamir import (
    KeyShare,
    Polynomial,
    Share,
    check_participant_ids,
    check_threshold,
    feldman_commit,
    key_shares_from_commitments,
    random_polynomial,
    verify_share,
)

_POK_DST = b"cockpit-mpc-dkg-pok-v1"


@dataclass(frozen=True)
class DkgConfig:
    """Parameters every participant must agree on before round 1."""

    group: PrimeOrderGroup
    threshold: int
    participant_ids: tuple[int, ...]
    session_id: bytes

    def __post_init__(self) -> None:
        ids = check_participant_ids(self.participant_ids)
        object.__setattr__(self, "participant_ids", tuple(sorted(ids)))
        check_threshold(self.threshold, len(ids))
        if not self.session_id:
            raise InvalidParameters("a unique, non-empty session id is required")

    def require_participant(self, participant_id: int) -> None:
        if participant_id not in self.participant_ids:
            raise InvalidParameters(f"{participant_id} is not a participant")


@dataclass(frozen=True)
class DealerBroadcast:
    """Round-1 public message of one dealer (sent to everyone)."""

    dealer_id: int
    commitments: tuple[Element, ...]
    proof_of_knowledge: bytes | None = None  # R || μ; None in a refresh (constant is 0)


@dataclass(frozen=True, repr=False)
class PrivateShare:
    """Round-1 private message f_dealer(recipient); must travel encrypted."""

    dealer_id: int
    recipient_id: int
    value: int = field(repr=False)

    def __repr__(self) -> str:
        return f"PrivateShare(dealer_id={self.dealer_id}, recipient_id={self.recipient_id})"


@dataclass(frozen=True, repr=False)
class Deal:
    """Everything dealer i produces in round 1: one broadcast, one share per recipient."""

    broadcast: DealerBroadcast
    shares: Mapping[int, PrivateShare]

    def __repr__(self) -> str:
        return f"Deal(dealer_id={self.broadcast.dealer_id}, recipients={sorted(self.shares)})"


# -- proof of knowledge of the constant term ----------------------------------------


def _pok_challenge(config: DkgConfig, dealer_id: int, c0: Element, r: Element) -> int:
    h = hashlib.sha512()
    for part in (_POK_DST, config.group.name.encode(), config.session_id):
        h.update(len(part).to_bytes(2, "big") + part)
    h.update(encode_scalar(dealer_id) + c0 + r)
    return scalar_from_wide_bytes(h.digest())


def _prove_constant(config: DkgConfig, dealer_id: int, a0: int, c0: Element) -> bytes:
    nonce = random_nonzero_scalar()
    r = config.group.scalar_base_mult(nonce)
    mu = nonce + a0 * _pok_challenge(config, dealer_id, c0, r)
    return r + encode_scalar(mu)


def _check_constant_proof(config: DkgConfig, broadcast: DealerBroadcast) -> bool:
    proof = broadcast.proof_of_knowledge
    if proof is None or len(proof) != 64:
        return False
    group, c0 = config.group, broadcast.commitments[0]
    r, mu = group.decode_element(proof[:32]), decode_scalar(proof[32:])
    c = _pok_challenge(config, broadcast.dealer_id, c0, r)
    return group.scalar_base_mult(mu) == group.add(r, group.scalar_mult(c, c0))


# -- round 1 -----------------------------------------------------------------------------


def _deal_polynomial(config: DkgConfig, dealer_id: int, polynomial: Polynomial) -> Deal:
    commitments = feldman_commit(config.group, polynomial)
    shares = {j: PrivateShare(dealer_id, j, polynomial.evaluate(j)) for j in config.participant_ids}
    return Deal(DealerBroadcast(dealer_id, commitments), shares)


def deal(config: DkgConfig, dealer_id: int) -> Deal:
    """Round 1 of key generation for dealer ``dealer_id``."""
    config.require_participant(dealer_id)
    polynomial = random_polynomial(random_nonzero_scalar(), config.threshold)
    result = _deal_polynomial(config, dealer_id, polynomial)
    c0 = result.broadcast.commitments[0]
    proof = _prove_constant(config, dealer_id, polynomial.coefficients[0], c0)
    broadcast = DealerBroadcast(dealer_id, result.broadcast.commitments, proof)
    return Deal(broadcast, result.shares)


# -- round 2 -----------------------------------------------------------------------------


def _broadcast_problem(config: DkgConfig, broadcast: DealerBroadcast, refresh: bool) -> bool:
    """True if the broadcast is malformed (wrong degree, bad encoding, bad constant)."""
    group = config.group
    if len(broadcast.commitments) != config.threshold:
        return True
    try:
        c0 = group.decode_element(broadcast.commitments[0], allow_identity=refresh)
        for c in broadcast.commitments[1:]:
            group.decode_element(c, allow_identity=True)
        if refresh:
            return not group.is_identity(c0) or broadcast.proof_of_knowledge is not None
        return not _check_constant_proof(config, broadcast)
    except InvalidEncoding:
        return True


def _index_by_dealer(
    config: DkgConfig, broadcasts: Iterable[DealerBroadcast], shares: Iterable[PrivateShare]
) -> tuple[dict[int, DealerBroadcast], dict[int, PrivateShare], set[int]]:
    by_dealer: dict[int, DealerBroadcast] = {}
    received: dict[int, PrivateShare] = {}
    bad: set[int] = set()
    for b in broadcasts:
        if b.dealer_id in by_dealer or b.dealer_id not in config.participant_ids:
            bad.add(b.dealer_id)
        by_dealer[b.dealer_id] = b
    for s in shares:
        if s.dealer_id in received or s.dealer_id not in config.participant_ids:
            bad.add(s.dealer_id)
        received[s.dealer_id] = s
    return by_dealer, received, bad


def _dealer_ok(
    config: DkgConfig,
    recipient_id: int,
    broadcast: DealerBroadcast | None,
    share: PrivateShare | None,
    refresh: bool,
) -> bool:
    """One dealer's messages to ``recipient_id`` are present, well formed and consistent."""
    if broadcast is None or share is None or share.recipient_id != recipient_id:
        return False
    if _broadcast_problem(config, broadcast, refresh):
        return False
    return verify_share(config.group, Share(recipient_id, share.value), broadcast.commitments)


def _verify(
    config: DkgConfig,
    recipient_id: int,
    broadcasts: Iterable[DealerBroadcast],
    shares: Iterable[PrivateShare],
    refresh: bool,
) -> tuple[dict[int, DealerBroadcast], dict[int, PrivateShare]]:
    """Shared round-2 logic; returns the verified broadcasts and shares by dealer."""
    config.require_participant(recipient_id)
    by_dealer, received, bad = _index_by_dealer(config, broadcasts, shares)
    for dealer in config.participant_ids:
        b, s = by_dealer.get(dealer), received.get(dealer)
        if not _dealer_ok(config, recipient_id, b, s, refresh):
            bad.add(dealer)
    if bad:
        raise DealerMisbehaved(bad)
    return by_dealer, received


def verify_deals(
    config: DkgConfig,
    recipient_id: int,
    broadcasts: Iterable[DealerBroadcast],
    shares: Iterable[PrivateShare],
) -> None:
    """Round 2: check every dealer's broadcast and the share it sent ``recipient_id``.

    Raises :class:`DealerMisbehaved` with every offending dealer id (missing messages
    count as misbehaviour); on success returns None and the caller may finalise.
    """
    _verify(config, recipient_id, broadcasts, shares, refresh=False)


# -- round 3 -----------------------------------------------------------------------------


def _combine_commitments(
    group: PrimeOrderGroup, commitment_lists: Iterable[Sequence[Element]], threshold: int
) -> tuple[Element, ...]:
    lists = list(commitment_lists)
    return tuple(group.sum(c[k] for c in lists) for k in range(threshold))


def finalize(
    config: DkgConfig,
    recipient_id: int,
    broadcasts: Iterable[DealerBroadcast],
    shares: Iterable[PrivateShare],
) -> KeyShare:
    """Round 3: verify, then x_j = Σ_i f_i(j); Y = Σ_i C_{i,0}; Y_m from commitments."""
    by_dealer, received = _verify(config, recipient_id, broadcasts, shares, refresh=False)
    combined = _combine_commitments(
        config.group, (b.commitments for b in by_dealer.values()), config.threshold
    )
    secret = sum(s.value for s in received.values()) % ORDER
    built = key_shares_from_commitments(
        config.group, config.threshold, combined, {recipient_id: secret}, config.participant_ids
    )
    return built[recipient_id]


def broadcast_digest(config: DkgConfig, broadcasts: Iterable[DealerBroadcast]) -> bytes:
    """Hash of all broadcasts; participants compare it to detect an equivocating dealer."""
    h = hashlib.sha256(b"cockpit-mpc-dkg-transcript-v1" + config.session_id)
    for b in sorted(broadcasts, key=lambda item: item.dealer_id):
        h.update(encode_scalar(b.dealer_id) + b"".join(b.commitments))
        h.update(b.proof_of_knowledge or b"")
    return h.digest()


# -- proactive refresh ---------------------------------------------------------------


def refresh_config(key_share: KeyShare, session_id: bytes) -> DkgConfig:
    """The refresh runs over the same group, threshold and participant set."""
    return DkgConfig(key_share.group, key_share.threshold, key_share.participant_ids, session_id)


def deal_refresh(key_share: KeyShare, session_id: bytes) -> Deal:
    """Refresh round 1: deal a random polynomial with f(0) = 0 (so C_0 is the identity)."""
    config = refresh_config(key_share, session_id)
    return _deal_polynomial(config, key_share.participant_id, random_polynomial(0, config.threshold))


def verify_refresh_deals(
    key_share: KeyShare,
    session_id: bytes,
    broadcasts: Iterable[DealerBroadcast],
    shares: Iterable[PrivateShare],
) -> None:
    """Refresh round 2: like :func:`verify_deals`, plus C_0 must be the identity."""
    config = refresh_config(key_share, session_id)
    _verify(config, key_share.participant_id, broadcasts, shares, refresh=True)


def finalize_refresh(
    key_share: KeyShare,
    session_id: bytes,
    broadcasts: Iterable[DealerBroadcast],
    shares: Iterable[PrivateShare],
) -> KeyShare:
    """Refresh round 3: x_j' = x_j + Σ_i δ_i(j); commitments and Y_m move accordingly."""
    config = refresh_config(key_share, session_id)
    by_dealer, received = _verify(config, key_share.participant_id, broadcasts, shares, refresh=True)
    lists = [key_share.commitments, *(b.commitments for b in by_dealer.values())]
    combined = _combine_commitments(config.group, lists, config.threshold)
    if combined[0] != key_share.public_key:  # cannot happen after the C_0 checks
        raise DealerMisbehaved(by_dealer, "refresh changed the public key")
    secret = (key_share.secret + sum(s.value for s in received.values())) % ORDER
    built = key_shares_from_commitments(
        config.group,
        config.threshold,
        combined,
        {key_share.participant_id: secret},
        config.participant_ids,
    )
    return built[key_share.participant_id]
