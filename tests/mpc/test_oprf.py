"""RFC 9497 building blocks, checked against Appendix A.1.1 (ristretto255-SHA512) vectors."""

from __future__ import annotations

import pytest

from mpc.crypto import oprf
from mpc.crypto.errors import InvalidEncoding, InvalidInput
from mpc.crypto.group import RISTRETTO255, decode_scalar, encode_scalar

SEED = bytes.fromhex("a3" * 32)
KEY_INFO = bytes.fromhex("74657374206b6579")  # "test key"
INPUT_1 = bytes.fromhex("00")
INPUT_2 = bytes.fromhex("5a" * 17)
BLIND = decode_scalar(bytes.fromhex("64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706"))

# RFC 9497 Appendix A.1.1.1, OPRF mode.
OPRF_SK = "5ebcea5ee37023ccb9fc2d2019f9d7737be85591ae8652ffa9ef0f4d37063b0e"
OPRF_VECTORS = [
    (
        INPUT_1,
        "609a0ae68c15a3cf6903766461307e5c8bb2f95e7e6550e1ffa2dc99e412803c",
        "7ec6578ae5120958eb2db1745758ff379e77cb64fe77b0b2d8cc917ea0869c7e",
        "527759c3d9366f277d8c6020418d96bb393ba2afb20ff90df23fb7708264e2f3"
        "ab9135e3bd69955851de4b1f9fe8a0973396719b7912ba9ee8aa7d0b5e24bcf6",
    ),
    (
        INPUT_2,
        "da27ef466870f5f15296299850aa088629945a17d1f5b7f5ff043f76b3c06418",
        "b4cbf5a4f1eeda5a63ce7b77c7d23f461db3fcab0dd28e4e17cecb5c90d02c25",
        "f4a74c9c592497375e796aa837e907b1a045d34306a749db9f34221f7e750cb4"
        "f2a6413a6bf6fa5e19ba6348eb673934a722a7ede2e7621306d18951e7cf2c73",
    ),
]

# RFC 9497 Appendix A.1.1.2, VOPRF mode.
VOPRF_SK = "e6f73f344b79b379f1a0dd37e07ff62e38d9f71345ce62ae3a9bc60b04ccd909"
VOPRF_PK = "c803e2cc6b05fc15064549b5920659ca4a77b2cca6f04f6b357009335476ad4e"
PROOF_R_1 = "222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e"
PROOF_R_BATCH = "419c4f4f5052c53c45f3da494d2b67b220d02118e0857cdbcf037f9ea84bbe0c"
VOPRF_BLINDED = [
    "863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b642ddc439b945",
    "cc0b2a350101881d8a4cba4c80241d74fb7dcbfde4a61fde2f91443c2bf9ef0c",
]
VOPRF_EVALUATED = [
    "aa8fa048764d5623868679402ff6108d2521884fa138cd7f9c7669a9a014267e",
    "60a59a57208d48aca71e9e850d22674b611f752bed48b36f7a91b372bd7ad468",
]
VOPRF_PROOFS = [
    "ddef93772692e535d1a53903db24367355cc2cc78de93b3be5a8ffcc6985dd06"
    "6d4346421d17bf5117a2a1ff0fcb2a759f58a539dfbe857a40bce4cf49ec600d",
    "401a0da6264f8cf45bb2f5264bc31e109155600babb3cd4e5af7d181a2c9dc0a"
    "67154fabf031fd936051dec80b0b6ae29c9503493dde7393b722eafdf5a50b02",
]
VOPRF_OUTPUTS = [
    "b58cfbe118e0cb94d79b5fd6a6dafb98764dff49c14e1770b566e42402da1a7d"
    "a4d8527693914139caee5bd03903af43a491351d23b430948dd50cde10d32b3c",
    "8a9a2f3c7f085b65933594309041fc1898d42d0858e59f90814ae90571a6df60"
    "356f4610bf816f27afdd84f47719e480906d27ecd994985890e5f539e7ea74b6",
]
# Test Vector 3 (batch of 2): second blind is the ProofRandomScalar of vectors 1-2.
BATCH_BLINDED_2 = "90a0145ea9da29254c3a56be4fe185465ebb3bf2a1801f7124bbbadac751e654"
BATCH_EVALUATED_2 = "cc5ac221950a49ceaa73c8db41b82c20372a4c8d63e5dded2db920b7eee36a2a"
BATCH_PROOF = (
    "cc203910175d786927eeb44ea847328047892ddf8590e723c37205cb74600b0a"
    "5ab5337c8eb4ceae0494c2cf89529dcf94572ed267473d567aeed6ab873dee08"
)


def test_expand_message_xmd_matches_rfc9380_sha512_vector() -> None:
    # RFC 9380 Appendix K.3, expand_message_xmd(SHA-512), msg "abcdef0123456789", 0x20 bytes.
    out = oprf.expand_message_xmd(b"abcdef0123456789", b"QUUX-V01-CS02-with-expander-SHA512-256", 32)
    assert out.hex() == "087e45a86e2939ee8b91100af1583c4938e0f5fc6c9db4b107b83346bc967f58"


