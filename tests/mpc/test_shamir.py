"""Shamir sharing, Feldman commitments and Lagrange interpolation."""

from __future__ import annotations

import itertools
import random

import pytest

from mpc.crypto.errors import InvalidParameters, NotEnoughShares
from mpc.crypto.group import ED25519, ORDER, RISTRETTO255, PrimeOrderGroup, random_scalar
from mpc.crypto.shamir import (
    Polynomial,
    Share,
    feldman_commit,
    interpolate_in_exponent,
    lagrange_coefficient,
    lagrange_coefficients,
    public_share,
    random_polynomial,
    reconstruct,
    shares_from_polynomial,
    split,
    trusted_dealer_keygen,
    verify_share,
)

GROUPS = [RISTRETTO255, ED25519]


@pytest.mark.parametrize(("t", "n"), [(1, 1), (1, 3), (2, 3), (3, 3), (3, 5), (4, 7)])
def test_any_t_shares_reconstruct_the_secret(t: int, n: int) -> None:
    for secret in (0, 1, ORDER - 1, random_scalar()):
        shares = split(secret, t, n)
        for subset in itertools.combinations(shares, t):
            assert reconstruct(list(subset)) == secret
        shuffled = random.sample(shares, n)
        assert reconstruct(shuffled) == secret


def test_fewer_than_t_shares_do_not_reveal_the_secret() -> None:
    secret = 424242
    shares = split(secret, 3, 5)
    assert all(reconstruct(pair) != secret for pair in itertools.combinations(shares, 2))
    with pytest.raises(NotEnoughShares):
        reconstruct(shares[:2], threshold=3)


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_feldman_commitments_accept_good_shares_and_reject_tampered_ones(
    group: PrimeOrderGroup,
) -> None:
    polynomial = random_polynomial(99, 3)
    commitments = feldman_commit(group, polynomial)
    for share in shares_from_polynomial(polynomial, [1, 2, 3, 4]):
        assert verify_share(group, share, commitments)
        assert not verify_share(group, Share(share.index, share.value + 1), commitments)
        assert public_share(group, share.index, commitments) == group.scalar_base_mult(share.value)


def test_lagrange_coefficients_sum_to_one_and_match_the_rfc_definition() -> None:
    coefficients = lagrange_coefficients([1, 3])
    assert sum(coefficients.values()) % ORDER == 1
    # λ_1 over {1,3} = 3 / (3 - 1) = 3/2; λ_3 = 1 / (1 - 3) = -1/2
    assert coefficients[1] * 2 % ORDER == 3
    assert coefficients[3] * 2 % ORDER == ORDER - 1


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_interpolation_in_the_exponent_recovers_secret_times_base(group: PrimeOrderGroup) -> None:
    secret = 123456789
    shares = split(secret, 2, 3)
    points = {s.index: group.scalar_base_mult(s.value) for s in shares[1:]}
    assert interpolate_in_exponent(group, points) == group.scalar_base_mult(secret)


def test_invalid_ids_and_thresholds_are_refused() -> None:
    with pytest.raises(InvalidParameters):
        split(1, 4, 3)
    with pytest.raises(InvalidParameters):
        split(1, 0, 3)
    with pytest.raises(InvalidParameters):
        lagrange_coefficient(1, [1, 1, 2])
    with pytest.raises(InvalidParameters):
        lagrange_coefficient(4, [1, 2])
    with pytest.raises(InvalidParameters):
        shares_from_polynomial(Polynomial((1, 2)), [0, 1])


def test_reprs_never_show_secret_values() -> None:
    secret = 0xDEADBEEFCAFE
    share = Share(1, secret)
    polynomial = Polynomial((secret, secret + 1))
    key_share = trusted_dealer_keygen(RISTRETTO255, 2, 3, secret=secret)[0]
    for text in (repr(share), repr(polynomial), repr(key_share), str(key_share)):
        assert str(secret) not in text
        assert hex(secret)[2:] not in text.lower()
        assert str(key_share.secret) not in text
        assert "hidden" in text


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_trusted_dealer_key_shares_are_consistent(group: PrimeOrderGroup) -> None:
    shares = trusted_dealer_keygen(group, 2, 3, secret=77)
    assert {s.public_key for s in shares} == {group.scalar_base_mult(77)}
    for s in shares:
        assert s.public_share == group.scalar_base_mult(s.secret)
        assert s.participant_ids == (1, 2, 3)
