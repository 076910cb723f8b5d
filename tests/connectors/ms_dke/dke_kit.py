"""Helpers for the DKE tests: a stand-in for Entra ID, binding settings, and what Office does on the wire.

Entra is an outside platform, so the tests play its part: they sign RS256 access tokens with their own
key and publish its public half as a static JWKS or from a JWKS URL.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.test import Client

from connectors.models import ConnectorBinding
from connectors.settings_schema import clean_settings

PUBLIC_BASE_URL = "https://cockpit.example.test"
TENANT_ID = "7f0c1c9a-2d2b-4b8e-9d43-3a3c5b1e9a10"
ISSUER = f"https://sts.windows.net/{TENANT_ID}/"
AUDIENCE = "https://dke.contoso.test"
OFFICE_CLIENT_ID = "d3590ed6-52b3-4102-aeff-aad2292ab01c"
ALICE = "Alice@Contoso.test"
OAEP_SHA256 = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


@dataclass
class Entra:
    """Plays Entra ID: signs v1 access tokens for the DKE app with a key only the test holds."""

    private: rsa.RSAPrivateKey
    kid: str

    def jwk(self) -> dict[str, Any]:
        """The public signing key as Entra publishes it (base64url n/e, kid, use=sig)."""
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig"}

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": AUDIENCE, "iss": ISSUER, "iat": now - 60, "nbf": now - 60, "exp": now + 3600,
            "ver": "1.0", "tid": TENANT_ID, "oid": "0b5e1c50-1111-4a2b-9c3d-123456789abc", "upn": ALICE,
            "appid": OFFICE_CLIENT_ID, "scp": "user_impersonation",
        }  # fmt: skip
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}  # None removes a claim

    def token(self, headers: dict[str, Any] | None = None, **changes: Any) -> str:
        headers = {"kid": self.kid, **(headers or {})}
        return jwt.encode(self.claims(**changes), self.private, algorithm="RS256", headers=headers)

    def auth(self, **changes: Any) -> dict[str, str]:
        """Client kwargs carrying ``Authorization: Bearer <token>``."""
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token(**changes)}"}


def dke_settings(entra: Entra, **changes: Any) -> dict[str, Any]:
    """Valid binding settings trusting ``entra`` (static JWKS) and allowing Alice by email."""
    raw = {
        "audience": AUDIENCE,
        "valid_issuers": [ISSUER],
        "jwks": {"mode": "static", "keys": [entra.jwk()]},
        "authorization": {"emails": ["alice@contoso.test", "bob@contoso.test"]},
    }
    raw.update(changes)
    return clean_settings("ms_dke", raw)


@dataclass
class Dke:
    """A tenant's DKE binding and the key behind its key name, with URL helpers."""

    binding: ConnectorBinding
    key: Any
    key_name: str

    @property
    def key_url(self) -> str:
        return f"/dke/{self.binding.route}/{self.key_name}"

    def decrypt_url(self, version: int, verb: str = "decrypt") -> str:
        return f"{self.key_url}/{version}/{verb}"


@cache
def client() -> Client:
    """One anonymous test client for all DKE calls (each new Client rebuilds the middleware stack)."""
    return Client()


def get_key(dke: Dke, **extra: Any) -> Any:
    return client().get(dke.key_url, **extra)


def encrypt_to(document: dict[str, Any], plaintext: bytes) -> str:
    """What Office does with the GET response: OAEP-SHA256 to (n, e), base64 for the decrypt body."""
    n = int.from_bytes(base64.b64decode(document["key"]["n"]), "big")
    public = rsa.RSAPublicNumbers(document["key"]["e"], n).public_key()
    return base64.b64encode(public.encrypt(plaintext, OAEP_SHA256)).decode()


def post_decrypt(url: str, body: Any, **extra: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client().post(url, data=raw, content_type="application/json", **extra)


def public_pem(entra: Entra) -> bytes:
    return entra.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
