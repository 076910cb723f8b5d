"""Dealerless key generation and proactive refresh, on both groups."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable

import pytest

from mpc.crypto import dkg
from mpc.crypto.dkg import Deal, DealerBroadcast, DkgConfig, PrivateShare
from mpc.crypto.errors import DealerMisbehaved, InvalidParameters
from mpc.crypto.group import ED25519, ORDER, RISTRETTO255, PrimeOrderGroup
from mpc.crypto.shamir import KeyShare, Share, reconstruct

GROUPS = [RISTRETTO255, ED25519]
Tamper = Callable[[dict[int, Deal]], None]


def _inbox(deals: dict[int, Deal], recipient: int) -> list[PrivateShare]:
    return [d.shares[recipient] for d in deals.values()]


def _broadcasts(deals: dict[int, Deal]) -> list[DealerBroadcast]:
    return [d.broadcast for d in deals.values()]


def run_dkg(group: PrimeOrderGroup, t: int, n: int, tamper: Tamper | None = None) -> dict[int, KeyShare]:
    config = DkgConfig(group, t, tuple(range(1, n + 1)), b"session-1")
    deals = {i: dkg.deal(config, i) for i in config.participant_ids}
    if tamper:
        tamper(deals)
    return {j: dkg.finalize(config, j, _broadcasts(deals), _inbox(deals, j)) for j in config.participant_ids}


def run_refresh(shares: dict[int, KeyShare], session: bytes = b"refresh-1") -> dict[int, KeyShare]:
    deals = {i: dkg.deal_refresh(s, session) for i, s in shares.items()}
    return {
        j: dkg.finalize_refresh(s, session, _broadcasts(deals), _inbox(deals, j)) for j, s in shares.items()
    }


def _secret_of(shares: list[KeyShare]) -> int:
    return reconstruct([Share(s.participant_id, s.secret) for s in shares])


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_every_participant_agrees_on_the_public_key_and_verification_shares(
    group: PrimeOrderGroup,
) -> None:
    shares = run_dkg(group, 2, 3)
    assert len({s.public_key for s in shares.values()}) == 1
    assert len({tuple(sorted(s.public_shares.items())) for s in shares.values()}) == 1
    for j, share in shares.items():
        assert share.public_shares[j] == group.scalar_base_mult(share.secret)


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_any_two_of_three_shares_reconstruct_the_key_behind_the_public_key(
    group: PrimeOrderGroup,
) -> None:
    shares = run_dkg(group, 2, 3)
    public_key = shares[1].public_key
    for pair in itertools.combinations(shares.values(), 2):
        assert group.scalar_base_mult(_secret_of(list(pair))) == public_key


def test_three_of_five_generation_works() -> None:
    shares = run_dkg(RISTRETTO255, 3, 5)
    key = _secret_of([shares[1], shares[4], shares[5]])
    assert RISTRETTO255.scalar_base_mult(key) == shares[2].public_key
    assert _secret_of([shares[1], shares[4]]) != key


def test_a_tampered_share_aborts_generation_and_names_the_dealer() -> None:
    def tamper(deals: dict[int, Deal]) -> None:
        old = deals[2].shares[1]
        shares = dict(deals[2].shares)
        shares[1] = PrivateShare(2, 1, (old.value + 1) % ORDER)
        deals[2] = Deal(deals[2].broadcast, shares)

    with pytest.raises(DealerMisbehaved) as excinfo:
        run_dkg(RISTRETTO255, 2, 3, tamper)
    assert excinfo.value.dealer_ids == (2,)


def test_all_misbehaving_dealers_are_named_at_once() -> None:
    def tamper(deals: dict[int, Deal]) -> None:
        for i in (1, 3):
            broadcast = deals[i].broadcast
            short = dataclasses.replace(broadcast, commitments=broadcast.commitments[:1])
            deals[i] = Deal(short, deals[i].shares)

    with pytest.raises(DealerMisbehaved) as excinfo:
        run_dkg(ED25519, 2, 3, tamper)
    assert excinfo.value.dealer_ids == (1, 3)


def test_a_missing_dealer_counts_as_misbehaviour() -> None:
    config = DkgConfig(RISTRETTO255, 2, (1, 2, 3), b"s")
    deals = {i: dkg.deal(config, i) for i in (1, 2)}
    with pytest.raises(DealerMisbehaved) as excinfo:
        dkg.verify_deals(config, 1, _broadcasts(deals), _inbox(deals, 1))
    assert excinfo.value.dealer_ids == (3,)


def test_a_commitment_replayed_from_another_session_is_rejected() -> None:
    old = DkgConfig(RISTRETTO255, 2, (1, 2, 3), b"old-session")
    new = dataclasses.replace(old, session_id=b"new-session")
    deals = {i: dkg.deal(new, i) for i in (1, 2, 3)}
    deals[3] = dkg.deal(old, 3)  # proof of knowledge bound to the old session
    with pytest.raises(DealerMisbehaved) as excinfo:
        dkg.verify_deals(new, 1, _broadcasts(deals), _inbox(deals, 1))
    assert excinfo.value.dealer_ids == (3,)


def test_a_dealer_without_proof_of_knowledge_is_rejected() -> None:
    config = DkgConfig(ED25519, 2, (1, 2, 3), b"s")
    deals = {i: dkg.deal(config, i) for i in (1, 2, 3)}
    bare = dataclasses.replace(deals[2].broadcast, proof_of_knowledge=None)
    deals[2] = Deal(bare, deals[2].shares)
    with pytest.raises(DealerMisbehaved) as excinfo:
        dkg.verify_deals(config, 3, _broadcasts(deals), _inbox(deals, 3))
    assert excinfo.value.dealer_ids == (2,)


def test_the_broadcast_digest_exposes_an_equivocating_dealer() -> None:
    config = DkgConfig(RISTRETTO255, 2, (1, 2, 3), b"s")
    deals = {i: dkg.deal(config, i) for i in (1, 2, 3)}
    honest_view = _broadcasts(deals)
    other_view = [*honest_view[:2], dkg.deal(config, 3).broadcast]
    assert dkg.broadcast_digest(config, honest_view) == dkg.broadcast_digest(
        config, list(reversed(honest_view))
    )
    assert dkg.broadcast_digest(config, honest_view) != dkg.broadcast_digest(config, other_view)


def test_config_refuses_bad_parameters() -> None:
    with pytest.raises(InvalidParameters):
        DkgConfig(RISTRETTO255, 4, (1, 2, 3), b"s")
    with pytest.raises(InvalidParameters):
        DkgConfig(RISTRETTO255, 2, (1, 2, 2), b"s")
    with pytest.raises(InvalidParameters):
        DkgConfig(RISTRETTO255, 2, (1, 2, 3), b"")
    with pytest.raises(InvalidParameters):
        dkg.deal(DkgConfig(RISTRETTO255, 2, (1, 2, 3), b"s"), 9)


def test_deal_repr_hides_private_shares() -> None:
    config = DkgConfig(RISTRETTO255, 2, (1, 2, 3), b"s")
    deal = dkg.deal(config, 1)
    for share in deal.shares.values():
        assert str(share.value) not in repr(deal) + repr(share)


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_refresh_keeps_the_public_key_and_changes_every_share(group: PrimeOrderGroup) -> None:
    before = run_dkg(group, 2, 3)
    after = run_refresh(before)
    for j in before:
        assert after[j].public_key == before[j].public_key
        assert after[j].secret != before[j].secret
        assert after[j].public_share == group.scalar_base_mult(after[j].secret)
    assert group.scalar_base_mult(_secret_of([after[1], after[3]])) == before[1].public_key


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_old_shares_are_useless_combined_with_new_ones(group: PrimeOrderGroup) -> None:
    before = run_dkg(group, 2, 3)
    after = run_refresh(before)
    key = _secret_of([before[1], before[2]])
    assert _secret_of([before[1], after[2]]) != key
    assert _secret_of([after[1], before[3]]) != key


def test_a_refresh_dealer_with_nonzero_constant_term_is_rejected() -> None:
    shares = run_dkg(RISTRETTO255, 2, 3)
    session = b"refresh-x"
    deals = {i: dkg.deal_refresh(s, session) for i, s in shares.items()}
    # Dealer 2 cheats by dealing a fresh random polynomial (it would change the key).
    deals[2] = dkg.deal(dkg.refresh_config(shares[2], session), 2)
    with pytest.raises(DealerMisbehaved) as excinfo:
        dkg.finalize_refresh(shares[1], session, _broadcasts(deals), _inbox(deals, 1))
    assert excinfo.value.dealer_ids == (2,)


def test_two_refreshes_in_a_row_keep_the_same_key() -> None:
    shares = run_refresh(run_refresh(run_dkg(ED25519, 2, 3), b"r1"), b"r2")
    assert ED25519.scalar_base_mult(_secret_of([shares[2], shares[3]])) == shares[1].public_key
