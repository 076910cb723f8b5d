"""``python -m mpc.node keys --config node.json list|disable|enable|destroy [KEY_ID]``.

The node operator's own controls, run on the node's host against its store (the
node may keep running: SQLite serialises the writes, and the node re-reads a key's
state on every request). This is how a tenant running a customer node stops a key
without asking the control plane:

* ``disable`` puts a local *hold* on the key. The node then refuses every use of it
  (``403 key_held``), and the coordinator's enable cannot lift the hold.
* ``enable`` lifts the hold (the key is usable again if the control plane has it
  enabled too).
* ``destroy`` deletes the key part for good (crypto-shredding: for a composed key
  the provider shares are then useless, so every ciphertext under the key is lost).

Stopping the node process stops every key that needs it at once.
"""

from __future__ import annotations

import argparse
import json

from .config import load_config
from .errors import NodeError
from .masterkey import FileMasterKey
from .store import ShareStore


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m mpc.node keys", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="path to node.json")
    parser.add_argument("action", choices=("list", "disable", "enable", "destroy"))
    parser.add_argument("key_id", nargs="?")
    args = parser.parse_args(argv)
    if (args.action == "list") != (args.key_id is None):
        parser.error("list takes no key id; disable, enable and destroy need one")
    config = load_config(args.config)
    store = ShareStore(config.db_path, FileMasterKey(config.master_key_file), config.node_id)
    try:
        if args.action == "list":
            for r in store.records():
                row = {"key_id": r.key_id, "kind": r.kind, "state": r.state, "held": r.held, "epoch": r.epoch}
                print(json.dumps(row))
            return 0
        try:
            if args.action == "destroy":
                store.destroy(args.key_id)
                print(json.dumps({"key_id": args.key_id, "state": "destroyed"}))
            else:
                record = store.set_hold(args.key_id, args.action == "disable")
                print(json.dumps({"key_id": args.key_id, "state": record.state, "held": record.held}))
        except NodeError as exc:
            print(f"error: {exc.message}")
            return 1
        return 0
    finally:
        store.close()
