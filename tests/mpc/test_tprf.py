"""Threshold PRF: partial evaluation, proofs, combination and AES key derivation."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mpc.crypto import dkg, oprf, tprf
from mpc.crypto.errors import InvalidParameters, InvalidProof, NotEnoughShares
from mpc.crypto.group import ED25519, ORDER, RISTRETTO255, decode_scalar, random_scalar
from mpc.crypto.shamir import KeyShare, Share, reconstruct, trusted_dealer_keygen

G = RISTRETTO255
X = tprf.make_input("tenant-a", "key-1", 3, b"\x01" * 16)
# RFC 9497 A.1.1.2 (VOPRF mode): skSm and the Output of Test Vectors 1 and 2.
RFC_VOPRF_SK = "e6f73f344b79b379f1a0dd37e07ff62e38d9f71345ce62ae3a9bc60b04ccd909"
RFC_OUTPUTS = {
    b"\x00": "b58cfbe118e0cb94d79b5fd6a6dafb98764dff49c14e1770b566e42402da1a7d"
    "a4d8527693914139caee5bd03903af43a491351d23b430948dd50cde10d32b3c",
    b"\x5a" * 17: "8a9a2f3c7f085b65933594309041fc1898d42d0858e59f90814ae90571a6df60"
    "356f4610bf816f27afdd84f47719e480906d27ecd994985890e5f539e7ea74b6",
}


@pytest.fixture(scope="module")
def shares() -> dict[int, KeyShare]:
    """Ristretto255 key shares from a real 2-of-3 DKG run."""
    config = dkg.DkgConfig(G, 2, (1, 2, 3), b"tprf-test")
    deals = [dkg.deal(config, i) for i in config.participant_ids]
    broadcasts = [d.broadcast for d in deals]
    return {
        j: dkg.finalize(config, j, broadcasts, [d.shares[j] for d in deals]) for j in config.participant_ids
    }


def _publics(shares: dict[int, KeyShare]) -> dict[int, bytes]:
    return dict(shares[1].public_shares)


def _key_of(shares: dict[int, KeyShare]) -> int:
    return reconstruct([Share(i, s.secret) for i, s in shares.items()])


def test_any_two_of_three_partials_give_the_same_key(shares: dict[int, KeyShare]) -> None:
    partials = {i: tprf.evaluate_partial(s, X) for i, s in shares.items()}
    keys = set()
    for pair in itertools.combinations(partials.values(), 2):
        z = tprf.combine(list(pair), _publics(shares), X, threshold=2)
        keys.add(tprf.derive_aes_key(X, z))
    z_all = tprf.combine(list(partials.values()), _publics(shares), X, threshold=2)
    keys.add(tprf.derive_aes_key(X, z_all))
    assert len(keys) == 1
    assert len(keys.pop()) == 32


def test_result_equals_the_value_from_the_reconstructed_secret(shares: dict[int, KeyShare]) -> None:
    k = _key_of(shares)  # test only: no production path ever reconstructs k
    partials = [tprf.evaluate_partial(shares[i], X) for i in (1, 3)]
    z = tprf.combine(partials, _publics(shares), X, threshold=2)
    assert z == G.scalar_mult(k, oprf.hash_to_group(X, tprf.TPRF_CONTEXT))
    assert tprf.prf_output(X, z) == oprf.evaluate(k, X, tprf.TPRF_CONTEXT)


@pytest.mark.parametrize("data", list(RFC_OUTPUTS))
def test_threshold_evaluation_of_a_split_rfc_key_reproduces_the_rfc_output(data: bytes) -> None:
    sk = decode_scalar(bytes.fromhex(RFC_VOPRF_SK))
    split = trusted_dealer_keygen(G, 2, 3, secret=sk)
    partials = [tprf.evaluate_partial(split[i], data) for i in (0, 2)]
    z = tprf.combine(partials, split[0].public_shares, data, threshold=2)
    assert tprf.prf_output(data, z).hex() == RFC_OUTPUTS[data]


def test_a_partial_from_a_wrong_share_is_detected_and_the_node_named(
    shares: dict[int, KeyShare],
) -> None:
    wrong = dataclasses.replace(shares[2], secret=(shares[2].secret + 1) % ORDER)
    partials = [tprf.evaluate_partial(shares[1], X), tprf.evaluate_partial(wrong, X)]
    with pytest.raises(InvalidProof) as excinfo:
        tprf.combine(partials, _publics(shares), X, threshold=2)
    assert excinfo.value.node_id == 2
    assert "2" in str(excinfo.value)
    assert str(wrong.secret) not in str(excinfo.value)


def test_every_cheating_node_is_reported(shares: dict[int, KeyShare]) -> None:
    honest = tprf.evaluate_partial(shares[1], X)
    replayed = dataclasses.replace(tprf.evaluate_partial(shares[2], b"other input"), node_id=2)
    swapped = dataclasses.replace(tprf.evaluate_partial(shares[3], X), elements=honest.elements)
    with pytest.raises(InvalidProof) as excinfo:
        tprf.combine([honest, replayed, swapped], _publics(shares), X, threshold=2)
    assert excinfo.value.node_ids == (2, 3)


def test_malformed_and_unknown_partials_are_blamed_on_their_sender(
    shares: dict[int, KeyShare],
) -> None:
    good = tprf.evaluate_partial(shares[1], X)
    identity = dataclasses.replace(tprf.evaluate_partial(shares[2], X), elements=(G.identity,))
    stranger = dataclasses.replace(tprf.evaluate_partial(shares[3], X), node_id=9)
    with pytest.raises(InvalidProof) as excinfo:
        tprf.combine([good, identity, stranger], _publics(shares), X, threshold=2)
    assert excinfo.value.node_ids == (2, 9)


def test_too_few_or_duplicate_partials_are_refused(shares: dict[int, KeyShare]) -> None:
    one = tprf.evaluate_partial(shares[1], X)
    with pytest.raises(NotEnoughShares):
        tprf.combine([one], _publics(shares), X, threshold=2)
    with pytest.raises(InvalidParameters):
        tprf.combine([one, one], _publics(shares), X, threshold=2)


def test_a_batch_has_one_proof_and_matches_single_evaluations(shares: dict[int, KeyShare]) -> None:
    inputs = [tprf.make_input("tenant-a", "key-1", 3, bytes([n]) * 12) for n in range(5)]
    partials = [tprf.evaluate_partial_batch(shares[i], inputs) for i in (2, 3)]
    assert all(len(p.proof) == 64 and len(p.elements) == 5 for p in partials)
    batch = tprf.combine_batch(partials, _publics(shares), inputs, threshold=2)
    singles = [
        tprf.combine([tprf.evaluate_partial(shares[i], x) for i in (1, 2)], _publics(shares), x, 2)
        for x in inputs
    ]
    assert batch == singles


def test_a_batch_with_reordered_elements_fails_verification(shares: dict[int, KeyShare]) -> None:
    inputs = [b"first", b"second"]
    partial = tprf.evaluate_partial_batch(shares[1], inputs)
    reordered = dataclasses.replace(partial, elements=partial.elements[::-1])
    tprf.verify_partial_batch(partial, shares[1].public_share, inputs)
    with pytest.raises(InvalidProof):
        tprf.verify_partial_batch(reordered, shares[1].public_share, inputs)
    with pytest.raises(InvalidProof):
        tprf.verify_partial_batch(partial, shares[1].public_share, inputs[::-1])


def test_customer_and_provider_parts_compose_to_one_key(shares: dict[int, KeyShare]) -> None:
    k_customer = random_scalar()
    y_customer = G.scalar_base_mult(k_customer)
    inputs = [X, b"second message"]
    customer = tprf.evaluate_customer(k_customer, inputs)
    partials = [tprf.evaluate_partial_batch(shares[i], inputs) for i in (1, 3)]
    zs = tprf.combine_composed(customer, y_customer, partials, _publics(shares), inputs, 2)
    k = (k_customer + _key_of(shares)) % ORDER
    for x, z in zip(inputs, zs, strict=True):
        assert tprf.prf_output(x, z) == oprf.evaluate(k, x, tprf.TPRF_CONTEXT)
    composed = tprf.composed_public_key(y_customer, shares[1].public_key)
    assert composed == G.scalar_base_mult(k)


def test_a_bad_customer_or_provider_part_is_named(shares: dict[int, KeyShare]) -> None:
    k_customer = random_scalar()
    inputs = [X]
    partials = [tprf.evaluate_partial(shares[i], X) for i in (1, 2)]
    impostor = tprf.evaluate_customer(random_scalar(), inputs)
    with pytest.raises(InvalidProof) as excinfo:
        tprf.combine_composed(impostor, G.scalar_base_mult(k_customer), partials, _publics(shares), inputs, 2)
    assert excinfo.value.node_id == tprf.CUSTOMER_NODE_ID
    wrong = dataclasses.replace(shares[2], secret=1)
    partials[1] = tprf.evaluate_partial(wrong, X)
    customer = tprf.evaluate_customer(k_customer, inputs)
    with pytest.raises(InvalidProof) as excinfo:
        tprf.combine_composed(customer, G.scalar_base_mult(k_customer), partials, _publics(shares), inputs, 2)
    assert excinfo.value.node_id == 2


def test_make_input_is_unambiguous_and_bounded() -> None:
    a = tprf.make_input("ab", "c", 1, b"")
    b = tprf.make_input("a", "bc", 1, b"")
    assert a != b
    assert tprf.make_input("t", "k", 1, b"n") != tprf.make_input("t", "k", 2, b"n")
    assert tprf.make_input("t", "k", 1, b"n") == tprf.make_input("t", "k", 1, b"n")
    for bad_version in (-1, 1 << 64, True):
        with pytest.raises(InvalidParameters):
            tprf.make_input("t", "k", bad_version, b"")
    with pytest.raises(InvalidParameters):
        tprf.make_input("t", "k", 1, bytes(70_000))


def test_the_aes_key_is_bound_to_the_input_and_encrypts_a_message(
    shares: dict[int, KeyShare],
) -> None:
    other = tprf.make_input("tenant-b", "key-1", 3, b"\x01" * 16)
    partials = [tprf.evaluate_partial_batch(shares[i], [X, other]) for i in (1, 2)]
    z_x, z_other = tprf.combine_batch(partials, _publics(shares), [X, other], 2)
    key = tprf.derive_aes_key(X, z_x)
    assert key != tprf.derive_aes_key(other, z_other)
    assert key != tprf.derive_aes_key(other, z_x)
    box = AESGCM(key)
    nonce = bytes(12)
    assert box.decrypt(nonce, box.encrypt(nonce, b"payload", X), X) == b"payload"


def test_an_ed25519_share_is_refused() -> None:
    share = trusted_dealer_keygen(ED25519, 2, 3)[0]
    with pytest.raises(InvalidParameters):
        tprf.evaluate_partial(share, X)


def test_customer_key_proof_binds_the_key_part_to_its_key_id(shares: dict[int, KeyShare]) -> None:
    k_customer = tprf.new_customer_key()
    y_customer = G.scalar_base_mult(k_customer)
    proof = tprf.customer_key_proof(k_customer, b"key-1")
    assert tprf.verify_customer_key_proof(y_customer, proof, b"key-1") == y_customer
    rogue = G.sub(G.scalar_base_mult(random_scalar()), shares[1].public_key)  # T - Y_provider
    bad = [
        (y_customer, proof, b"key-2"),  # replayed for another key
        (rogue, proof, b"key-1"),  # someone else's public key
        (y_customer, proof[:32] + bytes(32), b"key-1"),
        (y_customer, proof[:63], b"key-1"),
    ]
    for public, candidate, context in bad:
        with pytest.raises(InvalidProof) as excinfo:
            tprf.verify_customer_key_proof(public, candidate, context)
        assert excinfo.value.node_id == tprf.CUSTOMER_NODE_ID
    with pytest.raises(InvalidParameters):
        tprf.customer_key_proof(0, b"key-1")


def test_adding_the_customer_part_to_a_combined_provider_part(shares: dict[int, KeyShare]) -> None:
    k_customer = tprf.new_customer_key()
    inputs = [X, b"other"]
    partials = [tprf.evaluate_partial_batch(shares[i], inputs) for i in (2, 3)]
    provider = tprf.combine_batch(partials, _publics(shares), inputs, 2)
    customer = tprf.evaluate_customer(k_customer, inputs)
    y_customer = G.scalar_base_mult(k_customer)
    zs = tprf.add_customer_part(customer, y_customer, provider, inputs)
    assert zs == tprf.combine_composed(customer, y_customer, partials, _publics(shares), inputs, 2)
    with pytest.raises(InvalidProof):
        tprf.add_customer_part(customer, y_customer, provider, inputs[::-1])
