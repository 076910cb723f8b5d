"""``python -m mpc.node --config node.json`` runs a node; ``... init --dir DIR ...`` creates one.

``init --customer`` (no ``--node-id``, no cluster file) creates a *customer node*: the
same software, run by a tenant, holding its own part of composed keys. It prints the
entry (URL, identity and X25519 public keys) the tenant enrols with the control plane.
``... keys --config node.json list|disable|enable|destroy [KEY_ID]`` is the node
operator's local key switch (see :mod:`mpc.node.admin`).

``--fault NAME`` (repeatable) makes the node misbehave on purpose for tests
(bad-deal, bad-partial, tamper-response). It is refused unless the environment
variable ``COCKPIT_MPC_TEST_FAULTS=1`` is set, so a production unit file cannot
enable it by a stray flag alone.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from .config import ConfigError, init_node, load_config
from .context import FAULTS


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m mpc.node", description="Run an MPC node.")
    parser.add_argument("--config", required=True, type=Path, help="path to node.json")
    parser.add_argument(
        "--fault", action="append", default=[], choices=sorted(FAULTS), help=argparse.SUPPRESS
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.fault and os.environ.get("COCKPIT_MPC_TEST_FAULTS") != "1":
        parser.error("--fault needs COCKPIT_MPC_TEST_FAULTS=1 (test clusters only)")
    from .server import serve  # imported late: `init` must not need libsodium

    serve(load_config(args.config), frozenset(args.fault))
    return 0


def _init(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m mpc.node init", description="Create a node directory.")
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--node-id", type=int, help="provider nodes only: the Shamir id 1..255")
    parser.add_argument(
        "--customer", action="store_true", help="create a customer node (no node id, no cluster file)"
    )
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--coordinator-pubkey",
        action="append",
        required=True,
        help="hex Ed25519 public key of a trusted coordinator (repeatable)",
    )
    parser.add_argument("--cluster-file", help="cluster file path, relative to --dir (pins peer keys)")
    args = parser.parse_args(argv)
    if args.customer == (args.node_id is not None):
        parser.error("give --node-id for a provider node, or --customer (and no node id)")
    entry = init_node(
        args.dir,
        node_id=args.node_id,
        port=args.port,
        host=args.host,
        coordinator_pubkeys=args.coordinator_pubkey,
        cluster_file=args.cluster_file,
        role="customer" if args.customer else "provider",
    )
    print(json.dumps(entry, indent=2))  # cluster entry, or the customer node's enrolment entry (public)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["init"]:
            return _init(argv[1:])
        if argv[:1] == ["keys"]:
            from .admin import run

            return run(argv[1:])
        return _run(argv)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
