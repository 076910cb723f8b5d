"""MPC operation throughput and latency next to the same operation on an HSM (SoftHSM2 via PKCS#11).

Run by hand: ``.venv/bin/python bench/mpc_ops.py [--seconds 3]``. It starts a 2-of-3
node cluster plus one customer node in a temporary directory (free loopback ports)
and a fresh SoftHSM2 token in the same directory, then measures, one call at a time:

* ``in-process``: the threshold protocol with ``mpc.crypto`` in this process (t
  partials made, every proof verified, combined, then the AES/OAEP/Ed25519 step) -
  the cost of the maths without transport;
* ``nodes (HTTP)``: ``MpcBackend`` through the coordinator and the node processes
  (signed requests and responses, t nodes per operation);
* ``pkcs11``: ``keys.backends.pkcs11.Pkcs11Backend`` on the SoftHSM2 token.

Rates are operations/s (p50/p99 in ms per operation); ``/hsm`` is that column's rate
divided by the pkcs11 rate (above 1 = faster than SoftHSM2). Operations: AES-256-GCM
encrypt of 4 KiB (threshold PRF key; also with a customer node, k = k_c + k_p),
RSA-2048 OAEP-SHA256 decrypt (threshold RSA) and Ed25519 sign (FROST). All
processes share this machine's cores, so the node figures are a lower bound for nodes
on separate hosts; SoftHSM2 is a software token, a network HSM adds its own latency.
"""

from __future__ import annotations

import argparse
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

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from keys.backends import CustodyBackend, KeySpec, OaepHash, SigningAlgorithm  # noqa: E402
from keys.backends.mpc import MpcBackend  # noqa: E402
from mpc.coordinator import Coordinator, CustomerNodeSpec  # noqa: E402
from mpc.crypto import dkg, frost, threshold_rsa, tprf  # noqa: E402
from mpc.crypto.group import ED25519, RISTRETTO255, PrimeOrderGroup  # noqa: E402
from mpc.crypto.shamir import KeyShare  # noqa: E402
from mpc.node.local import LocalCluster  # noqa: E402

OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
PAYLOAD = os.urandom(4096)
MESSAGE = b"m" * 64
SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
Figures = tuple[float, float, float]


def measure(fn: Callable[[], object], seconds: float) -> Figures:
    """(ops/s, p50 ms, p99 ms) over ~``seconds`` of back-to-back calls (after a warm-up)."""
    for _ in range(5):
        fn()
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(samples) < 20:
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return len(samples) / sum(samples), statistics.median(samples) * 1e3, p99 * 1e3


# -- in-process threshold protocols ----------------------------------------------------------------


def scalar_shares(group: PrimeOrderGroup) -> dict[int, KeyShare]:
    config = dkg.DkgConfig(group, 2, (1, 2, 3), os.urandom(16))
    deals = [dkg.deal(config, i) for i in (1, 2, 3)]
    broadcasts = [d.broadcast for d in deals]
    return {j: dkg.finalize(config, j, broadcasts, [d.shares[j] for d in deals]) for j in (1, 2, 3)}


def local_aes(customer: bool) -> Callable[[], object]:
    """Partials of nodes 1 and 2 (+ the customer part), proofs verified, combined, HKDF, AES-GCM."""
    shares = scalar_shares(RISTRETTO255)
    publics = dict(shares[1].public_shares)
    k_c = tprf.new_customer_key()
    y_c = RISTRETTO255.scalar_base_mult(k_c)

    def run() -> object:
        iv = os.urandom(12)
        xs = [tprf.make_input("", "bench", 1, b"aes-256-gcm/v1:" + iv)]
        partials = [tprf.evaluate_partial_batch(shares[i], xs) for i in (1, 2)]
        if customer:
            zs = tprf.combine_composed(tprf.evaluate_customer(k_c, xs), y_c, partials, publics, xs, 2)
        else:
            zs = tprf.combine_batch(partials, publics, xs, 2)
        return AESGCM(tprf.derive_aes_key(xs[0], zs[0])).encrypt(iv, PAYLOAD, b"")

    return run


def local_frost() -> Callable[[], object]:
    shares = scalar_shares(ED25519)
    publics = dict(shares[1].public_shares)

    def run() -> object:
        rounds = {i: frost.commit(shares[i]) for i in (1, 2)}
        commitments = [c for _, c in rounds.values()]
        sig = {i: frost.sign(shares[i], rounds[i][0], MESSAGE, commitments) for i in (1, 2)}
        return frost.aggregate(commitments, MESSAGE, shares[1].public_key, sig, publics)

    return run


def local_rsa() -> Callable[[], object]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ciphertext = key.public_key().encrypt(b"k" * 32, OAEP)
    params, shares = threshold_rsa.deal(key, 2, 3)
    by_id = {s.node_id: s for s in shares}
    c = threshold_rsa.ciphertext_to_int(ciphertext, params)

    def run() -> object:
        plan = threshold_rsa.assign(params, (1, 2))
        partials = [threshold_rsa.partial_decrypt(by_id[i], c, labels) for i, labels in plan.items()]
        raw = threshold_rsa.decrypt(params, partials, c)
        return raw  # OAEP decoding is the same host-side step in every column

    return run


# -- backends ---------------------------------------------------------------------------------------


