"""Per-binding DKE settings: the Entra ID app that issues decrypt tokens and who may decrypt.

``clean_config`` validates what a tenant admin submits and returns the canonical form stored on the
binding; ``load`` turns stored settings into a ``DkeConfig`` at request time (re-validating, so a binding
stored before these rules existed fails closed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt

from cockpit.errors import InvalidRequest

DEFAULT_CACHE_DAYS = 30
MAX_CACHE_DAYS = 365
DEFAULT_AUTHORIZATION_URI = "https://login.windows.net/common/oauth2/authorize"
MAX_ISSUERS = 50
MAX_EMAILS = 1000
MAX_ROLES = 100
MAX_STATIC_KEYS = 20
MIN_RSA_BITS = 2048

_GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# v1 access tokens (what Office gets for a resource URI) and v2 tokens, both pinned to one tenant.
_ISSUER = re.compile(
    rf"^https://sts\.windows\.net/{_GUID}/$|^https://login\.microsoftonline\.com/{_GUID}/v2\.0$"
)
_CLIENT_ID = re.compile(rf"^{_GUID}$")
# App role values may not contain spaces (Entra rule); keep them printable and short.
_ROLE = re.compile(r"^[!-~]{1,120}$")
# JWKS documents are fetched only from Entra's sign-in hosts (public and national clouds): a tenant admin
# must not be able to make Cockpit fetch arbitrary URLs (SSRF).
JWKS_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.windows.net",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
    }
)
# Audiences that belong to Microsoft services: any token a user gets for them would be accepted (the
# Azure-Samples placeholder https://aadrm.com did exactly that, fixed in its PR #43).
_MICROSOFT_DOMAINS = (
    "aadrm.com",
    "azurerms.com",
    "microsoft.com",
    "microsoftonline.com",
    "windows.net",
    "office.com",
    "office365.com",
    "outlook.com",
    "sharepoint.com",
    "azure.com",
    "azure.net",
    "dynamics.com",
)
# It is echoed in the 401 challenge header: printable ASCII, and nothing that breaks name="value" pairs.
_HEADER_SAFE = re.compile(r"[!#-+\--\[\]-~]+")
_FIELDS = {
    "audience",
    "client_id",
    "valid_issuers",
    "jwks",
    "authorization",
    "cache_days",
    "authorization_uri",
}
_PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@dataclass(frozen=True)
class DkeConfig:
    """A binding's validated DKE settings."""

    audience: str
    client_id: str | None
    valid_issuers: tuple[str, ...]
    jwks: dict[str, Any]
    emails: frozenset[str] | None
    roles: frozenset[str] | None
    cache_days: int
    authorization_uri: str

    @property
    def audiences(self) -> list[str]:
        """What the token's ``aud`` may be: the App ID URI (v1 tokens), or the client id (v2 tokens)."""
        return [self.audience, self.client_id] if self.client_id else [self.audience]


def clean_config(raw: dict[str, Any]) -> dict[str, Any]:
    """The canonical DKE settings; InvalidRequest names the first problem."""
    if not isinstance(raw, dict):
        raise InvalidRequest("DKE settings must be an object.")
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise InvalidRequest(f"Unknown DKE setting(s): {', '.join(unknown)}.")
    cleaned: dict[str, Any] = {
        "audience": _audience(raw.get("audience")),
        "valid_issuers": _issuers(raw.get("valid_issuers")),
        "jwks": _jwks(raw.get("jwks")),
        "authorization": _authorization(raw.get("authorization")),
        "cache_days": _cache_days(raw.get("cache_days", DEFAULT_CACHE_DAYS)),
        "authorization_uri": _https_url(
            raw.get("authorization_uri", DEFAULT_AUTHORIZATION_URI), "authorization_uri"
        ),
    }
    if raw.get("client_id") is not None:
        cleaned["client_id"] = _client_id(raw["client_id"])
    return cleaned


def load(settings: dict[str, Any]) -> DkeConfig:
    """A binding's stored settings as a ``DkeConfig`` (InvalidRequest if they no longer validate)."""
    clean = clean_config(settings)
    rule = clean["authorization"]
    return DkeConfig(
        audience=clean["audience"],
        client_id=clean.get("client_id"),
        valid_issuers=tuple(clean["valid_issuers"]),
        jwks=clean["jwks"],
        emails=frozenset(rule["emails"]) if "emails" in rule else None,
        roles=frozenset(rule["roles"]) if "roles" in rule else None,
        cache_days=clean["cache_days"],
        authorization_uri=clean["authorization_uri"],
    )


def _https_url(value: Any, name: str, *, allow_query: bool = False) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"{name} must be an https URL.")
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise InvalidRequest(f"{name} must be an https URL without credentials (got {value!r}).")
    plain = not parts.fragment and (allow_query or not parts.query)
    if not plain or len(value) > 300 or not _HEADER_SAFE.fullmatch(value):
        raise InvalidRequest(
            f"{name} must be a plain ASCII https URL without query, fragment, spaces, quotes or commas."
        )
    return value


def _audience(value: Any) -> str:
    if value is None:
        raise InvalidRequest("audience is required: the DKE service URL, also the Entra app's App ID URI.")
    audience = _https_url(value, "audience")
    host = (urlsplit(audience).hostname or "").lower()
    if any(host == domain or host.endswith("." + domain) for domain in _MICROSOFT_DOMAINS):
        raise InvalidRequest(
            f"audience {audience!r} belongs to a Microsoft service: tokens issued for that service would be "
            "accepted. Use your own DKE service URL (the App ID URI of your app registration)."
        )
    return audience


