"""PKCS#11 custody backend (python-pkcs11 0.10; verified against SoftHSM2 2.6.1).

Keys are generated inside the token (TOKEN, PRIVATE, SENSITIVE, not
EXTRACTABLE); the handle ``p11_<hex>`` is their CKA_LABEL/CKA_ID.  Private
key material never leaves the token, except for the post-quantum seeds that
tokens cannot use (see below), which are decrypted in the token for a single
operation.  There is no fallback to software keys, ever.

What runs where, and why:

* AES-256-GCM: CKM_AES_GCM in the token; the token appends the tag, we split it.
* RSA-OAEP: SoftHSM2 2.6 implements CKM_RSA_PKCS_OAEP only with SHA-1
  (SHA-256 parameters -> CKR_ARGUMENTS_BAD); real HSMs do SHA-256 natively.
  So once per token and hash we run a known-answer probe (encrypt a random
  value to the key's public half, decrypt natively).  If it passes we use
  native OAEP; otherwise CKM_RSA_X_509 (raw RSADP) in the token and the
  constant-time EME-OAEP decoder in :mod:`.oaep` on the host.  The raw block
  never leaves this module; failures are one ``InvalidCiphertext``.
* Key wrap (RFC 5649): unwrap is C_UnwrapKey(CKM_AES_KEY_WRAP_PAD) into a
  temporary session object that is read and destroyed.  SoftHSM 2.6.1 does
  not support KWP via C_Encrypt (CKR_MECHANISM_INVALID), and its C_WrapKey
  zero-pads inputs to a multiple of 8 before wrapping (wrong length
  indicator).  A once-per-token round-trip probe detects that; non-conformant
  tokens get the RFC 5649 wrapping process computed by :mod:`._keywrap`
  over in-token CKM_AES_ECB block encryptions.
* Signing: RSASSA-PSS via CKM_SHA256_RSA_PKCS_PSS (SHA-256, MGF1-SHA256, 32
  byte salt); ECDSA P-256 via CKM_ECDSA over a host SHA-256 digest (SoftHSM
  has no CKM_ECDSA_SHA256), raw r||s converted to DER; Ed25519 via CKM_EDDSA
  on a CKK_EC_EDWARDS key with the RFC 8410 OID.
* ML-KEM-768 / ML-DSA-65: generated with ``cryptography``, seed sealed with
  AES-GCM by a per-token non-extractable wrapping key and stored as a
  private token CKO_DATA object (see :mod:`._p11keys`).
* verify: on the host with the token's public key — a public operation, and
  it keeps the process-wide library lock free for private-key work.

Threading, fork safety and session recovery live in :mod:`._p11conn`.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import MGF, KeyType, Mechanism, ObjectClass
from pkcs11 import Attribute as A
from pkcs11 import exceptions as p11x
from pkcs11.mechanisms import GCMParams

from . import _keywrap, _p11conn, _p11keys, _soft, oaep
from ._common import (
    check_aead_shape,
    check_handle,
    check_wrap_input,
    check_wrapped_shape,
    handle_id,
    new_handle,
    pick_iv,
)
from ._p11keys import PQ_SPECS, TokenKey
from .base import (
    GCM_TAG_SIZE,
    RSA_SPECS,
    AeadCiphertext,
    GeneratedKey,
    KeySpec,
    OaepHash,
    Operation,
    SigningAlgorithm,
    check_operation,
    check_signing_algorithm,
    is_asymmetric,
)
from .errors import InvalidCiphertext, KeyMaterialNotFound

log = logging.getLogger(__name__)
T = TypeVar("T")
_PREFIX = "p11"
_OAEP_PARAMS = {
    OaepHash.SHA_256: (Mechanism.SHA256, MGF.SHA256, None),
    OaepHash.SHA_1: (Mechanism.SHA_1, MGF.SHA1, None),
}
_PSS_PARAMS = (Mechanism.SHA256, MGF.SHA256, _soft.PSS_SALT_LENGTH)
_CIPHERTEXT_ERRORS = (
    p11x.GeneralError,  # SoftHSM's answer to a bad GCM tag / bad unwrap / c >= n
    p11x.FunctionFailed,
    p11x.EncryptedDataInvalid,
    p11x.EncryptedDataLenRange,
    p11x.DataInvalid,
    p11x.DataLenRange,
    p11x.WrappedKeyInvalid,
    p11x.WrappedKeyLenRange,
)
_PROBE_FAILURES = (p11x.PKCS11Error, ValueError)
_MAX_REMEMBERED = 4096  # token objects remembered per session; forgotten all at once beyond that


@contextmanager
def _invalid_ciphertext() -> Iterator[None]:
    """Map the token's decryption failures to the one generic error."""
    try:
        yield
    except _p11conn.RECOVERABLE:
        raise
    except _CIPHERTEXT_ERRORS:
        raise InvalidCiphertext() from None


