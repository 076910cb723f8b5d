"""What MPC custody promises, checked against real node processes and their stores.

* A stream of operations survives a node being SIGKILLed, fails cleanly when a
  second one dies, corrupts nothing, and resumes when the nodes are back.
* No single node store (opened with that node's master key, as the node does), nor
  the public data the control plane sees, yields the PRF output or the AES key of a
  known ciphertext; only t shares together do. The coordinator keeps no share.
* After a refresh, a share captured before it is useless together with one from after.
"""

from __future__ import annotations

import gc
import itertools
import os
import random
import signal
import socket
import threading
import time
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keys.backends import AeadCiphertext, BackendUnavailable, KeySpec
from keys.backends.mpc import MpcBackend
from mpc.coordinator import ScalarKeyInfo
from mpc.coordinator.transport import NodeClient, NodeUnreachable
from mpc.crypto import tprf
from mpc.crypto.errors import InvalidProof
from mpc.crypto.group import ORDER, RISTRETTO255, encode_scalar
from mpc.crypto.oprf import input_element
from mpc.crypto.shamir import lagrange_coefficients
from mpc.node.config import NodeEntry
from mpc.wire import b64e, key_share_from_dict
from tests.mpc.node.harness import Harness

G = RISTRETTO255
AAD = b"tenant=acme"
PAIRS = list(itertools.combinations((1, 2, 3), 2))


def _x(handle: str, iv: bytes) -> bytes:
    return tprf.make_input("", handle, 1, b"aes-256-gcm/v1:" + iv)


def _aes_key_from_scalar(handle: str, iv: bytes, k: int) -> bytes:
    x = _x(handle, iv)
    return tprf.derive_aes_key(x, G.scalar_mult(k % ORDER, input_element(x, tprf.TPRF_CONTEXT)))


def _opens(key: bytes, sealed: AeadCiphertext) -> bool:
    try:
        AESGCM(key).decrypt(sealed.iv, sealed.ciphertext + sealed.tag, AAD)
    except InvalidTag:
        return False
    return True


def _interpolate(shares: dict[int, int]) -> int:
    lambdas = lagrange_coefficients(shares)
    return sum(lambdas[i] * s for i, s in shares.items()) % ORDER


# -- a stream of operations while nodes are SIGKILLed --------------------------------------------


