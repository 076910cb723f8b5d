"""Token object layout of the pkcs11 backend.

A handle ``p11_<32 hex>`` is both CKA_LABEL and (hex-decoded) CKA_ID of its
objects:

* AES_256            one CKO_SECRET_KEY
* RSA_*/EC/ED25519   CKO_PRIVATE_KEY + CKO_PUBLIC_KEY generated in the token
* ML_KEM_768/ML_DSA_65  one CKO_DATA object (data objects have no CKA_ID in
  SoftHSM) holding the private seed sealed with AES-GCM *inside the token*
  under a per-token wrapping key; see :func:`seal_pq` for the layout.

All key objects are TOKEN, PRIVATE, SENSITIVE and not EXTRACTABLE; the spec
is derived from the objects themselves, so the token is the single source of
truth.  All functions here take a live session and must run inside
``Connection.run``.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
from dataclasses import dataclass
from typing import Any

import pkcs11
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from pkcs11 import Attribute as A
from pkcs11 import KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11.mechanisms import GCMParams
from pkcs11.util.ec import encode_named_curve_parameters

from .base import GCM_TAG_SIZE, RSA_SPECS, KeySpec
from .errors import KeyMaterialNotFound, KeyStoreIntegrityError

P256_PARAMS = encode_named_curve_parameters("1.2.840.10045.3.1.7")
ED25519_PARAMS = encode_named_curve_parameters("1.3.101.112")
PQ_SPECS = (KeySpec.ML_KEM_768, KeySpec.ML_DSA_65)
PQ_APPLICATION = "cockpit/pq-sealed-v1"
WRAPPING_KEY_LABEL = "cockpit-pq-wrapping-key-v1"
_PQ_MAGIC = b"CKPQ"
_CACHE_WRAP_ID = "pq_wrapping_key_id"

KEY_TEMPLATE: dict[pkcs11.Attribute, Any] = {
    A.TOKEN: True,
    A.PRIVATE: True,
    A.SENSITIVE: True,
    A.EXTRACTABLE: False,
}
PUBLIC_TEMPLATE = {A.TOKEN: True, A.PRIVATE: True}
_ENC = MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT
_SIG = MechanismFlag.SIGN | MechanismFlag.VERIFY
_WRAP = MechanismFlag.WRAP | MechanismFlag.UNWRAP
_BITS_TO_RSA = {bits: spec for spec, bits in RSA_SPECS.items()}


@dataclass
class TokenKey:
    """The objects of one handle, plus the spec derived from them."""

    spec: KeySpec
    objects: list[Any]
    # python-pkcs11 objects (untyped); None when the handle has no such object
    private: Any = None  # secret or private key
    public: Any = None
    data: Any = None  # CKO_DATA holding a sealed post-quantum seed


def generate(session: Any, spec: KeySpec, handle: str, key_id: bytes) -> None:
    """Generate a classical key pair / secret key inside the token."""
    names = {"id": key_id, "label": handle, "store": True}
    if spec is KeySpec.AES_256:
        session.generate_key(KeyType.AES, 256, capabilities=_ENC | _WRAP, template=KEY_TEMPLATE, **names)
        return
    if spec in RSA_SPECS:
        key_type, bits, caps, params = KeyType.RSA, RSA_SPECS[spec], _ENC | _SIG, None
    elif spec is KeySpec.EC_P256:
        key_type, bits, caps, params = KeyType.EC, None, _SIG, P256_PARAMS
    else:  # ED25519 (CKK_EC_EDWARDS + the RFC 8410 OID; SoftHSM >= 2.6 built with OpenSSL 1.1.1+)
        key_type, bits, caps, params = KeyType.EC_EDWARDS, None, _SIG, ED25519_PARAMS
    public = dict(PUBLIC_TEMPLATE) | ({A.EC_PARAMS: params} if params else {})
    session.generate_keypair(
        key_type,
        bits,
        capabilities=caps,
        public_template=public,
        private_template=KEY_TEMPLATE,
        **names,
    )


def find(session: Any, handle: str) -> TokenKey:
    """All objects labelled ``handle``; ``KeyMaterialNotFound`` if none usable."""
    objects = list(session.get_objects({A.LABEL: handle}))
    found = TokenKey(spec=KeySpec.AES_256, objects=objects)
    for obj in objects:
        cls = obj[A.CLASS]
        if cls in (ObjectClass.SECRET_KEY, ObjectClass.PRIVATE_KEY):
            found.private = obj
        elif cls == ObjectClass.PUBLIC_KEY:
            found.public = obj
        elif cls == ObjectClass.DATA and obj[A.APPLICATION] == PQ_APPLICATION:
            found.data = obj
    if found.private is None and found.data is None:
        raise KeyMaterialNotFound()
    found.spec = _spec_of(found)
    return found


def _spec_of(key: TokenKey) -> KeySpec:
    if key.data is not None:
        return PqRecord.parse(key.data[A.VALUE]).spec
    key_type = key.private.key_type
    if key_type == KeyType.AES:
        return KeySpec.AES_256
    if key.public is None:
        raise KeyStoreIntegrityError()
    if key_type == KeyType.RSA:
        spec = _BITS_TO_RSA.get(len(key.public[A.MODULUS]) * 8)
        if spec is not None:
            return spec
    elif key_type == KeyType.EC and key.public[A.EC_PARAMS] == P256_PARAMS:
        return KeySpec.EC_P256
    elif key_type == KeyType.EC_EDWARDS:
        return KeySpec.ED25519
    raise KeyStoreIntegrityError()


def public_der(key: TokenKey) -> bytes:
    """SPKI DER built with ``cryptography`` from the token's public attributes."""
    if key.spec in PQ_SPECS:
        return PqRecord.parse(key.data[A.VALUE]).public_der
    public = key.public
    if key.spec in RSA_SPECS:
        n = int.from_bytes(public[A.MODULUS], "big")
        e = int.from_bytes(public[A.PUBLIC_EXPONENT], "big")
        loaded: Any = rsa.RSAPublicNumbers(e, n).public_key()
    elif key.spec is KeySpec.EC_P256:
        point = _ec_point(public[A.EC_POINT], 65)
        loaded = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    else:
        loaded = ed25519.Ed25519PublicKey.from_public_bytes(_ec_point(public[A.EC_POINT], 32))
    return loaded.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _ec_point(value: bytes, size: int) -> bytes:
    """CKA_EC_POINT is a DER OCTET STRING in v2.40 but raw in some v3 tokens."""
    if len(value) == size:
        return value
    if len(value) == size + 2 and value[0] == 0x04 and value[1] == size:
        return value[2:]
    raise KeyStoreIntegrityError()


