"""GET /dke/<route>/<keyName>: DKE's exact public-key document, anonymous, from the current version."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dke_kit import PUBLIC_BASE_URL, Dke, Entra, client, dke_settings, get_key

from connectors.ms_dke import keyformat
from connectors.services import binding_disable
from keys.services import key_disable, key_rotate
from testkit import World

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("custody")]

STD_B64_PADDED = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


def modulus_of(key: Any) -> int:
    public = serialization.load_der_public_key(bytes(key.versions.get(number=1).public_key_der))
    assert isinstance(public, rsa.RSAPublicKey)
    return public.public_numbers().n


@pytest.mark.parametrize("custody_name", ["software", "pkcs11"])
def test_public_key_document_has_exactly_the_dke_shape(bind: Any, custody_name: str) -> None:
    dke: Dke = bind(custody=custody_name)
    before = datetime.now(UTC).replace(microsecond=0)
    response = get_key(dke)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"key", "cache"}
    assert set(body["key"]) == {"kty", "n", "e", "alg", "kid"}
    key = body["key"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256"
    assert key["e"] == 65537 and type(key["e"]) is int
    assert STD_B64_PADDED.match(key["n"]) and len(key["n"]) == 344 and key["n"].endswith("==")
    assert int.from_bytes(base64.b64decode(key["n"], validate=True), "big") == modulus_of(dke.key)
    assert key["kid"] == f"{PUBLIC_BASE_URL}/dke/{dke.binding.route}/LabelKey/1"
    exp = body["cache"]["exp"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", exp)
    expires = datetime.strptime(exp, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    assert before + timedelta(days=30) <= expires <= before + timedelta(days=30, seconds=5)


def test_modulus_uses_the_standard_alphabet_with_padding_not_base64url() -> None:
    # A modulus whose leading bytes encode to "++++////" in base64 ("----____" in base64url).
    n = int.from_bytes(b"\xfb\xef\xbe\xff\xff\xff" + bytes(range(250)), "big") | 1
    spki = (
        rsa.RSAPublicNumbers(65537, n)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    now = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)
    document = keyformat.public_key_document(spki_der=spki, kid="https://h/dke/r/k/1", cache_days=1, now=now)
    assert document["key"]["n"].startswith("++++////") and document["key"]["n"].endswith("==")
    assert document["cache"] == {"exp": "2024-03-01T23:59:59"}


def test_cache_is_omitted_when_cache_days_is_zero(bind: Any, entra: Entra) -> None:
    dke = bind(settings=dke_settings(entra, cache_days=0))
    body = get_key(dke).json()
    assert set(body) == {"key"}


def test_kid_comes_from_the_public_base_url_never_the_request_host(dke: Dke) -> None:
    response = get_key(dke, HTTP_HOST="localhost", HTTP_X_FORWARDED_HOST="evil.example", secure=False)
    assert response.json()["key"]["kid"].startswith(f"{PUBLIC_BASE_URL}/dke/")


def test_unknown_query_parameters_are_ignored(dke: Dke) -> None:
    response = client().get(f"{dke.key_url}?protocol-version=1.0&x-client=office")
    assert response.status_code == 200
    assert response.json()["key"]["kid"].endswith("/LabelKey/1")  # no query string in the kid


def test_rotation_moves_the_kid_to_the_new_version(
    dke: Dke, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    first = get_key(dke).json()["key"]
    with django_capture_on_commit_callbacks(execute=True):
        key_rotate(actor=world.admin_a, key=dke.key)
    second = get_key(dke).json()["key"]
    assert second["kid"].endswith("/LabelKey/2") and second["n"] != first["n"]


@pytest.mark.parametrize(
    "path",
    ["/dke/no-such-route/LabelKey", "/dke/{route}/NoSuchKey", "/dke/{route}/labelkey", "/dke/{route}"],
)
def test_unknown_route_or_key_name_is_404(dke: Dke, path: str) -> None:
    response = client().get(path.format(route=dke.binding.route))
    assert response.status_code == 404


def test_disabled_binding_is_403(dke: Dke, world: World) -> None:
    binding_disable(actor=world.admin_a, binding=dke.binding)
    response = get_key(dke)
    assert response.status_code == 403 and response.json()["error"] == "binding_disabled"


def test_disabled_key_serves_no_public_key(dke: Dke, world: World) -> None:
    key_disable(actor=world.admin_a, key=dke.key)
    response = get_key(dke)
    assert response.status_code == 403 and response.json()["error"] == "key_disabled"


def test_post_to_the_key_url_is_405(dke: Dke) -> None:
    response = client().post(dke.key_url, data=b"{}", content_type="application/json")
    assert response.status_code == 405 and response["Allow"] == "GET"


def test_every_get_is_recorded_on_the_binding(dke: Dke) -> None:
    get_key(dke)
    client().get(f"/dke/{dke.binding.route}/NoSuchKey")
    outcomes = sorted(dke.binding.calls.values_list("operation", "outcome"))
    assert outcomes == [("get_public_key", "ok"), ("get_public_key", "unknown_key_name")]


def test_a_binding_whose_stored_settings_no_longer_validate_fails_closed(bind: Any, entra: Entra) -> None:
    dke = bind(settings={"audience": "https://aadrm.com"})  # stored unvalidated, e.g. by an old release
    response = get_key(dke)
    assert response.status_code == 500 and response.json()["error"] == "binding_misconfigured"
    challenge = client().post(dke.decrypt_url(1), data=b"{}", content_type="application/json", **entra.auth())
    assert challenge.status_code == 500
