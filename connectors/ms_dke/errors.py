"""DKE's own wire errors: a status the Office client acts on and a small JSON body for people.

The reference service returns serialized .NET exceptions; clients only look at the status. We send
``{"error": "<code>", "message": "..."}`` and never internal details.
"""

from __future__ import annotations


class DkeError(Exception):
    """A refusal with its HTTP status and a short machine-readable code."""

    status = 400
    code = "bad_request"
    message = "The request cannot be served."

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.headers: dict[str, str] = {}
        super().__init__(self.message)


class BadRequest(DkeError):
    """Malformed body, wrong ``alg``, bad ciphertext, or a token without the identity claim we need."""


class Unauthenticated(DkeError):
    """No bearer token, or one that fails validation: answered with the DKE challenge."""

    status = 401
    code = "unauthenticated"
    message = "A valid Entra ID bearer token is required."


class Forbidden(DkeError):
    """The caller, the binding or the key is not allowed to decrypt."""

    status = 403
    code = "forbidden"
    message = "Access to this key is denied."


class NotFound(DkeError):
    """Unknown route, key name or key version (one answer for all, whoever owns them)."""

    status = 404
    code = "not_found"
    message = "No such key."


class PayloadTooLarge(DkeError):
    status = 413
    code = "payload_too_large"
    message = "The request body is too large."


class ServerProblem(DkeError):
    """The binding's stored settings no longer validate: an operator must fix it."""

    status = 500
    code = "binding_misconfigured"
    message = "This DKE endpoint is misconfigured; contact the key owner."


class Unavailable(DkeError):
    """Entra's signing keys or the key custody cannot be reached right now."""

    status = 503
    code = "unavailable"
    message = "A dependency is unavailable; try again shortly."
