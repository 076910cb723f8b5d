"""Which usages fit which specs, and which operations each usage allows."""

from __future__ import annotations

from keys.backends import KeySpec
from keys.models import KeyUsage

ALLOWED_USAGES: dict[str, frozenset[str]] = {
    KeySpec.AES_256: frozenset({KeyUsage.ENCRYPT_DECRYPT, KeyUsage.WRAP_UNWRAP}),
    KeySpec.RSA_2048: frozenset({KeyUsage.ENCRYPT_DECRYPT, KeyUsage.SIGN_VERIFY}),
    KeySpec.RSA_3072: frozenset({KeyUsage.ENCRYPT_DECRYPT, KeyUsage.SIGN_VERIFY}),
    KeySpec.RSA_4096: frozenset({KeyUsage.ENCRYPT_DECRYPT, KeyUsage.SIGN_VERIFY}),
    KeySpec.EC_P256: frozenset({KeyUsage.SIGN_VERIFY}),
    KeySpec.ED25519: frozenset({KeyUsage.SIGN_VERIFY}),
    KeySpec.ML_KEM_768: frozenset({KeyUsage.WRAP_UNWRAP}),
    KeySpec.ML_DSA_65: frozenset({KeyUsage.SIGN_VERIFY}),
}

OPERATIONS: dict[str, frozenset[str]] = {
    KeyUsage.ENCRYPT_DECRYPT: frozenset({"encrypt", "decrypt", "generate_data_key"}),
    KeyUsage.SIGN_VERIFY: frozenset({"sign", "verify"}),
    KeyUsage.WRAP_UNWRAP: frozenset({"wrap", "unwrap"}),
}

# Custody backends that cannot hold a spec refuse it at creation with a clear message.
CUSTODY_SPECS: dict[str, frozenset[str]] = {
    "software": frozenset(KeySpec),
    "pkcs11": frozenset(KeySpec),
    "mpc": frozenset(
        {KeySpec.AES_256, KeySpec.RSA_2048, KeySpec.RSA_3072, KeySpec.RSA_4096, KeySpec.ED25519}
    ),
}


def usage_allows(usage: str, operation: str) -> bool:
    """Whether ``operation`` is allowed for keys created with ``usage``."""
    return operation in OPERATIONS.get(usage, frozenset())
