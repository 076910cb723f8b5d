"""XKS load: signed Encrypt and Decrypt requests against a running Cockpit (2 worker processes) on loopback.

Run by hand: `.venv/bin/python bench/xks_load.py [--seconds 10] [--clients 64] [--server gunicorn]`. It
sets up a scratch Cockpit (SQLite file, or DATABASE_URL if set), a fresh SoftHSM2 token and three MPC node
processes, creates an HSM key, an MPC key and one XKS binding, serves Cockpit with granian (or gunicorn,
gthread) and drives SigV4-signed Encrypt and Decrypt calls (botocore's signer) with wrk, next to a trivial
authenticated endpoint (GET /api/v1/tenant with a token) and a bare Django view (GET /healthz) as
ceilings. It prints requests/s and p50/p99 latency (BENCH_WRK_OUTPUT=1 prints wrk's whole report).
The load generator shares the 2 cores with the server, so figures understate a separate client host.
AWS's budget for reference: 250 ms per call, up to 1,800 requests/s per key store.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def setup(workdir: Path) -> dict[str, str]:
    """Environment for a scratch Cockpit with SoftHSM2 and a 3-node MPC cluster (started here)."""
    from keys_ops import setup_environment  # the same scratch SoftHSM2 token and key store as keys_ops

    setup_environment(workdir)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    os.environ["DEBUG"] = "false"  # DEBUG records every query; measure what production runs
    return dict(os.environ)


def seed(cluster_file: Path) -> dict[str, str]:
    """Tenant, HSM and MPC keys, an XKS binding and a service-account token; returns what clients need."""
    import django

    os.environ["COCKPIT_MPC_CLUSTER"] = str(cluster_file)
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bench_support import build_keys

    from connectors import services as connector_services
    from keys import services as key_services
    from tenants.models import ServiceAccount
    from tenants.services import api_token_issue

    keys = build_keys(["pkcs11"])
    tenant = next(iter(keys.values())).tenant
    mpc = key_services.key_create(
        actor="bench",
        tenant=tenant,
        name="mpc-aes",
        spec="AES_256",
        usage="ENCRYPT_DECRYPT",
        custody_name="mpc",
    )
    hsm = keys[("pkcs11", "AES_256")]
    binding = connector_services.binding_create(
        actor="bench", tenant=tenant, kind="aws_xks", name="bench", route=f"xks/{tenant.slug}",
        keys=[connector_services.KeyRef(str(hsm.pk), "hsm"), connector_services.KeyRef(str(mpc.pk), "mpc")],
        settings={"secondary_authorization": []},
    )  # fmt: skip
    credential = binding.credentials.get()
    account = ServiceAccount.objects.create(tenant=tenant, name="bench")
    admin = tenant.memberships.get(role="admin").user
    _, token = api_token_issue(actor=admin, service_account=account, name="bench")
    return {
        "route": binding.route,
        "akid": credential.access_key_id,
        "secret": connector_services.credential_secret(credential),
        "token": token,
    }


_METADATA = {
    "awsPrincipalArn": "arn:aws:iam::111122223333:role/bench",
    "kmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/bench",
    "kmsRequestId": "bench",
}


def xks_request(
    seeded: dict[str, str], port: int, external_id: str, operation: str = "encrypt"
) -> Callable[[], tuple[str, str, bytes, dict[str, str]]]:
    """A signed Encrypt, or a signed Decrypt of a ciphertext made by a real Encrypt call first."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signer = SigV4Auth(Credentials(seeded["akid"], seeded["secret"]), "kms-xks-proxy", "us-east-1")
    host = f"127.0.0.1:{port}"

    def signed(action: str, document: dict[str, object]) -> tuple[str, str, bytes, dict[str, str]]:
        path = f"/{seeded['route']}/kms/xks/v1/keys/{external_id}/{action}"
        body = json.dumps(document).encode()
        request = AWSRequest(method="POST", url=f"http://{host}{path}", data=body, headers={"Host": host})
        signer.add_auth(request)
        return "POST", path, body, {**dict(request.headers.items()), "Content-Type": "application/json"}

    encrypt = {
        "requestMetadata": {**_METADATA, "kmsOperation": "Encrypt"},
        "plaintext": base64.b64encode(os.urandom(32)).decode(), "encryptionAlgorithm": "AES_GCM",
    }  # fmt: skip
    if operation == "encrypt":
        return lambda: signed("encrypt", encrypt)
    method, path, body, headers = signed("encrypt", encrypt)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers=headers)
    sealed = json.loads(conn.getresponse().read())
    conn.close()
    fields = ("ciphertext", "ciphertextMetadata", "initializationVector", "authenticationTag")
    decrypt = {
        "requestMetadata": {**_METADATA, "kmsOperation": "Decrypt"}, "encryptionAlgorithm": "AES_GCM",
        **{name: sealed[name] for name in fields},
    }  # fmt: skip
    return lambda: signed("decrypt", decrypt)


def bare_request() -> Callable[[], tuple[str, str, bytes, dict[str, str]]]:
    return lambda: ("GET", "/healthz", b"", {})


def trivial_request(seeded: dict[str, str]) -> Callable[[], tuple[str, str, bytes, dict[str, str]]]:
    headers = {"Authorization": f"Bearer {seeded['token']}"}
    return lambda: ("GET", "/api/v1/tenant", b"", headers)


