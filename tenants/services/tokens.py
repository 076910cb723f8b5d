"""Service accounts and their API tokens: typed prefix, keyed digest, shown once, expiry, last use."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

import audit
from cockpit import readcache
from cockpit.errors import Conflict, InvalidRequest, NotAuthenticated
from tenants.models import ApiToken, Role, ServiceAccount, Tenant
from tenants.services.access import require_role

MAX_TOKEN_LIFETIME_DAYS = 365
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_digest(raw: str) -> str:
    """HMAC-SHA256 of the whole token under the server's pepper: a database leak yields no usable token."""
    return hmac.new(settings.TOKEN_PEPPER.encode(), raw.encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def service_account_create(*, actor: Any, tenant: Tenant, name: str, description: str = "") -> ServiceAccount:
    """Create a service account (admins only)."""
    require_role(actor=actor, tenant=tenant, roles={Role.ADMIN})
    name = name.strip()
    if not name or len(name) > 80:
        raise InvalidRequest("A service account needs a name of at most 80 characters.")
    try:
        with transaction.atomic():
            account = ServiceAccount.objects.create(
                tenant=tenant, name=name, description=description.strip()[:300], created_by=actor
            )
    except IntegrityError:
        raise Conflict(f"A service account named {name!r} already exists.") from None
    audit.record(action="service_account.created", actor=actor, tenant=tenant, target=account)
    return account


@transaction.atomic
def api_token_issue(
    *, actor: Any, service_account: ServiceAccount, name: str, lifetime_days: int = 90
) -> tuple[ApiToken, str]:
    """Issue a token; returns the row and the raw token, which is never stored and shown only once."""
    tenant = service_account.tenant
    require_role(actor=actor, tenant=tenant, roles={Role.ADMIN})
    if not 1 <= lifetime_days <= MAX_TOKEN_LIFETIME_DAYS:
        raise InvalidRequest(f"Token lifetime must be between 1 and {MAX_TOKEN_LIFETIME_DAYS} days.")
    token_id = secrets.token_hex(8)
    raw = f"{ApiToken.PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        tenant=tenant,
        service_account=service_account,
        name=(name.strip() or "token")[:80],
        token_id=token_id,
        digest=token_digest(raw),
        created_by=actor,
        expires_at=timezone.now() + timedelta(days=lifetime_days),
    )
    audit.record(
        action="api_token.issued",
        actor=actor,
        tenant=tenant,
        target=token,
        details={"prefix": token.display_prefix, "expires_at": token.expires_at.isoformat()},
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: Any, token: ApiToken) -> ApiToken:
    """Revoke a token at once (admins only); revoking twice is harmless."""
    require_role(actor=actor, tenant=token.tenant, roles={Role.ADMIN})
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            action="api_token.revoked",
            actor=actor,
            tenant=token.tenant,
            target=token,
            details={"prefix": token.display_prefix},
        )
    return token


def _parse(raw: str) -> str | None:
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != ApiToken.PREFIX or len(parts[1]) != 16 or len(raw) > 200:
        return None
    return parts[1]


def api_token_authenticate(*, raw: str) -> ApiToken:
    """The active token for ``raw``; NotAuthenticated for anything else, with one message for all causes."""
    token_id = _parse(raw)
    token = (
        readcache.cached(
            ("tenants.api_token", token_id),
            lambda: (
                ApiToken.objects.select_related("service_account", "tenant").filter(token_id=token_id).first()
            ),
        )
        if token_id
        else None
    )  # remembered per process; revoking, expiring or deactivating forgets it everywhere at once
    expected = token.digest if token else token_digest("ckp_0000000000000000_dummy")
    valid = hmac.compare_digest(expected, token_digest(raw))
    now = timezone.now()
    if token is None or not valid or not token.is_active(now) or not token.tenant.is_active:
        raise NotAuthenticated("Invalid, expired or revoked token.")
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        # The plain base manager: last use decides nothing, so it must not flush every process's read cache.
        ApiToken._base_manager.filter(pk=token.pk).update(last_used_at=now)
    return token
