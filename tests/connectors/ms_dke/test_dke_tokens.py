"""Decrypt authentication (Entra bearer tokens, the 401 challenge) and authorization (emails or roles)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from typing import Any

import jwt
import pytest
from dke_kit import (
    AUDIENCE,
    TENANT_ID,
    Dke,
    Entra,
    dke_settings,
    encrypt_to,
    get_key,
    post_decrypt,
    public_pem,
)

from audit.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("custody")]

AUTHORIZE = "https://login.windows.net/common/oauth2/authorize"
CLIENT_ID = "5f6b2c1e-8d9a-4c3b-a1e2-0f9e8d7c6b5a"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header: dict[str, Any], claims: dict[str, Any], sign: Any = None) -> str:
    """An attacker's token, assembled by hand because no JWT library will produce it."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = sign(signing_input.encode()) if sign else b""
    return f"{signing_input}.{b64url(signature)}"


def decrypt(dke: Dke, token: str | None = None, header: str | None = None) -> Any:
    body = {"alg": "RSA-OAEP-256", "value": encrypt_to(get_key(dke).json(), b"content key")}
    extra = {}
    if token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if header is not None:
        extra["HTTP_AUTHORIZATION"] = header
    return post_decrypt(dke.decrypt_url(1), body, **extra)


def assert_challenge(response: Any, audience: str = AUDIENCE, authorization: str = AUTHORIZE) -> None:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == (
        f'Bearer resource="{audience}", authorization="{authorization}", realm="{audience}"'
    )
    assert response["resource"] == audience and response["authorization"] == authorization
    # As the reference key_store_tester.ps1 parses it: "Bearer", then comma-separated name="value" pairs.
    fields = dict(
        re.fullmatch(r'\s*([^=]+)=\s*"([^"]*)"', item).groups()  # type: ignore[union-attr]
        for item in re.sub(r"^\s*bearer", "", response["WWW-Authenticate"], flags=re.I).split(",")
    )
    assert fields.keys() == {"resource", "authorization", "realm"} and fields["resource"].startswith(
        "https://"
    )


def test_no_token_gets_exactly_the_dke_challenge(dke: Dke) -> None:
    assert_challenge(decrypt(dke))


def test_challenge_names_the_bindings_authorization_uri(bind: Any, entra: Entra) -> None:
    uri = "https://login.microsoftonline.us/common/oauth2/authorize"
    dke = bind(settings=dke_settings(entra, authorization_uri=uri))
    assert_challenge(decrypt(dke), authorization=uri)


@pytest.mark.parametrize(
    "header", ["Basic YWxpY2U6cHc=", "Bearer", "Bearer    ", "bearer not.a.jwt", "Token x"]
)
def test_malformed_authorization_header_gets_the_challenge(dke: Dke, header: str) -> None:
    assert_challenge(decrypt(dke, header=header))


def refused_tokens(entra: Entra, rogue: Entra) -> dict[str, str]:
    now = int(time.time())
    pem = public_pem(entra)
    claims = entra.claims()
    return {
        "wrong-audience": entra.token(aud="https://other-dke.contoso.test"),
        "aadrm-audience": entra.token(aud="https://aadrm.com"),
        "wrong-issuer": entra.token(iss="https://sts.windows.net/11111111-2222-3333-4444-555555555555/"),
        "v2-issuer-not-configured": entra.token(iss=f"https://login.microsoftonline.com/{TENANT_ID}/v2.0"),
        "expired-beyond-leeway": entra.token(exp=now - 301 - 5),
        "not-yet-valid-beyond-leeway": entra.token(nbf=now + 360),
        "no-exp": entra.token(exp=None),
        "no-aud": entra.token(aud=None),
        "alg-none": handmade({"alg": "none", "typ": "JWT", "kid": entra.kid}, claims),
        "alg-none-signed": handmade({"alg": "none", "kid": entra.kid}, claims, lambda m: b"x"),
        "hs256-with-public-key-as-secret": handmade(
            {"alg": "HS256", "typ": "JWT", "kid": entra.kid},
            claims,
            lambda m: hmac.new(pem, m, hashlib.sha256).digest(),
        ),
        "rs512": jwt.encode(claims, entra.private, algorithm="RS512", headers={"kid": entra.kid}),
        "ps256": jwt.encode(claims, entra.private, algorithm="PS256", headers={"kid": entra.kid}),
        "rogue-key-same-kid": rogue.token(),
        "unknown-kid": entra.token(headers={"kid": "no-such-key"}),
        "no-kid": jwt.encode(claims, entra.private, algorithm="RS256"),
        "tampered-claims": tamper(entra.token(upn="mallory@contoso.test"), upn="alice@contoso.test"),
        "oversized": entra.token(padding="x" * 20_000),
        "garbage": "eyJhbGciOiJSUzI1NiJ9.e30.%%%",
    }


