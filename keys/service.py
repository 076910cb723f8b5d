"""The key service: data-plane operations that connectors and the tenant API call.

Every call checks tenant (the caller passes a key fetched within its tenant), state and usage, runs in the
custody backend, counts the operation for the tenant's usage figures and writes an audit event with the
outcome, caller and key version — never plaintext, AAD or key material.
"""

from __future__ import annotations

import os
import struct
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cockpit.errors import CockpitError
from keys import custody
from keys import errors as key_errors
from keys.backends import (
    AeadCiphertext,
    BackendError,
    BackendUnavailable,
    InvalidArgument,
    KeyMaterialNotFound,
    KeySpec,
    OaepHash,
    SigningAlgorithm,
    UnsupportedOperation,
)
from keys.backends import InvalidCiphertext as BackendInvalidCiphertext
from keys.backends.hybrid import kem_wrap
from keys.models import Key, KeyState, KeyVersion
from keys.rules import usage_allows
from keys.selectors import usable_version
from keys.usage import record_operation

# The XKS spec requires 4300 bytes of plaintext and 8192 of AAD; its GCM AAD adds 8 bytes of framing.
MAX_PLAINTEXT = 4300
MAX_AAD = 8200
MAX_MESSAGE = 4096
MAX_WRAP_MATERIAL = 8192
MAX_CIPHERTEXT = 16384

_AES_BLOB = b"CKP\x01"
_WRAP_BLOB = b"CKW\x01"
_KEM_BLOB = b"CKW\x02"
_HEADER = struct.Struct(">4s16sI")  # magic, key id, version
_AAD_LABEL = b"cockpit/key-service/v1\x00"
RSA_ALGORITHMS = {"RSAES_OAEP_SHA_256": OaepHash.SHA_256, "RSAES_OAEP_SHA_1": OaepHash.SHA_1}


@dataclass(frozen=True)
class Caller:
    """Who is calling and through which channel ("api", or a connector such as "aws_xks:<binding>")."""

    actor: Any
    channel: str = "api"


@dataclass(frozen=True)
class Result:
    """An operation's output and the key version it used."""

    version: int
    value: bytes


def _limit(name: str, data: bytes, maximum: int) -> None:
    if len(data) > maximum:
        raise key_errors.OversizedInput(f"{name} is {len(data)} bytes; the limit is {maximum}.")


def _check_usable(key: Key, operation: str) -> None:
    if key.state != KeyState.ENABLED:
        raise key_errors.KeyDisabled(f"The key is {key.get_state_display().lower()}.")
    if not usage_allows(key.usage, operation):
        raise key_errors.WrongKeyUsage(f"The key's usage is {key.usage}; {operation} is not allowed.")


def _version(key: Key, number: int | None) -> KeyVersion:
    version = usable_version(key=key, number=number)
    if version is None:
        if number is None:
            raise key_errors.KeyDisabled("The key has no active version yet.")
        raise key_errors.InvalidCiphertext(f"Version {number} of this key does not exist or was destroyed.")
    return version


def _run[T](
    key: Key, caller: Caller, operation: str, version: KeyVersion, fn: Callable[[], T], size: int
) -> T:
    """Run one backend call; map backend errors to the error contract; count and audit either way (with
    the time the custody backend took)."""
    started = time.perf_counter()
    try:
        result = fn()
    except BackendError as exc:
        reason, error = _failure(exc)
        _finish(key, caller, operation, version, ok=False, size=size, started=started, reason=reason)
        raise error from None
    _finish(key, caller, operation, version, ok=True, size=size, started=started)
    return result


