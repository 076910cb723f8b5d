"""The XKS proxy endpoints: route → method → body → SigV4 → key store state → quota → JSON → secondary
authorization → key → key service → render. Plain Django views (no DRF auth, CSRF or parsers in the way).

Every refusal is an ``XksError``; anything unexpected is logged and answered ``InternalException``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from cockpit import groupcommit
from connectors.aws_xks import authorization, events, health, operations, schemas, sigv4, throttle
from connectors.aws_xks.errors import XksError, json_response, validation
from connectors.aws_xks.events import Call
from connectors.models import BindingCredential, ConnectorBinding, ConnectorKind
from connectors.selectors import binding_by_route, bound_key, signing_credential
from keys.models import Key
from keys.service import Caller

logger = logging.getLogger("connectors.aws_xks")

ACTIONS = {"metadata": "GetKeyMetadata", "encrypt": "Encrypt", "decrypt": "Decrypt"}
MAX_URI = 256  # spec: the whole URI path stays within 256 characters
_PATH = re.compile(r"^/[A-Za-z0-9/._~-]+$")  # unreserved characters only: nothing to percent-decode
_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


@csrf_exempt
def get_health_status(request: HttpRequest, prefix: str) -> HttpResponse:
    return _serve(request, prefix, Call("GetHealthStatus"))


@csrf_exempt
def key_operation(request: HttpRequest, prefix: str, external_id: str, action: str) -> HttpResponse:
    return _serve(request, prefix, Call(ACTIONS[action], external_id=external_id))


@csrf_exempt
def invalid_path(request: HttpRequest, **_: Any) -> HttpResponse:
    """Anything else under ``…/kms/xks/v1``: 404 whatever the method or credentials."""
    events.finish(Call("InvalidPath"), status=404, outcome="InvalidUriPathException")
    return XksError("InvalidUriPathException", "Unknown XKS URI path.").response()


def _serve(request: HttpRequest, prefix: str, call: Call) -> HttpResponse:
    """Answer, and commit what the call leaves (audit events, counts, call record) before answering: an
    answer whose records could not be written is replaced by InternalException."""
    try:
        with groupcommit.unit():
            try:
                response = json_response(_handle(request, prefix, call))
                outcome = "OK"
            except XksError as exc:
                response, outcome = exc.response(), exc.name
            except Exception:
                logger.exception("XKS %s failed unexpectedly", call.operation)
                failure = XksError("InternalException", "Unexpected proxy error.")
                response, outcome = failure.response(), failure.name
            events.finish(call, status=response.status_code, outcome=outcome)
    except Exception:
        logger.exception("XKS %s: the call's records could not be written", call.operation)
        response = XksError("InternalException", "The proxy could not record the call.").response()
    return response


def _handle(request: HttpRequest, prefix: str, call: Call) -> dict[str, Any]:
    call.binding = _key_store(request, prefix)
    if request.method != "POST":
        raise XksError("UnsupportedOperationException", "XKS operations use POST.", status=405)
    body = _body(request)
    credential = _authenticate(request, body, call)
    if not call.binding.is_enabled or not call.binding.tenant.is_active:
        raise XksError("InvalidStateException", "This external key store is disabled at the proxy.")
    if not throttle.admit(call.binding.pk, call.binding.settings.get("request_quota")):
        raise XksError("ThrottlingException", "The key store's request quota is exhausted; retry shortly.")
    document = schemas.parse_json(body)
    call.metadata = schemas.request_metadata(document, call.operation)
    if call.operation == "GetHealthStatus":  # exempt from secondary authorization (spec)
        return health.report(call.binding)
    key = _authorized_key(request, call)
    caller = operations.caller_for(call.binding, credential.access_key_id)
    return HANDLERS[call.operation](key, document, call, caller)


def _key_store(request: HttpRequest, prefix: str) -> ConnectorBinding:
    """The binding at this prefix: decided before any credential is looked at."""
    path = request.path
    binding = None
    if len(path) <= MAX_URI and _PATH.match(path):
        binding = binding_by_route(kind=ConnectorKind.AWS_XKS, route=prefix)
    if binding is None:
        raise XksError("InvalidUriPathException", "No external key store at this URI path.")
    return binding


def _body(request: HttpRequest) -> bytes:
    too_big = XksError("UnsupportedOperationException", f"The request body exceeds {schemas.MAX_BODY} bytes.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise validation("Content-Length is not a number.") from None
    if declared > schemas.MAX_BODY:
        raise too_big
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_big from None
    if len(body) > schemas.MAX_BODY:
        raise too_big
    return body


def _authenticate(request: HttpRequest, body: bytes, call: Call) -> BindingCredential:
    """One of the binding's active credentials signed this request, or 401 (audited)."""
    assert call.binding is not None
    try:
        auth = sigv4.parse_authorization(request.headers.get("Authorization"))
        call.access_key_id = auth.access_key_id
        sigv4.check_shape(auth)
        found = signing_credential(binding=call.binding, access_key_id=auth.access_key_id)
        if found is None:
            raise sigv4.AuthenticationFailed("The access key id is not valid for this key store.")
        credential, secret = found
        sigv4.verify(request, body, auth=auth, secret=secret)
    except sigv4.AuthenticationFailed as exc:
        events.authentication_failed(request, call, exc)
        raise
    call.authenticated = True
    return credential


def _authorized_key(request: HttpRequest, call: Call) -> Key:
    """Secondary authorization first (a denied caller learns nothing about key ids), then the key."""
    assert call.binding is not None
    assert call.metadata is not None
    try:
        rules = authorization.clean_rules(call.binding.settings.get("secondary_authorization"))
        decision = authorization.evaluate(rules, {**call.metadata.wire(), "externalKeyId": call.external_id})
    except Exception:  # rules that no longer validate deny everything rather than allow it
        logger.exception("secondary authorization rules of binding %s are invalid", call.binding.pk)
        decision = authorization.Decision(allowed=False, mismatches=(("invalid rules", ()),))
    if not decision.allowed:
        events.access_denied(request, call, decision)
        raise XksError("AccessDeniedException", "Secondary authorization: no rule allows this request.")
    call.rule = decision.rule
    found = None
    if _EXTERNAL_ID.match(call.external_id):
        found = bound_key(binding=call.binding, external_id=call.external_id)
    if found is None or found.key.tenant_id != call.binding.tenant_id:
        raise XksError("KeyNotFoundException", "No external key with this id in this key store.")
    return found.key


def _metadata(key: Key, document: dict[str, Any], call: Call, caller: Caller) -> dict[str, Any]:
    return operations.key_metadata(key)


def _encrypt(key: Key, document: dict[str, Any], call: Call, caller: Caller) -> dict[str, Any]:
    assert call.metadata is not None
    return operations.encrypt(key, schemas.encrypt_request(document, call.metadata), caller)


def _decrypt(key: Key, document: dict[str, Any], call: Call, caller: Caller) -> dict[str, Any]:
    assert call.metadata is not None
    return operations.decrypt(key, schemas.decrypt_request(document, call.metadata), caller)


HANDLERS: dict[str, Callable[[Key, dict[str, Any], Call, Caller], dict[str, Any]]] = {
    "GetKeyMetadata": _metadata,
    "Encrypt": _encrypt,
    "Decrypt": _decrypt,
}
