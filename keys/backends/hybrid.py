"""ML-KEM-768 hybrid key wrapping for the service layer.

``kem_wrap`` needs only the recipient's public key (the control plane stores
it), so anyone can wrap material *to* a custody key; only the backend holding
the ML-KEM private key can ``kem_unwrap``.  Construction (KEM-DEM):

    (ss, kem_ct) = ML-KEM-768.Encaps(pk)             # cryptography's API
    kek          = HKDF-SHA256(ss, salt=None, info=INFO || header, L=32)
    wrapped      = AES-256-KWP(kek, key_material)     # RFC 5649

Blob layout (self-describing, versioned)::

    b"CKKW" | version=0x01 | suite=0x01 | len(kem_ct) u16be | kem_ct | wrapped

Suite 0x01 = ML-KEM-768 + HKDF-SHA256 + AES-256-KWP.  The header is fed to
HKDF so a blob cannot be reinterpreted under another version or suite.
"""

from __future__ import annotations

import struct

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import mlkem
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from . import _soft
from ._common import check_wrap_input, check_wrapped_shape
from .base import CustodyBackend
from .errors import InvalidCiphertext, UnsupportedOperation

MAGIC = b"CKKW"
VERSION = 1
SUITE_MLKEM768_HKDF_SHA256_AES256_KWP = 1
KEM_CIPHERTEXT_SIZE = 1088  # FIPS 203, ML-KEM-768
INFO = b"cockpit/hybrid-kem-wrap/v1/ML-KEM-768/HKDF-SHA256/AES-256-KWP"
_HEADER = struct.Struct(">4sBBH")


def kem_wrap(public_key_der: bytes, key_material: bytes) -> bytes:
    """Wrap ``key_material`` to the ML-KEM-768 key in ``public_key_der`` (SPKI)."""
    check_wrap_input(key_material)
    public = _load_mlkem_public(public_key_der)
    shared_secret, kem_ciphertext = public.encapsulate()
    header = _HEADER.pack(MAGIC, VERSION, SUITE_MLKEM768_HKDF_SHA256_AES256_KWP, len(kem_ciphertext))
    kek = _derive_kek(shared_secret, header)
    return header + kem_ciphertext + _soft.kwp_wrap(kek, key_material)


def kem_unwrap(backend: CustodyBackend, handle: str, blob: bytes) -> bytes:
    """Recover the material from a ``kem_wrap`` blob using the backend's key.

    Any malformed or tampered blob raises the generic ``InvalidCiphertext``.
    """
    header, kem_ciphertext, wrapped = _parse(blob)
    shared_secret = backend.kem_decapsulate(handle, kem_ciphertext=kem_ciphertext)
    return _soft.kwp_unwrap(_derive_kek(shared_secret, header), wrapped)


def _load_mlkem_public(public_key_der: bytes) -> mlkem.MLKEM768PublicKey:
    """Parse SPKI DER and insist on ML-KEM-768 (no silent algorithm switch)."""
    try:
        public = serialization.load_der_public_key(public_key_der)
    except ValueError:
        raise UnsupportedOperation("public key is not an ML-KEM-768 key") from None
    if not isinstance(public, mlkem.MLKEM768PublicKey):
        raise UnsupportedOperation("public key is not an ML-KEM-768 key")
    return public


def _derive_kek(shared_secret: bytes, header: bytes) -> bytes:
    """HKDF-SHA256 the KEM secret into a 256-bit KWP key bound to the header."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO + header).derive(shared_secret)


def _parse(blob: bytes) -> tuple[bytes, bytes, bytes]:
    """Split and validate a blob; every structural problem is InvalidCiphertext."""
    if not isinstance(blob, bytes) or len(blob) < _HEADER.size:
        raise InvalidCiphertext()
    header = blob[: _HEADER.size]
    magic, version, suite, ct_len = _HEADER.unpack(header)
    expected = (MAGIC, VERSION, SUITE_MLKEM768_HKDF_SHA256_AES256_KWP, KEM_CIPHERTEXT_SIZE)
    if (magic, version, suite, ct_len) != expected:
        raise InvalidCiphertext()
    body = blob[_HEADER.size :]
    kem_ciphertext, wrapped = body[:ct_len], body[ct_len:]
    if len(kem_ciphertext) != ct_len:
        raise InvalidCiphertext()
    check_wrapped_shape(wrapped)
    return header, kem_ciphertext, wrapped