class Pkcs11Backend:
    """Custody in a PKCS#11 token; see the module docstring."""

    name = "pkcs11"

    def __init__(self, module_path: str, token_label: str, user_pin: str) -> None:
        self._connection = _p11conn.connection(module_path, token_label, user_pin)

    def __repr__(self) -> str:
        c = self._connection
        return f"Pkcs11Backend(module_path={c.module_path!r}, token_label={c.token_label!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("custody backends cannot be pickled")

    # -- lifecycle -----------------------------------------------------------

    def generate(self, *, spec: KeySpec, label: str) -> GeneratedKey:
        """Generate in the token; ``label`` is informational and not stored."""
        spec = KeySpec(spec)
        handle = new_handle(_PREFIX)
        if spec in PQ_SPECS:
            return self._generate_pq(spec, handle)

        def op(session: Any) -> bytes | None:
            _purge(session, handle)  # leftovers of a retried attempt, if any
            _p11keys.generate(session, spec, handle, handle_id(handle))
            key = _p11keys.find(session, handle)
            return _p11keys.public_der(key) if is_asymmetric(spec) else None

        return GeneratedKey(handle=handle, public_key_der=self._run(op))

    def _generate_pq(self, spec: KeySpec, handle: str) -> GeneratedKey:
        seed = _soft.generate_material(spec)
        public = _soft.spki_der(_soft.load_private(spec, seed))

        def op(session: Any) -> None:
            _purge(session, handle)
            _p11keys.seal_pq(session, self._connection.cache, handle, spec, seed, public)

        self._run(op)
        return GeneratedKey(handle=handle, public_key_der=public)

    def destroy(self, handle: str) -> None:
        """Destroy every token object of the handle (label or id match)."""
        check_handle(_PREFIX, handle)

        def op(session: Any) -> int:
            self._connection.objects.pop(handle, None)
            return _purge(session, handle)

        if not self._run(op):
            raise KeyMaterialNotFound()

    def health(self) -> None:
        """A real round trip to the token (RNG), not just a cached flag."""
        self._run(lambda session: session.generate_random(64))

    # -- symmetric -----------------------------------------------------------

    def encrypt(
        self, handle: str, *, plaintext: bytes, aad: bytes, iv: bytes | None = None
    ) -> AeadCiphertext:
        iv = pick_iv(iv)

        def op(session: Any) -> bytes:
            key = self._key(session, handle, Operation.ENCRYPT)
            params = GCMParams(iv, aad, 128)
            return key.private.encrypt(plaintext, mechanism=Mechanism.AES_GCM, mechanism_param=params)

        sealed = self._run(op)
        return AeadCiphertext(iv=iv, ciphertext=sealed[:-GCM_TAG_SIZE], tag=sealed[-GCM_TAG_SIZE:])

    def decrypt(self, handle: str, *, ciphertext: AeadCiphertext, aad: bytes) -> bytes:
        def op(session: Any) -> bytes:
            key = self._key(session, handle, Operation.DECRYPT)
            check_aead_shape(ciphertext)
            params = GCMParams(ciphertext.iv, aad, 128)
            with _invalid_ciphertext():
                return key.private.decrypt(
                    ciphertext.ciphertext + ciphertext.tag,
                    mechanism=Mechanism.AES_GCM, mechanism_param=params,
                )  # fmt: skip

        return self._run(op)

    def wrap(self, handle: str, *, key_material: bytes) -> bytes:
        def op(session: Any) -> bytes:
            key = self._key(session, handle, Operation.WRAP)
            check_wrap_input(key_material)
            if self._probe("native-kwp", lambda: _native_kwp_conforms(session, key.private)):
                return _native_wrap(session, key.private, key_material)
            return _keywrap.wrap_with_padding(_ecb_encryptor(key.private), key_material)

        return self._run(op)

    def unwrap(self, handle: str, *, wrapped: bytes) -> bytes:
        def op(session: Any) -> bytes:
            key = self._key(session, handle, Operation.UNWRAP)
            check_wrapped_shape(wrapped)
            with _invalid_ciphertext():
                return _native_unwrap(key.private, wrapped)

        return self._run(op)

    # -- asymmetric ----------------------------------------------------------

    def rsa_decrypt(self, handle: str, *, ciphertext: bytes, hash: OaepHash) -> bytes:
        hash = OaepHash(hash)

        def op(session: Any) -> tuple[bool, bytes, int]:
            key = self._key(session, handle, Operation.RSA_DECRYPT)
            k = len(key.public[A.MODULUS])
            if len(ciphertext) != k:  # RFC 8017 7.1.2 step 1.b
                raise InvalidCiphertext()
            native = self._probe(f"native-oaep-{hash}", lambda: _native_oaep_works(key, hash))
            mechanism, params = (
                (Mechanism.RSA_PKCS_OAEP, _OAEP_PARAMS[hash]) if native
                else (Mechanism.RSA_X_509, None)
            )  # fmt: skip
            with _invalid_ciphertext():
                out = key.private.decrypt(ciphertext, mechanism=mechanism, mechanism_param=params)
            return native, out, k

        native, out, k = self._run(op)
        return out if native else oaep.decode(out, hash=hash, k=k)

    def sign(self, handle: str, *, message: bytes, algorithm: SigningAlgorithm) -> bytes:
        def op(session: Any) -> bytes:
            key = self._key(session, handle, Operation.SIGN)
            check_signing_algorithm(key.spec, algorithm)
            if key.spec in PQ_SPECS:
                private = _soft.load_private(key.spec, _p11keys.unseal_pq(session, handle, key))
                return _soft.sign(key.spec, private, message, algorithm)
            return _sign_in_token(key, message)

        return self._run(op)

    def verify(self, handle: str, *, message: bytes, signature: bytes, algorithm: SigningAlgorithm) -> bool:
        def op(session: Any) -> tuple[KeySpec, bytes]:
            key = self._key(session, handle, Operation.VERIFY)
            return key.spec, _p11keys.public_der(key)

        spec, public = self._run(op)
        return _soft.verify(spec, public, message, signature, algorithm)

    def kem_decapsulate(self, handle: str, *, kem_ciphertext: bytes) -> bytes:
        def op(session: Any) -> bytes:
            key = self._key(session, handle, Operation.KEM_DECAPSULATE)
            private = _soft.load_private(key.spec, _p11keys.unseal_pq(session, handle, key))
            return _soft.decapsulate(private, kem_ciphertext)  # type: ignore[arg-type]  # _key() checked: ML-KEM

        return self._run(op)

    def public_key(self, handle: str) -> bytes:
        def op(session: Any) -> bytes:
            return _p11keys.public_der(self._key(session, handle, Operation.PUBLIC_KEY))

        return self._run(op)

    # -- plumbing ------------------------------------------------------------

    def _run(self, operation: Callable[[Any], T]) -> T:
        return self._connection.run(operation)

    def _key(self, session: Any, handle: str, operation: Operation) -> TokenKey:
        """The token objects of ``handle``, remembered per session (see ``_p11conn.Connection.objects``)."""
        known = self._connection.objects
        key = known.get(handle)
        if key is None:
            key = _p11keys.find(session, check_handle(_PREFIX, handle))
            if len(known) >= _MAX_REMEMBERED:
                known.clear()
            known[handle] = key
        check_operation(key.spec, operation)
        return key

    def _probe(self, name: str, probe: Callable[[], bool]) -> bool:
        """Run a capability probe once per token and process, then cache it."""
        cache = self._connection.cache
        if name not in cache:
            try:
                cache[name] = bool(probe())
            except _p11conn.RECOVERABLE:
                raise
            except _PROBE_FAILURES:
                cache[name] = False
            log.info("pkcs11 capability %s on %r: %s", name, self._connection.token_label, cache[name])
        return bool(cache[name])


