"""A node's master key can live in its own HSM: shares sealed by a non-extractable PKCS#11 AES key."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mpc.coordinator import Coordinator
from mpc.node.local import LocalCluster
from mpc.node.masterkey import MasterKeyError, Pkcs11MasterKey


def test_seals_in_the_token_and_refuses_a_wrong_aad(softhsm: Any) -> None:
    master = Pkcs11MasterKey(
        softhsm.module, softhsm.token_label, softhsm.user_pin, key_label=f"mk-{secrets.token_hex(4)}"
    )
    sealed = master.seal(b"share bytes", b"node 1|key a")
    assert b"share bytes" not in sealed
    assert master.open(sealed, b"node 1|key a") == b"share bytes"
    with pytest.raises(MasterKeyError):
        master.open(sealed, b"node 1|key b")
    with pytest.raises(MasterKeyError):
        master.open(sealed[:-1] + bytes([sealed[-1] ^ 1]), b"node 1|key a")


def test_a_node_process_keeps_its_shares_under_its_hsm_key(
    softhsm: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The node gets a token of its own (its own SoftHSM2 store), as a production node would have its own HSM.
    tokens = tmp_path / "node-hsm"
    tokens.mkdir()
    conf = tmp_path / "node-softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    command = ["softhsm2-util", "--init-token", "--free", "--label", "node1-hsm", "--so-pin", "12345678"]
    subprocess.run([*command, "--pin", "4321"], check=True, capture_output=True)
    cluster = LocalCluster(tmp_path / "mpc", nodes=3, threshold=2, log_level="WARNING")
    cluster.prepare()
    node_json = cluster.node_dir(1) / "node.json"
    (cluster.node_dir(1) / "hsm.pin").write_text("4321")
    config = json.loads(node_json.read_text())
    config["pkcs11_master_key"] = {
        "module": softhsm.module,
        "token_label": "node1-hsm",
        "pin_file": "hsm.pin",
    }
    node_json.write_text(json.dumps(config))
    cluster.start_all()
    try:
        coordinator = Coordinator.from_file(cluster.cluster_file)
        coordinator.generate_scalar_key("mpc_" + "ab" * 16, "ristretto255")
        assert len(coordinator.tprf_evaluate("mpc_" + "ab" * 16, [b"x"])) == 1
        coordinator.close()
        assert not (cluster.node_dir(1) / "master.key").exists()  # no file key: the HSM sealed node 1's share
        assert (cluster.node_dir(2) / "master.key").exists()
    finally:
        cluster.stop_all()
