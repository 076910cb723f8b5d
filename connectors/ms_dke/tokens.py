"""Bearer tokens as Entra ID issues them for the DKE app registration, checked with PyJWT.

RS256 only; signature against the binding's JWKS; ``iss`` in the binding's issuers; ``aud`` equal to
the service URL (or the app's client id for v2 tokens); ``exp``/``nbf`` with ASP.NET's 5-minute skew.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt

from connectors.ms_dke import jwks
from connectors.ms_dke.config import DkeConfig
from connectors.ms_dke.errors import Unauthenticated, Unavailable

LEEWAY = timedelta(minutes=5)
MAX_TOKEN = 16 * 1024  # Entra access tokens are a few KB (group overage caps the groups claim)
IDENTITY_CLAIMS = ("email", "upn", "preferred_username")  # the order the email allow-list reads them in


class InvalidToken(Unauthenticated):
    """A token was presented and refused; ``reason`` is for the audit log, never for the client."""

    code = "invalid_token"

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


@dataclass(frozen=True)
class Identity:
    """Who a validated token speaks for (for authorization and the audit log; never the token)."""

    claims: dict[str, Any]

    @property
    def name(self) -> str | None:
        """The first of email, upn, preferred_username that the token carries."""
        for claim in IDENTITY_CLAIMS:
            value = self.claims.get(claim)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None

    def audit_details(self) -> dict[str, Any]:
        """oid, tenant, name and client app: enough to find the person, nothing that grants access."""
        details = {
            "oid": self.claims.get("oid"),
            "tid": self.claims.get("tid"),
            "upn": self.name,
            "client_app": self.claims.get("appid") or self.claims.get("azp"),
        }
        return {k: str(v)[:200] for k, v in details.items() if v}


def bearer(header: str | None) -> str | None:
    """The token in an ``Authorization: Bearer`` header; None when there is no header at all."""
    if header is None or not header.strip():
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise InvalidToken("not_a_bearer_token")
    return token


def validate(token: str, config: DkeConfig) -> Identity:
    """The token's identity if Entra issued it for this binding; InvalidToken otherwise."""
    if len(token) > MAX_TOKEN:
        raise InvalidToken("token_too_large")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidToken("malformed_token") from None
    if header.get("alg") != "RS256":
        raise InvalidToken("algorithm_not_rs256")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("no_kid")
    try:
        key = jwks.signing_key(config.jwks, kid)
    except jwks.JwksUnavailable:
        raise Unavailable(
            "Entra ID signing keys cannot be fetched right now.", code="jwks_unavailable"
        ) from None
    if key is None:
        raise InvalidToken("unknown_signing_key")
    try:
        claims = jwt.decode(
            token,
            key=key.key,
            algorithms=["RS256"],
            audience=config.audiences,
            issuer=list(config.valid_issuers),
            leeway=LEEWAY,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("expired") from None
    except jwt.ImmatureSignatureError:
        raise InvalidToken("not_yet_valid") from None
    except jwt.InvalidAudienceError:
        raise InvalidToken("wrong_audience") from None
    except jwt.InvalidIssuerError:
        raise InvalidToken("wrong_issuer") from None
    except jwt.InvalidSignatureError:
        raise InvalidToken("bad_signature") from None
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"invalid_token:{type(exc).__name__}") from None
    return Identity(claims)
