"""The two DKE operations without HTTP: find the key, authenticate, authorize, call the key service.

Order of checks on decrypt (the reference's, with authentication first as ASP.NET's [Authorize] does):
unknown route (404) and oversized body (413, both in the view) → binding disabled (403) → token (401) →
key name and version (404) → authorization (400/403) → key state (403) → body and ``alg`` (400) →
decrypt (400 for bad ciphertext, 503 when custody is down).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings

import audit
from audit.models import ActorType, Outcome
from cockpit.errors import CockpitError, InvalidRequest
from connectors import selectors
from connectors.models import ConnectorBinding, ConnectorKind
from connectors.ms_dke import config as dke_config
from connectors.ms_dke import keyformat
from connectors.ms_dke.authorization import authorize
from connectors.ms_dke.errors import (
    BadRequest,
    DkeError,
    Forbidden,
    NotFound,
    ServerProblem,
    Unauthenticated,
    Unavailable,
)
from connectors.ms_dke.tokens import Identity, InvalidToken, bearer, validate
from keys import errors as key_errors
from keys import service as key_service
from keys.backends import OaepHash
from keys.models import Key, KeyState, KeyVersion
from keys.selectors import usable_version

logger = logging.getLogger(__name__)

MAX_BODY = 8 * 1024  # {"alg", "value"} for RSA-4096 is under 800 bytes
DECRYPT_ALG = "RSA-OAEP-256"
_VERSION = re.compile(r"[1-9][0-9]{0,8}")  # ASCII only: int() would also accept other scripts' digits


@dataclass(frozen=True)
class _Actor:
    """The end user behind a provider call, as the audit log names them (never the token)."""

    binding: str
    identity: Identity | None

    def audit_identity(self) -> tuple[str, str, str]:
        oid = str(self.identity.claims.get("oid") or "") if self.identity else ""
        who = (self.identity.name or oid or "unknown user") if self.identity else "unauthenticated"
        return ActorType.PROVIDER, oid[:64], f"{who} via ms-dke:{self.binding}"[:200]


def binding_for(route: str) -> ConnectorBinding:
    """The DKE binding at ``route``; NotFound for unknown routes and other kinds alike."""
    binding = selectors.binding_by_route(kind=ConnectorKind.MS_DKE, route=route)
    if binding is None:
        raise NotFound(code="unknown_route")
    return binding


def public_key(*, binding: ConnectorBinding, key_name: str, now: datetime) -> dict[str, Any]:
    """The current version's public key in DKE's format (anonymous: no token, no audit event)."""
    _check_enabled(binding)
    config = _config(binding)
    key = _bound_key(binding, key_name)
    _check_key_enabled(key)
    try:
        result = key_service.public_key(key=key, caller=_caller(binding))
    except CockpitError as exc:
        raise _from_key_error(exc) from None
    kid = keyformat.key_id(
        base_url=settings.PUBLIC_BASE_URL, route=binding.route, key_name=key_name, version=result.version
    )
    return keyformat.public_key_document(
        spki_der=result.value, kid=kid, cache_days=config.cache_days, now=now
    )


def decrypt(
    *, binding: ConnectorBinding, key_name: str, version: str, authorization: str | None, body: bytes,
    request: Any = None,
) -> dict[str, str]:  # fmt: skip
    """Unwrap the content key for an authorized Entra user with the named key version."""
    _check_enabled(binding)
    config = _config(binding)
    identity = _authenticate(binding, config, authorization, key_name, request)
    key = _bound_key(binding, key_name)
    row = _version(key, version)
    try:
        authorize(identity, config)
    except DkeError as exc:
        _audit_denied(binding, identity, key, key_name, row.number, request, reason=exc.code)
        raise
    _check_key_enabled(key)
    ciphertext = _ciphertext(body, row)
    try:
        result = key_service.rsa_decrypt(
            key=key, ciphertext=ciphertext, hash=OaepHash.SHA_256, caller=_caller(binding),
            key_version=row.number,
        )  # fmt: skip
    except CockpitError as exc:
        error = _from_key_error(exc)
        _audit_decrypt(binding, identity, key, key_name, row.number, request, failure=error.code)
        raise error from None
    _audit_decrypt(binding, identity, key, key_name, row.number, request)
    return {"value": keyformat.std_b64(result.value)}


def challenge_headers(config: dke_config.DkeConfig) -> dict[str, str]:
    """The 401 challenge the Office client and the reference tester expect."""
    audience, authorization_uri = config.audience, config.authorization_uri
    return {
        "WWW-Authenticate": (
            f'Bearer resource="{audience}", authorization="{authorization_uri}", realm="{audience}"'
        ),
        "resource": audience,
        "authorization": authorization_uri,
    }


# --- steps -------------------------------------------------------------------------------------------------


def _check_enabled(binding: ConnectorBinding) -> None:
    if not binding.is_enabled:
        raise Forbidden("This DKE endpoint has been disabled by the key owner.", code="binding_disabled")


def _config(binding: ConnectorBinding) -> dke_config.DkeConfig:
    try:
        return dke_config.load(binding.settings)
    except InvalidRequest as exc:
        logger.error("DKE binding %s has invalid settings: %s", binding.pk, exc.message)
        raise ServerProblem() from None


def _authenticate(
    binding: ConnectorBinding, config: dke_config.DkeConfig, header: str | None, key_name: str, request: Any
) -> Identity:
    try:
        token = bearer(header)
        if token is None:
            raise Unauthenticated(code="no_token")
        return validate(token, config)
    except Unauthenticated as exc:
        if isinstance(exc, InvalidToken):
            _audit(binding, None, binding, Outcome.DENIED, "connector.dke_denied", request,
                   {"reason": exc.reason, "key_name": key_name[:128]})  # fmt: skip
        exc.headers.update(challenge_headers(config))
        raise


def _bound_key(binding: ConnectorBinding, key_name: str) -> Key:
    found = selectors.bound_key(binding=binding, external_id=key_name)
    if found is None:
        raise NotFound(code="unknown_key_name")
    return found.key


def _version(key: Key, text: str) -> KeyVersion:
    row = usable_version(key=key, number=int(text)) if _VERSION.fullmatch(text) else None
    if row is None:
        raise NotFound("No such key version (unknown, or destroyed).", code="unknown_key_version")
    return row


def _check_key_enabled(key: Key) -> None:
    if key.state != KeyState.ENABLED:
        raise Forbidden("The key is not enabled.", code="key_disabled")


def _ciphertext(body: bytes, row: KeyVersion) -> bytes:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # 8 KiB of "[" is enough to exhaust the decoder's recursion limit
        raise BadRequest("The body must be JSON.", code="malformed_json") from None
    if not isinstance(payload, dict):
        raise BadRequest(
            'The body must be {"alg": "RSA-OAEP-256", "value": "<base64>"}.', code="malformed_body"
        )
    if payload.get("alg") != DECRYPT_ALG:
        raise BadRequest(f"alg must be {DECRYPT_ALG}.", code="unsupported_alg")
    value = payload.get("value")
    try:
        ciphertext = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except (binascii.Error, ValueError):
        ciphertext = b""
    modulus_bytes = keyformat.rsa_public(bytes(row.public_key_der or b"")).key_size // 8
    if len(ciphertext) != modulus_bytes:
        raise BadRequest(
            f"value must be the base64 of a {modulus_bytes}-byte RSA ciphertext.", code="invalid_ciphertext"
        )
    return ciphertext


def _caller(binding: ConnectorBinding) -> key_service.Caller:
    return key_service.Caller(actor=f"ms-dke:{binding.name}", channel=f"ms_dke:{binding.name}"[:80])


def _from_key_error(exc: CockpitError) -> DkeError:
    """The key service's errors in DKE's terms (the key service has already audited the operation)."""
    if isinstance(exc, key_errors.KeyDisabled):
        return Forbidden("The key is not enabled.", code="key_disabled")
    if isinstance(exc, key_errors.InvalidCiphertext):
        return BadRequest(
            "The ciphertext does not decrypt under this key version.", code="invalid_ciphertext"
        )
    if isinstance(exc, key_errors.WrongKeyUsage):
        return Forbidden("This key cannot decrypt.", code="wrong_key_usage")
    if exc.status_code == 503:
        return Unavailable("The key's custody backend is unavailable; try again shortly.", code=exc.code)
    if exc.status_code in (400, 413):
        return BadRequest(exc.message, code=exc.code)
    return Forbidden(exc.message, code=exc.code)


# --- audit -------------------------------------------------------------------------------------------------


def _audit(
    binding: ConnectorBinding, identity: Identity | None, target: Any, outcome: str, action: str,
    request: Any, details: dict[str, Any],
) -> None:  # fmt: skip
    if identity is not None:
        details = {**details, **identity.audit_details()}
    audit.record(
        action=action, actor=_Actor(binding.name, identity), tenant=binding.tenant_id, target=target,
        outcome=outcome, details={"binding": binding.name, **details}, request=request,
    )  # fmt: skip


def _audit_denied(
    binding: ConnectorBinding, identity: Identity, key: Key, key_name: str, version: int, request: Any,
    *, reason: str,
) -> None:  # fmt: skip
    details = {"reason": reason, "key_name": key_name, "version": version}
    _audit(binding, identity, key, Outcome.DENIED, "connector.dke_denied", request, details)


def _audit_decrypt(
    binding: ConnectorBinding, identity: Identity, key: Key, key_name: str, version: int, request: Any,
    failure: str = "",
) -> None:  # fmt: skip
    details: dict[str, Any] = {"key_name": key_name, "version": version}
    if failure:
        details["reason"] = failure
    outcome = Outcome.FAILURE if failure else Outcome.SUCCESS
    _audit(binding, identity, key, outcome, "connector.dke_decrypt", request, details)
