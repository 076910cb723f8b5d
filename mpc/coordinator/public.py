"""Public key data from the nodes: parsed, cross-checked, agreed by t nodes, cached.

Why agreement: the coordinator verifies every partial against the verification
shares Y_i, so Y_i must not come from a single (possibly lying) node. A value is
accepted once ``t`` nodes returned byte-identical public data (state excluded);
scalar data is also checked internally (Y = C_0, Y_i = Σ C_k·i^k).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import Future
from typing import Any

from mpc.crypto.group import RISTRETTO255
from mpc.wire import (
    WireError,
    canonical,
    check_key_id,
    element,
    get_b64,
    get_dict,
    get_int,
    get_str,
    rsa_params_from_dict,
    scalar_public_from_dict,
)

from . import forksafe
from .errors import InvalidRequest, NodesUnavailable
from .fanout import Fanout, Gathered, raise_for_shortfall
from .transport import NodeMisbehaved
from .types import PublicInfo, RsaKeyInfo, ScalarKeyInfo

CACHE_SECONDS = 300.0


def parse_public(node_id: int, key_id: str, body: dict[str, Any]) -> PublicInfo:
    """One node's ``/public`` answer -> PublicInfo; malformed -> NodeMisbehaved."""
    try:
        epoch = get_int(body, "epoch")
        provenance = get_str(body, "provenance", max_len=32)
        if body.get("key_id") != key_id:
            raise WireError("key_id: mismatch")
        if get_str(body, "kind", max_len=16) == "rsa":
            return RsaKeyInfo(key_id, rsa_params_from_dict(get_dict(body, "rsa")), epoch, provenance)
        pub = scalar_public_from_dict(get_dict(body, "scalar"))
        customer = None
        if body.get("customer_public_key") is not None:
            if pub.group is not RISTRETTO255:
                raise WireError("customer_public_key: only for ristretto255 keys")
            customer = element(RISTRETTO255, get_b64(body, "customer_public_key", size=32))
    except WireError as exc:
        raise NodeMisbehaved(node_id, f"malformed public data ({exc})") from None
    return ScalarKeyInfo(
        key_id,
        pub.group,
        pub.threshold,
        pub.public_key,
        dict(pub.public_shares),
        pub.commitments,
        epoch,
        provenance,
        customer,
    )


_NODE_LOCAL = frozenset({"state", "held"})


def fingerprint(body: dict[str, Any]) -> bytes:
    """What must be identical across nodes: everything but the node-local state.

    For a composed key that includes the pinned Y_c of the customer part, so the
    coordinator uses a Y_c that t provider nodes agree on.
    """
    return canonical({k: v for k, v in body.items() if k not in _NODE_LOCAL})


class PublicInfoCache:
    """Fetches public data with t-agreement and keeps it for a few minutes.

    Concurrent misses for one key share a single fetch: when the entry of a busy key
    expires, its callers wait for one round of ``/public`` calls instead of each
    starting their own (``fresh`` reads always fetch on their own).
    """

    def __init__(self, fanout: Fanout, threshold: int) -> None:
        self._fanout = fanout
        self._t = threshold
        self._cache: dict[str, tuple[float, PublicInfo]] = {}
        self._pending: dict[str, Future[PublicInfo]] = {}
        self._lock = threading.Lock()
        forksafe.register(self)

    def after_fork_in_child(self) -> None:
        """A parent thread may have held the lock or been fetching; the cached data stays valid."""
        self._lock = threading.Lock()
        self._pending = {}

    def get(self, key_id: str, *, fresh: bool = False) -> PublicInfo:
        check_key_id_or_raise(key_id)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key_id)
            if hit is not None and not fresh and now - hit[0] < CACHE_SECONDS:
                return hit[1]
            pending = None if fresh else self._pending.get(key_id)
            if pending is not None:
                joined = True
            else:
                joined, pending = False, Future()
                if not fresh:
                    self._pending[key_id] = pending
        if joined:
            return pending.result()
        try:
            info = self._fetch(key_id)
        except BaseException as exc:
            self._settle(key_id, pending)
            pending.set_exception(exc)
            raise
        with self._lock:
            self._cache[key_id] = (now, info)
        self._settle(key_id, pending)
        pending.set_result(info)
        return info

    def _settle(self, key_id: str, pending: Future[PublicInfo]) -> None:
        with self._lock:
            if self._pending.get(key_id) is pending:
                del self._pending[key_id]

    def put(self, info: PublicInfo) -> None:
        with self._lock:
            self._cache[info.key_id] = (time.monotonic(), info)

    def forget(self, key_id: str) -> None:
        with self._lock:
            self._cache.pop(key_id, None)

    def _fetch(self, key_id: str) -> PublicInfo:
        def call(node_id: int) -> tuple[bytes, PublicInfo]:
            body = self._fanout.clients[node_id].call("POST", f"/keys/{key_id}/public", {})
            return fingerprint(body), parse_public(node_id, key_id, body)

        def agreed(results: dict[int, tuple[bytes, PublicInfo]]) -> bool:
            votes = Counter(fp for fp, _ in results.values())
            return bool(votes) and votes.most_common(1)[0][1] >= self._t

        n = len(self._fanout.clients)
        gathered: Gathered[tuple[bytes, PublicInfo]] = self._fanout.gather(
            call, self._t, operation="public_info", key_id=key_id, width=n, enough=agreed
        )
        votes = Counter(fp for fp, _ in gathered.results.values())
        if not agreed(gathered.results):
            if len(gathered.results) >= self._t:  # enough answers, but they disagree
                raise NodesUnavailable(votes.most_common(1)[0][1], self._t, n)
            raise_for_shortfall(gathered, self._t, n)
        winner, _ = votes.most_common(1)[0]
        for node_id, (fp, _) in gathered.results.items():
            if fp != winner:
                self._fanout.report(node_id, "public_info", key_id, "public data disagrees with the quorum")
        return next(info for fp, info in gathered.results.values() if fp == winner)


def check_key_id_or_raise(key_id: object) -> str:
    try:
        return check_key_id(key_id)
    except WireError:
        raise InvalidRequest(
            "invalid key id: 1-128 characters of [A-Za-z0-9_.-], starting alphanumeric"
        ) from None
