"""FROST(Ed25519, SHA-512): RFC 9591 Appendix E.1 vectors and protocol behaviour."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mpc.crypto import dkg, frost
from mpc.crypto.errors import InvalidEncoding, InvalidParameters, InvalidProof, NonceReuse
from mpc.crypto.group import ED25519, ORDER, RISTRETTO255, decode_scalar, encode_scalar
from mpc.crypto.shamir import KeyShare, trusted_dealer_keygen

# RFC 9591 Appendix E.1, FROST(Ed25519, SHA-512): 2-of-3, signers 1 and 3, message "test".
GROUP_SECRET = "7b1c33d3f5291d85de664833beb1ad469f7fb6025a0ec78b3a790c6e13a98304"
GROUP_PUBLIC = "15d21ccd7ee42959562fc8aa63224c8851fb3ec85a3faf66040d380fb9738673"
COEFFICIENT_1 = "178199860edd8c62f5212ee91eff1295d0d670ab4ed4506866bae57e7030b204"
MESSAGE = bytes.fromhex("74657374")
SHARES = [
    "929dcc590407aae7d388761cddb0c0db6f5627aea8e217f4a033f2ec83d93509",
    "a91e66e012e4364ac9aaa405fcafd370402d9859f7b6685c07eed76bf409e80d",
    "d3cb090a075eb154e82fdb4b3cb507f110040905468bb9c46da8bdea643a9a02",
]
ROUND_ONE = {
    1: {
        "hiding_randomness": "0fd2e39e111cdc266f6c0f4d0fd45c947761f1f5d3cb583dfcb9bbaf8d4c9fec",
        "binding_randomness": "69cd85f631d5f7f2721ed5e40519b1366f340a87c2f6856363dbdcda348a7501",
        "hiding_nonce": "812d6104142944d5a55924de6d49940956206909f2acaeedecda2b726e630407",
        "binding_nonce": "b1110165fc2334149750b28dd813a39244f315cff14d4e89e6142f262ed83301",
        "hiding_commitment": "b5aa8ab305882a6fc69cbee9327e5a45e54c08af61ae77cb8207be3d2ce13de3",
        "binding_commitment": "67e98ab55aa310c3120418e5050c9cf76cf387cb20ac9e4b6fdb6f82a469f932",
        "binding_factor": "f2cb9d7dd9beff688da6fcc83fa89046b3479417f47f55600b106760eb3b5603",
        "sig_share": "001719ab5a53ee1a12095cd088fd149702c0720ce5fd2f29dbecf24b7281b603",
    },
    3: {
        "hiding_randomness": "86d64a260059e495d0fb4fcc17ea3da7452391baa494d4b00321098ed2a0062f",
        "binding_randomness": "13e6b25afb2eba51716a9a7d44130c0dbae0004a9ef8d7b5550c8a0e07c61775",
        "hiding_nonce": "c256de65476204095ebdc01bd11dc10e57b36bc96284595b8215222374f99c0e",
        "binding_nonce": "243d71944d929063bc51205714ae3c2218bd3451d0214dfb5aeec2a90c35180d",
        "hiding_commitment": "cfbdb165bd8aad6eb79deb8d287bcc0ab6658ae57fdcc98ed12c0669e90aec91",
        "binding_commitment": "7487bc41a6e712eea2f2af24681b58b1cf1da278ea11fe4e8b78398965f13552",
        "binding_factor": "b087686bf35a13f3dc78e780a34b0fe8a77fef1b9938c563f5573d71d8d7890f",
        "sig_share": "bd86125de990acc5e1f13781d8e32c03a9bbd4c53539bbc106058bfd14326007",
    },
}
BINDING_FACTOR_INPUT_PREFIX = (
    "15d21ccd7ee42959562fc8aa63224c8851fb3ec85a3faf66040d380fb9738673"
    "504df914fa965023fb75c25ded4bb260f417de6d32e5c442c6ba313791cc9a49"
    "48d6273e8d3511f93348ea7a708a9b862bc73ba2a79cfdfe07729a193751cbc9"
    "73af46d8ac3440e518d4ce440a0e7d4ad5f62ca8940f32de6d8dc00fc12c660b"
    "817d587d82f856d277ce6473cae6d2f5763f7da2e8b4d799a3f3e725d4522ec7"
)
SIGNATURE = (
    "36282629c383bb820a88b71cae937d41f2f2adfcc3d02e55507e2fb9e2dd3cbe"
    "bd9d2b0844e49ae0f3fa935161e1419aab7b47d21a37ebeae1f17d4987b3160b"
)


def _rfc_key_shares() -> list[KeyShare]:
    secret = decode_scalar(bytes.fromhex(GROUP_SECRET))
    a1 = decode_scalar(bytes.fromhex(COEFFICIENT_1))
    return trusted_dealer_keygen(ED25519, 2, 3, secret=secret, coefficients=[a1])


def _rfc_round_one(shares: list[KeyShare]) -> dict[int, tuple[frost.SigningNonces, frost.SigningCommitment]]:
    return {
        i: frost.commit(
            shares[i - 1],
            hiding_randomness=bytes.fromhex(v["hiding_randomness"]),
            binding_randomness=bytes.fromhex(v["binding_randomness"]),
        )
        for i, v in ROUND_ONE.items()
    }


def _verify_with_cryptography(public_key: bytes, msg: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, msg)
    except InvalidSignature:
        return False
    return True


def test_trusted_dealer_reproduces_the_rfc_group_key_and_shares() -> None:
    shares = _rfc_key_shares()
    assert shares[0].public_key.hex() == GROUP_PUBLIC
    assert [encode_scalar(s.secret).hex() for s in shares] == SHARES


def test_round_one_reproduces_the_rfc_nonces_and_commitments() -> None:
    for i, (nonces, commitment) in _rfc_round_one(_rfc_key_shares()).items():
        hiding, binding = nonces.consume()
        assert encode_scalar(hiding).hex() == ROUND_ONE[i]["hiding_nonce"]
        assert encode_scalar(binding).hex() == ROUND_ONE[i]["binding_nonce"]
        assert commitment.hiding.hex() == ROUND_ONE[i]["hiding_commitment"]
        assert commitment.binding.hex() == ROUND_ONE[i]["binding_commitment"]


def test_binding_factors_and_their_inputs_match_the_rfc() -> None:
    shares = _rfc_key_shares()
    commitments = [c for _, c in _rfc_round_one(shares).values()]
    public_key = shares[0].public_key
    for i in ROUND_ONE:
        rho_input = frost.binding_factor_input(public_key, commitments, MESSAGE, i)
        assert rho_input.hex() == BINDING_FACTOR_INPUT_PREFIX + encode_scalar(i).hex()
    factors = frost.compute_binding_factors(public_key, commitments, MESSAGE)
    assert {i: encode_scalar(f).hex() for i, f in factors.items()} == {
        i: v["binding_factor"] for i, v in ROUND_ONE.items()
    }


def test_signature_shares_and_aggregate_signature_match_the_rfc() -> None:
    shares = _rfc_key_shares()
    round_one = _rfc_round_one(shares)
    commitments = [c for _, c in round_one.values()]
    sig_shares = {i: frost.sign(shares[i - 1], n, MESSAGE, commitments) for i, (n, _) in round_one.items()}
    for i, z in sig_shares.items():
        assert encode_scalar(z).hex() == ROUND_ONE[i]["sig_share"]
        assert frost.verify_signature_share(
            i, shares[i - 1].public_share, z, commitments, shares[0].public_key, MESSAGE
        )
    signature = frost.aggregate(
        commitments, MESSAGE, shares[0].public_key, sig_shares, shares[0].public_shares
    )
    assert signature.hex() == SIGNATURE


def test_the_rfc_signature_verifies_as_a_plain_ed25519_signature() -> None:
    public_key, signature = bytes.fromhex(GROUP_PUBLIC), bytes.fromhex(SIGNATURE)
    assert _verify_with_cryptography(public_key, MESSAGE, signature)
    assert frost.verify_signature(public_key, MESSAGE, signature)
    assert not frost.verify_signature(public_key, b"tesT", signature)


def _sign(signers: list[KeyShare], msg: bytes) -> bytes:
    round_one = {s.participant_id: frost.commit(s) for s in signers}
    commitments = [c for _, c in round_one.values()]
    sig_shares = {
        s.participant_id: frost.sign(s, round_one[s.participant_id][0], msg, commitments) for s in signers
    }
    return frost.aggregate(commitments, msg, signers[0].public_key, sig_shares, signers[0].public_shares)


def test_any_two_of_three_signers_produce_a_valid_ed25519_signature() -> None:
    shares = trusted_dealer_keygen(ED25519, 2, 3)
    msg = b"approve key rotation for tenant-a"
    for pair in itertools.combinations(shares, 2):
        signature = _sign(list(pair), msg)
        assert _verify_with_cryptography(shares[0].public_key, msg, signature)
    assert _verify_with_cryptography(shares[0].public_key, msg, _sign(shares, msg))


def test_signing_works_with_dealerless_and_refreshed_ed25519_shares() -> None:
    config = dkg.DkgConfig(ED25519, 2, (1, 2, 3), b"frost-dkg")
    deals = [dkg.deal(config, i) for i in (1, 2, 3)]
    shares = [
        dkg.finalize(config, j, [d.broadcast for d in deals], [d.shares[j] for d in deals]) for j in (1, 2, 3)
    ]
    msg = b"signed by a key nobody ever held"
    assert _verify_with_cryptography(shares[0].public_key, msg, _sign([shares[0], shares[2]], msg))
    refresh = [dkg.deal_refresh(s, b"r") for s in shares]
    fresh = [
        dkg.finalize_refresh(
            s, b"r", [d.broadcast for d in refresh], [d.shares[s.participant_id] for d in refresh]
        )
        for s in shares
    ]
    assert _verify_with_cryptography(shares[0].public_key, msg, _sign([fresh[1], fresh[2]], msg))


def test_a_cheating_signer_is_identified() -> None:
    shares = trusted_dealer_keygen(ED25519, 2, 3)
    msg = b"m"
    round_one = {s.participant_id: frost.commit(s) for s in shares[:2]}
    commitments = [c for _, c in round_one.values()]
    sig_shares = {
        s.participant_id: frost.sign(s, round_one[s.participant_id][0], msg, commitments) for s in shares[:2]
    }
    sig_shares[2] = (sig_shares[2] + 1) % ORDER
    with pytest.raises(InvalidProof) as excinfo:
        frost.aggregate(commitments, msg, shares[0].public_key, sig_shares, shares[0].public_shares)
    assert excinfo.value.node_ids == (2,)


def test_nonces_cannot_be_used_twice() -> None:
    share = trusted_dealer_keygen(ED25519, 2, 3)[0]
    other = trusted_dealer_keygen(ED25519, 2, 3)[1]
    nonces, commitment = frost.commit(share)
    _, other_commitment = frost.commit(other)
    frost.sign(share, nonces, b"first", [commitment, other_commitment])
    with pytest.raises(NonceReuse):
        frost.sign(share, nonces, b"second", [commitment, other_commitment])
    assert "unused" not in repr(nonces)


def test_a_signer_refuses_a_list_without_its_own_commitment() -> None:
    shares = trusted_dealer_keygen(ED25519, 2, 3)
    nonces, _ = frost.commit(shares[0])
    _, c2 = frost.commit(shares[1])
    _, c3 = frost.commit(shares[2])
    with pytest.raises(InvalidParameters):
        frost.sign(shares[0], nonces, b"m", [c2, c3])


def test_identity_or_duplicate_commitments_are_rejected() -> None:
    shares = trusted_dealer_keygen(ED25519, 2, 3)
    _, c1 = frost.commit(shares[0])
    _, c2 = frost.commit(shares[1])
    with pytest.raises(InvalidEncoding):
        frost.sort_commitments([c1, dataclasses.replace(c2, binding=ED25519.identity)])
    with pytest.raises(InvalidParameters):
        frost.sort_commitments([c1, c1])


def test_a_ristretto_share_is_refused() -> None:
    share = trusted_dealer_keygen(RISTRETTO255, 2, 3)[0]
    with pytest.raises(InvalidParameters):
        frost.commit(share)
