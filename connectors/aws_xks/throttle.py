"""Per-key-store request quota: ``ThrottlingException`` (429) beyond it, as the XKS spec allows.

A binding's settings may carry ``"request_quota": {"requests_per_second": 500, "burst": 1000}``. Each
serving process keeps a token bucket per binding (``burst`` tokens, refilled at ``requests_per_second``),
so the quota is per process: with N worker processes a key store gets up to N times the rate. It is
checked after the signature (strangers cannot spend a tenant's quota) and applies to every operation,
health checks included. KMS treats ThrottlingException as retryable. No quota: no limit.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from cockpit.errors import InvalidRequest

MAX_RATE = 100_000.0
MIN_RATE = 0.01
MAX_BURST = 100_000


def clean_quota(raw: Any) -> dict[str, float | int] | None:
    """``{"requests_per_second": r, "burst": b}`` validated (burst defaults to max(1, r)); None: no quota."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"requests_per_second", "burst"}:
        raise InvalidRequest('request_quota must be {"requests_per_second": number, "burst": integer}.')
    rate = raw.get("requests_per_second")
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not MIN_RATE <= rate <= MAX_RATE:
        raise InvalidRequest(
            f"request_quota.requests_per_second must be a number from {MIN_RATE} to {MAX_RATE:.0f}."
        )
    burst = raw.get("burst", max(1, int(rate)))
    if isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= MAX_BURST:
        raise InvalidRequest(f"request_quota.burst must be an integer from 1 to {MAX_BURST}.")
    return {"requests_per_second": float(rate), "burst": burst}


class TokenBucket:
    """``burst`` tokens, refilled continuously at ``rate`` per second; thread-safe."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Spend one token if there is one."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


_buckets: dict[tuple[Any, float, int], TokenBucket] = {}
_pid = os.getpid()
_lock = threading.Lock()


def admit(binding_id: Any, quota: dict[str, Any] | None) -> bool:
    """Whether this process may serve one more request for the binding now."""
    global _pid
    if not quota:
        return True
    key = (binding_id, float(quota["requests_per_second"]), int(quota["burst"]))
    bucket = _buckets.get(key)
    if bucket is None or _pid != os.getpid():
        with _lock:
            if _pid != os.getpid():  # a forked worker starts with full buckets of its own
                _buckets.clear()
                _pid = os.getpid()
            bucket = _buckets.setdefault(key, TokenBucket(key[1], key[2]))
    return bucket.take()
