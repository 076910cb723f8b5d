"""Connector binding writes: create (approved), disable (immediate), enable and widen (approved),
credentials (issue, reveal once, revoke), and call records. Each takes ``actor=`` and audits."""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

import audit
from cockpit import bulksql, groupcommit
from cockpit.errors import Conflict, InvalidRequest
from connectors.models import (
    BindingCredential,
    BindingKey,
    BindingState,
    ConnectorBinding,
    ConnectorCall,
    ConnectorKind,
)
from connectors.secrets import seal, unseal
from keys.models import Key, KeySpec, KeyUsage
from keys.permissions import KEY_ADMINS, KEY_TIGHTENERS, require_key_role
from keys.selectors import key_of
from tenants.models import Tenant

MAX_ACTIVE_CREDENTIALS = 2
CALL_RETENTION = timedelta(days=7)
CALL_GROUP_COMMIT_KIND = "connectors.call"
XKS_PREFIX = re.compile(r"^/?[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*$")
EXTERNAL_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

# Which keys each platform can use: XKS wants AES-256 for encrypt/decrypt, DKE an RSA decryption key.
KEY_RULES: dict[str, tuple[set[str], str]] = {
    ConnectorKind.AWS_XKS: ({KeySpec.AES_256}, KeyUsage.ENCRYPT_DECRYPT),
    ConnectorKind.MS_DKE: ({KeySpec.RSA_2048, KeySpec.RSA_3072, KeySpec.RSA_4096}, KeyUsage.ENCRYPT_DECRYPT),
}


@dataclass(frozen=True)
class KeyRef:
    key_id: str
    external_id: str


def normalise_route(kind: str, route: str) -> str:
    """XKS: a path prefix without leading/trailing slash (≤ 117 chars so the full path fits 128)."""
    route = route.strip().strip("/")
    if kind == ConnectorKind.AWS_XKS:
        # "/" + prefix + "/kms/xks/v1" must fit the spec's 128 characters.
        if not route or len(route) > 116 or not XKS_PREFIX.match(route) or route.endswith("kms/xks/v1"):
            raise InvalidRequest(
                "The XKS URI path prefix must be 1-116 of A-Z a-z 0-9 _ - /, e.g. 'xks/acme-payments'."
            )
    elif not route or len(route) > 100 or not XKS_PREFIX.match(route):
        raise InvalidRequest("The route must be 1-100 URL-safe characters.")
    return route


def check_keys(*, tenant: Tenant, kind: str, refs: list[KeyRef]) -> list[tuple[Key, str]]:
    """Every key exists in the tenant and fits the platform; external ids are unique and well-formed."""
    specs, usage = KEY_RULES[kind]
    seen: set[str] = set()
    resolved = []
    for ref in refs:
        if not EXTERNAL_ID.match(ref.external_id) or ref.external_id in seen:
            raise InvalidRequest(
                f"Key identifiers must be unique, 1-128 of A-Z a-z 0-9 . _ - ({ref.external_id!r})."
            )
        seen.add(ref.external_id)
        key = key_of(tenant=tenant, key_id=ref.key_id)
        if key.spec not in specs or key.usage != usage:
            needs = f"{usage} with {' or '.join(sorted(specs))}"
            raise InvalidRequest(f"Key '{key.name}' is {key.spec}/{key.usage}; this connector needs {needs}.")
        resolved.append((key, ref.external_id))
    return resolved


def _access_key_id() -> str:
    return "CKP" + "".join(secrets.choice(_B32) for _ in range(21))  # 24 chars of A-Z2-7, as XKS requires


def _new_credential(binding: ConnectorBinding) -> BindingCredential:
    credential_id = _access_key_id()
    secret = base64.b64encode(secrets.token_bytes(32)).decode()  # 44 chars, 256 bits: the XKS rule
    return BindingCredential.objects.create(
        binding=binding, access_key_id=credential_id, secret_sealed=seal(secret, credential_id=credential_id)
    )


@transaction.atomic
def binding_create(
    *,
    actor: Any,
    tenant: Tenant,
    kind: str,
    name: str,
    route: str,
    keys: list[KeyRef],
    settings: dict[str, Any],
) -> ConnectorBinding:
    """Create a binding (run by an approved request); XKS bindings get their first SigV4 credential."""
    require_key_role(actor=actor, tenant=tenant, roles=KEY_ADMINS)
    route = normalise_route(kind, route)
    resolved = check_keys(tenant=tenant, kind=kind, refs=keys)
    try:
        with transaction.atomic():
            binding = ConnectorBinding.objects.create(
                tenant=tenant, kind=kind, name=name.strip()[:80], route=route, settings=settings,
                created_by=audit.actor_label(actor),
            )  # fmt: skip
    except IntegrityError:
        raise Conflict("A binding with that name or route already exists.") from None
    for key, external_id in resolved:
        BindingKey.objects.create(binding=binding, key=key, external_id=external_id)
    if kind == ConnectorKind.AWS_XKS:
        _new_credential(binding)
    details = {"kind": kind, "route": route, "keys": [e for _, e in resolved]}
    audit.record(action="connector.created", actor=actor, tenant=tenant, target=binding, details=details)
    return binding


