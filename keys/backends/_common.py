"""Input validation and handle helpers shared by all backends.

Centralised so every backend rejects the same inputs with the same errors,
before touching any key material.
"""

from __future__ import annotations

import re
import secrets

from .base import GCM_IV_SIZE, GCM_TAG_SIZE, MAX_WRAP_INPUT, AeadCiphertext
from .errors import InvalidArgument, InvalidCiphertext, KeyMaterialNotFound

_HANDLE_HEX_BYTES = 16


def new_handle(prefix: str) -> str:
    """Random, unguessable handle: ``<prefix>_`` + 32 lowercase hex digits."""
    return f"{prefix}_{secrets.token_hex(_HANDLE_HEX_BYTES)}"


def check_handle(prefix: str, handle: object) -> str:
    """Return ``handle`` if well formed, else ``KeyMaterialNotFound``.

    Strict matching matters: the software backend turns handles into file
    names (path traversal) and the pkcs11 backend into search templates.
    """
    pattern = rf"{re.escape(prefix)}_[0-9a-f]{{{2 * _HANDLE_HEX_BYTES}}}"
    if not isinstance(handle, str) or re.fullmatch(pattern, handle) is None:
        raise KeyMaterialNotFound()
    return handle


def handle_id(handle: str) -> bytes:
    """Binary CKA_ID-style identifier derived from a (validated) handle."""
    return bytes.fromhex(handle.rsplit("_", 1)[1])


def pick_iv(iv: bytes | None) -> bytes:
    """Validate a caller IV or draw a fresh random one.

    Random 96-bit IVs are fine for far fewer than 2**32 messages per key; key
    rotation in the control plane keeps us well under that.
    """
    if iv is None:
        return secrets.token_bytes(GCM_IV_SIZE)
    if not isinstance(iv, bytes) or len(iv) != GCM_IV_SIZE:
        raise InvalidArgument("iv must be exactly 12 bytes")
    return iv


def check_aead_shape(ciphertext: AeadCiphertext) -> None:
    """Reject structurally impossible GCM inputs as ``InvalidCiphertext``."""
    if (
        len(ciphertext.iv) != GCM_IV_SIZE
        or len(ciphertext.tag) != GCM_TAG_SIZE
        or not isinstance(ciphertext.ciphertext, bytes)
    ):
        raise InvalidCiphertext()


def check_wrap_input(key_material: bytes) -> None:
    """RFC 5649 needs at least one byte; cap the size (see ``MAX_WRAP_INPUT``)."""
    if not isinstance(key_material, bytes) or not 1 <= len(key_material) <= MAX_WRAP_INPUT:
        raise InvalidArgument("key_material must be 1..8192 bytes")


def check_wrapped_shape(wrapped: bytes) -> None:
    """An RFC 5649 output is >= 16 bytes and a multiple of 8."""
    if len(wrapped) < 16 or len(wrapped) % 8 or len(wrapped) > MAX_WRAP_INPUT + 8:
        raise InvalidCiphertext()
