"""The node's HTTP service: stdlib ``ThreadingHTTPServer`` on loopback, JSON in and out.

Why stdlib: the node needs a dozen POST routes, bounded bodies and header access,
nothing an extra dependency would add security to. Keep-alive (HTTP/1.1) spares the
coordinator a TCP handshake per call; an idle socket is closed after 15 s.

Every response — errors included — carries ``X-Cockpit-Mpc-Node`` and an Ed25519
signature over (node id, request nonce, status, SHA-256(body)). Errors are
``{"error": {"code", "message"}}`` with fixed texts; unexpected exceptions are
logged by type and stack only (never their message, which might hold input) and
answered with a bare 500.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import socket
import threading
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mpc.crypto.errors import MpcError, NonceReuse
from mpc.wire import HDR_NODE, HDR_NONCE, HDR_SIGNATURE, NONCE_RE, WireError

from . import keygen, ops
from .auth import RequestAuthenticator, ResponseSigner
from .config import ConfigError, NodeConfig, load_ed25519_key, load_x25519_key
from .context import FAULTS, FrostNonceStore, NodeContext
from .errors import (
    BadRequest,
    Conflict,
    InvalidInput,
    LengthRequired,
    MethodNotAllowed,
    NodeError,
    NotFound,
    PayloadTooLarge,
)
from .masterkey import MasterKey, master_key_from_config
from .store import ShareStore, StoreIntegrityError

log = logging.getLogger("mpc.node")

Handler = Callable[[NodeContext, str, dict[str, Any]], dict[str, Any]]
_KEY = r"(?P<key_id>[A-Za-z0-9][A-Za-z0-9_.-]{0,127})"
_GLOBAL_ROUTES: dict[str, Callable[[NodeContext, dict[str, Any]], dict[str, Any]]] = {
    "/keys/dkg/deal": keygen.dkg_deal,
    "/keys/dkg/finalize": keygen.dkg_finalize,
    "/keys/rsa/import": keygen.rsa_import,
    "/keys/customer/generate": ops.customer_generate,
    "/node/info": ops.node_info,
}
_KEY_ROUTES: dict[str, Handler] = {
    "tprf/evaluate": ops.tprf_evaluate,
    "frost/commit": ops.frost_commit,
    "frost/sign": ops.frost_sign,
    "rsa/partial": ops.rsa_partial,
    "refresh/deal": keygen.refresh_deal,
    "refresh/finalize": keygen.refresh_finalize,
    "refresh/commit": keygen.refresh_commit,
    "state": ops.set_state,
    "destroy": ops.destroy,
    "public": ops.public,
}
_KEY_ROUTE_RE = re.compile(rf"/keys/{_KEY}/(?P<op>[a-z]+(?:/[a-z]+)?)")
# What each role serves; anything else is 404, as if the endpoint did not exist.
_CUSTOMER_GLOBAL = frozenset({"/keys/customer/generate", "/node/info"})
_CUSTOMER_KEY_OPS = frozenset({"tprf/evaluate", "state", "destroy", "public"})
_PROVIDER_GLOBAL = frozenset(_GLOBAL_ROUTES) - {"/keys/customer/generate"}


class NodeHttpServer(ThreadingHTTPServer):
    """Carries the node context, authenticator and signer for the handler threads."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, ctx: NodeContext, auth: RequestAuthenticator, signer: ResponseSigner) -> None:
        self.ctx, self.auth, self.signer = ctx, auth, signer
        super().__init__((ctx.config.host, ctx.config.port), _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Peers that hang up are routine; never dump tracebacks to stderr."""
        log.debug("connection from %s ended with an error", client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cockpit-mpc-node"
    timeout = 15
    # Buffered writes: status line, headers and body leave in one send (flushed by
    # ``handle_one_request``) instead of two, which with TCP_NODELAY are two segments.
    wbufsize = 1 << 16
    server: NodeHttpServer

    def setup(self) -> None:
        """No Nagle: headers and body go out as separate writes (delayed-ACK stalls)."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # -- request pipeline ---------------------------------------------------------------------

    def _serve(self, method: str) -> None:
        raw_nonce = self.headers.get(HDR_NONCE, "")
        nonce = raw_nonce if NONCE_RE.fullmatch(raw_nonce) else ""
        try:
            status, payload = 200, self._dispatch(method)
        except NodeError as exc:
            status, payload = exc.status, exc.body()
        except Exception as exc:
            error = _map_exception(exc)
            status, payload = error.status, error.body()
        self._respond(status, payload, nonce)

    def _dispatch(self, method: str) -> dict[str, Any]:
        ctx = self.server.ctx
        body = self._read_body(method)  # always drain: keep-alive must not see leftovers
        if self.path == "/health":
            if method != "GET":
                raise MethodNotAllowed()
            return ops.health(ctx)
        if method != "POST":
            raise MethodNotAllowed()
        self.server.auth.authenticate(method, self.path, self.headers, body)
        handler = self._route()
        parsed = _parse_json(body)
        return handler(parsed)

    def _route(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        ctx = self.server.ctx
        if self.path in _GLOBAL_ROUTES:
            if self.path not in (_CUSTOMER_GLOBAL if ctx.is_customer else _PROVIDER_GLOBAL):
                raise NotFound()
            global_handler = _GLOBAL_ROUTES[self.path]
            return lambda body: global_handler(ctx, body)
        match = _KEY_ROUTE_RE.fullmatch(self.path)
        handler = _KEY_ROUTES.get(match["op"]) if match else None
        if match is None or handler is None or (ctx.is_customer and match["op"] not in _CUSTOMER_KEY_OPS):
            raise NotFound()
        key_id = match["key_id"]
        return lambda body: handler(ctx, key_id, body)

    def _read_body(self, method: str) -> bytes:
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True
            raise LengthRequired()
        raw = self.headers.get("Content-Length")
        if raw is None:
            if method == "POST":
                self.close_connection = True
                raise LengthRequired()
            return b""
        if not raw.isdigit():
            self.close_connection = True
            raise BadRequest("invalid Content-Length")
        length = int(raw)
        if length > self.server.ctx.config.max_body_bytes:
            self.close_connection = True  # the unread body must not be parsed as a request
            raise PayloadTooLarge()
        return self.rfile.read(length)

    def _respond(self, status: int, payload: dict[str, Any], nonce: str) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = self.server.signer.sign(nonce, status, body)
        if self.server.ctx.fault("tamper-response") and status == 200:
            body = body.replace(b'"epoch":', b'"epoch" :', 1) + b" "
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header(HDR_NODE, str(self.server.ctx.audience))
        self.send_header(HDR_SIGNATURE, signature)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


def _parse_json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("body is not JSON") from None
    if not isinstance(parsed, dict):
        raise BadRequest("body must be a JSON object")
    return parsed


def _map_exception(exc: Exception) -> NodeError:
    """Known failure types get fixed messages; anything else is a logged 500."""
    if isinstance(exc, WireError):
        return BadRequest(str(exc))
    if isinstance(exc, NonceReuse):
        return Conflict("signing nonces already used")
    if isinstance(exc, MpcError):
        return InvalidInput()
    if isinstance(exc, StoreIntegrityError):
        log.error("stored share failed authentication (wrong master key or tampering)")
        return NodeError("stored key material failed its integrity check")
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("unexpected %s while serving a request\n%s", type(exc).__name__, frames)
    return NodeError()


# -- process setup ---------------------------------------------------------------------------


def build_context(
    config: NodeConfig, faults: frozenset[str] = frozenset(), master_key: MasterKey | None = None
) -> NodeContext:
    """Load keys, open the store and pin peers; refuses a cluster file that disagrees with us.

    ``master_key`` lets an embedding process pass another :class:`MasterKey` (e.g. a
    PKCS#11-backed one); by default the file named in the config is used.
    """
    unknown = faults - FAULTS
    if unknown:
        raise ConfigError(f"unknown fault(s): {sorted(unknown)}")
    identity = load_ed25519_key(config.identity_key_file)
    x25519 = load_x25519_key(config.x25519_key_file)
    cluster = config.cluster()
    peers = cluster.nodes if cluster else {}
    own = peers.get(config.node_id)
    if own is not None and (
        own.identity.public_bytes_raw() != identity.public_key().public_bytes_raw()
        or own.x25519.public_bytes_raw() != x25519.public_key().public_bytes_raw()
    ):
        raise ConfigError("cluster file lists different keys for this node")
    master = (
        master_key
        if master_key is not None
        else master_key_from_config(config.pkcs11_master_key, config.master_key_file)
    )
    store = ShareStore(config.db_path, master, config.node_id)
    nonces = FrostNonceStore(config.frost_nonce_ttl_seconds)
    threshold = cluster.threshold if cluster else 0
    return NodeContext(config, store, identity, x25519, peers, threshold, faults, nonces)


def make_server(
    config: NodeConfig, faults: frozenset[str] = frozenset(), master_key: MasterKey | None = None
) -> NodeHttpServer:
    ctx = build_context(config, faults, master_key)
    auth = RequestAuthenticator(ctx.audience, config.trusted_coordinators, skew=config.clock_skew_seconds)
    return NodeHttpServer(ctx, auth, ResponseSigner(ctx.audience, ctx.identity))


def serve(config: NodeConfig, faults: frozenset[str] = frozenset()) -> None:
    """Run until SIGTERM/SIGINT, then close the listening socket and the store."""
    server = make_server(config, faults)

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if faults:
        log.warning("node %s running with TEST FAULTS %s", config.node_id, sorted(faults))
    log.info("mpc %s node %s listening on %s:%s", config.role, server.ctx.audience, config.host, config.port)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        server.ctx.store.close()
