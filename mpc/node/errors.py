"""Errors a node returns to its caller, each with an HTTP status and a stable code.

Why a closed set: the coordinator decides retry/exclude/abort from the code alone,
and every message is a fixed text (never key material, never echoed input), so the
JSON error body ``{"error": {"code", "message"}}`` is always safe to log.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class NodeError(Exception):
    """Base class: ``status`` is the HTTP status, ``code`` the machine-readable reason."""

    status = 500
    code = "internal"
    default_message = "internal error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(NodeError):
    status, code, default_message = 400, "bad_request", "malformed request"


class Unauthorized(NodeError):
    status, code, default_message = 401, "unauthorized", "request not authenticated"


class KeyDisabled(NodeError):
    status, code, default_message = 403, "key_disabled", "key is disabled on this node"


class KeyHeld(NodeError):
    """The node's operator put a local hold on the key; the coordinator cannot lift it."""

    status, code, default_message = 403, "key_held", "key is disabled by this node's operator"


class NotFound(NodeError):
    status, code, default_message = 404, "not_found", "no such endpoint"


class KeyNotFound(NodeError):
    status, code, default_message = 404, "key_not_found", "no such key on this node"


class MethodNotAllowed(NodeError):
    status, code, default_message = 405, "method_not_allowed", "method not allowed"


class Conflict(NodeError):
    status, code, default_message = 409, "conflict", "request conflicts with the node's state"


class KeyExists(Conflict):
    code, default_message = "key_exists", "a key with this id exists or existed on this node"


class KeyDestroyed(NodeError):
    status, code, default_message = 410, "key_destroyed", "key was destroyed on this node"


class LengthRequired(NodeError):
    status, code, default_message = 411, "length_required", "Content-Length required"


class PayloadTooLarge(NodeError):
    status, code, default_message = 413, "payload_too_large", "request body too large"


class InvalidInput(NodeError):
    status, code, default_message = 422, "invalid_input", "input rejected by the protocol"


class DealerMisbehaved(NodeError):
    """A DKG/refresh dealer's contribution did not verify; ``dealers`` names them."""

    status, code, default_message = 422, "dealer_misbehaved", "dealer contribution did not verify"

    def __init__(self, dealers: Iterable[int]) -> None:
        self.dealers = tuple(sorted(set(dealers)))
        super().__init__()

    def body(self) -> dict[str, Any]:
        out = super().body()
        out["error"]["dealers"] = list(self.dealers)
        return out


class Overloaded(NodeError):
    status, code, default_message = 503, "overloaded", "node is busy, retry later"
