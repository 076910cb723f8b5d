"""Faulty and failed nodes: detection, exclusion, reporting, and graceful degradation."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from keys.backends import OaepHash, oaep
from mpc.coordinator import Coordinator, DealerMisbehaved, KeyNotFound, NodesUnavailable, RsaKeyInfo
from mpc.crypto import tprf
from tests.mpc.node.harness import Harness, prefer

OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def _oaep_plain(raw: bytes) -> bytes:
    return oaep.decode(raw, hash=OaepHash.SHA_256, k=len(raw))


class Keys:
    """One key of each kind, generated while all nodes are healthy, plus reference results."""

    def __init__(self, coordinator: Coordinator) -> None:
        coordinator.generate_scalar_key("faults-prf", "ristretto255")
        self.x = tprf.make_input("", "faults-prf", 1, b"\x01" * 12)
        self.z = coordinator.tprf_evaluate("faults-prf", [self.x])
        self.ed = Ed25519PublicKey.from_public_bytes(
            coordinator.generate_scalar_key("faults-ed", "ed25519").public_key
        )
        self.rsa: RsaKeyInfo = coordinator.generate_rsa_key("faults-rsa", 2048)

    def check_all(self, coordinator: Coordinator) -> None:
        """Every operation succeeds and is correct."""
        assert coordinator.tprf_evaluate("faults-prf", [self.x]) == self.z
        self.ed.verify(coordinator.frost_sign("faults-ed", b"msg"), b"msg")
        ciphertext = self.rsa.public_key().encrypt(b"dek", OAEP)
        assert _oaep_plain(coordinator.rsa_decrypt_raw("faults-rsa", ciphertext)) == b"dek"


@pytest.fixture(scope="module")
def keys(harness: Harness) -> Keys:
    harness.ensure_healthy()  # module fixtures run before the per-test `healthy` one
    return Keys(harness.coordinator())


def test_a_node_that_deals_inconsistent_shares_is_named_and_generation_aborts(
    harness: Harness, coordinator: Coordinator
) -> None:
    harness.restart(2, ("bad-deal",))
    with pytest.raises(DealerMisbehaved) as excinfo:
        coordinator.generate_scalar_key("faults-bad-deal", "ristretto255")
    assert excinfo.value.dealers == (2,)
    assert excinfo.value.accused_by == (1, 3)
    assert [(r.node_id, r.operation) for r in harness.reports] == [(2, "dkg")]
    for node_id in (1, 2, 3):
        assert not harness.has_share(node_id, "faults-bad-deal")
    with pytest.raises(KeyNotFound):
        coordinator.public_info("faults-bad-deal")


@pytest.mark.parametrize("operation", ["tprf", "frost", "rsa"])
def test_a_node_returning_wrong_partials_is_excluded_and_reported(
    harness: Harness, coordinator: Coordinator, keys: Keys, operation: str
) -> None:
    harness.restart(3, ("bad-partial",))
    prefer(coordinator, 3, 1)  # make sure the liar is in the first quorum
    if operation == "tprf":
        assert coordinator.tprf_evaluate("faults-prf", [keys.x]) == keys.z
    elif operation == "frost":
        keys.ed.verify(coordinator.frost_sign("faults-ed", b"m"), b"m")
    else:
        ciphertext = keys.rsa.public_key().encrypt(b"dek", OAEP)
        assert _oaep_plain(coordinator.rsa_decrypt_raw("faults-rsa", ciphertext)) == b"dek"
    assert {(r.node_id, r.operation) for r in harness.reports} == {(3, operation)}
    assert coordinator.fanout.ranked()[-1] == 3  # ranked last from now on
    harness.reports.clear()
    keys.check_all(coordinator)


def test_a_killed_node_does_not_stop_operations(
    harness: Harness, coordinator: Coordinator, keys: Keys
) -> None:
    pid = harness.cluster.pid(2)
    harness.cluster.kill(2)  # SIGKILL by PID
    assert not harness.cluster.is_running(2)
    prefer(coordinator, 2, 3)  # the dead node is tried first and replaced
    keys.check_all(coordinator)
    health = {h.node_id: h.ok for h in coordinator.health()}
    assert health == {1: True, 2: False, 3: True}
    assert harness.reports == []  # being down is not misbehaviour
    assert pid != 0


def test_two_nodes_down_is_nodes_unavailable(harness: Harness, coordinator: Coordinator, keys: Keys) -> None:
    harness.cluster.kill(1)
    harness.cluster.kill(3)
    for call in (
        lambda: coordinator.tprf_evaluate("faults-prf", [keys.x]),
        lambda: coordinator.frost_sign("faults-ed", b"m"),
        lambda: coordinator.rsa_decrypt_raw("faults-rsa", keys.rsa.public_key().encrypt(b"k", OAEP)),
    ):
        with pytest.raises(NodesUnavailable) as excinfo:
            call()
        assert (excinfo.value.needed, excinfo.value.total) == (2, 3)
        assert excinfo.value.answered <= 1
    with pytest.raises(NodesUnavailable):
        coordinator.generate_scalar_key("faults-never", "ristretto255")
