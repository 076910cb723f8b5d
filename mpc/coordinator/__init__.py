"""The MPC coordinator: drives the node processes, never holds a share.

Usage::

    from mpc.coordinator import Coordinator, NodesUnavailable

    coordinator = Coordinator.from_file(Path("var/mpc/cluster.json"), on_misbehaviour=audit_hook)
    coordinator.generate_scalar_key("mpc_<uuid>_v1", "ristretto255")   # AES / threshold PRF
    coordinator.generate_scalar_key("mpc_<uuid>_v1", "ed25519")        # FROST signing
    coordinator.generate_rsa_key("mpc_<uuid>_v1", 3072)               # dealt threshold RSA
    coordinator.tprf_evaluate(key_id, [x1, x2])    # -> [Z1, Z2], Z = k·H(x)
    coordinator.frost_sign(key_id, message)         # -> 64-byte Ed25519 signature
    coordinator.rsa_decrypt_raw(key_id, c)          # -> k-byte c^d mod N (re-encryption checked)
    coordinator.refresh(key_id) / set_state(key_id, enabled) / destroy(key_id)
    coordinator.public_info(key_id) / health()

Errors: :class:`NodesUnavailable` (fewer than t usable answers: answered/needed/total),
:class:`KeyNotFound`, :class:`KeyDisabled`, :class:`KeyExists`, :class:`InvalidRequest`,
:class:`DealerMisbehaved` (names the dealers), :class:`KeyGenerationFailed`,
:class:`DecryptionFailed`; all derive from :class:`CoordinatorError`. Nodes that send
wrong partials or unverifiable responses are excluded and reported through
``on_misbehaviour(Misbehaviour(node_id, operation, key_id, reason))``.
"""

from .coordinator import Coordinator
from .errors import (
    CoordinatorError,
    DealerMisbehaved,
    DecryptionFailed,
    InvalidRequest,
    KeyDisabled,
    KeyExists,
    KeyGenerationFailed,
    KeyNotFound,
    NodesUnavailable,
)
from .types import (
    FanoutReport,
    Misbehaviour,
    NodeHealth,
    PublicInfo,
    RefreshReport,
    RsaKeyInfo,
    ScalarKeyInfo,
)

__all__ = [
    "Coordinator",
    "CoordinatorError",
    "DealerMisbehaved",
    "DecryptionFailed",
    "FanoutReport",
    "InvalidRequest",
    "KeyDisabled",
    "KeyExists",
    "KeyGenerationFailed",
    "KeyNotFound",
    "Misbehaviour",
    "NodeHealth",
    "NodesUnavailable",
    "PublicInfo",
    "RefreshReport",
    "RsaKeyInfo",
    "ScalarKeyInfo",
]
