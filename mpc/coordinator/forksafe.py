"""Reset per-process coordinator state in a forked child (gunicorn forks its workers).

A child inherits the parent's memory but none of its threads: a lock that some parent
thread held stays locked for ever, a thread pool believes its dead workers still
exist, and a pooled keep-alive socket would be shared by two processes that each
think they own the stream. Objects with such state call :func:`register` and
implement ``after_fork_in_child``; one ``os.register_at_fork`` hook calls them in the
child, while it still has only one thread.
"""

from __future__ import annotations

import logging
import os
import weakref
from typing import Protocol

log = logging.getLogger("mpc.coordinator")


class ForkAware(Protocol):
    def after_fork_in_child(self) -> None: ...


_objects: weakref.WeakSet[ForkAware] = weakref.WeakSet()


def register(obj: ForkAware) -> None:
    """Have ``obj.after_fork_in_child()`` called in every child forked from now on."""
    _objects.add(obj)


def _reset_all() -> None:
    for obj in list(_objects):
        try:
            obj.after_fork_in_child()
        except Exception:  # a hook that fails must not kill the child at birth
            log.exception("resetting %s after fork failed", type(obj).__name__)


os.register_at_fork(after_in_child=_reset_all)
