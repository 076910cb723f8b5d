"""One DRF exception handler renders every error of the tenant API in the same shape."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from cockpit.errors import CockpitError
from cockpit.request_context import get_request_id

logger = logging.getLogger(__name__)

_DRF_CODES: dict[type[drf.APIException], str] = {
    drf.ParseError: "malformed_request",
    drf.ValidationError: "invalid_request",
    drf.NotAuthenticated: "not_authenticated",
    drf.AuthenticationFailed: "not_authenticated",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "throttled",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The error envelope shared by every tenant API response."""
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details or {},
            "request_id": get_request_id(),
        }
    }


def _from_drf(exc: drf.APIException) -> tuple[int, dict[str, Any]]:
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "bad_request")
    if isinstance(exc, drf.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return exc.status_code, error_body(code, "The request is invalid.", {"fields": detail})
    return exc.status_code, error_body(code, str(exc.detail))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Map application, DRF and Django exceptions to the error envelope; never leak internals."""
    headers: dict[str, str] = {}
    if isinstance(exc, CockpitError):
        status, body = exc.status_code, error_body(exc.code, exc.message, exc.details)
    elif isinstance(exc, Http404):
        status, body = 404, error_body("not_found", "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        status, body = 403, error_body("permission_denied", "You do not have permission to do this.")
    elif isinstance(exc, drf.APIException):
        status, body = _from_drf(exc)
        if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
            headers["WWW-Authenticate"] = 'Bearer realm="cockpit"'
            status = 401
        if isinstance(exc, drf.Throttled):
            wait: int | None = exc.wait  # type: ignore[attr-defined]  # DRF sets it; the stubs omit it
            if wait is not None:
                headers["Retry-After"] = str(int(wait))
    else:
        logger.exception("unhandled error in API view %s", type(context.get("view")).__name__)
        status, body = (
            500,
            error_body("internal_error", "Internal error; the request id names it in our logs."),
        )
    return Response(body, status=status, headers=headers)
