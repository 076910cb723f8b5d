"""No key material or plaintext in the control-plane database, the logs or the errors."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from keys import custody as custody_registry
from keys.backends import BackendError
from testkit import World, make_key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("custody")]
PLAINTEXT = b"PAN 4111-1111-1111-1111 exp 12/29"


def database_dump() -> bytes:
    """Every row of every table, as bytes: what a database dump would hold."""
    chunks: list[bytes] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes | bytearray):
                        chunks.append(bytes(value))
                    else:
                        chunks.append(str(value).encode())
    return b"\n".join(chunks)


def forms_of(secret: bytes) -> list[bytes]:
    """The ways a secret could leak: raw, hex, base64 (standard and urlsafe)."""
    return [
        secret,
        secret.hex().encode(),
        base64.b64encode(secret),
        base64.urlsafe_b64encode(secret).rstrip(b"="),
    ]


def test_key_bytes_and_plaintext_never_reach_db_or_logs(
    world: World,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    key = make_key(
        django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a, custody="software"
    )
    handle = key.versions.get().handle
    backend = custody_registry.get_backend("software")
    _, material = backend._load(handle)  # white-box: the test knows the key bytes, Cockpit never shows them
    assert len(material) == 32

    client = Client(HTTP_AUTHORIZATION=f"Bearer {world.token_a}")
    sealed = client.post(
        f"/api/v1/keys/{key.pk}/encrypt",
        data=json.dumps({"plaintext": base64.b64encode(PLAINTEXT).decode()}),
        content_type="application/json",
    ).json()["ciphertext"]
    opened = client.post(
        f"/api/v1/keys/{key.pk}/decrypt",
        data=json.dumps({"ciphertext": sealed}),
        content_type="application/json",
    )
    assert base64.b64decode(opened.json()["plaintext"]) == PLAINTEXT
    raw = base64.b64decode(sealed)
    tampered = base64.b64encode(raw[:-1] + bytes([raw[-1] ^ 1])).decode()  # always differs from the original
    failed = client.post(
        f"/api/v1/keys/{key.pk}/decrypt",
        data=json.dumps({"ciphertext": tampered}),
        content_type="application/json",
    )
    assert failed.status_code == 400

    dump = database_dump()
    logs = (caplog.text + "".join(capsys.readouterr())).encode()
    error_body = failed.content
    for secret in (material, PLAINTEXT):
        for form in forms_of(secret):
            assert form not in dump, "secret found in the database"
            assert form not in logs, "secret found in the logs"
            assert form not in error_body, "secret found in an error"
    assert b"key.decrypt" in dump  # the dump really holds the audit log we searched


def test_pkcs11_material_is_not_extractable_through_the_backend(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    key = make_key(
        django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a, custody="pkcs11"
    )
    handle = key.versions.get().handle
    backend = custody_registry.get_backend("pkcs11")

    def read_value(session: Any) -> bytes:
        token_key = next(
            session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: handle})
        )
        assert token_key[Attribute.SENSITIVE] is True and token_key[Attribute.EXTRACTABLE] is False
        return token_key[Attribute.VALUE]

    with pytest.raises(BackendError) as raised:
        backend._connection.run(read_value)  # white-box: go around Cockpit straight to the token
    assert isinstance(raised.value.__cause__, pkcs11.exceptions.AttributeSensitive)
