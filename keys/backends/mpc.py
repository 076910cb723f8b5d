"""MPC custody backend: key material exists only as shares on the MPC nodes.

Customer-node API (what the control plane wires in)
---------------------------------------------------

A tenant can enrol a *customer node* that it runs itself (``python -m mpc.node init
--customer ...``; the same node software, trusting the same coordinator key) and
create AES_256 keys that need that node for every use: k = k_c + k_p. k_c is a whole
scalar generated on the customer node that never leaves it, and k_p is a dealerless
2-of-3 key on the provider nodes. The provider side cannot use such a key alone, even
with every provider node and the coordinator. Stopping the customer node, or
disabling the key on it, stops every use of the key at once. The exact API::

    from keys.backends.mpc import CustomerNodeRequired, CustomerNodeSpec, MpcBackend

    CustomerNodeSpec(url: str, identity_public_key: str, x25519_public_key: str)
        # frozen and hashable; keys are 64 lowercase hex digits (raw Ed25519 / X25519
        # public keys); a malformed entry raises ValueError (InvalidCustomerNode)
    CustomerNodeSpec.from_json(obj: dict) -> CustomerNodeSpec   # what `init --customer` printed
    spec.to_json() -> dict   # {"role": "customer", "url", "identity_public_key", "x25519_public_key"}

    CustomerResolver = Callable[[str], CustomerNodeSpec | None]
    MpcBackend(coordinator: Coordinator, *, customer_for: CustomerResolver | None = None)
        # customer_for(handle) names the customer node of a composed key's tenant
        # (None if none is enrolled any more). It is called on every use of an
        # "mpcc_" handle, so it should be cheap (cache it).
    MpcBackend.generate(
        *, spec: KeySpec, label: str, customer: CustomerNodeSpec | None = None
    ) -> GeneratedKey
        # customer given: a composed key; spec must be AES_256 (else UnsupportedOperation);
        # the handle is "mpcc_<32 hex>", public_key_der None
    MpcBackend.is_composed(handle: str) -> bool                    # "mpcc_" prefix
    MpcBackend.check_customer_node(customer: CustomerNodeSpec) -> None
        # enrolment check: the node answers, signs with the enrolled identity key, runs as a
        # customer node with the enrolled X25519 key and accepts this coordinator;
        # raises CustomerNodeRequired saying what is wrong
    MpcBackend.customer_node_health(customer: CustomerNodeSpec) -> dict[str, object]
        # {"id": "customer-node", "ok": bool, "latency_ms": float | None, "error": str | None}

On an ``mpcc_`` handle, ``encrypt``, ``encrypt_many``, ``decrypt``, ``wrap`` and
``unwrap`` raise :class:`CustomerNodeRequired` (a subclass of ``BackendUnavailable``)
in each of these cases, even when every provider node is up:

* the resolver gives no customer node;
* the customer node is down or unreachable;
* it does not accept this coordinator;
* it has the key disabled, or its operator holds the key there
  (``python -m mpc.node keys disable``);
* it has destroyed its part;
* it returns a part whose DLEQ proof fails against the Y_c that the provider nodes
  pinned. This case is also reported to the misbehaviour hook with ``node_id`` 0
  and ``Misbehaviour.customer`` set to the node's URL.

The error message starts with "the customer node required by this key is
unavailable:" and ends with the reason.

``set_enabled`` and ``destroy`` are mirrored to the customer node:

* An enable fails with :class:`CustomerNodeRequired` unless the customer node confirms
  it.
* A destroy that the customer node confirms shreds the key on its own.

``refresh`` re-randomises the provider shares only; k_c is untouched. Composed
ED25519 (FROST) and RSA keys are not implemented (``UnsupportedOperation``).

What each spec becomes
----------------------

Handles are ``mpc_<32 hex>`` (``mpcc_`` for composed keys) and double as the nodes'
key id.

* ``AES_256`` -> a dealerless ristretto255 key k (threshold PRF). There is no AES key
  to store: every message gets its own AES-256-GCM key
  ``derive_aes_key(x, k·H(x))`` with x = ``tprf.make_input("", handle, 1, label ||
  iv)``; the 12-byte GCM IV is the nonce, so decrypt recomputes the same key. The
  caller's AAD goes into GCM untouched. **Tenant binding is the caller's job**: the
  control plane puts the tenant into the AAD (x binds only the handle, which is
  already unique per key). ``wrap`` uses RFC 5649 under a key derived the same way
  from a random 16-byte nonce and outputs ``b"CKMW" || 0x01 || nonce || wrapped``,
  so unlike the other backends it is randomised and 21 bytes longer.
* ``RSA_2048/3072/4096`` -> dealer-generated threshold RSA (provenance "dealer": the
  generating coordinator process briefly held the private key). ``rsa_decrypt`` is
  the threshold raw result + :func:`keys.backends.oaep.decode`. RSA *signing* is
  not offered under MPC (threshold RSA here only decrypts):
  ``UnsupportedOperation``. ``verify`` works, it needs only the public key.
* ``ED25519`` -> dealerless Ed25519 key; ``sign`` = FROST, checked with
  ``cryptography`` before it is returned.
* ``EC_P256``, ``ML_KEM_768``, ``ML_DSA_65`` -> ``UnsupportedOperation`` at generate.

Coordinator errors map to backend errors (``NodesUnavailable`` ->
``BackendUnavailable`` saying how many nodes answered and how many are needed;
``CustomerNodeUnavailable`` -> :class:`CustomerNodeRequired`).

Concurrent use of one AES key
-----------------------------

Every AES operation needs one threshold-PRF evaluation. Concurrent ``encrypt``,
``decrypt``, ``wrap``, ``unwrap`` and ``encrypt_many`` calls on the same key (and
customer node) share round trips: an :class:`mpc.coordinator.coalesce.Coalescer`
runs them as batches, each one signed request per node with one batched DLEQ proof.
A call that finds no batch of its key running goes straight to the nodes, so a
lone call waits for nothing; calls that arrive while the key's batch runs queue up
and the next batch takes them all (up to the coordinator's ``MAX_BATCH`` inputs).
One batch per key runs at a time in each process: with two, batches were half as
big, and on a 2-core host (nodes, server and load generator sharing it) that cost
more CPU per call and gave no better throughput or p99 (``bench/mpc_ops.py
--concurrent``). Each caller gets its own keys; a failed batch raises the same
backend error in each of its callers as the call would have raised alone.
:meth:`MpcBackend.prf_stats` counts calls and batches. The backend is safe to use
from many threads and after ``fork`` (gunicorn workers).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn

from mpc.coordinator import (
    Coordinator,
    CoordinatorError,
    CustomerNodeSpec,
    CustomerNodeUnavailable,
    DealerMisbehaved,
    InvalidRequest,
    KeyDisabled,
    KeyNotFound,
    NodesUnavailable,
    PublicInfo,
    RsaKeyInfo,
    ScalarKeyInfo,
)
from mpc.coordinator.coalesce import Coalescer, CoalescerStats
from mpc.coordinator.ops import MAX_BATCH
from mpc.crypto import tprf
from mpc.crypto.group import ED25519

from . import _soft, oaep
from ._common import (
    check_aead_shape,
    check_handle,
    check_wrap_input,
    check_wrapped_shape,
    new_handle,
    pick_iv,
)
from .base import (
    RSA_SPECS,
    AeadCiphertext,
    GeneratedKey,
    KeySpec,
    OaepHash,
    Operation,
    SigningAlgorithm,
    check_operation,
    check_signing_algorithm,
)
from .errors import (
    BackendError,
    BackendUnavailable,
    InvalidArgument,
    InvalidCiphertext,
    KeyMaterialNotFound,
    UnsupportedOperation,
)

log = logging.getLogger("keys.backends.mpc")

_PREFIX = "mpc"
_COMPOSED_PREFIX = "mpcc"
_KEY_VERSION = 1
_AEAD_LABEL = b"aes-256-gcm/v1:"
_KWP_LABEL = b"aes-kwp/v1:"
_WRAP_HEADER = b"CKMW\x01"
_WRAP_NONCE = 16
_SUPPORTED = frozenset({KeySpec.AES_256, KeySpec.ED25519, *RSA_SPECS})
_BATCHES_IN_FLIGHT = 1  # per key and process; see "Concurrent use of one AES key" above

PrfKey = tuple[str, CustomerNodeSpec | None]
"""What PRF calls are batched by: the handle and, for a composed key, its customer node."""


class KeyDisabledAtNodes(BackendError):
    """The MPC nodes refuse the key: it is disabled at the nodes themselves."""

    default_message = "key is disabled at the MPC nodes"


class CustomerNodeRequired(BackendUnavailable):
    """A composed key's customer node did not take part, so the key cannot be used."""

    default_message = "the customer node required by this key is unavailable"