def _failure(exc: BackendError) -> tuple[str, CockpitError]:
    """The audit reason and the error-contract error for a backend failure (never its message, except
    for invalid arguments, whose messages are written for callers)."""
    if isinstance(exc, BackendInvalidCiphertext):
        return "invalid_ciphertext", key_errors.InvalidCiphertext()
    if isinstance(exc, KeyMaterialNotFound):
        return "material_missing", key_errors.KeyDisabled("The key material no longer exists.")
    if isinstance(exc, UnsupportedOperation):
        return "unsupported", key_errors.WrongKeyUsage("This key cannot do that.")
    if isinstance(exc, InvalidArgument):
        return "invalid_argument", key_errors.InvalidRequest(str(exc) or "Invalid input.")
    if isinstance(exc, BackendUnavailable):
        return "custody_unavailable", key_errors.CustodyUnavailable()
    if type(exc).__name__ == "KeyDisabledAtNodes":  # the MPC nodes refuse it on their own record
        return "disabled_at_nodes", key_errors.KeyDisabled(
            "The MPC nodes refuse this key: it is disabled there."
        )
    return "custody_error", key_errors.CustodyUnavailable()


def _finish(
    key: Key, caller: Caller, operation: str, version: KeyVersion, *, ok: bool, size: int, started: float,
    reason: str = "",
) -> None:  # fmt: skip
    details: dict[str, Any] = {
        "operation": operation,
        "version": version.number,
        "channel": caller.channel,
        "bytes": size,
        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
    }
    if reason:
        details["reason"] = reason
    record_operation(key=key, caller=caller, operation=operation, ok=ok, details=details)


def _aad(key: Key, version: int, aad: bytes) -> bytes:
    return _AAD_LABEL + key.pk.bytes + struct.pack(">I", version) + aad


def _parse_blob(key: Key, blob: bytes, magics: tuple[bytes, ...]) -> tuple[bytes, int, bytes]:
    if len(blob) < _HEADER.size:
        raise key_errors.InvalidCiphertext("The ciphertext is too short.")
    magic, key_id, number = _HEADER.unpack_from(blob)
    if magic not in magics:
        raise key_errors.InvalidCiphertext("The ciphertext was not made by Cockpit's key service.")
    if uuid.UUID(bytes=key_id) != key.pk:
        raise key_errors.InvalidCiphertext("The ciphertext was made under another key.")
    return magic, number, blob[_HEADER.size :]


# --- raw AES-GCM (connectors that own their wire format, e.g. AWS XKS) --------------------------------


def aead_encrypt(
    *, key: Key, plaintext: bytes, aad: bytes, caller: Caller, iv: bytes | None = None
) -> tuple[int, AeadCiphertext]:
    """AES-256-GCM under the current version with the caller's AAD; returns (version, ciphertext)."""
    _check_usable(key, "encrypt")
    _limit("plaintext", plaintext, MAX_PLAINTEXT)
    _limit("aad", aad, MAX_AAD)
    version = _version(key, None)
    backend = custody.get_backend(key.custody)
    out = _run(
        key,
        caller,
        "encrypt",
        version,
        lambda: backend.encrypt(version.handle, plaintext=plaintext, aad=aad, iv=iv),
        len(plaintext),
    )
    return version.number, out


def aead_decrypt(*, key: Key, version: int, ciphertext: AeadCiphertext, aad: bytes, caller: Caller) -> bytes:
    """Inverse of ``aead_encrypt`` for any version still active."""
    _check_usable(key, "decrypt")
    _limit("ciphertext", ciphertext.ciphertext, MAX_CIPHERTEXT)
    _limit("aad", aad, MAX_AAD)
    row = _version(key, version)
    backend = custody.get_backend(key.custody)
    return _run(
        key,
        caller,
        "decrypt",
        row,
        lambda: backend.decrypt(row.handle, ciphertext=ciphertext, aad=aad),
        len(ciphertext.ciphertext),
    )


# --- tenant API shapes -----------------------------------------------------------------------------------


def encrypt(*, key: Key, plaintext: bytes, caller: Caller, aad: bytes = b"") -> Result:
    """AES keys: a self-describing blob (key id, version, IV, tag, ciphertext). RSA keys: OAEP-SHA256."""
    if key.spec in (KeySpec.RSA_2048, KeySpec.RSA_3072, KeySpec.RSA_4096):
        return _rsa_encrypt(key=key, plaintext=plaintext, caller=caller)
    _check_usable(key, "encrypt")
    _limit("plaintext", plaintext, MAX_PLAINTEXT)
    _limit("aad", aad, MAX_AAD)
    version = _version(key, None)
    backend = custody.get_backend(key.custody)
    out = _run(
        key, caller, "encrypt", version,
        lambda: backend.encrypt(version.handle, plaintext=plaintext, aad=_aad(key, version.number, aad)),
        len(plaintext),
    )  # fmt: skip
    blob = _HEADER.pack(_AES_BLOB, key.pk.bytes, version.number) + out.iv + out.tag + out.ciphertext
    return Result(version.number, blob)


