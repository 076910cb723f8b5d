"""Key-service throughput and latency per backend, next to the raw library doing the same operation.

Run by hand: `.venv/bin/python bench/keys_ops.py [--seconds 3]`. It builds a throw-away SQLite database,
a software key store and (when SoftHSM2 is installed) a fresh SoftHSM2 token in a temporary directory,
then measures AES-256-GCM encrypt of 4 KiB, RSA-2048 OAEP-SHA256 decrypt and ECDSA P-256 / Ed25519
signing through `keys.service` (with its checks, counting and audit row) and through the raw backend
(`cryptography` for software, python-pkcs11 for the token). The ratio is the service's overhead.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def setup_environment(workdir: Path) -> bool:
    """Point Cockpit at a scratch database, key store and SoftHSM2 token; True if SoftHSM2 is there."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "cockpit.settings",
            "COCKPIT_VAR_DIR": str(workdir),
            "COCKPIT_SOFTWARE_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
            "LOG_LEVEL": "WARNING",
        }
    )
    # DATABASE_URL, when set, is used as is (measure on PostgreSQL); otherwise a scratch SQLite file.
    util, module = shutil.which("softhsm2-util"), "/usr/lib/softhsm/libsofthsm2.so"
    if util is None or not Path(module).exists():
        return False
    tokens = workdir / "tokens"
    tokens.mkdir()
    conf = workdir / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    command = [util, "--init-token", "--free", "--label", "bench", "--so-pin", "12345678", "--pin", "1234"]
    subprocess.run(command, check=True, capture_output=True)
    os.environ.update(
        {"COCKPIT_PKCS11_MODULE": module, "COCKPIT_PKCS11_TOKEN": "bench", "COCKPIT_PKCS11_PIN": "1234"}
    )
    return True


def measure(fn: Callable[[], object], seconds: float) -> tuple[float, float, float]:
    """(ops/s, p50 ms, p99 ms) of ``fn`` run repeatedly for about ``seconds``."""
    for _ in range(20):
        fn()
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    samples.sort()
    ops = len(samples) / sum(samples)
    return ops, statistics.median(samples) * 1000, samples[int(len(samples) * 0.99) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cockpit-bench-"))
    has_hsm = setup_environment(workdir)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from bench_support import build_keys, operations

    keys = build_keys(["software", "pkcs11"] if has_hsm else ["software"])
    head = f"{'backend':9} {'operation':26} {'service ops/s':>13} {'p50 ms':>8} {'p99 ms':>8}"
    print(f"{head}   {'raw ops/s':>10} {'p50 ms':>8}   overhead   (database: {connection.vendor})")
    for custody, name, via_service, raw in operations(keys):
        s_ops, s_p50, s_p99 = measure(via_service, args.seconds)
        r_ops, r_p50, _ = measure(raw, args.seconds)
        row = f"{custody:9} {name:26} {s_ops:13.0f} {s_p50:8.3f} {s_p99:8.3f}"
        print(f"{row}   {r_ops:10.0f} {r_p50:8.3f}   {r_ops / s_ops:6.1f}x")
    if not has_hsm:
        print("(SoftHSM2 not installed: pkcs11 rows skipped)")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
