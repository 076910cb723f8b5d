"""HTTP for the DKE key store: parse, call ``handlers``, answer in DKE's wire format, record the call.

Anonymous by design (the public key) or authenticated by Entra bearer tokens (decrypt), so these are
plain Django views outside the tenant API, its sessions and its CSRF protection.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from cockpit import groupcommit
from connectors.models import ConnectorBinding
from connectors.ms_dke import handlers
from connectors.ms_dke.errors import BadRequest, DkeError, PayloadTooLarge, ServerProblem
from connectors.services import record_call

View = Callable[..., HttpResponse]
logger = logging.getLogger("connectors.ms_dke")
# What a failed commit of the records raises: database errors, or the shared commit's interruption.
RECORDS_NOT_WRITTEN = (DatabaseError, groupcommit.RecordsNotWritten)


def _error(exc: DkeError) -> JsonResponse:
    response = JsonResponse({"error": exc.code, "message": exc.message}, status=exc.status)
    for name, value in exc.headers.items():
        response[name] = value
    return response


def _endpoint(operation: str, method: str) -> Callable[[View], View]:
    """Method check, binding lookup, DkeError → JSON, and one call record per request with a binding."""

    def decorate(handler: View) -> View:
        @csrf_exempt
        @wraps(handler)
        def view(request: HttpRequest, route: str, **kwargs: Any) -> HttpResponse:
            if request.method != method:
                response: HttpResponse = JsonResponse(
                    {"error": "method_not_allowed", "message": f"Use {method}."}, status=405
                )
                response["Allow"] = method
                return response
            started = time.perf_counter()
            binding: ConnectorBinding | None = None
            outcome = "error"
            try:
                with groupcommit.unit():  # the call's audit event and record, committed before answering
                    try:
                        binding = handlers.binding_for(route)
                        response = handler(request, binding, **kwargs)
                        outcome = "ok"
                    except DkeError as exc:
                        response, outcome = _error(exc), exc.code
                    finally:
                        if binding is not None:
                            record_call(
                                binding=binding, operation=operation, outcome=outcome,
                                latency_ms=(time.perf_counter() - started) * 1000,
                                request_id=getattr(request, "request_id", ""),
                            )  # fmt: skip
            except RECORDS_NOT_WRITTEN:  # never answer a decryption whose audit event is not committed
                logger.exception("DKE %s: the call's records could not be written", operation)
                failure = ServerProblem("The key service could not record the call.", code="internal_error")
                return _error(failure)
            return response

        return view

    return decorate


def _body(request: HttpRequest) -> bytes:
    """The request body, refusing anything bigger than a DKE decrypt request before reading it."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadRequest("Invalid Content-Length.", code="bad_content_length") from None
    if length > handlers.MAX_BODY:
        raise PayloadTooLarge()
    try:
        body = request.body
    except RequestDataTooBig:
        raise PayloadTooLarge() from None
    if len(body) > handlers.MAX_BODY:
        raise PayloadTooLarge()
    return body


@_endpoint("get_public_key", "GET")
def public_key(request: HttpRequest, binding: ConnectorBinding, key_name: str) -> HttpResponse:
    """GET /dke/<route>/<keyName>: the current public key, its kid and the client cache expiry."""
    document = handlers.public_key(binding=binding, key_name=key_name, now=timezone.now())
    return JsonResponse(document)


@_endpoint("decrypt", "POST")
def decrypt(request: HttpRequest, binding: ConnectorBinding, key_name: str, version: str) -> HttpResponse:
    """POST /dke/<route>/<keyName>/<version>/decrypt: unwrap a content key for an authorized user."""
    result = handlers.decrypt(
        binding=binding, key_name=key_name, version=version, body=_body(request),
        authorization=request.headers.get("Authorization"), request=request,
    )  # fmt: skip
    response = JsonResponse(result)
    response["Cache-Control"] = "no-store"  # the body is a content key
    return response
