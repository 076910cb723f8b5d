"""EME-OAEP decoding (RFC 8017 section 7.1.2, step 3) outside the RSA engine.

Why this exists: SoftHSM2 2.6 only implements CKM_RSA_PKCS_OAEP with SHA-1
(SHA-256 parameters fail with CKR_ARGUMENTS_BAD), and the planned MPC
threshold-RSA backend can only produce a raw RSA result.  Both therefore do
the private-key exponentiation (CKM_RSA_X_509 / threshold RSADP) in the
custody boundary and decode the padding here.  The raw result never leaves
the backend: on any failure callers see one ``InvalidCiphertext``.

Side channels: RFC 8017 requires that the failure causes of step 3.g
(non-zero Y, lHash mismatch, missing 0x01 separator) be indistinguishable
"whether by error message or timing" (Manger's attack needs only the Y test).
So we always run both MGF1 passes, compare lHash with
``hmac.compare_digest``, scan the *whole* DB with branch-free integer
arithmetic, accumulate one ``bad`` flag and raise in a single place.  CPython
cannot promise cycle-exact constant time, but no control flow or early exit
depends on secret data.  Only the public length checks (k vs. hLen, input
longer than k) fail early, which the RFC allows.

The caller must have checked ``len(C) == k`` before RSA decryption (step 1.b).
"""

from __future__ import annotations

import hashlib
import hmac

from .base import OaepHash
from .errors import InvalidCiphertext

_HASH_NAMES = {OaepHash.SHA_256: "sha256", OaepHash.SHA_1: "sha1"}


def hash_name(hash: OaepHash) -> str:
    """hashlib name for an ``OaepHash`` (ValueError for unknown values)."""
    return _HASH_NAMES[OaepHash(hash)]


def mgf1(seed: bytes, length: int, hash: OaepHash) -> bytes:
    """MGF1 mask generation (RFC 8017 appendix B.2.1)."""
    name = hash_name(hash)
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += hashlib.new(name, seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return bytes(out[:length])


def decode(encoded: bytes, *, hash: OaepHash, k: int) -> bytes:
    """Return the message inside the OAEP-encoded block ``encoded``.

    ``encoded`` is I2OSP(RSADP(K, c), k); a shorter value (a token that strips
    leading zero octets) is left-padded.  ``k`` is the modulus length in
    bytes.  Empty label, MGF1 with the same hash.  Raises
    ``InvalidCiphertext`` for every failure.
    """
    h_len = hashlib.new(hash_name(hash)).digest_size
    if k < 2 * h_len + 2 or len(encoded) > k:
        raise InvalidCiphertext()
    em = encoded.rjust(k, b"\x00")
    masked_seed, masked_db = em[1 : 1 + h_len], em[1 + h_len :]
    seed = _xor(masked_seed, mgf1(masked_db, h_len, hash))
    db = _xor(masked_db, mgf1(seed, k - h_len - 1, hash))
    l_hash = hashlib.new(hash_name(hash), b"").digest()
    bad = _nonzero(em[0]) | int(not hmac.compare_digest(db[:h_len], l_hash))
    index, no_separator, bad_padding = _scan_padding(db[h_len:])
    if bad | no_separator | bad_padding:
        raise InvalidCiphertext()
    return db[h_len + index + 1 :]


def _xor(a: bytes, b: bytes) -> bytes:
    """XOR equal-length byte strings via big integers (no per-byte branching)."""
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def _nonzero(byte: int) -> int:
    """1 if 0 < byte <= 255 else 0, without a comparison branch."""
    return (byte + 0xFF) >> 8


def _scan_padding(rest: bytes) -> tuple[int, int, int]:
    """Scan ``PS || 0x01 || M`` in full, branch-free.

    Returns (separator index, 1 if no separator, 1 if a non-zero byte precedes
    the separator).  Every byte is visited regardless of where 0x01 sits.
    """
    looking, index, bad_padding = 1, 0, 0
    for position, byte in enumerate(rest):
        is_zero = 1 ^ _nonzero(byte)
        is_one = 1 ^ _nonzero(byte ^ 0x01)
        index |= -(looking & is_one) & position
        bad_padding |= looking & (1 ^ is_zero) & (1 ^ is_one)
        looking &= 1 ^ is_one
    return index, looking, bad_padding
