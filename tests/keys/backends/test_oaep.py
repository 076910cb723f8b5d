"""EME-OAEP decoder: against cryptography's OAEP and against crafted failures."""

from __future__ import annotations

import hashlib
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from keys.backends import InvalidCiphertext, OaepHash, oaep

HASHES = {OaepHash.SHA_256: (hashes.SHA256, "sha256"), OaepHash.SHA_1: (hashes.SHA1, "sha1")}


@pytest.fixture(scope="module", params=[1024, 2048])
def rsa_key(request: pytest.FixtureRequest) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=request.param)


def _raw_decrypt(key: rsa.RSAPrivateKey, ciphertext: bytes) -> bytes:
    """RSADP with the private numbers, I2OSP to k bytes: what CKM_RSA_X_509 returns."""
    numbers = key.private_numbers()
    k = (key.key_size + 7) // 8
    m = pow(int.from_bytes(ciphertext, "big"), numbers.d, numbers.public_numbers.n)
    return m.to_bytes(k, "big")


def _oaep(hash: OaepHash) -> padding.OAEP:
    algorithm = HASHES[hash][0]()
    return padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)


@pytest.mark.parametrize("hash", list(OaepHash))
def test_decodes_cryptography_ciphertexts(rsa_key: rsa.RSAPrivateKey, hash: OaepHash) -> None:
    k = rsa_key.key_size // 8
    h_len = HASHES[hash][0].digest_size
    for message in (b"", b"\x00", b"\x01", b"\x00\x01\x00", os.urandom(32), os.urandom(k - 2 * h_len - 2)):
        ciphertext = rsa_key.public_key().encrypt(message, _oaep(hash))
        assert oaep.decode(_raw_decrypt(rsa_key, ciphertext), hash=hash, k=k) == message


def test_accepts_stripped_leading_zero(rsa_key: rsa.RSAPrivateKey) -> None:
    """Some tokens return RSADP output without its leading zero octet(s)."""
    k = rsa_key.key_size // 8
    ciphertext = rsa_key.public_key().encrypt(b"dek", _oaep(OaepHash.SHA_256))
    raw = _raw_decrypt(rsa_key, ciphertext)
    assert oaep.decode(raw.lstrip(b"\x00"), hash=OaepHash.SHA_256, k=k) == b"dek"


@pytest.mark.parametrize("hash", list(OaepHash))
def test_wrong_hash_fails(rsa_key: rsa.RSAPrivateKey, hash: OaepHash) -> None:
    k = rsa_key.key_size // 8
    ciphertext = rsa_key.public_key().encrypt(b"dek", _oaep(hash))
    other = OaepHash.SHA_1 if hash is OaepHash.SHA_256 else OaepHash.SHA_256
    with pytest.raises(InvalidCiphertext):
        oaep.decode(_raw_decrypt(rsa_key, ciphertext), hash=other, k=k)


# -- crafted encodings: each failure cause of RFC 8017 7.1.2 step 3.g ---------------


def _encode(
    message: bytes,
    hash: OaepHash,
    k: int,
    *,
    y: int = 0,
    l_hash: bytes | None = None,
    ps_tail: bytes = b"",
    separator: int = 0x01,
) -> bytes:
    """EME-OAEP encoding with knobs to break exactly one rule."""
    name = HASHES[hash][1]
    h_len = hashlib.new(name).digest_size
    l_hash = hashlib.new(name, b"").digest() if l_hash is None else l_hash
    ps = b"\x00" * (k - len(message) - 2 * h_len - 2 - len(ps_tail)) + ps_tail
    db = l_hash + ps + bytes([separator]) + message
    seed = os.urandom(h_len)
    masked_db = bytes(a ^ b for a, b in zip(db, oaep.mgf1(seed, len(db), hash), strict=True))
    masked_seed = bytes(a ^ b for a, b in zip(seed, oaep.mgf1(masked_db, h_len, hash), strict=True))
    return bytes([y]) + masked_seed + masked_db


@pytest.mark.parametrize("hash", list(OaepHash))
def test_crafted_valid_encoding(hash: OaepHash) -> None:
    assert oaep.decode(_encode(b"\x01msg", hash, 256), hash=hash, k=256) == b"\x01msg"
    assert oaep.decode(_encode(b"", hash, 256), hash=hash, k=256) == b""


@pytest.mark.parametrize("hash", list(OaepHash))
@pytest.mark.parametrize(
    "knobs",
    [
        pytest.param({"y": 1}, id="Y-nonzero"),
        pytest.param({"y": 0x80}, id="Y-high-bit"),
        pytest.param({"l_hash": b"\x00" * 32}, id="lhash-mismatch"),
        pytest.param({"ps_tail": b"\x02"}, id="PS-nonzero-byte"),
        pytest.param({"separator": 0x00}, id="no-separator"),
        pytest.param({"separator": 0x02}, id="bad-separator"),
    ],
)
def test_each_failure_cause_is_the_same_error(hash: OaepHash, knobs: dict) -> None:
    if "l_hash" in knobs:
        knobs = {"l_hash": b"\x00" * HASHES[hash][0].digest_size}
    message = b"" if knobs.get("separator") == 0x00 else b"\xaamsg"
    with pytest.raises(InvalidCiphertext) as excinfo:
        oaep.decode(_encode(message, hash, 256, **knobs), hash=hash, k=256)
    assert str(excinfo.value) == "ciphertext is invalid"
    assert excinfo.value.__cause__ is None
    assert excinfo.value.__context__ is None


def test_public_length_checks() -> None:
    with pytest.raises(InvalidCiphertext):
        oaep.decode(b"\x00" * 65, hash=OaepHash.SHA_256, k=65)  # k < 2*32+2
    with pytest.raises(InvalidCiphertext):
        oaep.decode(b"\x00" * 257, hash=OaepHash.SHA_256, k=256)  # longer than k


def test_random_blocks_are_rejected() -> None:
    for _ in range(200):
        with pytest.raises(InvalidCiphertext):
            oaep.decode(b"\x00" + os.urandom(255), hash=OaepHash.SHA_256, k=256)


def test_mgf1_matches_known_answer() -> None:
    # MGF1-SHA1("foo", 3) = 1ac907 (well-known test vector used by RFC 8017 implementations)
    assert oaep.mgf1(b"foo", 3, OaepHash.SHA_1).hex() == "1ac907"
    assert oaep.mgf1(b"bar", 50, OaepHash.SHA_256).hex().startswith("382576a7841021cc28fc4c0948753fb8")
