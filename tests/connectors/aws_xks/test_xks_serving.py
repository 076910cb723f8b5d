"""How the XKS endpoints are served at speed without serving stale state: remembered rows forgotten the
moment they change, records committed before the answer (or no answer), the browser middleware skipped."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from xkskit import MakeStore, Store, Xks, assert_xks_error, decrypt_body, encrypt_body, metadata

from audit.models import AuditEvent
from cockpit import readcache
from connectors import services
from connectors.models import BindingCredential, ConnectorCall
from keys import services as key_services
from keys.models import KeyOperationCount
from testkit import World

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("custody")]


def _version(encrypted: dict[str, Any]) -> int:
    return int.from_bytes(base64.b64decode(encrypted["ciphertextMetadata"])[1:], "big")


def test_a_repeated_call_reads_nothing_from_the_database(store_a: Store, xks: Xks) -> None:
    if connection.vendor == "postgresql":  # the cache serves once its NOTIFY listener is connected
        readcache.cached(("warm-up",), lambda: None)
        deadline = time.monotonic() + 10
        while not readcache._current().listening:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    xks.ok(store_a, store_a.url("encrypt"), encrypt_body(b"first"))
    with CaptureQueriesContext(connection) as captured:
        xks.ok(store_a, store_a.url("encrypt"), encrypt_body(b"second"))
    statements = [q["sql"].lstrip().split()[0].upper() for q in captured.captured_queries]
    assert "SELECT" not in statements, captured.captured_queries
    assert "INSERT" in statements or "WITH" in statements  # its records were still written


def test_a_key_disabled_after_use_is_refused_on_the_next_call(store_a: Store, xks: Xks, world: World) -> None:
    encrypted = xks.ok(store_a, store_a.url("encrypt"), encrypt_body(b"warm"))  # rows now remembered
    key_services.key_disable(actor=world.admin_a, key=store_a.key)
    for action, body in (("encrypt", encrypt_body(b"x")), ("decrypt", decrypt_body(encrypted))):
        assert_xks_error(xks.call(store_a, store_a.url(action), body), 400, "InvalidStateException")
    status = xks.ok(store_a, store_a.url("metadata"), {"requestMetadata": metadata("DescribeKey")})
    assert status["keyStatus"] == "DISABLED"


def test_a_rotation_after_use_is_picked_up_by_the_next_encrypt(
    store_a: Store, xks: Xks, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    before = xks.ok(store_a, store_a.url("encrypt"), encrypt_body(b"old"))
    with django_capture_on_commit_callbacks(execute=True):
        key_services.key_rotate(actor=world.admin_a, key=store_a.key)
    after = xks.ok(store_a, store_a.url("encrypt"), encrypt_body(b"new"))
    assert (_version(before), _version(after)) == (1, 2)
    plain = xks.ok(store_a, store_a.url("decrypt"), decrypt_body(before))["plaintext"]
    assert base64.b64decode(plain) == b"old"


def test_a_revoked_credential_is_refused_on_the_next_call(store_a: Store, xks: Xks, world: World) -> None:
    xks.ok(store_a, store_a.url("encrypt"), encrypt_body(b"warm"))
    credential = BindingCredential.objects.get(access_key_id=store_a.access_key_id)
    services.credential_revoke(actor=world.admin_a, credential=credential)
    response = xks.call(store_a, store_a.url("encrypt"), encrypt_body(b"x"))
    assert_xks_error(response, 401, "AuthenticationFailedException")


def test_an_answer_whose_records_cannot_be_written_is_withheld(store_a: Store, xks: Xks) -> None:
    xks.ok(store_a, store_a.url("encrypt"), encrypt_body(b"recorded"))
    counted = lambda: (  # noqa: E731
        AuditEvent.objects.filter(action="key.encrypt").count(),
        sum(KeyOperationCount.objects.values_list("succeeded", flat=True)),
    )
    before = counted()
    table = ConnectorCall._meta.db_table
    with connection.cursor() as cursor:  # a real write failure: the call-record table is not there
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        response = xks.call(store_a, store_a.url("encrypt"), encrypt_body(b"unrecorded"))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table}_away RENAME TO {table}")
    body = assert_xks_error(response, 500, "InternalException")
    assert "ciphertext" not in body
    assert counted() == before  # the call's audit event and count went with the failed record


@pytest.mark.usefixtures("_full_site")
def test_provider_calls_skip_the_browser_middleware_and_keep_the_security_headers(store_a: Store) -> None:
    xks = Xks()
    response = xks.call(store_a, store_a.url("encrypt"), encrypt_body(b"x"))
    assert response.status_code == 200
    assert response.resolver_match.namespace == "aws_xks"
    assert response["X-Request-Id"] and response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in response and not response.cookies
    page = Client().get("/accounts/login/")  # a browser page still goes through every middleware
    assert "Content-Security-Policy" in page and page["X-Request-Id"]


@pytest.mark.usefixtures("_full_site")
def test_the_fast_path_leaves_unknown_xks_paths_to_the_xks_404(xks: Xks) -> None:
    response = xks.send("/nobody/kms/xks/v1/keys/k/encrypt", b"{}", {})
    assert_xks_error(response, 404, "InvalidUriPathException")


@pytest.fixture
def _full_site(settings: Any, make_store: MakeStore) -> None:
    settings.ROOT_URLCONF = "cockpit.urls"  # the XKS tests otherwise mount only the XKS URLs
