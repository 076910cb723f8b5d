"""GetKeyMetadata, Encrypt and Decrypt against the key service, in the XKS wire format.

``ciphertextMetadata`` is 5 bytes: a scheme byte (1) and the key version (uint32, big-endian). Scheme 1
binds it into the AES-GCM AAD exactly as the spec describes:
``uint16_be(len(AAD)) || AAD || uint8(len(md)) || md``, so a moved or altered metadata fails to decrypt.
A future AAD construction gets a new scheme byte; old ciphertexts keep decrypting under scheme 1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from dataclasses import dataclass
from typing import Any

from cockpit.errors import CockpitError
from connectors.aws_xks.errors import XksError, from_key_service
from connectors.aws_xks.schemas import DecryptRequest, EncryptRequest
from connectors.models import ConnectorBinding
from keys import errors as key_errors
from keys import service
from keys.backends import AeadCiphertext
from keys.models import Key, KeySpec, KeyState, KeyUsage
from keys.selectors import usable_version

SCHEME_V1 = 1
_METADATA_V1 = struct.Struct(">BI")  # scheme, key version
KEY_USAGES: dict[str, list[str]] = {
    KeyUsage.ENCRYPT_DECRYPT: ["ENCRYPT", "DECRYPT"],
    KeyUsage.WRAP_UNWRAP: ["WRAP", "UNWRAP"],
    KeyUsage.SIGN_VERIFY: ["SIGN", "VERIFY"],
}


@dataclass(frozen=True)
class ProviderActor:
    """How the audit log names an XKS caller: the platform, by binding and the access key it signed with."""

    binding_name: str
    access_key_id: str

    def audit_identity(self) -> tuple[str, str, str]:
        return "provider", self.access_key_id, f"aws-xks:{self.binding_name}"

    def __str__(self) -> str:
        return f"aws-xks:{self.binding_name}"


def caller_for(binding: ConnectorBinding, access_key_id: str) -> service.Caller:
    """The key-service caller for this binding (channel ``aws_xks:<binding name>``)."""
    return service.Caller(actor=ProviderActor(binding.name, access_key_id), channel=f"aws_xks:{binding.name}")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def ciphertext_metadata(version: int) -> bytes:
    """What Encrypt returns as ``ciphertextMetadata`` for a key version."""
    return _METADATA_V1.pack(SCHEME_V1, version)


def version_from_metadata(md: bytes) -> int:
    """The key version in a ``ciphertextMetadata`` we produced; anything else cannot be our ciphertext."""
    if len(md) != _METADATA_V1.size or md[0] != SCHEME_V1:
        raise XksError("InvalidCiphertextException", "The ciphertextMetadata was not produced by this proxy.")
    return int(_METADATA_V1.unpack(md)[1])


def gcm_aad(aad: bytes, md: bytes) -> bytes:
    """The AES-GCM AAD of scheme 1: lengths included so metadata cannot pose as AAD or vice versa."""
    return struct.pack(">H", len(aad)) + aad + struct.pack(">B", len(md)) + md


def cdiv(aad: bytes, md: bytes, iv: bytes, ciphertext: bytes, tag: bytes) -> bytes:
    """Spec Appendix C: SHA-256 over AAD || ciphertextMetadata || IV || ciphertext || tag (no lengths)."""
    return hashlib.sha256(aad + md + iv + ciphertext + tag).digest()


def key_metadata(key: Key) -> dict[str, Any]:
    """GetKeyMetadata: spec, usage and whether the key is enabled (any other state reads DISABLED)."""
    return {
        "keySpec": str(key.spec),
        "keyUsage": KEY_USAGES.get(key.usage, []),
        "keyStatus": "ENABLED" if key.state == KeyState.ENABLED else "DISABLED",
    }


def _seal(key: Key, request: EncryptRequest, caller: service.Caller) -> tuple[bytes, int, AeadCiphertext]:
    """Encrypt under the current version, with that version in the metadata; retry once across a rotation."""
    for _ in range(2):
        version = usable_version(key=key, number=None)
        if version is None:
            raise XksError("InvalidStateException", "The key has no active version.")
        md = ciphertext_metadata(version.number)
        used, sealed = service.aead_encrypt(
            key=key, plaintext=request.plaintext, aad=gcm_aad(request.aad, md), caller=caller
        )
        if used == version.number:
            return md, used, sealed
    raise XksError("InternalException", "The key was rotated during the request; retry.")


def encrypt(key: Key, request: EncryptRequest, caller: service.Caller) -> dict[str, Any]:
    """Encrypt; with a CDIV request: compute it first, then prove the result decrypts (spec Appendix C)."""
    _require_usable(key)
    try:
        md, version, sealed = _seal(key, request, caller)
        body = {
            "ciphertext": b64(sealed.ciphertext),
            "ciphertextMetadata": b64(md),
            "initializationVector": b64(sealed.iv),
            "authenticationTag": b64(sealed.tag),
        }
        if request.cdiv:
            digest = cdiv(request.aad, md, sealed.iv, sealed.ciphertext, sealed.tag)
            _verify_decrypts(key, version, sealed, gcm_aad(request.aad, md), request.plaintext, caller)
            body["ciphertextDataIntegrityValue"] = b64(digest)
    except CockpitError as exc:
        raise from_key_service(exc) from None
    return body


def _verify_decrypts(
    key: Key, version: int, sealed: AeadCiphertext, aad: bytes, plaintext: bytes, caller: service.Caller
) -> None:
    try:
        check = service.aead_decrypt(key=key, version=version, ciphertext=sealed, aad=aad, caller=caller)
    except key_errors.InvalidCiphertext:
        check = b""
    if not hmac.compare_digest(check, plaintext):
        raise XksError("InternalException", "The verification decrypt failed; no ciphertext was returned.")


def decrypt(key: Key, request: DecryptRequest, caller: service.Caller) -> dict[str, Any]:
    """Decrypt with the version named in ``ciphertextMetadata``; any mismatch is InvalidCiphertext."""
    _require_usable(key)
    version = version_from_metadata(request.ciphertext_metadata)
    if len(request.iv) != 12:  # we only ever issue 12-byte IVs
        raise XksError("InvalidCiphertextException", "The IV was not produced by this proxy.")
    sealed = AeadCiphertext(iv=request.iv, ciphertext=request.ciphertext, tag=request.tag)
    aad = gcm_aad(request.aad, request.ciphertext_metadata)
    try:
        plaintext = service.aead_decrypt(key=key, version=version, ciphertext=sealed, aad=aad, caller=caller)
    except CockpitError as exc:
        raise from_key_service(exc) from None
    return {"plaintext": b64(plaintext)}


def _require_usable(key: Key) -> None:
    """State, then usage: the same precedence whatever else is wrong with the request (the key service
    checks both again)."""
    if key.state != KeyState.ENABLED:
        raise XksError("InvalidStateException", f"The key is {key.get_state_display().lower()}.")
    if key.spec != KeySpec.AES_256 or key.usage != KeyUsage.ENCRYPT_DECRYPT:
        raise XksError("InvalidKeyUsageException", "This key cannot encrypt and decrypt with AES-GCM.")
