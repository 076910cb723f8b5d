"""Process-wide, fork-aware access to a PKCS#11 library.

Why it is shaped like this:

* python-pkcs11 calls ``C_Initialize(NULL)`` — no locking callbacks, no
  ``CKF_OS_LOCKING_OK`` — and releases the GIL around every C call.  Two
  threads inside SoftHSM at once corrupt its state and crash the interpreter.
  So EVERY library call, for every token, runs under one process-wide lock.
* After ``fork()`` a child must re-run ``C_Initialize`` (PKCS#11 v2.40 §6.7.7)
  and must not reuse the parent's sessions.  We track ``os.getpid()`` per
  library and per session and re-initialise lazily; an at-fork hook also
  holds the lock across ``fork`` and gives the child a fresh one, so a fork
  can never capture a half-finished library call.
* Login state is per token *per process*, and python-pkcs11's
  ``Session.close`` logs the whole process out.  Hence one shared logged-in
  session per (module, token, PIN) per process, kept in a registry.
* Session/token failures (session closed under us, token removed, device
  error) are retried exactly once on a fresh session; after that, or when the
  library/token/PIN itself is unusable, ``BackendUnavailable`` is raised.
  A rejected PIN is latched so we never hammer the token into a PIN lockout.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pkcs11
from pkcs11 import exceptions as p11x

from .errors import BackendError, BackendUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

RECOVERABLE: tuple[type[Exception], ...] = (
    p11x.SessionHandleInvalid,
    p11x.SessionClosed,
    p11x.DeviceRemoved,
    p11x.TokenNotPresent,
    p11x.DeviceError,
    p11x.UserNotLoggedIn,
)
_CREDENTIAL_ERRORS = (p11x.PinIncorrect, p11x.PinLocked, p11x.PinExpired, p11x.PinInvalid)
# A remembered object handle that no longer names an object (destroyed by another process): look it up again.
STALE_HANDLE: tuple[type[Exception], ...] = (p11x.ObjectHandleInvalid, p11x.KeyHandleInvalid)

_lock = threading.RLock()
_library_pids: dict[str, int] = {}
_connections: dict[tuple[str, str, bytes], Connection] = {}


def _before_fork() -> None:
    _lock.acquire()


def _after_fork_parent() -> None:
    _lock.release()


def _after_fork_child() -> None:
    global _lock
    _lock = threading.RLock()  # the inherited one is owned by the parent's thread


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_parent, after_in_child=_after_fork_child)


def connection(module_path: str, token_label: str, user_pin: str) -> Connection:
    """The process's shared connection for this module/token/PIN."""
    key = (module_path, token_label, hashlib.sha256(user_pin.encode()).digest())
    with _lock:
        found = _connections.get(key)
        if found is None:
            found = _connections[key] = Connection(module_path, token_label, user_pin)
        return found


def _load_library(module_path: str) -> Any:
    """Load lazily; re-initialise once in a forked child."""
    pid = os.getpid()
    try:
        lib = pkcs11.lib(module_path)
        if _library_pids.get(module_path, pid) != pid:
            log.info("pkcs11: re-initialising library after fork")
            lib.reinitialize()
    except (OSError, p11x.PKCS11Error) as exc:
        raise BackendUnavailable("PKCS#11 library could not be loaded") from exc
    _library_pids[module_path] = pid
    return lib


class _Redacted:
    """Holds the PIN so that reprs, ``vars()`` and error-tracker locals show ``***``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "***"

    def reveal(self) -> str:
        return self._value


class Connection:
    """One logged-in R/W session per process for a token; see module docs.

    ``cache`` holds per-token facts discovered at runtime (capability probes,
    wrapping-key id); it survives session resets but not a fork. ``objects`` remembers what a label
    resolved to (finding objects is a token search, ~0.5 ms on SoftHSM2), per session: handles are only
    valid in the session and process that found them.
    """

    def __init__(self, module_path: str, token_label: str, user_pin: str) -> None:
        self.module_path = module_path
        self.token_label = token_label
        self._pin = _Redacted(user_pin)
        self._session: Any = None
        self._pid = 0
        self._credentials_rejected = False
        self.cache: dict[str, Any] = {}
        self.objects: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Connection(module_path={self.module_path!r}, token_label={self.token_label!r})"

    def run(self, operation: Callable[[Any], T]) -> T:
        """Run ``operation(session)`` under the process-wide lock.

        Objects found through the session must not escape ``operation``: they
        are only valid while the lock is held and the session lives.
        """
        with _lock:
            for attempt in (1, 2):
                session = self._current_session()
                try:
                    return operation(session)
                except RECOVERABLE as exc:
                    log.warning("pkcs11: %s, reopening session", type(exc).__name__)
                    self._discard_session()
                    if attempt == 2:
                        raise BackendUnavailable("PKCS#11 token is unavailable") from exc
                except STALE_HANDLE as exc:
                    self.objects.clear()  # found again on the retry, or reported missing
                    if attempt == 2:
                        raise BackendError(f"PKCS#11 call failed: {type(exc).__name__}") from exc
                except BackendError:
                    raise
                except p11x.PKCS11Error as exc:
                    raise BackendError(f"PKCS#11 call failed: {type(exc).__name__}") from exc
        raise AssertionError("unreachable")

    def _current_session(self) -> Any:
        if self._pid != os.getpid():
            self._session = None  # inherited from the parent: never touch it
            self.cache.clear()
            self.objects.clear()
        if self._session is None:
            self._session = self._open()
            self._pid = os.getpid()
        return self._session

    def _open(self) -> Any:
        if self._credentials_rejected:
            raise BackendUnavailable("PKCS#11 user PIN was rejected earlier")
        lib = _load_library(self.module_path)
        try:
            token = lib.get_token(token_label=self.token_label)
            return self._login(token)
        except _CREDENTIAL_ERRORS as exc:
            self._credentials_rejected = True
            raise BackendUnavailable("PKCS#11 user PIN was rejected") from exc
        except p11x.PKCS11Error as exc:
            raise BackendUnavailable("PKCS#11 token is unavailable") from exc

    def _login(self, token: Any) -> Any:
        try:
            return token.open(rw=True, user_pin=self._pin.reveal())
        except p11x.UserAlreadyLoggedIn:
            # Another connection of this process logged the token in; login
            # state is per process, so an unauthenticated open is logged in too.
            return token.open(rw=True)

    def _discard_session(self) -> None:
        session, self._session = self._session, None
        self.objects.clear()
        if session is None:
            return
        with contextlib.suppress(p11x.PKCS11Error):  # already invalid: why we are here
            session.close()
