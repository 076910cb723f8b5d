"""``python -m mpc.node --config node.json`` runs a node; ``... init --dir DIR ...`` creates one.

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
    parser.add_argument("--node-id", required=True, type=int)
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
    entry = init_node(
        args.dir,
        node_id=args.node_id,
        port=args.port,
        host=args.host,
        coordinator_pubkeys=args.coordinator_pubkey,
        cluster_file=args.cluster_file,
    )
    print(json.dumps(entry, indent=2))  # this node's entry for the cluster file (public data)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["init"]:
            return _init(argv[1:])
        return _run(argv)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
