"""Per-binding DKE settings: canonical form, defaults, and a clear refusal for each mistake."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from dke_kit import AUDIENCE, ISSUER, TENANT_ID, Entra

from cockpit.demo import demo_dke_settings
from cockpit.errors import InvalidRequest
from connectors.ms_dke.config import DEFAULT_AUTHORIZATION_URI, clean_config, load
from connectors.settings_schema import clean_settings

ENTRA_URL = "https://login.microsoftonline.com/common/discovery/v2.0/keys"


def valid(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "audience": AUDIENCE,
        "valid_issuers": [ISSUER],
        "jwks": {"mode": "url", "url": ENTRA_URL},
        "authorization": {"emails": ["Alice@Contoso.test"]},
    }
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not None}


def test_defaults_are_filled_and_values_normalised() -> None:
    cleaned = clean_config(
        valid(
            valid_issuers=[f"https://sts.windows.net/{TENANT_ID.upper()}/", ISSUER],
            authorization={"emails": [" Alice@Contoso.test ", "alice@contoso.test", "bob@contoso.test"]},
        )
    )
    assert cleaned == {
        "audience": AUDIENCE,
        "valid_issuers": [ISSUER],
        "jwks": {"mode": "url", "url": ENTRA_URL},
        "authorization": {"emails": ["alice@contoso.test", "bob@contoso.test"]},
        "cache_days": 30,
        "authorization_uri": DEFAULT_AUTHORIZATION_URI,
    }


def test_static_jwks_keeps_only_the_public_members(entra: Entra) -> None:
    jwk = {
        **entra.jwk(),
        "x5c": ["MIIC..."],
        "x5t": "abc",
        "issuer": "https://login.microsoftonline.com/x/v2.0",
    }
    cleaned = clean_config(valid(jwks={"mode": "static", "keys": [jwk]}))
    assert cleaned["jwks"]["keys"] == [{"kty": "RSA", "kid": entra.kid, "n": jwk["n"], "e": jwk["e"]}]


def test_role_mode_v2_issuer_and_client_id_are_accepted() -> None:
    v2 = f"https://login.microsoftonline.com/{TENANT_ID}/v2.0"
    config = load(
        valid(
            valid_issuers=[v2],
            client_id="5F6B2C1E-8D9A-4C3B-A1E2-0F9E8D7C6B5A",
            authorization={"roles": ["DKE.Decrypt"]},
            cache_days=0,
        )
    )
    assert config.audiences == [AUDIENCE, "5f6b2c1e-8d9a-4c3b-a1e2-0f9e8d7c6b5a"]
    assert config.roles == {"DKE.Decrypt"} and config.emails is None and config.cache_days == 0


def test_a_jwks_url_may_name_the_app_for_app_specific_signing_keys() -> None:
    url = f"https://login.microsoftonline.com/{TENANT_ID}/discovery/v2.0/keys?appid={TENANT_ID}"
    assert clean_config(valid(jwks={"mode": "url", "url": url}))["jwks"]["url"] == url


def test_the_demo_settings_and_the_settings_schema_agree() -> None:
    assert clean_settings("ms_dke", demo_dke_settings())["audience"] == "https://dke.demo.example"


def private_jwk(entra: Entra) -> dict[str, Any]:
    return {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(entra.private)), "kid": "k"}


REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("no-audience", {"audience": None}, "audience is required"),
    ("http-audience", {"audience": "http://dke.contoso.test"}, "https URL"),
    ("aadrm-audience", {"audience": "https://aadrm.com"}, "Microsoft service"),
    ("aadrm-subdomain", {"audience": "https://api.aadrm.com/"}, "Microsoft service"),
    ("graph-audience", {"audience": "https://graph.microsoft.com"}, "Microsoft service"),
    ("audience-with-query", {"audience": "https://dke.contoso.test/?x=1"}, "without query"),
    ("audience-with-quote", {"audience": 'https://dke.contoso.test/"x'}, "quotes"),
    ("audience-with-comma", {"audience": "https://dke.contoso.test/a,realm=x"}, "commas"),
    ("audience-header-injection", {"audience": "https://dke.contoso.test/\r\nSet-Cookie:x"}, "ASCII"),
    ("authorization-uri-newline", {"authorization_uri": "https://login.windows.net/\ncommon"}, "ASCII"),
    ("audience-non-ascii", {"audience": "https://dké.contoso.test"}, "ASCII"),
    ("audience-with-credentials", {"audience": "https://u:p@dke.contoso.test"}, "without credentials"),
    ("no-issuers", {"valid_issuers": []}, "at least one"),
    ("issuer-not-a-list", {"valid_issuers": ISSUER}, "at least one"),
    ("issuer-common", {"valid_issuers": ["https://sts.windows.net/common/"]}, "Invalid issuer"),
    ("issuer-other-host", {"valid_issuers": [f"https://evil.example/{TENANT_ID}/"]}, "Invalid issuer"),
    ("no-jwks", {"jwks": None}, "jwks must be"),
    ("jwks-bad-mode", {"jwks": {"mode": "auto"}}, "jwks must be"),
    ("jwks-non-entra-url", {"jwks": {"mode": "url", "url": "https://evil.example/keys"}}, "Entra ID sign-in"),
    ("jwks-internal-url", {"jwks": {"mode": "url", "url": "https://169.254.169.254/keys"}}, "sign-in host"),
    ("jwks-http-url", {"jwks": {"mode": "url", "url": ENTRA_URL.replace("https", "http")}}, "https URL"),
    ("jwks-url-bad-port", {"jwks": {"mode": "url", "url": ENTRA_URL.replace(".com/", ".com:x/")}}, "Entra"),
    ("jwks-url-port", {"jwks": {"mode": "url", "url": ENTRA_URL.replace(".com/", ".com:8443/")}}, "Entra"),
    ("jwks-static-empty", {"jwks": {"mode": "static", "keys": []}}, "1 to 20"),
    ("jwks-static-not-rsa", {"jwks": {"mode": "static", "keys": [{"kty": "EC", "kid": "x"}]}}, "RSA key"),
    ("jwks-static-bad-n", {"jwks": {"mode": "static", "keys": [{"kty": "RSA", "kid": "x", "n": "!"}]}},
     "not a valid"),
    ("no-authorization", {"authorization": None}, "exactly one of"),
    ("both-modes", {"authorization": {"emails": ["a@b.c"], "roles": ["r"]}}, "exactly one of"),
    ("onprem-ldap-roles", {"authorization": {"ldap_path": "contoso.com"}}, "exactly one of"),
    ("empty-emails", {"authorization": {"emails": []}}, "1 to 1000"),
    ("bad-email", {"authorization": {"emails": ["not an email"]}}, "Invalid email"),
    ("role-with-space", {"authorization": {"roles": ["DKE Readers"]}}, "Invalid app role"),
    ("negative-cache", {"cache_days": -1}, "cache_days"),
    ("bool-cache", {"cache_days": True}, "cache_days"),
    ("string-cache", {"cache_days": "30"}, "cache_days"),
    ("huge-cache", {"cache_days": 366}, "cache_days"),
    ("http-authorization-uri", {"authorization_uri": "http://login.windows.net/common/oauth2/x"}, "https"),
    ("bad-client-id", {"client_id": "office"}, "client_id"),
    ("unknown-field", {"JwtAudience": "https://aadrm.com"}, "Unknown DKE setting"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "message"), [pytest.param(c, m, id=i) for i, c, m in REFUSED])
def test_each_mistake_is_refused_with_a_clear_message(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        clean_config(valid(**change))
    assert message in refused.value.message


def test_private_key_material_in_a_static_jwks_is_refused(entra: Entra) -> None:
    with pytest.raises(InvalidRequest) as refused:
        clean_config(valid(jwks={"mode": "static", "keys": [private_jwk(entra)]}))
    assert "private key material" in refused.value.message


def test_settings_that_are_not_an_object_are_refused() -> None:
    with pytest.raises(InvalidRequest):
        clean_settings("ms_dke", ["audience"])