def _purge(session: Any, handle: str) -> int:
    """Destroy all objects labelled ``handle`` or carrying its CKA_ID."""
    found = list(session.get_objects({A.LABEL: handle}))
    found += session.get_objects({A.ID: handle_id(handle)})
    unique = {obj.handle: obj for obj in found}
    for obj in unique.values():
        obj.destroy()
    return len(unique)


def _sign_in_token(key: TokenKey, message: bytes) -> bytes:
    if key.spec in RSA_SPECS:
        return key.private.sign(message, mechanism=Mechanism.SHA256_RSA_PKCS_PSS, mechanism_param=_PSS_PARAMS)
    if key.spec is KeySpec.EC_P256:
        raw = key.private.sign(hashlib.sha256(message).digest(), mechanism=Mechanism.ECDSA)
        half = len(raw) // 2
        r, s = int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        return encode_dss_signature(r, s)
    return key.private.sign(message, mechanism=Mechanism.EDDSA)  # pure Ed25519


def _native_oaep_works(key: TokenKey, hash: OaepHash) -> bool:
    """Known-answer probe: does the token decrypt OAEP with ``hash`` correctly?"""
    public: Any = serialization.load_der_public_key(_p11keys.public_der(key))
    probe = secrets.token_bytes(16)
    ciphertext = public.encrypt(probe, _soft.oaep_padding(hash))
    params = _OAEP_PARAMS[hash]
    return key.private.decrypt(
        ciphertext, mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=params
    ) == probe  # fmt: skip


