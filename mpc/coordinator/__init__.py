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

Customer nodes (composed AES/PRF keys k = k_c + k_p; k_c lives only on the tenant's node)::

    customer = CustomerNodeSpec(url, identity_public_key_hex, x25519_public_key_hex)
    coordinator.check_customer_node(customer)                    # enrolment check -> NodeHealth
    coordinator.generate_composed_key("mpcc_<hex>", customer)    # -> ScalarKeyInfo (composed)
    coordinator.tprf_evaluate(key_id, [x], customer=customer)    # Z = Z_c + Z_p
    coordinator.set_state(key_id, enabled, customer=customer) / destroy(key_id, customer=customer)
    coordinator.refresh(key_id)                                  # provider shares only; k_c untouched
    coordinator.customer_public_key(key_id, customer)            # Y_c, checked against the providers' pin

Errors: :class:`NodesUnavailable` (fewer than t usable answers: answered/needed/total),
:class:`KeyNotFound`, :class:`KeyDisabled`, :class:`KeyExists`, :class:`InvalidRequest`,
:class:`DealerMisbehaved` (names the dealers), :class:`KeyGenerationFailed`,
:class:`DecryptionFailed`, :class:`CustomerNodeUnavailable` (a composed key's customer node
did not take part: ``reason`` says why); all derive from :class:`CoordinatorError`. Nodes that send
wrong partials or unverifiable responses are excluded and reported through
``on_misbehaviour(Misbehaviour(node_id, operation, key_id, reason))``.

Threads and processes: a coordinator is thread-safe and keeps a pool of keep-alive
connections per node (``client.stats.requests`` / ``.connects`` count their use). In a
child forked after use it starts over with its own threads, locks and connections
(:mod:`mpc.coordinator.forksafe`). :class:`mpc.coordinator.coalesce.Coalescer` merges
concurrent PRF evaluations of one key into shared batches (used by ``MpcBackend``).
"""

from mpc.node.config import CustomerNodeSpec

from .coordinator import Coordinator
from .errors import (
    CoordinatorError,
    CustomerNodeUnavailable,
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
    "CustomerNodeSpec",
    "CustomerNodeUnavailable",
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
