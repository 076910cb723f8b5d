"""Sealing of connector credentials that must stay recoverable (SigV4 needs the secret to verify).

These are platform authentication secrets, not key material. They are sealed with AES-256-GCM under
``COCKPIT_CONNECTOR_SEAL_KEY`` (required in production; derived from SECRET_KEY in development only), with
the credential's id as associated data so a sealed value cannot be moved to another credential.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_LABEL = b"cockpit/connector-credential/v1|"


def _key() -> bytes:
    if settings.CONNECTOR_SEAL_KEY:
        key = base64.b64decode(settings.CONNECTOR_SEAL_KEY)
        if len(key) != 32:
            raise ValueError("COCKPIT_CONNECTOR_SEAL_KEY must be base64 of 32 bytes")
        return key
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"cockpit development connector seal")
    return hkdf.derive(settings.SECRET_KEY.encode())


def seal(secret: str, *, credential_id: str) -> bytes:
    """Encrypt ``secret`` bound to ``credential_id``."""
    nonce = os.urandom(12)
    return nonce + AESGCM(_key()).encrypt(nonce, secret.encode(), _LABEL + credential_id.encode())


def unseal(sealed: bytes | memoryview, *, credential_id: str) -> str:
    """Decrypt a sealed secret (raises cryptography's InvalidTag if it was tampered with or moved)."""
    data = bytes(sealed)
    return AESGCM(_key()).decrypt(data[:12], data[12:], _LABEL + credential_id.encode()).decode()
