"""A per-process read cache for the provider hot path (binding by route, credential, bound key, version).

Provider endpoints answer thousands of calls a second with the same few rows; reading them from the
database every time costs more than the cryptography. So they are remembered here, and forgotten as soon
as any of them may have changed:

* Apps name the models whose rows are cached (``watch(Model)`` in ``AppConfig.ready``) and give them
  ``WatchedQuerySet`` as their manager (``QuerySet.update`` sends no signal). Saving, updating or deleting
  one forgets everything in this process at once *and* again when the transaction commits (the first
  covers code that reads inside the same transaction, the second a reader that reloaded the old row
  between the two).
* On PostgreSQL the same change sends ``NOTIFY cockpit_readcache`` inside the writer's transaction, so it
  is delivered when (and only if) it commits; a listener thread in every process forgets everything on
  receipt. While that listener is not connected the cache is bypassed, so a worker never serves a row that
  another worker changed (disabling a key or binding takes effect everywhere at once). The listener checks
  its connection every second (a silently dropped one is noticed, everything forgotten, and reconnected).
* On SQLite (one development process) entries live at most ``FALLBACK_TTL`` seconds.

Misses (``None``) are never cached, entries expire after ``TTL`` seconds in any case, and the whole cache
is dropped when it grows past ``MAX_ENTRIES``. Cached objects are shared between threads: read-only.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

logger = logging.getLogger(__name__)

CHANNEL = "cockpit_readcache"
TTL = 30.0
FALLBACK_TTL = 1.0
MAX_ENTRIES = 10_000
_RECONNECT_DELAY = 1.0


class _State:
    """The process's cache; rebuilt in a forked child (the parent's listener thread does not follow)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.entries: dict[Hashable, tuple[int, float, Any]] = {}
        self.generation = 0
        self.listening = False  # a NOTIFY listener is connected (PostgreSQL only)
        self.listener: threading.Thread | None = None
        self.stopping = threading.Event()
        self.last_payload = ""  # of the latest notification handled (tests wait for their own)

    def forget(self) -> None:
        with self.lock:
            self.generation += 1
            self.entries.clear()


_state = _State()
_enabled = True


def _current() -> _State:
    global _state
    if _state.pid != os.getpid():
        _state = _State()
    return _state


def set_enabled(enabled: bool) -> None:
    """Turn caching off (every read goes to the database) or back on; for tests and benchmarks."""
    global _enabled
    _enabled = enabled
    _current().forget()


def forget_all() -> None:
    """Forget every entry in this process."""
    _current().forget()


def cached[T](key: Hashable, load: Callable[[], T | None]) -> T | None:
    """``load()``'s result, remembered under ``key`` until a watched model changes (``None``: not kept)."""
    state = _current()
    if not _enabled:
        return load()
    ttl = _ttl(state)
    if ttl is None:
        return load()
    now = time.monotonic()
    found = state.entries.get(key)
    if found is not None and found[0] == state.generation and found[1] > now:
        return found[2]
    generation = state.generation  # read before loading: a change after this point outdates the value
    value = load()
    if value is not None:
        with state.lock:
            if len(state.entries) >= MAX_ENTRIES:
                state.entries.clear()
            if state.generation == generation:
                state.entries[key] = (generation, now + ttl, value)
    return value


def stop_listener() -> None:
    """Stop this process's listener (closing its database connection) and bypass the cache from now on;
    the next read starts a new one. Test teardown calls it before dropping the test database."""
    state = _current()
    listener = state.listener
    state.stopping.set()
    if listener is not None:
        listener.join(timeout=5)
    with state.lock:
        state.listener = None
        state.stopping = threading.Event()
    state.forget()


def _ttl(state: _State) -> float | None:
    """How long an entry may live now; None to bypass the cache (PostgreSQL without its listener)."""
    if connection.vendor != "postgresql":
        return FALLBACK_TTL
    if state.listener is None or not state.listener.is_alive():
        _start_listener(state)
    return TTL if state.listening else None


# -- invalidation ------------------------------------------------------------------------------------


def watch(*models: type[Model]) -> None:
    """Forget the cache whenever a row of these models is saved or deleted."""
    for model in models:
        post_save.connect(_changed, sender=model, dispatch_uid=f"readcache:save:{model._meta.label}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"readcache:delete:{model._meta.label}")


class WatchedQuerySet(models.QuerySet[Any]):
    """Bulk updates of a watched model invalidate the cache like saves do."""

    def update(self, **kwargs: Any) -> int:
        count = super().update(**kwargs)
        if count:
            changed(using=self.db)
        return count


def _changed(sender: type[Model], using: str = "default", **_: Any) -> None:
    changed(using=using)


def changed(*, using: str = "default") -> None:
    """A cached row changed in the current transaction: forget now, tell the other processes on commit."""
    forget_all()
    conn = transaction.get_connection(using)
    if conn.vendor == "postgresql":
        with conn.cursor() as cursor:  # delivered to every listener when (if) this transaction commits
            cursor.execute(f"NOTIFY {CHANNEL}")
    transaction.on_commit(forget_all, using=using)


def _start_listener(state: _State) -> None:
    with state.lock:
        if state.listener is not None and state.listener.is_alive():
            return
        params = connection.get_connection_params()
        state.listener = threading.Thread(
            target=_listen, args=(state, params, state.stopping), name="readcache-listener", daemon=True
        )
        state.listener.start()


def _listen(state: _State, params: dict[str, Any], stopping: threading.Event) -> None:
    """Forget everything on each NOTIFY; reconnect after failures (bypassing the cache meanwhile)."""
    import psycopg

    options = {k: v for k, v in params.items() if k not in {"cursor_factory", "context", "prepare_threshold"}}
    while not stopping.is_set():
        try:
            with psycopg.connect(**options, autocommit=True) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                state.forget()  # anything cached before LISTEN took effect may be stale
                state.listening = True
                while not stopping.is_set():
                    for notification in conn.notifies(timeout=1.0):
                        state.forget()
                        state.last_payload = notification.payload
                    conn.execute("SELECT 1")  # a silently dropped connection fails here within ~1 s
        except Exception:
            logger.warning("read cache listener lost its connection; reading through until it is back")
        finally:
            state.listening = False
            state.forget()
        stopping.wait(_RECONNECT_DELAY)