CustomerResolver = Callable[[str], CustomerNodeSpec | None]


@contextmanager
def _mapped() -> Iterator[None]:
    """Translate coordinator errors; messages stay fixed or carry node counts only."""
    try:
        yield
    except CustomerNodeUnavailable as exc:
        raise CustomerNodeRequired(str(exc)) from None
    except NodesUnavailable as exc:
        message = f"MPC nodes unavailable: {exc.answered} of {exc.total} answered usably, {exc.needed} needed"
        raise BackendUnavailable(message) from None
    except KeyNotFound:
        raise KeyMaterialNotFound() from None
    except KeyDisabled:
        raise KeyDisabledAtNodes() from None
    except DealerMisbehaved:
        raise BackendError("MPC key generation aborted: a node's contribution did not verify") from None
    except InvalidRequest:
        raise InvalidArgument() from None
    except CoordinatorError:
        raise BackendError("MPC operation failed") from None


def _spec_of(info: PublicInfo) -> KeySpec:
    if isinstance(info, RsaKeyInfo):
        return KeySpec(f"RSA_{info.bits}")
    return KeySpec.ED25519 if info.group is ED25519 else KeySpec.AES_256


class MpcBackend:
    """``CustodyBackend`` over an :class:`mpc.coordinator.Coordinator` (see module docstring)."""

    name = "mpc"

    def __init__(self, coordinator: Coordinator, *, customer_for: CustomerResolver | None = None) -> None:
        self._coordinator = coordinator
        self._customer_for = customer_for
        self._prf: Coalescer[PrfKey] = Coalescer(
            self._evaluate_batch, max_batch=MAX_BATCH, max_in_flight=_BATCHES_IN_FLIGHT
        )

    def __repr__(self) -> str:
        return f"MpcBackend(n={self._coordinator.n}, t={self._coordinator.threshold})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("custody backends cannot be pickled")

    # -- lifecycle ---------------------------------------------------------------------------

    def generate(
        self, *, spec: KeySpec, label: str, customer: CustomerNodeSpec | None = None
    ) -> GeneratedKey:
        """DKG (AES_256, ED25519) or dealt threshold RSA; ``label`` is not sent to the nodes.

        With ``customer``: a composed AES_256 key that needs that customer node for
        every use (handle ``mpcc_<hex>``; see the module docstring).
        """
        spec = KeySpec(spec)
        if spec not in _SUPPORTED:
            raise UnsupportedOperation("key spec not available with MPC custody")
        if customer is not None:
            if spec is not KeySpec.AES_256:
                raise UnsupportedOperation("only AES_256 keys can require a customer node")
            if not isinstance(customer, CustomerNodeSpec):
                raise InvalidArgument("customer must be a CustomerNodeSpec")
            handle = new_handle(_COMPOSED_PREFIX)
            with _mapped():
                self._coordinator.generate_composed_key(handle, customer)
            return GeneratedKey(handle=handle, public_key_der=None)
        handle = new_handle(_PREFIX)
        with _mapped():
            if spec in RSA_SPECS:
                info: PublicInfo = self._coordinator.generate_rsa_key(handle, RSA_SPECS[spec])
            else:
                group = "ed25519" if spec is KeySpec.ED25519 else "ristretto255"
                info = self._coordinator.generate_scalar_key(handle, group)
        public = None if spec is KeySpec.AES_256 else info.public_key_der()
        return GeneratedKey(handle=handle, public_key_der=public)

    def destroy(self, handle: str) -> None:
        """Wipe the shares on the nodes. Fails unless fewer than t nodes could still hold it.

        A composed key is also destroyed on its customer node; once that is confirmed
        the key is gone for good, whatever the provider nodes answered.
        """
        composed = self._check(handle)
        customer = self._resolve(handle) if composed else None
        with _mapped():
            report = self._coordinator.destroy(handle, customer=customer)
        wiped_enough = len(report.succeeded) >= self._coordinator.n - self._coordinator.threshold + 1
        if not report.complete:
            log.warning(
                "MPC destroy incomplete; unreachable nodes %s (customer node: %s) must be retried",
                list(report.unreachable),
                report.customer,
            )
        if not wiped_enough and report.customer != "succeeded":
            raise BackendUnavailable("destroy incomplete: too few MPC nodes reachable, retry")

    def set_enabled(self, handle: str, enabled: bool) -> None:
        """Mirror the control plane's key state on the nodes, which then refuse a disabled key themselves.

        Composed keys: mirrored to the customer node too; enabling fails with
        :class:`CustomerNodeRequired` unless the customer node confirms it.
        """
        composed = self._check(handle)
        customer = self._resolve(handle) if composed else None
        with _mapped():
            self._coordinator.set_state(handle, enabled, customer=customer)

    def refresh(self, handle: str) -> None:
        """Proactively re-randomise every node's share; the key and old ciphertexts stay valid.

        For a composed key only the provider shares change; the customer part is untouched.
        """
        self._check(handle)
        with _mapped():
            self._coordinator.refresh(handle)

    def is_composed(self, handle: str) -> bool:
        """True if the handle names a composed key (one that needs its customer node)."""
        return isinstance(handle, str) and handle.startswith(_COMPOSED_PREFIX + "_")

    def check_customer_node(self, customer: CustomerNodeSpec) -> None:
        """Enrolment check: the node answers, proves the enrolled identity and X25519 keys,
        runs as a customer node and accepts this coordinator; else :class:`CustomerNodeRequired`."""
        with _mapped():
            self._coordinator.check_customer_node(customer)

    def customer_node_health(self, customer: CustomerNodeSpec) -> dict[str, object]:
        """Status of one customer node, shaped like :meth:`node_health` entries (never raises)."""
        try:
            health = self._coordinator.check_customer_node(customer)
        except CustomerNodeUnavailable as exc:
            return {"id": "customer-node", "ok": False, "latency_ms": None, "error": exc.reason}
        return {"id": "customer-node", "ok": True, "latency_ms": health.latency_ms, "error": None}

    def node_health(self) -> list[dict[str, object]]:
        """Per-node status for dashboards and XKS ``ekmFleetDetails``."""
        with _mapped():
            nodes = self._coordinator.health()
        return [
            {"id": f"mpc-node-{n.node_id}", "ok": n.ok, "latency_ms": n.latency_ms, "error": n.error}
            for n in nodes
        ]

    def prf_stats(self) -> CoalescerStats:
        """Threshold-PRF calls, the batches they were sent in and the inputs, in this process."""
        return self._prf.stats()

    def health(self) -> None:
        with _mapped():
            nodes = self._coordinator.health()
        healthy, needed = sum(1 for node in nodes if node.ok), self._coordinator.threshold
        if healthy < needed:
            raise BackendUnavailable(
                f"MPC nodes unavailable: {healthy} of {len(nodes)} healthy, {needed} needed"
            )

    # -- symmetric (threshold PRF) ------------------------------------------------------------

    def encrypt(
        self, handle: str, *, plaintext: bytes, aad: bytes, iv: bytes | None = None
    ) -> AeadCiphertext:
        self._require(handle, Operation.ENCRYPT)
        iv = pick_iv(iv)
        return _soft.gcm_encrypt(
            self._derive(handle, [_AEAD_LABEL + iv])[0], iv=iv, plaintext=plaintext, aad=aad
        )

    def encrypt_many(self, handle: str, items: Sequence[tuple[bytes, bytes]]) -> list[AeadCiphertext]:
        """Encrypt many (plaintext, aad) pairs with one batched PRF round trip."""
        self._require(handle, Operation.ENCRYPT)
        ivs = [pick_iv(None) for _ in items]
        keys = self._derive(handle, [_AEAD_LABEL + iv for iv in ivs]) if items else []
        return [
            _soft.gcm_encrypt(key, iv=iv, plaintext=plaintext, aad=aad)
            for key, iv, (plaintext, aad) in zip(keys, ivs, items, strict=True)
        ]

    def decrypt(self, handle: str, *, ciphertext: AeadCiphertext, aad: bytes) -> bytes:
        self._require(handle, Operation.DECRYPT)
        check_aead_shape(ciphertext)
        key = self._derive(handle, [_AEAD_LABEL + ciphertext.iv])[0]
        return _soft.gcm_decrypt(key, ciphertext=ciphertext, aad=aad)

    def wrap(self, handle: str, *, key_material: bytes) -> bytes:
        self._require(handle, Operation.WRAP)
        check_wrap_input(key_material)
        nonce = secrets.token_bytes(_WRAP_NONCE)
        key = self._derive(handle, [_KWP_LABEL + nonce])[0]
        return _WRAP_HEADER + nonce + _soft.kwp_wrap(key, key_material)

    def unwrap(self, handle: str, *, wrapped: bytes) -> bytes:
        self._require(handle, Operation.UNWRAP)
        head = len(_WRAP_HEADER) + _WRAP_NONCE
        if not isinstance(wrapped, bytes) or wrapped[: len(_WRAP_HEADER)] != _WRAP_HEADER:
            raise InvalidCiphertext()
        nonce, inner = wrapped[len(_WRAP_HEADER) : head], wrapped[head:]
        check_wrapped_shape(inner)
        key = self._derive(handle, [_KWP_LABEL + nonce])[0]
        return _soft.kwp_unwrap(key, inner)

    # -- asymmetric ---------------------------------------------------------------------------

    def rsa_decrypt(self, handle: str, *, ciphertext: bytes, hash: OaepHash) -> bytes:
        info = self._info(handle, Operation.RSA_DECRYPT)
        assert isinstance(info, RsaKeyInfo)
        hash = OaepHash(hash)
        k = info.params.byte_length
        if not isinstance(ciphertext, bytes) or len(ciphertext) != k:
            raise InvalidCiphertext()
        try:
            with _mapped():
                raw = self._coordinator.rsa_decrypt_raw(handle, ciphertext)
        except InvalidArgument:  # out of range / not invertible: the nodes were not asked
            raise InvalidCiphertext() from None
        return oaep.decode(raw, hash=hash, k=k)

    def sign(self, handle: str, *, message: bytes, algorithm: SigningAlgorithm) -> bytes:
        spec = self._require(handle, Operation.SIGN)
        check_signing_algorithm(spec, algorithm)
        if spec in RSA_SPECS:
            raise UnsupportedOperation(
                "RSA signing is not available with MPC custody (threshold RSA decrypts only)"
            )
        with _mapped():
            return self._coordinator.frost_sign(handle, message)

    def verify(self, handle: str, *, message: bytes, signature: bytes, algorithm: SigningAlgorithm) -> bool:
        info = self._info(handle, Operation.VERIFY)
        check_signing_algorithm(_spec_of(info), algorithm)
        return _soft.verify(_spec_of(info), info.public_key_der(), message, signature, algorithm)

    def kem_decapsulate(self, handle: str, *, kem_ciphertext: bytes) -> bytes:
        self._require(handle, Operation.KEM_DECAPSULATE)
        raise UnsupportedOperation()  # unreachable: no MPC spec allows KEM

    def public_key(self, handle: str) -> bytes:
        return self._info(handle, Operation.PUBLIC_KEY).public_key_der()

    # -- helpers ---------------------------------------------------------------------------------

    def _check(self, handle: str) -> bool:
        """Validate the handle's shape; True for a composed (``mpcc_``) key."""
        if self.is_composed(handle):
            check_handle(_COMPOSED_PREFIX, handle)
            return True
        check_handle(_PREFIX, handle)
        return False

    def _resolve(self, handle: str) -> CustomerNodeSpec:
        """The customer node a composed key needs, from the control plane's resolver."""
        customer = self._customer_for(handle) if self._customer_for is not None else None
        if customer is None:
            raise CustomerNodeRequired(
                "the customer node required by this key is unavailable: no customer node is enrolled for it"
            )
        if not isinstance(customer, CustomerNodeSpec):
            raise TypeError("customer_for must return a CustomerNodeSpec or None")
        return customer

    def _info(self, handle: str, operation: Operation) -> PublicInfo:
        """Handle -> public data (t nodes agree; cached) -> spec check."""
        composed = self._check(handle)
        with _mapped():
            info = self._coordinator.public_info(handle)
        if composed != (isinstance(info, ScalarKeyInfo) and info.composed):
            raise KeyMaterialNotFound()  # the prefix and the nodes' record must agree
        check_operation(_spec_of(info), operation)
        return info

    def _require(self, handle: str, operation: Operation) -> KeySpec:
        return _spec_of(self._info(handle, operation))

    def _derive(self, handle: str, nonces: Sequence[bytes]) -> list[bytes]:
        """One AES-256 key per nonce: HKDF over the threshold PRF of (handle, nonce).

        Concurrent calls for the same key share batches (see "Concurrent use" above).
        """
        inputs = [tprf.make_input("", handle, _KEY_VERSION, nonce) for nonce in nonces]
        customer = self._resolve(handle) if self.is_composed(handle) else None
        with _mapped():
            outputs = self._prf.evaluate((handle, customer), inputs)
        return [tprf.derive_aes_key(x, z) for x, z in zip(inputs, outputs, strict=True)]

    def _evaluate_batch(self, key: PrfKey, inputs: list[bytes]) -> list[bytes]:
        """One coordinator round trip for a batch of (possibly several callers') inputs."""
        handle, customer = key
        return self._coordinator.tprf_evaluate(handle, inputs, customer=customer)


__all__ = ["CustomerNodeRequired", "CustomerNodeSpec", "CustomerResolver", "KeyDisabledAtNodes", "MpcBackend"]