def drive(
    port: int, build: Callable[[], tuple[str, str, bytes, dict[str, str]]], seconds: float, clients: int
) -> str:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine, failed = [], 0
        while time.perf_counter() < deadline:
            method, path, body, headers = build()
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body or None, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            mine.append(time.perf_counter() - started)
            failed += 0 if ok else 1
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000  # noqa: E731
    return (
        f"{len(latencies) / seconds:9.0f} req/s  p50 {statistics.median(latencies) * 1000:7.1f} ms  "
        f"p99 {p(0.99):7.1f} ms  max {latencies[-1] * 1000:7.1f} ms  errors {errors[0]}"
    )


def drive_wrk(
    port: int, build: Callable[[], tuple[str, str, bytes, dict[str, str]]], seconds: float, clients: int
) -> str:
    """wrk (a C load generator, Debian's `wrk`) replays one request signed just before the run.

    SigV4 signatures stay valid for five minutes and carry no nonce, so replaying one signed request is
    exactly what a replaying client could do; it measures the server, not a Python client.
    """
    method, path, body, headers = build()
    lua = ["wrk.method = " + json.dumps(method), "wrk.body = " + json.dumps(body.decode())]
    lua += [
        f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items() if k.lower() != "host"
    ]
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text("\n".join(lua) + "\n")
    result = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{int(seconds)}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, timeout=seconds + 60,
    )  # fmt: skip
    script.unlink()
    if os.environ.get("BENCH_WRK_OUTPUT"):
        print(result.stdout)
    lines = result.stdout.splitlines()
    rate = next((line.split()[1] for line in lines if line.startswith("Requests/sec")), "?")
    p50 = next((line.split()[1] for line in lines if line.strip().startswith("50%")), "?")
    p99 = next((line.split()[1] for line in lines if line.strip().startswith("99%")), "?")
    bad = next((line.strip() for line in lines if "Non-2xx" in line or "Socket errors" in line), "no errors")
    return f"{rate:>9} req/s  p50 {p50:>8}  p99 {p99:>8}  ({bad})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load first")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=32, help="request threads per worker (1: sync)")
    parser.add_argument(
        "--only", choices=["bare", "trivial", "hsm", "mpc"], action="append", help="run only these"
    )
    parser.add_argument("--server", choices=["granian", "gunicorn"], default="granian")
    parser.add_argument("--operation", choices=["encrypt", "decrypt"], action="append", help="default: both")
    parser.add_argument("--server-option", action="append", default=[], help="passed to the server as is")
    parser.add_argument("--python-client", action="store_true", help="use Python threads instead of wrk")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cockpit-xks-load-"))
    env = setup(workdir)
    from mpc.node.local import LocalCluster

    cluster = LocalCluster(workdir / "mpc", nodes=3, threshold=2, log_level="WARNING")
    cluster.prepare()
    cluster.start_all()
    server = None
    try:
        seeded = seed(cluster.cluster_file)
        port = free_port()
        env["COCKPIT_MPC_CLUSTER"] = str(cluster.cluster_file)
        if args.server == "granian":
            command = [
                sys.executable, "-m", "granian", "--interface", "wsgi", "cockpit.wsgi:application",
                "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers),
                "--blocking-threads", str(args.threads), "--log-level", "warning", *args.server_option,
            ]  # fmt: skip
        else:
            command = [
                sys.executable, "-m", "gunicorn", "cockpit.wsgi:application", "-b", f"127.0.0.1:{port}",
                "-w", str(args.workers), "--threads", str(args.threads), "--log-level", "warning",
                *args.server_option,
            ]  # fmt: skip
        server = subprocess.Popen(command, cwd=ROOT, env={**env, "LOG_LEVEL": "WARNING"})
        time.sleep(3)
        use_wrk = shutil.which("wrk") is not None and not args.python_client
        drive_with = drive_wrk if use_wrk else drive
        client = f"wrk -t2 -c{args.clients}" if use_wrk else f"{args.clients} Python client threads"
        kind = f"{args.threads} threads each" if args.threads > 1 else "sync"
        print(f"{args.server} {args.workers} workers ({kind}), {client}, {args.seconds:.0f} s each")
        only = set(args.only or ["bare", "trivial", "hsm", "mpc"])

        def measure(build: Callable[[], tuple[str, str, bytes, dict[str, str]]]) -> str:
            """Warm up (connections, first use of each thread), then measure."""
            if args.warmup > 0:
                drive_with(port, build, args.warmup, args.clients)
            return drive_with(port, build, args.seconds, args.clients)

        if "bare" in only:
            bare = measure(bare_request())
            print(f"bare GET /healthz (no auth)  {bare}")
        if "trivial" in only:
            trivial = measure(trivial_request(seeded))
            print(f"trivial GET /api/v1/tenant   {trivial}")
        for label, external_id in (("HSM", "hsm"), ("MPC", "mpc")):
            if external_id not in only:
                continue
            for operation in args.operation or ["encrypt", "decrypt"]:
                build = xks_request(seeded, port, external_id, operation)
                figures = measure(build)
                print(f"XKS {operation.capitalize():8} {label} key     {figures}")
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        cluster.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