@dataclass
class Stream:
    """Encrypts fresh messages and decrypts random earlier ones, in a thread, until stopped."""

    backend: MpcBackend
    handle: str
    phase: str = "healthy"
    sealed: list[tuple[AeadCiphertext, bytes]] = field(default_factory=list)
    done: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, BaseException]] = field(default_factory=list)
    wrong: list[bytes] = field(default_factory=list)  # decryptions that returned other plaintext
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Outcomes are tagged with the phase current when they complete: an operation
        that was in flight when the second node died fails because of that death."""
        rng = random.Random(7)
        counter = 0
        while not self._stop.is_set():
            try:
                counter += 1
                plaintext = f"message {counter}".encode()
                sealed = self.backend.encrypt(self.handle, plaintext=plaintext, aad=AAD)
                self.sealed.append((sealed, plaintext))
                old, expected = rng.choice(self.sealed)
                if self.backend.decrypt(self.handle, ciphertext=old, aad=AAD) != expected:
                    self.wrong.append(expected)
                self.done[self.phase] = self.done.get(self.phase, 0) + 1
            except Exception as exc:  # recorded and asserted on by the test
                self.failures.append((self.phase, exc))
                time.sleep(0.01)

    def wait(self, until: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not until():
            assert time.monotonic() < deadline, "stream made no progress"
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()


def _sigkill(harness: Harness, node_id: int) -> None:
    os.kill(harness.cluster.pid(node_id), signal.SIGKILL)
    harness.cluster.processes[node_id].wait(5)


def test_a_stream_survives_one_sigkill_fails_cleanly_with_two_and_resumes(harness: Harness) -> None:
    backend = MpcBackend(harness.coordinator())
    handle = backend.generate(spec=KeySpec.AES_256, label="stream").handle
    stream = Stream(backend, handle)
    worker = threading.Thread(target=stream.run, daemon=True)
    worker.start()
    try:
        stream.wait(lambda: stream.done.get("healthy", 0) >= 30)

        stream.phase = "one-down"
        _sigkill(harness, 2)
        stream.wait(lambda: stream.done.get("one-down", 0) >= 100)
        assert stream.failures == []  # not a single failed operation with one node killed

        stream.phase = "two-down"
        _sigkill(harness, 3)
        stream.wait(lambda: len(stream.failures) >= 10)

        stream.phase = "restarting"
        harness.cluster.start(2)
        harness.cluster.start(3)
        stream.phase = "restarted"
        stream.wait(lambda: stream.done.get("restarted", 0) >= 30)
    finally:
        stream.stop()
        worker.join(10)

    assert {phase for phase, _ in stream.failures} <= {"two-down", "restarting"}
    for _, exc in stream.failures:
        assert isinstance(exc, BackendUnavailable), repr(exc)
        assert "MPC nodes unavailable" in str(exc) and "2 needed" in str(exc)
    assert stream.wrong == []
    assert harness.reports == []  # crashed nodes are not misbehaving nodes
    # Nothing corrupted: every ciphertext produced during the stream decrypts now.
    for sealed, plaintext in stream.sealed:
        assert backend.decrypt(handle, ciphertext=sealed, aad=AAD) == plaintext


def test_a_response_cut_short_by_a_crash_is_an_outage_not_misbehaviour(harness: Harness) -> None:
    """What a node SIGKILLed between writing its headers and its body looks like to the client."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_one() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-Cockpit-Mpc-Node: 1\r\n\r\n{"par')

    server = threading.Thread(target=serve_one, daemon=True)
    server.start()
    entry = harness.spec.nodes[1]
    client = NodeClient(
        NodeEntry(1, f"http://127.0.0.1:{port}", entry.identity, entry.x25519), harness.coordinator_key
    )
    try:
        with pytest.raises(NodeUnreachable):
            client.call("POST", "/keys/k/tprf/evaluate", {})
    finally:
        client.close()
        server.join(5)
        listener.close()


# -- no single store holds the key ---------------------------------------------------------------


def _reachable(root: object, limit: int = 300_000) -> Iterable[object]:
    """Everything reachable from ``root`` (attributes, containers, closures), not module globals."""
    seen: set[int] = set()
    stack = [root]
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, types.ModuleType | type | types.CodeType):
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, types.FunctionType):
            stack += [c.cell_contents for c in obj.__closure__ or () if _has_contents(c)]
            stack += [*(obj.__defaults__ or ()), *(obj.__kwdefaults__ or {}).values()]
            continue
        if isinstance(obj, dict) and "__builtins__" in obj:  # some module's globals
            continue
        stack += gc.get_referents(obj)
    assert len(seen) < limit, "object graph too large to inspect"


