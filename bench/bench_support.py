"""Key setup and the operation table for bench/keys_ops.py (imported after Django is set up)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.contrib.auth import get_user_model

from keys import custody, service, services
from keys.backends import OaepHash, SigningAlgorithm
from keys.models import Key
from tenants.models import Membership, Tenant

PAYLOAD = os.urandom(4096)
SPECS = [
    ("AES_256", "ENCRYPT_DECRYPT"),
    ("RSA_2048", "ENCRYPT_DECRYPT"),
    ("EC_P256", "SIGN_VERIFY"),
    ("ED25519", "SIGN_VERIFY"),
]


def build_keys(custodies: list[str]) -> dict[tuple[str, str], Key]:
    """One enabled key per (custody, spec) in a bench tenant."""
    suffix = os.urandom(3).hex()
    tenant = Tenant.objects.create(name=f"Bench {suffix}", slug=f"bench-{suffix}")
    admin = get_user_model().objects.create_user(username=f"bench-admin-{suffix}")
    Membership.objects.create(tenant=tenant, user=admin, role="admin")
    keys = {}
    for name in custodies:
        for spec, usage in SPECS:
            key = services.key_create(
                actor=admin, tenant=tenant, name=f"{name}-{spec}", spec=spec, usage=usage, custody_name=name
            )
            key.refresh_from_db()  # eager Celery ran the generation task on commit
            keys[(name, spec)] = key
    return keys


def _handle(key: Key) -> str:
    return key.versions.get().handle


def operations(
    keys: dict[tuple[str, str], Key],
) -> Iterator[tuple[str, str, Callable[[], Any], Callable[[], Any]]]:
    """(custody, name, through keys.service, raw backend) for each measured operation."""
    caller = service.Caller(actor="bench", channel="bench")
    for (name, spec), key in keys.items():
        backend = custody.get_backend(name)
        handle = _handle(key)
        if spec == "AES_256":
            aes = AESGCM(os.urandom(32))
            raw = (
                (lambda a=aes: a.encrypt(os.urandom(12), PAYLOAD, b""))
                if name == "software"
                else (lambda b=backend, h=handle: b.encrypt(h, plaintext=PAYLOAD, aad=b""))
            )
            yield (
                name,
                "AES-GCM encrypt 4 KiB",
                lambda k=key: service.encrypt(key=k, plaintext=PAYLOAD, caller=caller),
                raw,
            )
        elif spec == "RSA_2048":
            public = serialization.load_der_public_key(bytes(key.versions.get().public_key_der))
            oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
            ct = public.encrypt(b"k" * 32, oaep)  # type: ignore[union-attr]
            yield (
                name, "RSA-2048 OAEP-256 decrypt",
                lambda k=key, c=ct: service.decrypt(key=k, ciphertext=c, caller=caller),
                lambda b=backend, h=handle, c=ct: b.rsa_decrypt(h, ciphertext=c, hash=OaepHash.SHA_256),
            )  # fmt: skip
        else:
            alg = SigningAlgorithm.ECDSA_SHA_256 if spec == "EC_P256" else SigningAlgorithm.ED25519
            yield (
                name, f"{spec} sign",
                lambda k=key, a=alg: service.sign(key=k, message=b"m" * 64, algorithm=a, caller=caller),
                lambda b=backend, h=handle, a=alg: b.sign(h, message=b"m" * 64, algorithm=a),
            )  # fmt: skip


__all__ = ["build_keys", "operations"]
