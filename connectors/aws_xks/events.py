"""What every XKS call leaves behind: a log line with the request metadata, a ConnectorCall row, and audit
events for refused signatures and secondary-authorization denials. Never plaintext, AAD or ciphertext."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

import audit
from audit.models import Outcome
from connectors.aws_xks.authorization import Decision
from connectors.aws_xks.operations import ProviderActor
from connectors.aws_xks.schemas import RequestMetadata
from connectors.aws_xks.sigv4 import AuthenticationFailed
from connectors.models import ConnectorBinding
from connectors.services import record_call

logger = logging.getLogger("connectors.aws_xks")


@dataclass
class Call:
    """One XKS request as it is being served; filled in step by step for the record."""

    operation: str
    external_id: str = ""
    binding: ConnectorBinding | None = None
    access_key_id: str = ""
    authenticated: bool = False
    metadata: RequestMetadata | None = None
    rule: str = ""
    started: float = field(default_factory=time.perf_counter)

    def actor(self) -> ProviderActor:
        assert self.binding is not None
        return ProviderActor(self.binding.name, self.access_key_id)


def _storable(value: Any) -> Any:
    """PostgreSQL text and JSONB refuse NUL characters; KMS metadata is opaque and may carry anything."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {key: _storable(item) for key, item in value.items()}
    return value


class _Unauthenticated:
    """The audit actor for a request whose signature did not verify."""

    def audit_identity(self) -> tuple[str, str, str]:
        return "anonymous", "", "unauthenticated XKS caller"


def _request_details(call: Call, request: HttpRequest) -> dict[str, Any]:
    details: dict[str, Any] = {"operation": call.operation, "path": request.path[:256]}
    if call.external_id:
        details["externalKeyId"] = call.external_id[:128]
    if call.access_key_id:
        details["access_key_id"] = call.access_key_id[:64]
    return details


def authentication_failed(request: HttpRequest, call: Call, exc: AuthenticationFailed) -> None:
    """Audit a refused signature on a known key store (unknown prefixes never get this far)."""
    assert call.binding is not None
    details = {**_request_details(call, request), "reason": exc.message}
    audit.record(
        action="connector.xks_authentication_failed", actor=_Unauthenticated(), tenant=call.binding.tenant_id,
        target=call.binding, outcome=Outcome.DENIED, details=details, request=request,
    )  # fmt: skip


def access_denied(request: HttpRequest, call: Call, decision: Decision) -> None:
    """Audit a secondary-authorization denial with the metadata and, per rule, what did not match."""
    assert call.binding is not None
    assert call.metadata is not None
    details = {
        **_request_details(call, request),
        "requestMetadata": _storable(call.metadata.wire()),
        "rules": [{"rule": label, "unmatched": list(failed)} for label, failed in decision.mismatches],
    }
    audit.record(
        action="connector.xks_access_denied", actor=call.actor(), tenant=call.binding.tenant_id,
        target=call.binding, outcome=Outcome.DENIED, details=details, request=request,
    )  # fmt: skip


def finish(call: Call, *, status: int, outcome: str) -> None:
    """Log the call and record it on the binding's page (committed with the call's unit)."""
    latency_ms = round((time.perf_counter() - call.started) * 1000, 3)
    if logger.isEnabledFor(logging.INFO):
        _log(call, status=status, outcome=outcome, latency_ms=latency_ms)
    if call.binding is None:
        return
    request_id = call.metadata.kms_request_id if call.metadata else ""
    record_call(
        binding=call.binding, operation=call.operation, outcome=outcome, latency_ms=latency_ms,
        request_id=_storable(request_id[:64]),
    )  # fmt: skip


def _log(call: Call, *, status: int, outcome: str, latency_ms: float) -> None:
    line: dict[str, Any] = {
        "operation": call.operation,
        "outcome": outcome,
        "status": status,
        "latency_ms": latency_ms,
        "binding": call.binding.name if call.binding else None,
        "tenant_id": call.binding.tenant_id if call.binding else None,
        "externalKeyId": call.external_id or None,
        "accessKeyId": call.access_key_id or None,
        "authenticated": call.authenticated,
        "authorizedBy": call.rule or None,
        "requestMetadata": call.metadata.wire() if call.metadata else None,
    }
    logger.info("xks %s", json.dumps(line, separators=(",", ":"), ensure_ascii=True))