def _rsa_encrypt(*, key: Key, plaintext: bytes, caller: Caller) -> Result:
    _check_usable(key, "encrypt")
    version = _version(key, None)
    public = serialization.load_der_public_key(bytes(version.public_key_der or b""))
    assert isinstance(public, rsa.RSAPublicKey)
    _limit("plaintext", plaintext, public.key_size // 8 - 2 * 32 - 2)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    out = _run(key, caller, "encrypt", version, lambda: public.encrypt(plaintext, oaep), len(plaintext))
    return Result(version.number, out)


def decrypt(
    *, key: Key, ciphertext: bytes, caller: Caller, aad: bytes = b"", algorithm: str | None = None,
    key_version: int | None = None,
) -> Result:  # fmt: skip
    """Inverse of ``encrypt``. RSA keys take the raw OAEP ciphertext, the algorithm and the version."""
    _check_usable(key, "decrypt")
    _limit("ciphertext", ciphertext, MAX_CIPHERTEXT)
    _limit("aad", aad, MAX_AAD)
    if key.spec in (KeySpec.RSA_2048, KeySpec.RSA_3072, KeySpec.RSA_4096):
        oaep = RSA_ALGORITHMS.get(algorithm or "RSAES_OAEP_SHA_256")
        if oaep is None:
            raise key_errors.InvalidRequest(f"algorithm must be one of {', '.join(RSA_ALGORITHMS)}.")
        return rsa_decrypt(key=key, ciphertext=ciphertext, hash=oaep, caller=caller, key_version=key_version)
    _, number, rest = _parse_blob(key, ciphertext, (_AES_BLOB,))
    if len(rest) < 28:
        raise key_errors.InvalidCiphertext("The ciphertext is too short.")
    version = _version(key, number)
    sealed = AeadCiphertext(iv=rest[:12], tag=rest[12:28], ciphertext=rest[28:])
    backend = custody.get_backend(key.custody)
    plaintext = _run(
        key, caller, "decrypt", version,
        lambda: backend.decrypt(version.handle, ciphertext=sealed, aad=_aad(key, number, aad)),
        len(sealed.ciphertext),
    )  # fmt: skip
    return Result(number, plaintext)


def rsa_decrypt(
    *, key: Key, ciphertext: bytes, hash: OaepHash, caller: Caller, key_version: int | None = None
) -> Result:
    """RSA-OAEP decryption with a given (or the current) version: what Microsoft DKE asks for."""
    _check_usable(key, "decrypt")
    _limit("ciphertext", ciphertext, 1024)
    version = _version(key, key_version)
    backend = custody.get_backend(key.custody)
    plaintext = _run(
        key,
        caller,
        "decrypt",
        version,
        lambda: backend.rsa_decrypt(version.handle, ciphertext=ciphertext, hash=hash),
        len(ciphertext),
    )
    return Result(version.number, plaintext)


def generate_data_key(
    *, key: Key, caller: Caller, number_of_bytes: int = 32, aad: bytes = b""
) -> tuple[Result, bytes]:
    """A fresh random data key: (encrypted blob, plaintext data key); the caller uses and forgets it."""
    if not 16 <= number_of_bytes <= 64:
        raise key_errors.InvalidRequest("number_of_bytes must be between 16 and 64.")
    if key.spec != KeySpec.AES_256:
        raise key_errors.WrongKeyUsage("Data keys are generated under AES_256 keys.")
    _check_usable(key, "generate_data_key")
    data_key = os.urandom(number_of_bytes)
    return encrypt(key=key, plaintext=data_key, caller=caller, aad=aad), data_key


def sign(*, key: Key, message: bytes, algorithm: str, caller: Caller) -> Result:
    """Sign the whole message with the current version."""
    _check_usable(key, "sign")
    _limit("message", message, MAX_MESSAGE)
    alg = _algorithm(algorithm)
    version = _version(key, None)
    backend = custody.get_backend(key.custody)
    signature = _run(
        key,
        caller,
        "sign",
        version,
        lambda: backend.sign(version.handle, message=message, algorithm=alg),
        len(message),
    )
    return Result(version.number, signature)


def verify(
    *,
    key: Key,
    message: bytes,
    signature: bytes,
    algorithm: str,
    caller: Caller,
    key_version: int | None = None,
) -> tuple[int, bool]:
    """Check a signature with the given (or current) version."""
    _check_usable(key, "verify")
    _limit("message", message, MAX_MESSAGE)
    _limit("signature", signature, 8192)
    alg = _algorithm(algorithm)
    version = _version(key, key_version)
    backend = custody.get_backend(key.custody)
    valid = _run(
        key, caller, "verify", version,
        lambda: backend.verify(version.handle, message=message, signature=signature, algorithm=alg),
        len(message),
    )  # fmt: skip
    return version.number, valid


def _algorithm(name: str) -> SigningAlgorithm:
    try:
        return SigningAlgorithm(name)
    except ValueError:
        allowed = ", ".join(a.value for a in SigningAlgorithm)
        raise key_errors.InvalidRequest(f"Unknown signing algorithm; use one of {allowed}.") from None


def wrap(*, key: Key, key_material: bytes, caller: Caller) -> Result:
    """Wrap key material: RFC 5649 under AES keys, ML-KEM-768 hybrid under ML-KEM keys."""
    _check_usable(key, "wrap")
    if not key_material:
        raise key_errors.InvalidRequest("key_material is empty.")
    _limit("key_material", key_material, MAX_WRAP_MATERIAL)
    version = _version(key, None)
    if key.spec == KeySpec.ML_KEM_768:
        public = bytes(version.public_key_der or b"")
        blob = _run(key, caller, "wrap", version, lambda: kem_wrap(public, key_material), len(key_material))
        return Result(version.number, _HEADER.pack(_KEM_BLOB, key.pk.bytes, version.number) + blob)
    backend = custody.get_backend(key.custody)
    wrapped = _run(
        key,
        caller,
        "wrap",
        version,
        lambda: backend.wrap(version.handle, key_material=key_material),
        len(key_material),
    )
    return Result(version.number, _HEADER.pack(_WRAP_BLOB, key.pk.bytes, version.number) + wrapped)


def unwrap(*, key: Key, wrapped: bytes, caller: Caller) -> Result:
    """Inverse of ``wrap``."""
    from keys.backends.hybrid import kem_unwrap

    _check_usable(key, "unwrap")
    _limit("wrapped", wrapped, MAX_CIPHERTEXT)
    magic, number, body = _parse_blob(key, wrapped, (_WRAP_BLOB, _KEM_BLOB))
    version = _version(key, number)
    backend = custody.get_backend(key.custody)
    if magic == _KEM_BLOB:
        material = _run(
            key, caller, "unwrap", version, lambda: kem_unwrap(backend, version.handle, body), len(body)
        )
    else:
        material = _run(
            key, caller, "unwrap", version, lambda: backend.unwrap(version.handle, wrapped=body), len(body)
        )
    return Result(number, material)


def public_key(*, key: Key, caller: Caller, key_version: int | None = None) -> Result:
    """The DER SubjectPublicKeyInfo of an asymmetric key's (current) version."""
    if key.state not in (KeyState.ENABLED, KeyState.DISABLED):
        raise key_errors.KeyDisabled(f"The key is {key.get_state_display().lower()}.")
    version = _version(key, key_version)
    if not version.public_key_der:
        raise key_errors.WrongKeyUsage("Symmetric keys have no public key.")
    return Result(version.number, bytes(version.public_key_der))
