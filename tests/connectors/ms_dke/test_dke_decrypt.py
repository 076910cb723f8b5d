"""POST /dke/<route>/<keyName>/<version>/decrypt: round trips on both custodies, rotation, hostile input."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest
from dke_kit import Dke, Entra, client, encrypt_to, get_key, post_decrypt

from audit.models import AuditEvent
from connectors.services import binding_disable
from keys.services import key_disable, key_rotate
from testkit import World

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("custody")]

CONTENT_KEY = bytes.fromhex("2c00ffff2000100002100000") + os.urandom(32)  # shaped like MIP's 44-byte blob


def body_for(dke: Dke, plaintext: bytes = CONTENT_KEY) -> dict[str, str]:
    return {"alg": "RSA-OAEP-256", "value": encrypt_to(get_key(dke).json(), plaintext)}


@pytest.mark.parametrize("custody_name", ["software", "pkcs11"])
@pytest.mark.parametrize("verb", ["decrypt", "Decrypt"])
def test_office_round_trip_decrypts_what_was_encrypted_to_the_published_key(
    bind: Any, entra: Entra, custody_name: str, verb: str
) -> None:
    dke: Dke = bind(custody=custody_name)
    kid = get_key(dke).json()["key"]["kid"]
    path = kid.removeprefix("https://cockpit.example.test") + "/" + verb
    response = post_decrypt(f"{path}?protocol-version=1.0", body_for(dke), **entra.auth())
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"value"} and response["Cache-Control"] == "no-store"
    assert base64.b64decode(response.json()["value"], validate=True) == CONTENT_KEY


@pytest.mark.parametrize("custody_name", ["software", "pkcs11"])
def test_an_older_version_keeps_decrypting_through_its_own_kid_after_rotation(
    bind: Any, entra: Entra, world: World, django_capture_on_commit_callbacks: Any, custody_name: str
) -> None:
    dke: Dke = bind(custody=custody_name)
    old_body = body_for(dke, b"old content key")
    with django_capture_on_commit_callbacks(execute=True):
        key_rotate(actor=world.admin_a, key=dke.key)
    new_body = body_for(dke, b"new content key")
    old = post_decrypt(dke.decrypt_url(1), old_body, **entra.auth())
    new = post_decrypt(dke.decrypt_url(2), new_body, **entra.auth())
    assert base64.b64decode(old.json()["value"]) == b"old content key"
    assert base64.b64decode(new.json()["value"]) == b"new content key"
    crossed = post_decrypt(dke.decrypt_url(2), old_body, **entra.auth())
    assert crossed.status_code == 400 and crossed.json()["error"] == "invalid_ciphertext"


@pytest.mark.parametrize("version", ["3", "0", "01x", "-1", "9999999999", "\u0661"])
def test_unknown_or_malformed_version_is_404(dke: Dke, entra: Entra, version: str) -> None:
    response = post_decrypt(f"{dke.key_url}/{version}/decrypt", body_for(dke), **entra.auth())
    assert response.status_code == 404


def test_disabled_key_refuses_decrypt_with_403(dke: Dke, entra: Entra, world: World) -> None:
    body = body_for(dke)
    key_disable(actor=world.admin_a, key=dke.key)
    response = post_decrypt(dke.decrypt_url(1), body, **entra.auth())
    assert response.status_code == 403 and response.json()["error"] == "key_disabled"


def test_disabled_binding_refuses_decrypt_with_403(dke: Dke, entra: Entra, world: World) -> None:
    body = body_for(dke)
    binding_disable(actor=world.admin_a, binding=dke.binding)
    response = post_decrypt(dke.decrypt_url(1), body, **entra.auth())
    assert response.status_code == 403 and response.json()["error"] == "binding_disabled"


OAEP = "RSA-OAEP-256"
BAD = "invalid_ciphertext"
HOSTILE_BODIES: list[tuple[str, Any, str]] = [
    ("malformed-json", b"{not json", "malformed_json"),
    ("not-utf8", b"\xff\xfe\x00", "malformed_json"),
    ("empty", b"", "malformed_json"),
    ("deeply-nested", b"[" * 8000, "malformed_json"),
    ("json-array", b"[1, 2]", "malformed_body"),
    ("json-string", b'"value"', "malformed_body"),
    ("missing-alg", {"value": "AAAA"}, "unsupported_alg"),
    ("oaep-sha1", {"alg": "RSA-OAEP", "value": "AAAA"}, "unsupported_alg"),
    ("alg-wrong-case", {"alg": "rsa-oaep-256", "value": "AAAA"}, "unsupported_alg"),
    ("alg-list", {"alg": [OAEP], "value": "AAAA"}, "unsupported_alg"),
    ("missing-value", {"alg": OAEP}, BAD),
    ("value-number", {"alg": OAEP, "value": 12}, BAD),
    ("non-base64", {"alg": OAEP, "value": "not base64!"}, BAD),
    ("too-short", {"alg": OAEP, "value": "AAAA"}, BAD),
    ("base64url", {"alg": OAEP, "value": base64.urlsafe_b64encode(b"\xfb" * 256).decode()}, BAD),
    ("too-long", {"alg": OAEP, "value": base64.b64encode(b"\x01" * 512).decode()}, BAD),
    ("above-modulus", {"alg": OAEP, "value": base64.b64encode(b"\xff" * 256).decode()}, BAD),
    ("random", {"alg": OAEP, "value": base64.b64encode(b"\x00" + os.urandom(255)).decode()}, BAD),
]  # fmt: skip


def test_hostile_bodies_are_400s_never_500s(dke: Dke, entra: Entra) -> None:
    auth = entra.auth()
    for case, body, error in HOSTILE_BODIES:
        response = post_decrypt(dke.decrypt_url(1), body, **auth)
        assert (response.status_code, response.json()["error"]) == (400, error), case


@pytest.mark.parametrize("custody_name", ["software", "pkcs11"])
def test_random_ciphertext_is_400_on_each_custody(bind: Any, entra: Entra, custody_name: str) -> None:
    dke: Dke = bind(custody=custody_name)
    body = {"alg": "RSA-OAEP-256", "value": base64.b64encode(b"\x00" + os.urandom(255)).decode()}
    response = post_decrypt(dke.decrypt_url(1), body, **entra.auth())
    assert response.status_code == 400 and response.json()["error"] == "invalid_ciphertext"


def test_huge_body_is_413_before_anything_is_read(dke: Dke, entra: Entra) -> None:
    huge = json.dumps({"alg": "RSA-OAEP-256", "value": "A" * 1_000_000}).encode()
    assert post_decrypt(dke.decrypt_url(1), huge, **entra.auth()).status_code == 413
    assert post_decrypt(dke.decrypt_url(1), huge).status_code == 413  # even without a token


def test_get_on_the_decrypt_url_is_405(dke: Dke, entra: Entra) -> None:
    response = client().get(dke.decrypt_url(1), **entra.auth())
    assert response.status_code == 405 and response["Allow"] == "POST"


def test_decrypt_is_audited_with_the_users_identity_and_never_the_token_or_plaintext(
    dke: Dke, entra: Entra
) -> None:
    auth = entra.auth()
    response = post_decrypt(dke.decrypt_url(1), body_for(dke), **auth)
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="connector.dke_decrypt")
    assert event.outcome == "success" and event.actor_type == "provider"
    assert event.tenant_id == dke.binding.tenant_id
    assert event.details["upn"] == "Alice@Contoso.test" and event.details["oid"]
    assert event.details["key_name"] == "LabelKey" and event.details["version"] == 1
    key_event = AuditEvent.objects.get(action="key.decrypt")
    assert key_event.details["channel"] == f"ms_dke:{dke.binding.name}"
    token = auth["HTTP_AUTHORIZATION"].split()[1]
    plaintext_b64 = response.json()["value"]
    for row in AuditEvent.objects.all():
        text = json.dumps(row.details) + row.actor_label
        assert token not in text and plaintext_b64 not in text and CONTENT_KEY.hex() not in text
    assert list(dke.binding.calls.filter(operation="decrypt").values_list("outcome", flat=True)) == ["ok"]


def test_a_decryption_whose_records_cannot_be_written_is_withheld(bind: Any, entra: Entra) -> None:
    from django.db import connection

    from connectors.models import ConnectorCall

    dke: Dke = bind()
    kid = get_key(dke).json()["key"]["kid"]
    url = kid.removeprefix("https://cockpit.example.test") + "/decrypt"
    assert post_decrypt(url, body_for(dke), **entra.auth()).status_code == 200
    decrypts = AuditEvent.objects.filter(action="key.decrypt").count()
    body = body_for(dke)  # (fetching the public key is a recorded call too)
    table = ConnectorCall._meta.db_table
    with connection.cursor() as cursor:  # a real write failure: the call-record table is not there
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        response = post_decrypt(url, body, **entra.auth())
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table}_away RENAME TO {table}")
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error" and "value" not in response.json()
    assert AuditEvent.objects.filter(action="key.decrypt").count() == decrypts  # rolled back with it
