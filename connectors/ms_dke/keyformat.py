"""The DKE public-key document: a JWK-like object that is deliberately NOT a JWK.

``n`` is standard base64 with padding (``Convert.ToBase64String``) and ``e`` a JSON integer, where a JWK
would use unpadded base64url strings for both. ``alg`` is always RS256 although data is encrypted with
RSA-OAEP-256: the reference service and its tester insist on it.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CACHE_EXP_FORMAT = "%Y-%m-%dT%H:%M:%S"  # .NET yyyy-MM-ddTHH:mm:ss, UTC, no zone, no fraction


def std_b64(data: bytes) -> str:
    """Standard-alphabet base64 with padding."""
    return base64.b64encode(data).decode("ascii")


def _unsigned_be(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def rsa_public(spki_der: bytes) -> rsa.RSAPublicKey:
    """The RSA key in a DER SubjectPublicKeyInfo (ValueError if it is not RSA)."""
    public = serialization.load_der_public_key(spki_der)
    if not isinstance(public, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return public


def public_key_document(*, spki_der: bytes, kid: str, cache_days: int, now: datetime) -> dict[str, Any]:
    """``{"key": {kty, n, e, alg, kid}, "cache": {"exp"}}``; ``cache`` omitted when ``cache_days`` is 0."""
    numbers = rsa_public(spki_der).public_numbers()
    document: dict[str, Any] = {
        "key": {
            "kty": "RSA",
            "n": std_b64(_unsigned_be(numbers.n)),
            "e": numbers.e,
            "alg": "RS256",
            "kid": kid,
        }
    }
    if cache_days:
        document["cache"] = {"exp": cache_expiry(now, cache_days)}
    return document


def cache_expiry(now: datetime, days: int) -> str:
    """``now`` (aware) plus ``days``, in UTC, as yyyy-MM-ddTHH:mm:ss."""
    return (now.astimezone(UTC) + timedelta(days=days)).strftime(CACHE_EXP_FORMAT)


def key_id(*, base_url: str, route: str, key_name: str, version: int) -> str:
    """The ``kid``: where the client POSTs ``/decrypt`` for this version (from the public base URL)."""
    return f"{base_url.rstrip('/')}/dke/{route}/{key_name}/{version}"
