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

``--concurrent`` instead measures what a threaded server sees:
``.venv/bin/python bench/mpc_ops.py --concurrent [--threads 32] [--workers 1] [--seconds 10]``.
That many threads call ``MpcBackend.encrypt`` of 32-byte plaintexts on one MPC AES key
for the given time (no HSM, no customer node). With ``--workers N`` the process that
built and used the backend forks N workers that each run the threads, as gunicorn's
threaded workers do. It prints ops/s, p50/p99/max latency, the average threshold-PRF
batch (calls merged into one node round trip), node requests per operation, and the
CPU each process used per operation.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
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


# -- concurrent AES on one key ----------------------------------------------------------------------


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hammer(call: Callable[[], object], threads: int, seconds: float) -> tuple[list[float], float]:
    """Run ``call`` back to back on ``threads`` threads for ``seconds``; (latencies, elapsed)."""
    samples: list[list[float]] = [[] for _ in range(threads)]
    barrier = threading.Barrier(threads + 1)
    stop = [0.0]

    def worker(mine: list[float]) -> None:
        barrier.wait()
        while time.perf_counter() < stop[0]:
            start = time.perf_counter()
            call()
            mine.append(time.perf_counter() - start)

    pool = [threading.Thread(target=worker, args=(mine,)) for mine in samples]
    for thread in pool:
        thread.start()
    started = time.perf_counter()
    stop[0] = started + seconds
    barrier.wait()
    for thread in pool:
        thread.join()
    return sorted(x for mine in samples for x in mine), time.perf_counter() - started


@dataclass
class LoadResult:
    """One process's share of a concurrent run."""

    samples: list[float]
    elapsed: float
    batches: int
    inputs: int
    requests: int
    cpu: float  # this process's CPU seconds during the run


def aes_load(
    backend: MpcBackend, coordinator: Coordinator, handle: str, threads: int, seconds: float, start_at: float
) -> LoadResult:
    """``threads`` threads encrypting 32-byte plaintexts with ``handle`` for ``seconds`` from
    ``start_at`` (``time.time()``), after a warm-up."""
    plaintext = os.urandom(32)

    def encrypt() -> object:
        return backend.encrypt(handle, plaintext=plaintext, aad=b"bench")

    def requests() -> int:
        return sum(client.stats.requests for client in coordinator.fanout.clients.values())

    hammer(encrypt, threads, min(1.0, seconds))  # warm-up: connections, public data, caches
    time.sleep(max(0.0, start_at - time.time()))
    stats, sent, cpu = backend.prf_stats(), requests(), time.process_time()
    samples, elapsed = hammer(encrypt, threads, seconds)
    after = backend.prf_stats()
    return LoadResult(
        samples,
        elapsed,
        after.batches - stats.batches,
        after.inputs - stats.inputs,
        requests() - sent,
        time.process_time() - cpu,
    )


def forked_load(
    backend: MpcBackend,
    coordinator: Coordinator,
    handle: str,
    workers: int,
    threads: int,
    seconds: float,
    start_at: float,
) -> list[LoadResult]:
    """Like gunicorn's threaded workers: fork ``workers`` children of this process, each running
    :func:`aes_load` on the backend the parent built and used."""
    pipes, pids = [], []
    for _ in range(workers):
        read_fd, write_fd = os.pipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # forking a threaded process is the point
            pid = os.fork()
        if pid == 0:  # child: run, report through the pipe, never return into the parent's code
            code = 1
            try:
                os.close(read_fd)
                result = aes_load(backend, coordinator, handle, threads, seconds, start_at)
                with os.fdopen(write_fd, "w") as pipe:
                    json.dump(result.__dict__, pipe)
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        pipes.append(read_fd)
        pids.append(pid)
    results = []
    for read_fd, pid in zip(pipes, pids, strict=True):
        with os.fdopen(read_fd) as pipe:
            data = pipe.read()
        os.waitpid(pid, 0)
        if not data:
            raise RuntimeError(f"worker {pid} failed")
        results.append(LoadResult(**json.loads(data)))
    return results


def concurrent_aes(workdir: Path, threads: int, seconds: float, workers: int) -> None:
    """``--concurrent``: many threads (in ``workers`` forked processes) encrypting with one MPC AES key."""
    cluster = LocalCluster(workdir / "mpc", log_level="WARNING")
    cluster.prepare()
    try:
        cluster.start_all()
        coordinator = Coordinator.from_file(cluster.cluster_file)
        backend = MpcBackend(coordinator)
        handle = backend.generate(spec=KeySpec.AES_256, label="bench").handle
        backend.encrypt(handle, plaintext=b"used before the fork", aad=b"")
        nodes = {f"node {i}": cluster.pid(i) for i in (1, 2, 3)}
        start_at = time.time() + 2.0  # after every worker's warm-up
        node_cpu: dict[str, float] = {}

        def sample_nodes() -> None:  # the nodes' CPU over the measured window only
            time.sleep(max(0.0, start_at - time.time()))
            before = {name: process_cpu(pid) for name, pid in nodes.items()}
            time.sleep(seconds)
            node_cpu.update({name: process_cpu(pid) - before[name] for name, pid in nodes.items()})

        sampler = threading.Thread(target=sample_nodes)
        sampler.start()
        if workers > 1:
            results = forked_load(backend, coordinator, handle, workers, threads, seconds, start_at)
        else:
            results = [aes_load(backend, coordinator, handle, threads, seconds, start_at)]
        sampler.join()
        cpu = {f"worker {i}": r.cpu for i, r in enumerate(results)} | node_cpu
        samples = sorted(x for r in results for x in r.samples)
        elapsed = max(r.elapsed for r in results)
        n = len(samples)
        batches, inputs = sum(r.batches for r in results), sum(r.inputs for r in results)
        requests = sum(r.requests for r in results)
        p50, p99, worst = statistics.median(samples), samples[min(n - 1, int(n * 0.99))], samples[-1]
        print(f"MPC AES-256-GCM encrypt, 32-byte plaintexts, one key, 2-of-3 nodes; {os.cpu_count()} CPU(s)")
        print(
            f"{workers} process(es) x {threads} threads, {elapsed:.1f} s: {n / elapsed:.0f} ops/s; latency "
            f"p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms, max {worst * 1e3:.2f} ms"
        )
        print(
            f"threshold-PRF batches: {batches}, average {inputs / max(batches, 1):.1f} inputs per batch; "
            f"{requests / max(n, 1):.2f} node requests per operation"
        )
        per_op = ", ".join(f"{name} {used / max(n, 1) * 1e6:.0f} us" for name, used in cpu.items())
        print(f"CPU per operation: {per_op}; total {sum(cpu.values()) / max(n, 1) * 1e6:.0f} us")
        coordinator.close()
    finally:
        cluster.stop_all()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--concurrent", action="store_true", help="many threads, one AES key (see above)")
    parser.add_argument("--threads", type=int, default=32, help="threads (per process) for --concurrent")
    parser.add_argument(
        "--workers", type=int, default=1, help="--concurrent in this many forked processes (like gunicorn)"
    )
    args = parser.parse_args()
    secs = args.seconds
    if args.concurrent:
        with tempfile.TemporaryDirectory(prefix="cockpit-mpc-bench-") as tmp:
            concurrent_aes(Path(tmp), args.threads, secs, args.workers)
        return 0
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