def tamper(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims.update(changes)
    return f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"


def test_tokens_entra_did_not_issue_for_this_binding_are_refused(
    dke: Dke, entra: Entra, rogue: Entra
) -> None:
    cases = refused_tokens(entra, rogue)
    for case, token in cases.items():
        response = decrypt(dke, token)
        assert response.status_code == 401, case
        assert_challenge(response)
    events = AuditEvent.objects.filter(action="connector.dke_denied", outcome="denied")
    assert events.count() == len(cases)
    assert all(e.details["reason"] and e.tenant_id == dke.binding.tenant_id for e in events)
    assert not AuditEvent.objects.filter(action="key.decrypt").exists()


def test_clock_skew_within_five_minutes_is_tolerated(dke: Dke, entra: Entra) -> None:
    now = int(time.time())
    assert decrypt(dke, entra.token(exp=now - 240)).status_code == 200
    assert decrypt(dke, entra.token(nbf=now + 240)).status_code == 200


def test_v2_tokens_are_accepted_when_the_issuer_and_client_id_are_configured(bind: Any, entra: Entra) -> None:
    v2_issuer = f"https://login.microsoftonline.com/{TENANT_ID}/v2.0"
    dke = bind(settings=dke_settings(entra, valid_issuers=[v2_issuer], client_id=CLIENT_ID))
    token = entra.token(
        iss=v2_issuer, aud=CLIENT_ID, ver="2.0", upn=None, preferred_username="bob@contoso.test"
    )
    assert decrypt(dke, token).status_code == 200


@pytest.mark.parametrize(
    "claims",
    [
        {"upn": "ALICE@CONTOSO.TEST"},
        {"upn": "  alice@contoso.test "},
        {"upn": None, "email": "Bob@Contoso.test"},
        {"upn": None, "preferred_username": "bob@contoso.test"},
        {"email": "bob@contoso.test", "upn": "mallory@contoso.test"},  # email is read first, as the reference
    ],
)
def test_email_allow_list_is_case_insensitive(dke: Dke, entra: Entra, claims: dict[str, Any]) -> None:
    response = decrypt(dke, entra.token(**claims))
    assert response.status_code == 200, response.content


def test_user_not_on_the_email_list_is_403_and_audited_with_their_identity(dke: Dke, entra: Entra) -> None:
    token = entra.token(upn="mallory@contoso.test", oid="99999999-aaaa-bbbb-cccc-dddddddddddd")
    response = decrypt(dke, token)
    assert response.status_code == 403 and response.json()["error"] == "email_not_allowed"
    event = AuditEvent.objects.get(action="connector.dke_denied")
    assert event.outcome == "denied" and event.actor_id == "99999999-aaaa-bbbb-cccc-dddddddddddd"
    assert event.details["upn"] == "mallory@contoso.test" and event.details["reason"] == "email_not_allowed"
    assert token not in json.dumps(event.details) + event.actor_label
    assert not AuditEvent.objects.filter(action="key.decrypt").exists()


def test_token_without_an_identity_claim_is_400_in_email_mode(dke: Dke, entra: Entra) -> None:
    response = decrypt(dke, entra.token(upn=None))
    assert response.status_code == 400 and response.json()["error"] == "no_identity_claim"


@pytest.fixture
def role_dke(bind: Any, entra: Entra) -> Dke:
    return bind(settings=dke_settings(entra, authorization={"roles": ["DKE.Decrypt", "Finance.Readers"]}))


@pytest.mark.parametrize("roles", [["DKE.Decrypt"], ["Other", "Finance.Readers"]])
def test_users_with_an_allowed_app_role_may_decrypt(role_dke: Dke, entra: Entra, roles: list[str]) -> None:
    assert decrypt(role_dke, entra.token(roles=roles, upn=None)).status_code == 200


@pytest.mark.parametrize(
    ("roles", "status"),
    [(["Other"], 403), (["dke.decrypt"], 403), (None, 403), ([], 403), ("DKE.Decrypt", 400), ([1], 400)],
)
def test_users_without_an_allowed_app_role_are_refused(
    role_dke: Dke, entra: Entra, roles: Any, status: int
) -> None:
    response = decrypt(role_dke, entra.token(roles=roles))
    assert response.status_code == status
    assert AuditEvent.objects.filter(action="connector.dke_denied", outcome="denied").count() == 1


def test_email_on_the_list_does_not_help_in_role_mode(role_dke: Dke, entra: Entra) -> None:
    assert decrypt(role_dke, entra.token(upn="alice@contoso.test")).status_code == 403