# -- post-quantum keys sealed under a token wrapping key ----------------------


@dataclass(frozen=True)
class PqRecord:
    """``CKPQ | ver | spec | wrapping-key id | iv | public SPKI | sealed seed``."""

    spec: KeySpec
    wrapping_key_id: bytes
    iv: bytes
    public_der: bytes
    sealed: bytes
    _layout = struct.Struct(">4sBB")

    def encode(self) -> bytes:
        spec = self.spec.value.encode("ascii")
        return b"".join((
            self._layout.pack(_PQ_MAGIC, 1, len(spec)), spec,
            bytes([len(self.wrapping_key_id)]), self.wrapping_key_id, self.iv,
            struct.pack(">H", len(self.public_der)), self.public_der, self.sealed,
        ))  # fmt: skip

    @classmethod
    def parse(cls, blob: bytes) -> PqRecord:
        try:
            magic, version, spec_len = cls._layout.unpack_from(blob)
            pos = cls._layout.size
            spec = KeySpec(blob[pos : pos + spec_len].decode("ascii"))
            pos += spec_len
            wk_id = blob[pos + 1 : pos + 1 + blob[pos]]
            pos += 1 + len(wk_id)
            iv, (pub_len,) = blob[pos : pos + 12], struct.unpack_from(">H", blob, pos + 12)
            pos += 14
            public, sealed = blob[pos : pos + pub_len], blob[pos + pub_len :]
            if magic != _PQ_MAGIC or version != 1 or len(sealed) <= GCM_TAG_SIZE:
                raise ValueError
        except (ValueError, IndexError, struct.error, UnicodeDecodeError):
            raise KeyStoreIntegrityError() from None
        return cls(spec, wk_id, iv, public, sealed)