def _native_kwp_conforms(session: Any, aes: Any) -> bool:
    """1 byte must round-trip exactly (SoftHSM 2.6.1 returns 8 padded bytes)."""
    probe = secrets.token_bytes(1)
    return _native_unwrap(aes, _native_wrap(session, aes, probe)) == probe


def _native_wrap(session: Any, aes: Any, material: bytes) -> bytes:
    """C_WrapKey a short-lived session object holding the caller's material."""
    temporary = session.create_object({
        A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.GENERIC_SECRET,
        A.TOKEN: False, A.SENSITIVE: False, A.EXTRACTABLE: True, A.VALUE: material,
    })  # fmt: skip
    try:
        return aes.wrap_key(temporary, mechanism=Mechanism.AES_KEY_WRAP_PAD)
    finally:
        temporary.destroy()


def _native_unwrap(aes: Any, wrapped: bytes) -> bytes:
    """C_UnwrapKey into a session object, read its value, destroy it."""
    temporary = aes.unwrap_key(
        ObjectClass.SECRET_KEY, KeyType.GENERIC_SECRET, wrapped,
        mechanism=Mechanism.AES_KEY_WRAP_PAD, store=False,
        template={A.TOKEN: False, A.SENSITIVE: False, A.EXTRACTABLE: True},
    )  # fmt: skip
    try:
        return bytes(temporary[A.VALUE])
    finally:
        temporary.destroy()


def _ecb_encryptor(aes: Any) -> Callable[[bytes], bytes]:
    """One in-token AES block encryption per call (for ``_keywrap``)."""
    return lambda block: aes.encrypt(block, mechanism=Mechanism.AES_ECB)