def _has_contents(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def _holds_none_of(root: object, numbers: set[int], blobs: set[bytes]) -> None:
    for obj in _reachable(root):
        if isinstance(obj, int) and not isinstance(obj, bool):
            assert obj not in numbers, f"secret scalar found in {type(root).__name__}"
        elif isinstance(obj, bytes | bytearray | str):
            data = obj.encode("latin-1", "replace") if isinstance(obj, str) else bytes(obj)
            assert not any(blob in data for blob in blobs), f"secret bytes found in {type(root).__name__}"


def test_no_single_node_store_nor_the_public_data_yields_the_key(harness: Harness) -> None:
    coordinator = harness.coordinator()
    backend = MpcBackend(coordinator)
    handle = backend.generate(spec=KeySpec.AES_256, label="no single store").handle
    sealed = backend.encrypt(handle, plaintext=b"the tenant's data key", aad=AAD)
    x = _x(handle, sealed.iv)

    # Each node's share, unsealed with that node's master key exactly as the node does.
    shares = {i: harness.secret(i, handle) for i in (1, 2, 3)}
    k = _interpolate({1: shares[1], 2: shares[2]})
    aes_key = _aes_key_from_scalar(handle, sealed.iv, k)
    z = G.scalar_mult(k, input_element(x, tprf.TPRF_CONTEXT))
    assert _opens(aes_key, sealed)

    # Only t shares together reproduce it: every pair gives the same k (which opens it) ...
    for pair in PAIRS:
        assert _interpolate({i: shares[i] for i in pair}) == k
    # ... and t - 1 = 1 share does not, whether used as is or with any Lagrange weight.
    for i, share in shares.items():
        weights = {1} | {lagrange_coefficients(dict.fromkeys(pair, 0))[i] for pair in PAIRS if i in pair}
        for weight in weights:
            assert not _opens(_aes_key_from_scalar(handle, sealed.iv, weight * share), sealed)
        secrets_in_files = (encode_scalar(k), aes_key, z, encode_scalar(share))
        raw = harness.cluster.db_path(i).read_bytes()
        for secret in secrets_in_files:
            assert secret not in raw and b64e(secret).encode() not in raw  # sealed at rest
        payload = harness.payload(i, handle)  # the node's whole unsealed record for the key
        assert b64e(encode_scalar(k)) not in str(payload) and b64e(aes_key) not in str(payload)

    # The public data the control plane sees (Y, every Y_i, the commitments) yields nothing.
    info = coordinator.public_info(handle)
    assert isinstance(info, ScalarKeyInfo)
    public = [info.public_key, *info.public_shares.values(), *info.commitments]
    assert z not in public
    for element in public:
        assert not _opens(tprf.derive_aes_key(x, element), sealed)
        assert not _opens(element, sealed)
    assert backend.generate(spec=KeySpec.AES_256, label="no public key").public_key_der is None

    # The coordinator (and the backend around it) holds no share after operations.
    assert backend.decrypt(handle, ciphertext=sealed, aad=AAD) == b"the tenant's data key"
    numbers = {k, *shares.values()}
    blobs = {encode_scalar(s) for s in numbers} | {aes_key, z}
    _holds_none_of(backend, numbers, blobs)
    _holds_none_of(coordinator, numbers, blobs)


# -- refresh: pre-refresh shares become useless ---------------------------------------------------


def test_after_a_refresh_an_old_share_is_useless_with_a_new_one(harness: Harness) -> None:
    coordinator = harness.coordinator()
    backend = MpcBackend(coordinator)
    handle = backend.generate(spec=KeySpec.AES_256, label="refresh").handle
    before = [backend.encrypt(handle, plaintext=f"old {i}".encode(), aad=AAD) for i in range(3)]
    old_payload_1 = harness.payload(1, handle)  # captured from node 1's store before the refresh
    old_1 = harness.secret(1, handle)

    backend.refresh(handle)
    new_1, new_2 = harness.secret(1, handle), harness.secret(2, handle)
    assert old_1 != new_1

    sealed = before[0]
    new_new = _interpolate({1: new_1, 2: new_2})
    old_new = _interpolate({1: old_1, 2: new_2})
    assert _opens(_aes_key_from_scalar(handle, sealed.iv, new_new), sealed)
    assert not _opens(_aes_key_from_scalar(handle, sealed.iv, old_new), sealed)

    # In the exponent too: node 1's old share makes a partial that fails against today's Y_1.
    info = coordinator.public_info(handle, fresh=True)
    assert isinstance(info, ScalarKeyInfo) and info.epoch == 1
    x = _x(handle, sealed.iv)
    stale = tprf.evaluate_partial(key_share_from_dict(old_payload_1), x)
    fresh = tprf.evaluate_partial(key_share_from_dict(harness.payload(2, handle)), x)
    with pytest.raises(InvalidProof) as excinfo:
        tprf.combine([stale, fresh], info.public_shares, x, 2)
    assert excinfo.value.node_ids == (1,)

    # Node 1 no longer keeps its old share, and pre-refresh ciphertexts still decrypt.
    with harness.store(1) as store:
        rows = store._db.execute("SELECT epoch FROM shares WHERE key_id = ?", (handle,)).fetchall()
    assert rows == [(1,)]
    for i, ciphertext in enumerate(before):
        assert backend.decrypt(handle, ciphertext=ciphertext, aad=AAD) == f"old {i}".encode()
