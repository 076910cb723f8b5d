"""Key custody backends for Cockpit (pure Python, no Django).

Import concrete backends from their modules (``keys.backends.software``,
``keys.backends.pkcs11``) so that loading the interface never loads a
PKCS#11 library or requires python-pkcs11 to be installed.
"""

from .base import (
    GCM_IV_SIZE,
    GCM_TAG_SIZE,
    MAX_WRAP_INPUT,
    RSA_SPECS,
    SIGNING_ALGORITHMS,
    SPEC_OPERATIONS,
    AeadCiphertext,
    CustodyBackend,
    GeneratedKey,
    KeySpec,
    OaepHash,
    Operation,
    SigningAlgorithm,
    allowed_signing_algorithms,
    check_operation,
    check_signing_algorithm,
    is_asymmetric,
)
from .errors import (
    BackendError,
    BackendUnavailable,
    InvalidArgument,
    InvalidCiphertext,
    KeyMaterialNotFound,
    KeyStoreIntegrityError,
    UnsupportedOperation,
)

__all__ = [
    "GCM_IV_SIZE",
    "GCM_TAG_SIZE",
    "MAX_WRAP_INPUT",
    "RSA_SPECS",
    "SIGNING_ALGORITHMS",
    "SPEC_OPERATIONS",
    "AeadCiphertext",
    "BackendError",
    "BackendUnavailable",
    "CustodyBackend",
    "GeneratedKey",
    "InvalidArgument",
    "InvalidCiphertext",
    "KeyMaterialNotFound",
    "KeySpec",
    "KeyStoreIntegrityError",
    "OaepHash",
    "Operation",
    "SigningAlgorithm",
    "UnsupportedOperation",
    "allowed_signing_algorithms",
    "check_operation",
    "check_signing_algorithm",
    "is_asymmetric",
]