def _issuers(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise InvalidRequest("valid_issuers must list at least one Entra ID issuer.")
    if len(value) > MAX_ISSUERS:
        raise InvalidRequest(f"valid_issuers may list at most {MAX_ISSUERS} issuers.")
    issuers: list[str] = []
    for item in value:
        issuer = item.strip().lower() if isinstance(item, str) else ""
        if not _ISSUER.match(issuer):
            raise InvalidRequest(
                f"Invalid issuer {item!r}: use https://sts.windows.net/<tenant id>/ (v1 tokens) or "
                "https://login.microsoftonline.com/<tenant id>/v2.0 (v2 tokens)."
            )
        if issuer not in issuers:
            issuers.append(issuer)
    return issuers


def _client_id(value: Any) -> str:
    client_id = value.strip().lower() if isinstance(value, str) else ""
    if not _CLIENT_ID.match(client_id):
        raise InvalidRequest("client_id must be the Entra app's application (client) id, a GUID.")
    return client_id


def _jwks(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or value.get("mode") not in ("url", "static"):
        raise InvalidRequest('jwks must be {"mode": "url", "url": ...} or {"mode": "static", "keys": [...]}.')
    if value["mode"] == "url":
        if set(value) != {"mode", "url"}:
            raise InvalidRequest('jwks in url mode takes only "mode" and "url".')
        url = _https_url(value.get("url"), "jwks.url", allow_query=True)  # ?appid=... for app-specific keys
        if urlsplit(url).netloc.lower() not in JWKS_HOSTS:  # the bare host: no port, no credentials
            raise InvalidRequest(
                f"jwks.url must be on an Entra ID sign-in host ({', '.join(sorted(JWKS_HOSTS))})."
            )
        return {"mode": "url", "url": url}
    if set(value) != {"mode", "keys"}:
        raise InvalidRequest('jwks in static mode takes only "mode" and "keys".')
    return {"mode": "static", "keys": _static_keys(value.get("keys"))}


def _static_keys(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_STATIC_KEYS:
        raise InvalidRequest(f"jwks.keys must list 1 to {MAX_STATIC_KEYS} public JWKs.")
    keys: list[dict[str, Any]] = []
    for jwk in value:
        keys.append(_static_key(jwk))
    kids = [k["kid"] for k in keys]
    if len(set(kids)) != len(kids):
        raise InvalidRequest("jwks.keys has duplicate kid values.")
    return keys


def _static_key(jwk: Any) -> dict[str, Any]:
    if not isinstance(jwk, dict):
        raise InvalidRequest("Each entry of jwks.keys must be a JWK object.")
    if _PRIVATE_JWK_MEMBERS & set(jwk):
        raise InvalidRequest(
            "jwks.keys contains private key material: upload Entra's public signing keys only."
        )
    kid = jwk.get("kid")
    if jwk.get("kty") != "RSA" or not isinstance(kid, str) or not 1 <= len(kid) <= 200:
        raise InvalidRequest("Each JWK in jwks.keys must be an RSA key with a kid.")
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") != "RS256":
        raise InvalidRequest(f"JWK {kid!r} is not an RS256 signing key.")
    public = {"kty": "RSA", "kid": kid, "n": jwk.get("n"), "e": jwk.get("e")}
    try:
        key = jwt.PyJWK(public, algorithm="RS256").key
    except (jwt.PyJWKError, jwt.InvalidKeyError, TypeError, ValueError):
        raise InvalidRequest(f"JWK {kid!r} is not a valid RSA public key.") from None
    if key.key_size < MIN_RSA_BITS:
        raise InvalidRequest(f"JWK {kid!r} is shorter than {MIN_RSA_BITS} bits.")
    return public


def _authorization(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, dict) or len(value) != 1 or not set(value) <= {"emails", "roles"}:
        raise InvalidRequest('authorization must be exactly one of {"emails": [...]} or {"roles": [...]}.')
    if "emails" in value:
        return {"emails": _emails(value["emails"])}
    return {"roles": _roles(value["roles"])}


def _emails(value: Any) -> list[str]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_EMAILS:
        raise InvalidRequest(f"authorization.emails must list 1 to {MAX_EMAILS} addresses.")
    emails: list[str] = []
    for item in value:
        email = item.strip().lower() if isinstance(item, str) else ""
        local, at, domain = email.rpartition("@")
        if not at or not local or "." not in domain or len(email) > 320 or any(c.isspace() for c in email):
            raise InvalidRequest(f"Invalid email address {item!r} in authorization.emails.")
        if email not in emails:
            emails.append(email)
    return emails


def _roles(value: Any) -> list[str]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_ROLES:
        raise InvalidRequest(f"authorization.roles must list 1 to {MAX_ROLES} app role values.")
    roles: list[str] = []
    for item in value:
        if not isinstance(item, str) or not _ROLE.match(item):
            raise InvalidRequest(
                f"Invalid app role value {item!r}: 1-120 printable characters without spaces, as in Entra."
            )
        if item not in roles:
            roles.append(item)
    return roles


def _cache_days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CACHE_DAYS:
        raise InvalidRequest(f"cache_days must be an integer from 0 (no client caching) to {MAX_CACHE_DAYS}.")
    return value
