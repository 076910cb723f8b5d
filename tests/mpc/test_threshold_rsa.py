"""Threshold RSA decryption with a replicated additive sharing of d."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mpc.crypto import threshold_rsa as trsa
from mpc.crypto.errors import InvalidParameters, NotEnoughShares, VerificationFailed


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def dealt(key: rsa.RSAPrivateKey) -> tuple[trsa.RsaPublicParams, list[trsa.RsaNodeShare]]:
    return trsa.deal(key, threshold=2, n=3)


def _oaep_ciphertext(key: rsa.RSAPrivateKey, message: bytes) -> bytes:
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    return key.public_key().encrypt(message, oaep)


def _run(
    params: trsa.RsaPublicParams, shares: list[trsa.RsaNodeShare], quorum: tuple[int, ...], c: int
) -> list[trsa.RsaPartial]:
    by_id = {s.node_id: s for s in shares}
    plan = trsa.assign(params, quorum)
    return [trsa.partial_decrypt(by_id[i], c, labels) for i, labels in plan.items() if labels]


def test_any_two_of_three_quorum_decrypts_an_oaep_ciphertext(
    key: rsa.RSAPrivateKey, dealt: tuple[trsa.RsaPublicParams, list[trsa.RsaNodeShare]]
) -> None:
    params, shares = dealt
    ciphertext = _oaep_ciphertext(key, b"wrapped data key")
    c = trsa.ciphertext_to_int(ciphertext, params)
    d = key.private_numbers().d
    expected = pow(c, d, params.modulus)  # test only: the real system never holds d
    for quorum in [*itertools.combinations((1, 2, 3), 2), (1, 2, 3)]:
        partials = _run(params, shares, quorum, c)
        m = trsa.combine(partials, params.modulus)
        assert m == expected
        assert trsa.check(m, c, params.public_exponent, params.modulus)
        assert trsa.decrypt(params, partials, c) == expected.to_bytes(256, "big")


def test_assignment_covers_every_piece_exactly_once_and_balances_load(
    dealt: tuple[trsa.RsaPublicParams, list[trsa.RsaNodeShare]],
) -> None:
    params, _ = dealt
    for quorum in itertools.combinations((1, 2, 3), 2):
        plan = trsa.assign(params, quorum)
        used = [label for labels in plan.values() for label in labels]
        assert sorted(used) == sorted(params.labels)
        for node, labels in plan.items():
            assert all(node not in label for label in labels)
        sizes = sorted(len(labels) for labels in plan.values())
        assert sizes[-1] - sizes[0] <= 1


def test_a_corrupted_partial_is_caught_by_the_reencryption_check(
    key: rsa.RSAPrivateKey, dealt: tuple[trsa.RsaPublicParams, list[trsa.RsaNodeShare]]
) -> None:
    params, shares = dealt
    c = trsa.ciphertext_to_int(_oaep_ciphertext(key, b"secret"), params)
    partials = _run(params, shares, (2, 3), c)
    partials[0] = dataclasses.replace(partials[0], value=partials[0].value * 2 % params.modulus)
    m = trsa.combine(partials, params.modulus)
    assert not trsa.check(m, c, params.public_exponent, params.modulus)
    with pytest.raises(VerificationFailed):
        trsa.decrypt(params, partials, c)


def test_the_dealer_output_never_contains_d(
    key: rsa.RSAPrivateKey, dealt: tuple[trsa.RsaPublicParams, list[trsa.RsaNodeShare]]
) -> None:
    params, shares = dealt
    d = key.private_numbers().d
    assert d not in dataclasses.astuple(params)
    for share in shares:
        assert d not in share.pieces.values()
        assert sum(share.pieces.values()) != d
        assert len(share.pieces) < len(params.labels)  # no node holds every piece
        assert str(d) not in repr(share)
        for value in share.pieces.values():
            assert str(value) not in repr(share)
    all_pieces = {label: v for s in shares for label, v in s.pieces.items()}
    assert sum(all_pieces.values()) == d  # only the union over a quorum adds up to d


def test_a_single_node_is_missing_a_piece_in_two_of_three() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    params, shares = trsa.deal(key, threshold=2, n=3)
    assert params.labels == ((1,), (2,), (3,))
    for share in shares:
        assert (share.node_id,) not in share.pieces
    with pytest.raises(NotEnoughShares):
        trsa.assign(params, [1])


def test_three_of_five_decrypts_with_every_quorum() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    params, shares = trsa.deal(key, threshold=3, n=5)
    assert len(params.labels) == 10
    c = trsa.ciphertext_to_int(_oaep_ciphertext(key, b"m"), params)
    expected = pow(c, key.private_numbers().d, params.modulus)
    for quorum in itertools.combinations(range(1, 6), 3):
        partials = _run(params, shares, quorum, c)
        assert int.from_bytes(trsa.decrypt(params, partials, c), "big") == expected


def test_negative_piece_sums_use_the_modular_inverse() -> None:
    modulus = 3233  # 61 * 53, toy value for the arithmetic only
    share = trsa.RsaNodeShare(1, modulus, 17, {(2,): -5, (3,): 2})
    partial = trsa.partial_decrypt(share, 42, [(2,), (3,)])
    assert partial.value == pow(42, -3, modulus)
    assert trsa.partial_decrypt(share, 42, [(3,)]).value == pow(42, 2, modulus)


def test_bad_requests_are_refused(dealt: tuple[trsa.RsaPublicParams, list[trsa.RsaNodeShare]]) -> None:
    params, shares = dealt
    with pytest.raises(InvalidParameters):
        trsa.partial_decrypt(shares[0], 5, [(1,)])  # node 1 does not hold r_{1}
    with pytest.raises(InvalidParameters):
        trsa.partial_decrypt(shares[0], params.modulus, [(2,)])
    with pytest.raises(InvalidParameters):
        trsa.assign(params, [1, 1])
    with pytest.raises(InvalidParameters):
        trsa.ciphertext_to_int(b"\x00" * 10, params)
    with pytest.raises(InvalidParameters):
        trsa.combine([], params.modulus, labels=params.labels)


def test_dealing_refuses_meaningless_thresholds(key: rsa.RSAPrivateKey) -> None:
    for t, n in ((1, 3), (4, 3), (0, 0)):
        with pytest.raises(InvalidParameters):
            trsa.deal(key, t, n)