def _pq_aad(handle: str, spec: KeySpec, public: bytes) -> bytes:
    """Bind the sealed seed to its handle, spec and public key."""
    digest = hashlib.sha256(public).digest()
    return b"cockpit/pkcs11-pq/v1|" + f"{handle}|{spec.value}|".encode() + digest


def seal_pq(
    session: Any, cache: dict[str, Any], handle: str, spec: KeySpec, seed: bytes, public: bytes
) -> None:
    """Encrypt ``seed`` in the token and store it as a private CKO_DATA object."""
    wrapping_key = _wrapping_key(session, cache)
    iv = secrets.token_bytes(12)
    params = GCMParams(iv, _pq_aad(handle, spec, public), 128)
    sealed = wrapping_key.encrypt(seed, mechanism=Mechanism.AES_GCM, mechanism_param=params)
    record = PqRecord(spec, wrapping_key[A.ID], iv, public, sealed)
    session.create_object({
        A.CLASS: ObjectClass.DATA, A.TOKEN: True, A.PRIVATE: True, A.LABEL: handle,
        A.APPLICATION: PQ_APPLICATION, A.VALUE: record.encode(),
    })  # fmt: skip


def unseal_pq(session: Any, handle: str, key: TokenKey) -> bytes:
    """Decrypt the seed in the token; the caller uses it for one operation."""
    record = PqRecord.parse(key.data[A.VALUE])
    wrapping_key = _by_id(session, record.wrapping_key_id)
    if wrapping_key is None:
        raise KeyStoreIntegrityError()
    params = GCMParams(record.iv, _pq_aad(handle, record.spec, record.public_der), 128)
    try:
        return wrapping_key.decrypt(record.sealed, mechanism=Mechanism.AES_GCM, mechanism_param=params)
    except (pkcs11.exceptions.GeneralError, pkcs11.exceptions.EncryptedDataInvalid):
        raise KeyStoreIntegrityError() from None


def _by_id(session: Any, key_id: bytes) -> Any | None:
    query = {A.CLASS: ObjectClass.SECRET_KEY, A.LABEL: WRAPPING_KEY_LABEL, A.ID: key_id}
    return next(iter(session.get_objects(query)), None)


def _wrapping_key(session: Any, cache: dict[str, Any]) -> Any:
    """Find or create the token's PQ wrapping key.

    If two processes race to create it, both keys survive; every record names
    the key id it was sealed under, and new records deterministically use the
    smallest id, so the race is harmless.
    """
    cached = cache.get(_CACHE_WRAP_ID)
    if cached is not None and (key := _by_id(session, cached)) is not None:
        return key
    query = {A.CLASS: ObjectClass.SECRET_KEY, A.LABEL: WRAPPING_KEY_LABEL}
    candidates = list(session.get_objects(query))
    if not candidates:
        candidates = [session.generate_key(
            KeyType.AES, 256, id=secrets.token_bytes(16), label=WRAPPING_KEY_LABEL,
            store=True, capabilities=_ENC, template=KEY_TEMPLATE,
        )]  # fmt: skip
    key = min(candidates, key=lambda k: k[A.ID])
    cache[_CACHE_WRAP_ID] = key[A.ID]
    return key
