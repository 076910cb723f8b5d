"""MPC operation throughput and latency: a real local 3-node cluster vs. the local library.

Run by hand: ``.venv/bin/python bench/mpc_ops.py [--seconds 3]``. It starts a 2-of-3
cluster in a temporary directory (free loopback ports), then for each operation prints

* ``cluster``: ``MpcBackend`` through the coordinator and the node processes (ops/s,
  p50 and p99 latency);
* ``in-process``: the same threshold protocol with ``mpc.crypto`` in this process (t
  partials, proofs verified, combined) - the cost of the maths without transport;
* ``single-key``: the plain one-key primitive from ``cryptography`` for scale.

All processes share this machine's cores, so cluster figures are a lower bound for
nodes on separate hosts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keys.backends import KeySpec, OaepHash, SigningAlgorithm
from keys.backends.mpc import MpcBackend
from mpc.coordinator import Coordinator, RsaKeyInfo
from mpc.crypto import dkg, frost, threshold_rsa, tprf
from mpc.crypto.group import ED25519, RISTRETTO255
from mpc.node.local import LocalCluster

OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
BATCH = 100


def measure(fn: Callable[[], object], seconds: float, per_call: int = 1) -> tuple[float, float, float]:
    """(items/s, p50 ms per call, p99 ms per call) over ~``seconds`` of repeated calls."""
    fn()  # warm up (connections, caches)
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(samples) < 5:
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return per_call * len(samples) / sum(samples), statistics.median(samples) * 1e3, p99 * 1e3


def row(name: str, cluster: tuple[float, float, float], local: float, single: float) -> None:
    rate, p50, p99 = cluster
    print(f"{name:<28} {rate:>9.0f} {p50:>8.2f} {p99:>8.2f} {local:>12.0f} {single:>12.0f}")


def scalar_shares(group: object) -> dict[int, object]:
    config = dkg.DkgConfig(group, 2, (1, 2, 3), os.urandom(16))  # type: ignore[arg-type]
    deals = [dkg.deal(config, i) for i in (1, 2, 3)]
    broadcasts = [d.broadcast for d in deals]
    return {j: dkg.finalize(config, j, broadcasts, [d.shares[j] for d in deals]) for j in (1, 2, 3)}


def local_tprf(batch: int) -> Callable[[], object]:
    shares = scalar_shares(RISTRETTO255)
    publics = dict(shares[1].public_shares)
    aead_key = os.urandom(32)

    def run() -> object:
        xs = [tprf.make_input("", "bench", 1, os.urandom(12)) for _ in range(batch)]
        partials = [tprf.evaluate_partial_batch(shares[i], xs) for i in (1, 2)]
        zs = tprf.combine_batch(partials, publics, xs, 2)
        for x, z in zip(xs, zs, strict=True):
            AESGCM(tprf.derive_aes_key(x, z)).encrypt(os.urandom(12), b"k" * 32, b"aad")
        return aead_key

    return run


def local_frost() -> Callable[[], object]:
    shares = scalar_shares(ED25519)
    publics = dict(shares[1].public_shares)

    def run() -> object:
        rounds = {i: frost.commit(shares[i]) for i in (1, 2)}
        commitments = [c for _, c in rounds.values()]
        sig = {i: frost.sign(shares[i], rounds[i][0], b"msg", commitments) for i in (1, 2)}
        return frost.aggregate(commitments, b"msg", shares[1].public_key, sig, publics)

    return run


def local_rsa(key: rsa.RSAPrivateKey, ciphertext: bytes) -> Callable[[], object]:
    params, shares = threshold_rsa.deal(key, 2, 3)
    by_id = {s.node_id: s for s in shares}
    c = threshold_rsa.ciphertext_to_int(ciphertext, params)

    def run() -> object:
        plan = threshold_rsa.assign(params, (1, 2))
        partials = [threshold_rsa.partial_decrypt(by_id[i], c, labels) for i, labels in plan.items()]
        return threshold_rsa.decrypt(params, partials, c)

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()
    secs = args.seconds
    with tempfile.TemporaryDirectory() as tmp, LocalCluster(Path(tmp), log_level="WARNING") as cluster:
        coordinator = Coordinator.from_file(cluster.cluster_file)
        backend = MpcBackend(coordinator)
        aes = backend.generate(spec=KeySpec.AES_256, label="bench").handle
        ed = backend.generate(spec=KeySpec.ED25519, label="bench").handle
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        rsa_handle = backend.generate(spec=KeySpec.RSA_2048, label="bench").handle
        rsa_info = coordinator.public_info(rsa_handle)
        assert isinstance(rsa_info, RsaKeyInfo)
        mpc_ct = rsa_info.public_key().encrypt(b"data key", OAEP)
        local_ct = rsa_key.public_key().encrypt(b"data key", OAEP)
        gcm, ed_key = AESGCM(os.urandom(32)), ed25519.Ed25519PrivateKey.generate()
        items = [(b"k" * 32, b"aad")] * BATCH

        print(f"2-of-3 cluster, {os.cpu_count()} CPU(s); {secs:.0f} s per figure; rates are operations/s")
        header = ("operation", "cluster", "p50 ms", "p99 ms", "in-process", "single-key")
        print("{:<28} {:>9} {:>8} {:>8} {:>12} {:>12}".format(*header))
        row(
            "TPRF encrypt (1 msg)",
            measure(lambda: backend.encrypt(aes, plaintext=b"k" * 32, aad=b"aad"), secs),
            measure(local_tprf(1), secs)[0],
            measure(lambda: gcm.encrypt(os.urandom(12), b"k" * 32, b"aad"), secs)[0],
        )
        row(
            f"TPRF encrypt (batch {BATCH}, /msg)",
            measure(lambda: backend.encrypt_many(aes, items), secs, BATCH),
            measure(local_tprf(BATCH), secs, BATCH)[0],
            measure(lambda: gcm.encrypt(os.urandom(12), b"k" * 32, b"aad"), secs)[0],
        )
        row(
            "FROST Ed25519 sign",
            measure(lambda: backend.sign(ed, message=b"msg", algorithm=SigningAlgorithm.ED25519), secs),
            measure(local_frost(), secs)[0],
            measure(lambda: ed_key.sign(b"msg"), secs)[0],
        )
        row(
            "threshold RSA-2048 decrypt",
            measure(lambda: backend.rsa_decrypt(rsa_handle, ciphertext=mpc_ct, hash=OaepHash.SHA_256), secs),
            measure(local_rsa(rsa_key, local_ct), secs)[0],
            measure(lambda: rsa_key.decrypt(local_ct, OAEP), secs)[0],
        )
        print("batch row: p50/p99 are per batch of", BATCH, "messages")
        coordinator.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
