"""Request bodies of the four XKS operations: strict JSON, typed fields, standard Base64, size limits.

Unknown fields are ignored (KMS may add metadata). Missing or mistyped fields are ``ValidationException``;
a field over our limit (which is at least the spec's minimum) is ``UnsupportedOperationException``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from connectors.aws_xks.errors import XksError, validation

MAX_BODY = 64 * 1024  # the largest legitimate request (4300 B plaintext, 8 KiB AAD, 2 KiB ARNs) is ~31 KB
MAX_PLAINTEXT = 4300  # spec minimum for plaintext and ciphertext
MAX_AAD = 8192  # spec minimum
MAX_CIPHERTEXT_METADATA = 20  # spec maximum
MAX_METADATA_STRING = 2048  # ARNs up to 2048 characters must be accepted
IV_SIZES = frozenset({12, 16})
TAG_SIZE = 16
ALGORITHM = "AES_GCM"
CDIV_ALGORITHM = "SHA_256"

# requestMetadata fields we read: wire name -> attribute. Which are required depends on the operation.
_FIELDS = {
    "kmsRequestId": "kms_request_id",
    "kmsOperation": "kms_operation",
    "awsPrincipalArn": "aws_principal_arn",
    "kmsKeyArn": "kms_key_arn",
    "kmsViaService": "kms_via_service",
    "awsSourceVpc": "aws_source_vpc",
    "awsSourceVpce": "aws_source_vpce",
}
REQUIRED = {
    "GetHealthStatus": ("kmsRequestId", "kmsOperation"),
    "GetKeyMetadata": ("kmsRequestId", "kmsOperation", "awsPrincipalArn"),
    "Encrypt": ("kmsRequestId", "kmsOperation", "awsPrincipalArn", "kmsKeyArn"),
    "Decrypt": ("kmsRequestId", "kmsOperation", "awsPrincipalArn", "kmsKeyArn"),
}


@dataclass(frozen=True)
class RequestMetadata:
    """``requestMetadata``: who asked KMS for what (logged and used by secondary authorization)."""

    kms_request_id: str
    kms_operation: str
    aws_principal_arn: str | None = None
    kms_key_arn: str | None = None
    kms_via_service: str | None = None
    aws_source_vpc: str | None = None
    aws_source_vpce: str | None = None

    def wire(self) -> dict[str, str]:
        """The present fields under their wire names (for logs, audit and authorization)."""
        present = {name: getattr(self, attr) for name, attr in _FIELDS.items()}
        return {name: value for name, value in present.items() if value is not None}


@dataclass(frozen=True)
class EncryptRequest:
    metadata: RequestMetadata
    plaintext: bytes = field(repr=False)
    aad: bytes
    cdiv: bool


@dataclass(frozen=True)
class DecryptRequest:
    metadata: RequestMetadata
    ciphertext: bytes
    ciphertext_metadata: bytes
    aad: bytes
    iv: bytes
    tag: bytes


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; anything else (bad UTF-8, NaN, deep nesting) is ValidationException."""
    try:
        document = json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise validation("The request body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise validation("The request body must be a JSON object.")
    return document


def request_metadata(document: dict[str, Any], operation: str) -> RequestMetadata:
    """``requestMetadata`` with the fields ``operation`` requires; unknown fields are ignored."""
    raw = document.get("requestMetadata")
    if not isinstance(raw, dict):
        raise validation("requestMetadata is required and must be an object.")
    values: dict[str, str] = {}
    for name, attr in _FIELDS.items():
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            raise validation(f"requestMetadata.{name} must be a non-empty string.")
        if len(value) > MAX_METADATA_STRING:
            raise validation(f"requestMetadata.{name} is longer than {MAX_METADATA_STRING} characters.")
        values[attr] = value
    for name in REQUIRED[operation]:
        if _FIELDS[name] not in values:
            raise validation(f"requestMetadata.{name} is required.")
    return RequestMetadata(**values)


def _b64(
    document: dict[str, Any], name: str, *, maximum: int, required: bool,
    oversize: str = "UnsupportedOperationException",
) -> bytes | None:  # fmt: skip
    value = document.get(name)
    if value is None:
        if required:
            raise validation(f"{name} is required.")
        return None
    if not isinstance(value, str):
        raise validation(f"{name} must be a Base64 string.")
    if len(value) > 4 * (maximum // 3 + 1):  # longer than any Base64 of ``maximum`` bytes: don't decode it
        raise XksError(oversize, f"{name} is larger than {maximum} bytes.")
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise validation(f"{name} is not standard Base64.") from None
    if len(decoded) > maximum:
        raise XksError(oversize, f"{name} is larger than {maximum} bytes.")
    return decoded


def _algorithm(document: dict[str, Any]) -> None:
    if document.get("encryptionAlgorithm") != ALGORITHM:
        raise validation(f"encryptionAlgorithm must be {ALGORITHM}.")


def encrypt_request(document: dict[str, Any], metadata: RequestMetadata) -> EncryptRequest:
    """Encrypt: plaintext (required), AAD, ``AES_GCM``, optional ``SHA_256`` CDIV."""
    plaintext = _b64(document, "plaintext", maximum=MAX_PLAINTEXT, required=True)
    aad = _b64(document, "additionalAuthenticatedData", maximum=MAX_AAD, required=False)
    _algorithm(document)
    cdiv = document.get("ciphertextDataIntegrityValueAlgorithm")
    if cdiv is not None and cdiv != CDIV_ALGORITHM:
        raise validation(f"ciphertextDataIntegrityValueAlgorithm must be {CDIV_ALGORITHM}.")
    assert plaintext is not None
    return EncryptRequest(metadata, plaintext, aad or b"", cdiv is not None)


def decrypt_request(document: dict[str, Any], metadata: RequestMetadata) -> DecryptRequest:
    """Decrypt: ciphertext, IV and tag (required), AAD and ciphertextMetadata (optional), ``AES_GCM``."""
    ciphertext = _b64(document, "ciphertext", maximum=MAX_PLAINTEXT, required=True)
    md = _b64(
        document, "ciphertextMetadata", maximum=MAX_CIPHERTEXT_METADATA, required=False,
        oversize="ValidationException",
    )  # fmt: skip
    aad = _b64(document, "additionalAuthenticatedData", maximum=MAX_AAD, required=False)
    bad = "InvalidCiphertextException"
    iv = _b64(document, "initializationVector", maximum=16, required=True, oversize=bad)
    tag = _b64(document, "authenticationTag", maximum=TAG_SIZE, required=True, oversize=bad)
    _algorithm(document)
    assert ciphertext is not None
    assert iv is not None
    assert tag is not None
    if len(iv) not in IV_SIZES or len(tag) != TAG_SIZE:
        raise XksError("InvalidCiphertextException", "The IV must be 12 or 16 bytes and the tag 16 bytes.")
    return DecryptRequest(metadata, ciphertext, md or b"", aad or b"", iv, tag)