def test_context_strings_follow_the_rfc() -> None:
    assert oprf.context_string(oprf.MODE_OPRF) == b"OPRFV1-\x00-ristretto255-SHA512"
    assert oprf.context_string(oprf.MODE_VOPRF) == b"OPRFV1-\x01-ristretto255-SHA512"


def test_derive_key_pair_reproduces_the_rfc_keys() -> None:
    sk, _ = oprf.derive_key_pair(SEED, KEY_INFO, oprf.MODE_OPRF)
    assert encode_scalar(sk).hex() == OPRF_SK
    sk, pk = oprf.derive_key_pair(SEED, KEY_INFO, oprf.MODE_VOPRF)
    assert encode_scalar(sk).hex() == VOPRF_SK
    assert pk.hex() == VOPRF_PK


@pytest.mark.parametrize(("data", "blinded", "evaluated", "output"), OPRF_VECTORS)
def test_oprf_mode_vectors_blind_evaluate_and_finalize(
    data: bytes, blinded: str, evaluated: str, output: str
) -> None:
    context = oprf.context_string(oprf.MODE_OPRF)
    sk = decode_scalar(bytes.fromhex(OPRF_SK))
    blind, blinded_element = oprf.blind(data, context, BLIND)
    assert blinded_element.hex() == blinded
    evaluated_element = oprf.blind_evaluate(sk, blinded_element)
    assert evaluated_element.hex() == evaluated
    assert oprf.finalize(data, blind, evaluated_element).hex() == output
    assert oprf.evaluate(sk, data, context).hex() == output


@pytest.mark.parametrize("index", [0, 1])
def test_voprf_mode_single_vectors_including_the_dleq_proof(index: int) -> None:
    data = (INPUT_1, INPUT_2)[index]
    context = oprf.context_string(oprf.MODE_VOPRF)
    sk, pk = decode_scalar(bytes.fromhex(VOPRF_SK)), bytes.fromhex(VOPRF_PK)
    blind, blinded = oprf.blind(data, context, BLIND)
    assert blinded.hex() == VOPRF_BLINDED[index]
    r = decode_scalar(bytes.fromhex(PROOF_R_1))
    evaluated, proof = oprf.voprf_blind_evaluate(sk, pk, [blinded], r)
    assert evaluated[0].hex() == VOPRF_EVALUATED[index]
    assert proof.to_bytes().hex() == VOPRF_PROOFS[index]
    outputs = oprf.voprf_finalize([data], [blind], evaluated, [blinded], pk, proof)
    assert outputs[0].hex() == VOPRF_OUTPUTS[index]
    assert oprf.evaluate(sk, data, context).hex() == VOPRF_OUTPUTS[index]


def test_voprf_batched_vector_uses_composites_and_one_proof() -> None:
    sk, pk = decode_scalar(bytes.fromhex(VOPRF_SK)), bytes.fromhex(VOPRF_PK)
    context = oprf.context_string(oprf.MODE_VOPRF)
    second_blind = decode_scalar(bytes.fromhex(PROOF_R_1))
    b1, e1 = oprf.blind(INPUT_1, context, BLIND)
    b2, e2 = oprf.blind(INPUT_2, context, second_blind)
    assert [e1.hex(), e2.hex()] == [VOPRF_BLINDED[0], BATCH_BLINDED_2]
    r = decode_scalar(bytes.fromhex(PROOF_R_BATCH))
    evaluated, proof = oprf.voprf_blind_evaluate(sk, pk, [e1, e2], r)
    assert [x.hex() for x in evaluated] == [VOPRF_EVALUATED[0], BATCH_EVALUATED_2]
    assert proof.to_bytes().hex() == BATCH_PROOF
    outputs = oprf.voprf_finalize([INPUT_1, INPUT_2], [b1, b2], evaluated, [e1, e2], pk, proof)
    assert [o.hex() for o in outputs] == VOPRF_OUTPUTS


def test_rfc_proof_bytes_verify_and_a_tampered_proof_does_not() -> None:
    context = oprf.context_string(oprf.MODE_VOPRF)
    pk, g = bytes.fromhex(VOPRF_PK), RISTRETTO255.generator
    cs, ds = [bytes.fromhex(VOPRF_BLINDED[0])], [bytes.fromhex(VOPRF_EVALUATED[0])]
    proof = oprf.Proof.from_bytes(bytes.fromhex(VOPRF_PROOFS[0]))
    assert oprf.verify_proof(g, pk, cs, ds, proof, context)
    bad = oprf.Proof(proof.c, (proof.s + 1) % RISTRETTO255.order)
    assert not oprf.verify_proof(g, pk, cs, ds, bad, context)
    assert not oprf.verify_proof(g, pk, cs, [bytes.fromhex(VOPRF_EVALUATED[1])], proof, context)
    with pytest.raises(InvalidInput):
        oprf.voprf_finalize([INPUT_1], [BLIND], ds, cs, pk, bad)


def test_unreduced_or_short_proofs_are_refused() -> None:
    with pytest.raises(InvalidEncoding):
        oprf.Proof.from_bytes(bytes(63))
    with pytest.raises(InvalidEncoding):
        oprf.Proof.from_bytes(b"\xff" * 64)
