"""RFC 5649 key wrap with padding on top of a single-block AES encryptor.

Why: SoftHSM2 2.6.1's C_WrapKey(CKM_AES_KEY_WRAP_PAD) zero-pads the input to
a multiple of 8 *before* wrapping, so the message length indicator is wrong
for lengths not divisible by 8 (its C_UnwrapKey is conformant).  When the
token fails the conformance probe, the pkcs11 backend computes the RFC 5649
wrapping process here while every AES block operation (CKM_AES_ECB) still
happens inside the token with the non-extractable key.  Only public-by-design
values (the caller's plaintext and intermediate wrap state) touch the host.
"""

from __future__ import annotations

from collections.abc import Callable

_AIV_PREFIX = bytes.fromhex("A65959A6")
_SEMIBLOCK = 8


def wrap_with_padding(encrypt_block: Callable[[bytes], bytes], plaintext: bytes) -> bytes:
    """Return AES-KWP(K, plaintext) where ``encrypt_block`` is AES_K on 16 bytes."""
    if not plaintext:
        raise ValueError("RFC 5649 requires at least one octet")
    aiv = _AIV_PREFIX + len(plaintext).to_bytes(4, "big")
    padded = plaintext + b"\x00" * (-len(plaintext) % _SEMIBLOCK)
    if len(padded) == _SEMIBLOCK:  # RFC 5649 section 4.1, single semiblock
        return encrypt_block(aiv + padded)
    return _wrapping_process(encrypt_block, aiv, padded)


def _wrapping_process(encrypt_block: Callable[[bytes], bytes], a: bytes, padded: bytes) -> bytes:
    """RFC 3394 section 2.2.1 (index-based form) with ``a`` as the initial value."""
    r = [padded[i : i + _SEMIBLOCK] for i in range(0, len(padded), _SEMIBLOCK)]
    n = len(r)
    for j in range(6):
        for i in range(n):
            block = encrypt_block(a + r[i])
            t = n * j + i + 1
            a = (int.from_bytes(block[:_SEMIBLOCK], "big") ^ t).to_bytes(_SEMIBLOCK, "big")
            r[i] = block[_SEMIBLOCK:]
    return a + b"".join(r)