def softhsm_backend(workdir: Path) -> CustodyBackend | None:
    """A Pkcs11Backend on a fresh SoftHSM2 token in ``workdir`` (None if SoftHSM2 is missing)."""
    util = shutil.which("softhsm2-util")
    if util is None or not Path(SOFTHSM_MODULE).exists():
        return None
    tokens = workdir / "tokens"
    tokens.mkdir()
    conf = workdir / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # before the library is loaded (first backend use)
    command = [util, "--init-token", "--free", "--label", "bench", "--so-pin", "12345678", "--pin", "1234"]
    subprocess.run(command, check=True, capture_output=True)
    from keys.backends.pkcs11 import Pkcs11Backend

    return Pkcs11Backend(SOFTHSM_MODULE, "bench", "1234")


def backend_ops(
    backend: CustodyBackend, customer: CustomerNodeSpec | None = None
) -> dict[str, Callable[[], object]]:
    """The measured operations on one backend (keys generated here); ``customer``: MPC only."""
    aes = backend.generate(spec=KeySpec.AES_256, label="bench").handle
    ed = backend.generate(spec=KeySpec.ED25519, label="bench").handle
    rsa_key = backend.generate(spec=KeySpec.RSA_2048, label="bench")
    assert rsa_key.public_key_der is not None
    public = serialization.load_der_public_key(rsa_key.public_key_der)
    assert isinstance(public, rsa.RSAPublicKey)
    ciphertext = public.encrypt(b"k" * 32, OAEP)
    ops: dict[str, Callable[[], object]] = {
        "aes": lambda: backend.encrypt(aes, plaintext=PAYLOAD, aad=b""),
        "rsa": lambda: backend.rsa_decrypt(rsa_key.handle, ciphertext=ciphertext, hash=OaepHash.SHA_256),
        "frost": lambda: backend.sign(ed, message=MESSAGE, algorithm=SigningAlgorithm.ED25519),
    }
    if customer is not None:
        assert isinstance(backend, MpcBackend)
        handle = backend.generate(spec=KeySpec.AES_256, label="bench", customer=customer).handle
        ops["aes-customer"] = lambda: backend.encrypt(handle, plaintext=PAYLOAD, aad=b"")
    return ops


ROWS = [
    ("aes", "AES-256-GCM encrypt 4 KiB"),
    ("aes-customer", "  same, with customer node"),
    ("rsa", "RSA-2048 OAEP decrypt"),
    ("frost", "Ed25519 sign (FROST)"),
]


def cell(figures: Figures | None) -> str:
    if figures is None:
        return f"{'n/a':>9} {'':>7} {'':>7}"
    rate, p50, p99 = figures
    return f"{rate:9.0f} {p50:7.2f} {p99:7.2f}"


def ratio(figures: Figures | None, hsm: Figures | None) -> str:
    return f"{figures[0] / hsm[0]:6.2f}x" if figures and hsm else f"{'n/a':>7}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()
    secs = args.seconds
    with tempfile.TemporaryDirectory(prefix="cockpit-mpc-bench-") as tmp:
        workdir = Path(tmp)
        hsm = softhsm_backend(workdir)
        cluster = LocalCluster(workdir / "mpc", log_level="WARNING")
        cluster.prepare()
        customer = cluster.add_customer("customer")
        try:
            cluster.start_all()
            cluster.start("customer")
            coordinator = Coordinator.from_file(cluster.cluster_file)
            mpc = MpcBackend(coordinator, customer_for=lambda handle: customer)
            local = {
                "aes": local_aes(customer=False),
                "aes-customer": local_aes(customer=True),
                "rsa": local_rsa(),
                "frost": local_frost(),
            }
            remote = backend_ops(mpc, customer)
            token = backend_ops(hsm) if hsm is not None else {}
            hsm_aes = token.get("aes")
            if hsm_aes is not None:
                token["aes-customer"] = hsm_aes  # the HSM reference for both AES rows

            print(f"2-of-3 MPC nodes + customer node, SoftHSM2; {os.cpu_count()} CPU(s); {secs:g} s/figure")
            head = f"{'operation':<27} {'in-process ops/s':>16} {'p50':>7} {'p99':>7}  {'/hsm':>7}"
            head += f"   {'nodes (HTTP) ops/s':>18} {'p50':>7} {'p99':>7}  {'/hsm':>7}"
            head += f"   {'pkcs11 ops/s':>12} {'p50':>7} {'p99':>7}"
            print(head)
            hsm_cache: dict[int, Figures] = {}  # both AES rows compare with the same HSM figures
            for op, name in ROWS:
                hsm_figures = None
                if op in token:
                    if id(token[op]) not in hsm_cache:
                        hsm_cache[id(token[op])] = measure(token[op], secs)
                    hsm_figures = hsm_cache[id(token[op])]
                in_process = measure(local[op], secs)
                over_http = measure(remote[op], secs)
                line = f"{name:<27} {cell(in_process):>32}  {ratio(in_process, hsm_figures)}"
                line += f"   {cell(over_http):>34}  {ratio(over_http, hsm_figures)}"
                line += f"   {cell(hsm_figures):>28}"
                print(line, flush=True)
            if hsm is None:
                print("(SoftHSM2 not installed: pkcs11 column skipped)")
            print(
                "p50/p99 in ms per operation; /hsm = ops/s divided by the pkcs11 ops/s of the same operation"
            )
            coordinator.close()
        finally:
            cluster.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
