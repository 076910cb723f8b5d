"""XKS errors on the wire: ``{"errorName": ..., "errorMessage": ...}`` with the spec's HTTP status.

Everything the proxy refuses is an ``XksError``; the views render it and nothing else reaches KMS (an
unexpected exception becomes ``InternalException``). Key-service errors are mapped here, in one place.
"""

from __future__ import annotations

import re

from django.http import JsonResponse

from cockpit.errors import CockpitError, InvalidRequest
from keys import errors as key_errors

STATUS = {
    "ValidationException": 400,
    "InvalidStateException": 400,
    "InvalidCiphertextException": 400,
    "InvalidKeyUsageException": 400,
    "AuthenticationFailedException": 401,
    "AccessDeniedException": 403,
    "KeyNotFoundException": 404,
    "InvalidUriPathException": 404,
    "ThrottlingException": 429,
    "InternalException": 500,
    "UnsupportedOperationException": 501,
    "DependencyTimeoutException": 503,
}
MAX_MESSAGE = 500  # the spec: fewer than 512 printable ASCII characters
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]")


def printable(message: str) -> str:
    """``message`` as the spec allows it in ``errorMessage``: printable ASCII, short."""
    return _NOT_PRINTABLE.sub("?", message)[:MAX_MESSAGE]


class XksError(Exception):
    """One refusal, named as the XKS spec names it. ``status`` overrides the table (only 405 does)."""

    def __init__(self, name: str, message: str = "", *, status: int | None = None) -> None:
        if name not in STATUS:
            raise ValueError(f"not an XKS error name: {name}")
        self.name = name
        self.message = printable(message)
        self.status = status or STATUS[name]
        super().__init__(f"{name}: {self.message}")

    def response(self) -> JsonResponse:
        """The single-line JSON error body KMS (and the AWS test client) expect."""
        body: dict[str, object] = {"errorName": self.name}
        if self.message:
            body["errorMessage"] = self.message
        response = json_response(body, status=self.status)
        if self.status == 405:
            response["Allow"] = "POST"
        return response


def json_response(body: dict[str, object], *, status: int = 200) -> JsonResponse:
    """Compact single-line JSON, ``Content-Type: application/json``."""
    return JsonResponse(body, status=status, json_dumps_params={"separators": (",", ":")})


def validation(message: str) -> XksError:
    return XksError("ValidationException", message)


def from_key_service(exc: CockpitError) -> XksError:
    """The XKS name for a key-service refusal (messages are the service's own, never secret)."""
    if isinstance(exc, key_errors.KeyDisabled):
        return XksError("InvalidStateException", exc.message)
    if isinstance(exc, key_errors.WrongKeyUsage):
        return XksError("InvalidKeyUsageException", exc.message)
    if isinstance(exc, key_errors.InvalidCiphertext):
        return XksError("InvalidCiphertextException", "The ciphertext, IV, tag, AAD or metadata is invalid.")
    if isinstance(exc, key_errors.OversizedInput):
        return XksError("UnsupportedOperationException", exc.message)
    if isinstance(exc, key_errors.CustodyUnavailable):
        # Transient (HSM or MPC nodes unreachable): KMS retries DependencyTimeout; see the README.
        return XksError("DependencyTimeoutException", "The key manager is unavailable; retry shortly.")
    if isinstance(exc, InvalidRequest):
        return validation(exc.message)
    return XksError("InternalException", "The key service refused the request.")
