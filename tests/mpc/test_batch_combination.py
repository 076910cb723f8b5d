"""The cheaper batch paths: Lagrange fractions, batch interpolation, verification of pre-hashed inputs.

Each fast path must give exactly what the straightforward definition gives and must
refuse exactly what it refuses.
"""

from __future__ import annotations

import dataclasses
import itertools
import os

import pytest

from mpc.crypto import dkg, tprf
from mpc.crypto.errors import InvalidParameters, InvalidProof
from mpc.crypto.group import GROUPS, ORDER, PrimeOrderGroup, random_scalar
from mpc.crypto.shamir import (
    KeyShare,
    interpolate_batch_in_exponent,
    interpolate_in_exponent,
    lagrange_coefficients,
    lagrange_fractions,
    split,
)

G = tprf.G
ALL_GROUPS = list(GROUPS.values())


@pytest.mark.parametrize(
    "ids", [(1, 2), (1, 3), (2, 3), (1, 2, 3), (2, 4, 5), (1, 7), (3, 200, 255), tuple(range(1, 8))]
)
def test_lagrange_fractions_equal_the_coefficients(ids: tuple[int, ...]) -> None:
    numerators, d = lagrange_fractions(ids)
    assert d > 0
    coefficients = lagrange_coefficients(ids)
    for i in ids:
        assert numerators[i] * pow(d, -1, ORDER) % ORDER == coefficients[i]


def test_small_quorums_need_no_division() -> None:
    assert lagrange_fractions([1, 2]) == ({1: 2, 2: -1}, 1)
    assert lagrange_fractions([2, 3]) == ({2: 3, 3: -2}, 1)
    assert lagrange_fractions([1, 3]) == ({1: 3, 3: -1}, 2)


@pytest.mark.parametrize("group", ALL_GROUPS, ids=lambda g: g.name)
@pytest.mark.parametrize(("t", "n"), [(2, 3), (3, 5), (2, 255)])
def test_batch_interpolation_equals_the_one_by_one_definition(group: PrimeOrderGroup, t: int, n: int) -> None:
    secrets = [random_scalar() for _ in range(4)]
    split_values = [split(s, t, n) for s in secrets]
    quorums = list(itertools.combinations(range(1, n + 1), t))
    for quorum in [*quorums[:6], quorums[-1]]:  # small ids (add chains) and large ones (multiplications)
        points = {i: [group.scalar_base_mult(shares[i - 1].value) for shares in split_values] for i in quorum}
        batch = interpolate_batch_in_exponent(group, points)
        single = [interpolate_in_exponent(group, {i: points[i][k] for i in quorum}) for k in range(4)]
        assert batch == single == [group.scalar_base_mult(s) for s in secrets]


def test_batch_interpolation_handles_the_identity_and_refuses_ragged_input() -> None:
    # 2·P1 - P2 = identity when P2 = 2·P1: additions must cope with it like multiplications do.
    p = G.scalar_base_mult(5)
    assert interpolate_batch_in_exponent(G, {1: [p], 2: [G.add(p, p)]}) == [G.identity]
    with pytest.raises(InvalidParameters):
        interpolate_batch_in_exponent(G, {1: [p, p], 2: [p]})
    with pytest.raises(InvalidParameters):
        interpolate_batch_in_exponent(G, {1: [p], 1.5: [p]})  # type: ignore[dict-item]


@pytest.fixture(scope="module")
def shares() -> dict[int, KeyShare]:
    config = dkg.DkgConfig(G, 2, (1, 2, 3), b"batch-combination")
    deals = [dkg.deal(config, i) for i in config.participant_ids]
    broadcasts = [d.broadcast for d in deals]
    return {j: dkg.finalize(config, j, broadcasts, [d.shares[j] for d in deals]) for j in (1, 2, 3)}


def test_verifying_against_hashed_inputs_accepts_and_refuses_what_the_plain_check_does(
    shares: dict[int, KeyShare],
) -> None:
    inputs = [tprf.make_input("", "mpc_k", 1, os.urandom(27)) for _ in range(5)]
    hashed = tprf.hash_inputs(inputs)
    partial = tprf.evaluate_partial_batch(shares[2], inputs)
    tprf.verify_partial_hashed(partial, shares[2].public_share, hashed)
    tampered = dataclasses.replace(partial, elements=(partial.elements[1], *partial.elements[1:]))
    for bad_partial, public, against in [
        (tampered, shares[2].public_share, hashed),
        (partial, shares[3].public_share, hashed),  # another node's Y_i
        (partial, shares[2].public_share, hashed[::-1]),  # other order
        (partial, shares[2].public_share, hashed[:4]),  # other count
    ]:
        with pytest.raises(InvalidProof):
            tprf.verify_partial_hashed(bad_partial, public, against)
        with pytest.raises(InvalidProof):
            tprf.verify_partial_batch(bad_partial, public, [inputs[hashed.index(h)] for h in against])
    with pytest.raises(InvalidParameters):
        tprf.verify_partial_hashed(partial, shares[2].public_share, [])


def test_the_customer_part_is_checked_against_hashed_inputs_too(shares: dict[int, KeyShare]) -> None:
    inputs = [tprf.make_input("", "mpcc_k", 1, os.urandom(27)) for _ in range(3)]
    hashed = tprf.hash_inputs(inputs)
    k_c = tprf.new_customer_key()
    y_c = G.scalar_base_mult(k_c)
    provider = tprf.combine_batch(
        [tprf.evaluate_partial_batch(shares[i], inputs) for i in (1, 3)],
        dict(shares[1].public_shares),
        inputs,
        2,
    )
    customer = tprf.evaluate_customer(k_c, inputs)
    expected = tprf.add_customer_part(customer, y_c, provider, inputs)
    assert tprf.add_customer_part_hashed(customer, y_c, provider, hashed) == expected
    with pytest.raises(InvalidProof):
        tprf.add_customer_part_hashed(customer, G.scalar_base_mult(k_c + 1), provider, hashed)
    with pytest.raises(InvalidParameters):
        tprf.add_customer_part_hashed(customer, y_c, provider[:2], hashed)
