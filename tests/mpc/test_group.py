"""Group abstraction over libsodium: encodings, identity handling, validation."""

from __future__ import annotations

import pytest

from mpc.crypto.errors import InvalidEncoding
from mpc.crypto.group import (
    ED25519,
    ORDER,
    RISTRETTO255,
    PrimeOrderGroup,
    decode_scalar,
    encode_scalar,
    random_scalar,
    scalar_inverse,
)

GROUPS = [RISTRETTO255, ED25519]
EDGE_SCALARS = [0, 1, 2, ORDER - 1, ORDER - 2, 2**252]


def test_generators_have_the_standard_encodings() -> None:
    assert RISTRETTO255.generator.hex() == (
        "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76"
    )
    assert ED25519.generator.hex() == "58" + "66" * 31


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_zero_scalar_and_identity_give_identity_instead_of_a_libsodium_error(
    group: PrimeOrderGroup,
) -> None:
    assert group.scalar_base_mult(0) == group.identity
    assert group.scalar_base_mult(ORDER) == group.identity
    assert group.scalar_mult(0, group.generator) == group.identity
    assert group.scalar_mult(5, group.identity) == group.identity


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_adding_an_element_to_its_negation_gives_the_identity(group: PrimeOrderGroup) -> None:
    p = group.scalar_base_mult(1234567)
    assert group.add(p, group.neg(p)) == group.identity
    assert group.sub(p, p) == group.identity
    assert group.add(group.identity, p) == p


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_identity_is_refused_on_decode_unless_explicitly_allowed(
    group: PrimeOrderGroup,
) -> None:
    with pytest.raises(InvalidEncoding):
        group.decode_element(group.identity)
    assert group.decode_element(group.identity, allow_identity=True) == group.identity


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_wrong_length_is_refused(group: PrimeOrderGroup) -> None:
    with pytest.raises(InvalidEncoding):
        group.decode_element(group.generator[:31])


def test_ristretto_rejects_non_canonical_and_negative_encodings() -> None:
    for bad in ("00" + "ff" * 31, "01" + "00" * 31, "ff" * 32):
        with pytest.raises(InvalidEncoding):
            RISTRETTO255.decode_element(bytes.fromhex(bad))


def test_ed25519_rejects_small_order_and_mixed_order_points() -> None:
    order_two = bytes.fromhex("ec" + "ff" * 30 + "7f")  # (0, -1)
    with pytest.raises(InvalidEncoding):
        ED25519.decode_element(order_two)
    # libsodium's raw add does not check the subgroup; decode_element must.
    mixed = ED25519._add(ED25519.generator, order_two)
    with pytest.raises(InvalidEncoding):
        ED25519.decode_element(mixed)


def test_scalar_encoding_round_trips_and_rejects_unreduced_values() -> None:
    assert decode_scalar(encode_scalar(ORDER - 1)) == ORDER - 1
    assert encode_scalar(ORDER + 5) == encode_scalar(5)
    with pytest.raises(InvalidEncoding):
        decode_scalar(ORDER.to_bytes(32, "little"))
    with pytest.raises(InvalidEncoding):
        decode_scalar(bytes(31))


def test_zero_has_no_inverse() -> None:
    assert scalar_inverse(7) * 7 % ORDER == 1
    with pytest.raises(ValueError):
        scalar_inverse(ORDER)


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_scalar_multiplication_is_a_homomorphism(group: PrimeOrderGroup) -> None:
    pairs = [(a, b) for a in EDGE_SCALARS for b in EDGE_SCALARS[:3]]
    pairs += [(random_scalar(), random_scalar()) for _ in range(10)]
    for a, b in pairs:
        left = group.scalar_base_mult(a + b)
        assert left == group.add(group.scalar_base_mult(a), group.scalar_base_mult(b))
        assert group.scalar_mult(a, group.scalar_base_mult(b)) == group.scalar_base_mult(a * b)
        assert group.decode_element(left, allow_identity=True) == left


def test_repr_names_the_group() -> None:
    assert repr(RISTRETTO255) == "<group ristretto255>"
