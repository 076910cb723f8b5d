"""The current request id, carried in a context variable so logs and audit events can name it."""

from __future__ import annotations

import contextvars
import re
import secrets

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("cockpit_request_id", default=None)
_VALID_INCOMING = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def new_request_id(incoming: str | None = None) -> str:
    """Accept a well-formed id from a trusted proxy header, otherwise mint one."""
    if incoming and _VALID_INCOMING.match(incoming):
        return incoming
    return secrets.token_hex(12)


def set_request_id(value: str | None) -> contextvars.Token[str | None]:
    """Bind ``value`` as the current request id; returns a token for ``reset_request_id``."""
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token[str | None]) -> None:
    """Restore the previous request id."""
    _request_id.reset(token)


def get_request_id() -> str | None:
    """The id of the request being served, if any."""
    return _request_id.get()