@transaction.atomic
def binding_add_keys(*, actor: Any, binding: ConnectorBinding, keys: list[KeyRef]) -> ConnectorBinding:
    """Widen a binding with more keys (run by an approved request)."""
    require_key_role(actor=actor, tenant=binding.tenant, roles=KEY_ADMINS)
    existing = set(binding.bound_keys.values_list("external_id", flat=True))
    for key, external_id in check_keys(tenant=binding.tenant, kind=binding.kind, refs=keys):
        if external_id in existing:
            raise Conflict(f"The binding already has a key called {external_id!r}.")
        BindingKey.objects.create(binding=binding, key=key, external_id=external_id)
    audit.record(
        action="connector.widened",
        actor=actor,
        tenant=binding.tenant_id,
        target=binding,
        details={"keys": [k.external_id for k in keys]},
    )
    return binding


def _set_state(
    *, actor: Any, binding: ConnectorBinding, state: str, roles: frozenset[str], action: str
) -> ConnectorBinding:
    require_key_role(actor=actor, tenant=binding.tenant, roles=roles)
    binding = ConnectorBinding.objects.select_for_update().get(pk=binding.pk)
    if binding.state == state:
        raise Conflict(f"The binding is already {state}.")
    binding.state = state
    binding.save(update_fields=["state", "updated_at"])
    audit.record(action=action, actor=actor, tenant=binding.tenant_id, target=binding)
    return binding


@transaction.atomic
def binding_disable(*, actor: Any, binding: ConnectorBinding) -> ConnectorBinding:
    """Cut the platform off at once (tightening: one admin or officer)."""
    return _set_state(
        actor=actor,
        binding=binding,
        state=BindingState.DISABLED,
        roles=KEY_TIGHTENERS,
        action="connector.disabled",
    )


@transaction.atomic
def binding_enable(*, actor: Any, binding: ConnectorBinding) -> ConnectorBinding:
    """Let the platform in again (run by an approved request)."""
    return _set_state(
        actor=actor, binding=binding, state=BindingState.ENABLED, roles=KEY_ADMINS, action="connector.enabled"
    )


@transaction.atomic
def credential_issue(*, actor: Any, binding: ConnectorBinding) -> BindingCredential:
    """A second credential for rotation without downtime (at most two active)."""
    require_key_role(actor=actor, tenant=binding.tenant, roles=KEY_ADMINS)
    if binding.kind != ConnectorKind.AWS_XKS:
        raise InvalidRequest("Only XKS bindings use SigV4 credentials.")
    if binding.credentials.filter(revoked_at__isnull=True).count() >= MAX_ACTIVE_CREDENTIALS:
        raise Conflict(
            "Two credentials are active: revoke the old one after updating AWS, then issue a new one."
        )
    credential = _new_credential(binding)
    audit.record(
        action="connector.credential_issued",
        actor=actor,
        tenant=binding.tenant_id,
        target=binding,
        details={"access_key_id": credential.access_key_id},
    )
    return credential


@transaction.atomic
def credential_reveal(*, actor: Any, credential: BindingCredential) -> str:
    """The secret access key, exactly once (for pasting into AWS); later calls refuse."""
    require_key_role(actor=actor, tenant=credential.binding.tenant, roles=KEY_ADMINS)
    credential = BindingCredential.objects.select_for_update().get(pk=credential.pk)
    if credential.revealed_at is not None:
        raise Conflict("This secret was already shown once. Issue a new credential if it was lost.")
    credential.revealed_at = timezone.now()
    credential.save(update_fields=["revealed_at"])
    audit.record(
        action="connector.credential_revealed",
        actor=actor,
        tenant=credential.binding.tenant_id,
        target=credential.binding,
        details={"access_key_id": credential.access_key_id},
    )
    return unseal(credential.secret_sealed, credential_id=credential.access_key_id)


@transaction.atomic
def credential_revoke(*, actor: Any, credential: BindingCredential) -> BindingCredential:
    """Stop a credential at once."""
    require_key_role(actor=actor, tenant=credential.binding.tenant, roles=KEY_TIGHTENERS)
    if credential.revoked_at is None:
        credential.revoked_at = timezone.now()
        credential.save(update_fields=["revoked_at"])
        audit.record(
            action="connector.credential_revoked",
            actor=actor,
            tenant=credential.binding.tenant_id,
            target=credential.binding,
            details={"access_key_id": credential.access_key_id},
        )
    return credential


def credential_secret(credential: BindingCredential) -> str:
    """The secret for signature verification (provider endpoints only; never shown, never logged)."""
    return unseal(credential.secret_sealed, credential_id=credential.access_key_id)


def record_call(
    *, binding: ConnectorBinding, operation: str, outcome: str, latency_ms: float, request_id: str = ""
) -> None:
    """Remember one provider call for the binding page (group-committed with the call's audit event)."""
    call = ConnectorCall(
        binding=binding,
        operation=operation[:40],
        outcome=outcome[:60],
        latency_ms=latency_ms,
        request_id=request_id[:64],
    )
    groupcommit.add(CALL_GROUP_COMMIT_KIND, call)


def write_calls(calls: list[ConnectorCall]) -> bulksql.Statement:
    """The group-commit writer for call records: one INSERT."""
    return bulksql.insert_many(ConnectorCall, calls)


def prune_calls() -> int:
    """Drop call records older than the retention (the audit log keeps everything)."""
    deleted, _ = ConnectorCall.objects.filter(at__lt=timezone.now() - CALL_RETENTION).delete()
    return deleted
