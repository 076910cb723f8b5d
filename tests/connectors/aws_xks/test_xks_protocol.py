"""The XKS wire contract: routes, methods, key store state, hostile input, health, call records and logs."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import Resolver404, resolve
from xkskit import (
    MakeStore,
    Store,
    Xks,
    assert_xks_error,
    b64,
    botocore_headers,
    decrypt_body,
    encrypt_body,
    health_body,
    metadata,
)

from audit.models import AuditEvent
from connectors import services
from connectors.aws_xks import health, operations
from connectors.models import BindingCredential, ConnectorCall
from keys.models import KeyOperationCount, KeyVersion
from testkit import World

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("custody")]
ACTIONS = ["health", "metadata", "encrypt", "decrypt"]


def valid_body(store: Store, xks: Xks, action: str) -> dict[str, Any]:
    if action == "health":
        return health_body()
    if action == "metadata":
        return {"requestMetadata": metadata("DescribeKey")}
    if action == "encrypt":
        return encrypt_body(b"x")
    return decrypt_body(xks.ok(store, store.url("encrypt"), encrypt_body(b"x")))


@pytest.mark.parametrize("action", ACTIONS)
def test_other_methods_on_the_operation_uris_are_405_with_an_xks_body(
    store_a: Store, xks: Xks, action: str
) -> None:
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        response = xks.call(store_a, store_a.url(action), b"", method=method)
        assert_xks_error(response, 405, "UnsupportedOperationException")
        assert response["Allow"] == "POST"
    unsigned = xks.send(store_a.url(action), b"", {}, method="GET")
    assert_xks_error(unsigned, 405, "UnsupportedOperationException")


def test_get_under_an_unknown_prefix_is_invalid_uri_path(xks: Xks) -> None:
    response = xks.send("/nobody/kms/xks/v1/keys/k/encrypt", b"", {}, method="GET")
    assert_xks_error(response, 404, "InvalidUriPathException")


@pytest.mark.parametrize(
    "suffix",
    ["", "/", "/health/", "/keys/k", "/keys/k/sign", "/keys/a/b/encrypt", "/keys//encrypt", "/v2/health"],
)
def test_anything_else_under_kms_xks_v1_is_invalid_uri_path(store_a: Store, xks: Xks, suffix: str) -> None:
    response = xks.call(store_a, store_a.base + suffix, health_body())
    assert_xks_error(response, 404, "InvalidUriPathException")


@pytest.mark.parametrize(
    "path", ["/xks/a%20b/kms/xks/v1/health", "/xks/%C3%A9/kms/xks/v1/health", "/" + "p" * 300]
)
def test_odd_or_overlong_paths_are_invalid_uri_path(xks: Xks, path: str) -> None:
    response = xks.send(path + ("" if "kms/xks" in path else "/kms/xks/v1/health"), b"{}", {})
    assert_xks_error(response, 404, "InvalidUriPathException")


def test_the_urls_leave_every_other_path_to_the_rest_of_the_site() -> None:
    for path in ("/api/v1/keys", "/healthz", "/t/acme/connectors/", "/kms/xks"):
        with pytest.raises(Resolver404):
            resolve(path, urlconf="connectors.aws_xks.urls")
    assert resolve("/a/b/c/kms/xks/v1/health", urlconf="connectors.aws_xks.urls").kwargs == {
        "prefix": "a/b/c"
    }


def test_a_prefix_with_slashes_and_the_xks_marker_inside_resolves_to_its_binding(
    make_store: MakeStore, xks: Xks
) -> None:
    store = make_store("a", route="tenants/acme/kms/xks/v1/store")
    assert xks.ok(store, store.url("metadata"), {"requestMetadata": metadata("CreateKey")})["keyStatus"]


@pytest.mark.parametrize("action", ACTIONS)
def test_a_disabled_key_store_answers_invalid_state_to_every_operation(
    store_a: Store, xks: Xks, world: World, action: str
) -> None:
    body = valid_body(store_a, xks, action)
    services.binding_disable(actor=world.admin_a, binding=store_a.binding)
    assert_xks_error(xks.call(store_a, store_a.url(action), body), 400, "InvalidStateException")
    # ...but only to a caller who signs correctly: strangers still get 401.
    response = xks.call(store_a, store_a.url(action), body, secret="Invalid" + store_a.secret)
    assert_xks_error(response, 401, "AuthenticationFailedException")


def test_a_deactivated_tenant_answers_invalid_state(store_a: Store, xks: Xks, world: World) -> None:
    world.tenant_a.is_active = False
    world.tenant_a.save()
    response = xks.call(store_a, store_a.url("encrypt"), encrypt_body(b"x"))
    assert_xks_error(response, 400, "InvalidStateException")


HOSTILE_BODIES = {
    "not json": b"{not json",
    "empty": b"",
    "array": b"[]",
    "string": b'"requestMetadata"',
    "null": b"null",
    "NaN": b'{"requestMetadata": NaN}',
    "deep nesting": b"[" * 20_000 + b"]" * 20_000,
    "bad utf-8": b'{"a": "\xff\xfe"}',
    "huge integer": b'{"n": 1' + b"0" * 5000 + b"}",
    "utf-16": '{"requestMetadata": {}}'.encode("utf-16"),
    "trailing garbage": b'{"requestMetadata": {}} x',
}


@pytest.mark.parametrize("name", HOSTILE_BODIES, ids=list(HOSTILE_BODIES))
def test_malformed_json_is_validation_exception_on_every_operation(
    store_a: Store, xks: Xks, name: str
) -> None:
    for action in ACTIONS:
        response = xks.call(store_a, store_a.url(action), HOSTILE_BODIES[name])
        assert_xks_error(response, 400, "ValidationException")
    assert not KeyOperationCount.objects.exists()


def _without(path: str) -> Any:
    def change(body: dict[str, Any]) -> dict[str, Any]:
        body = json.loads(json.dumps(body))
        *parents, leaf = path.split(".")
        target = body
        for parent in parents:
            target = target[parent]
        target.pop(leaf)
        return body

    return change


def _with(path: str, value: Any) -> Any:
    def change(body: dict[str, Any]) -> dict[str, Any]:
        body = json.loads(json.dumps(body))
        *parents, leaf = path.split(".")
        target = body
        for parent in parents:
            target = target[parent]
        target[leaf] = value
        return body

    return change


BAD_ENCRYPT = {
    "no requestMetadata": _without("requestMetadata"),
    "requestMetadata not an object": _with("requestMetadata", ["x"]),
    "no kmsRequestId": _without("requestMetadata.kmsRequestId"),
    "no kmsOperation": _without("requestMetadata.kmsOperation"),
    "no awsPrincipalArn": _without("requestMetadata.awsPrincipalArn"),
    "no kmsKeyArn": _without("requestMetadata.kmsKeyArn"),
    "numeric kmsRequestId": _with("requestMetadata.kmsRequestId", 12),
    "empty awsPrincipalArn": _with("requestMetadata.awsPrincipalArn", ""),
    "ARN of 2049 characters": _with("requestMetadata.awsPrincipalArn", "arn:" + "a" * 2045),
    "kmsViaService as a list": _with("requestMetadata.kmsViaService", ["ebs"]),
    "no plaintext": _without("plaintext"),
    "plaintext not Base64": _with("plaintext", "!!!"),
    "plaintext URL-safe Base64": _with("plaintext", "-_-_"),
    "plaintext unpadded": _with("plaintext", "YQ"),
    "plaintext non-ASCII": _with("plaintext", "aGVsbG8é"),
    "plaintext as a number": _with("plaintext", 5),
    "no encryptionAlgorithm": _without("encryptionAlgorithm"),
    "encryptionAlgorithm AES_CBC": _with("encryptionAlgorithm", "AES_CBC"),
    "encryptionAlgorithm lower case": _with("encryptionAlgorithm", "aes_gcm"),
    "CDIV algorithm SHA_1": _with("ciphertextDataIntegrityValueAlgorithm", "SHA_1"),
    "AAD as an object": _with("additionalAuthenticatedData", {"a": 1}),
}


@pytest.mark.parametrize("name", BAD_ENCRYPT, ids=list(BAD_ENCRYPT))
def test_missing_or_mistyped_encrypt_fields_are_validation_exception(
    store_a: Store, xks: Xks, name: str
) -> None:
    body = BAD_ENCRYPT[name](encrypt_body(b"x", b"aad"))
    assert_xks_error(xks.call(store_a, store_a.url("encrypt"), body), 400, "ValidationException")
    assert not KeyOperationCount.objects.exists()


BAD_DECRYPT = {
    "no ciphertext": (_without("ciphertext"), "ValidationException"),
    "no IV": (_without("initializationVector"), "ValidationException"),
    "no tag": (_without("authenticationTag"), "ValidationException"),
    "IV not Base64": (_with("initializationVector", "%%%"), "ValidationException"),
    "ciphertextMetadata of 21 bytes": (_with("ciphertextMetadata", b64(bytes(21))), "ValidationException"),
    "ciphertextMetadata as a number": (_with("ciphertextMetadata", 1), "ValidationException"),
    "encryptionAlgorithm missing": (_without("encryptionAlgorithm"), "ValidationException"),
    "IV of 64 bytes": (_with("initializationVector", b64(bytes(64))), "InvalidCiphertextException"),
    "tag of 32 bytes": (_with("authenticationTag", b64(bytes(32))), "InvalidCiphertextException"),
}


@pytest.mark.parametrize("name", BAD_DECRYPT, ids=list(BAD_DECRYPT))
def test_malformed_decrypt_fields_get_the_right_error(store_a: Store, xks: Xks, name: str) -> None:
    change, error = BAD_DECRYPT[name]
    body = change(decrypt_body(xks.ok(store_a, store_a.url("encrypt"), encrypt_body(b"x"))))
    assert_xks_error(xks.call(store_a, store_a.url("decrypt"), body), 400, error)


@pytest.mark.parametrize("body", [{}, {"requestMetadata": {}}, {"requestMetadata": {"kmsOperation": "X"}}])
def test_health_without_its_metadata_is_validation_exception_as_the_test_client_expects(
    store_a: Store, xks: Xks, body: dict[str, Any]
) -> None:
    assert_xks_error(xks.call(store_a, store_a.url("health"), body), 400, "ValidationException")


@pytest.mark.parametrize("body", [{}, {"requestMetadata": {}}])
def test_key_metadata_without_its_metadata_is_validation_exception(
    store_a: Store, xks: Xks, body: dict[str, Any]
) -> None:
    assert_xks_error(xks.call(store_a, store_a.url("metadata"), body), 400, "ValidationException")


def test_unknown_fields_unfamiliar_operations_and_unusual_strings_are_accepted(
    store_a: Store, xks: Xks
) -> None:
    meta = metadata(
        "BulkEncrypt",  # a future KMS API must not be rejected as invalid
        awsPrincipalArn="arn:aws:iam::111122223333:user/Zo\u00eb\u202e\u0000",
        kmsRequestId="not-a-uuid \u2603",
        kmsViaService="ebs",
        awsSourceVpc="vpc-1",
        awsSourceVpce="vpce-1",
        sourceIdentity="alice",  # Appendix B: future metadata fields
    )
    meta["kmsKeyArn"] = "arn:aws:kms:us-east-1:111122223333:key/" + "k" * 1990  # 2048 characters in all
    assert len(meta["kmsKeyArn"]) <= 2048
    body = {**encrypt_body(b"x"), "requestMetadata": meta, "futureField": {"nested": [1, 2]}}
    encrypted = xks.ok(store_a, store_a.url("encrypt"), body)
    assert set(encrypted) >= {"ciphertext", "initializationVector", "authenticationTag"}


def test_an_oversized_body_is_refused_before_anything_else_is_read(store_a: Store, xks: Xks) -> None:
    body = {**encrypt_body(b"x"), "padding": "p" * 70_000}
    response = xks.call(store_a, store_a.url("encrypt"), body)
    assert_xks_error(response, 501, "UnsupportedOperationException")
    big = b"{" + b" " * 300_000 + b"}"  # beyond Django's own DATA_UPLOAD_MAX_MEMORY_SIZE too
    assert_xks_error(xks.call(store_a, store_a.url("health"), big), 501, "UnsupportedOperationException")


def test_success_responses_are_single_line_json(store_a: Store, xks: Xks) -> None:
    for action in ACTIONS:
        response = xks.call(store_a, store_a.url(action), valid_body(store_a, xks, action))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert b"\n" not in response.content
        json.loads(response.content)


def test_health_reports_a_deep_check_of_the_custody_behind_the_store(
    make_store: MakeStore, xks: Xks, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store("a", custody="pkcs11")
    body = xks.ok(store, store.url("health"), health_body())
    assert body["xksProxyFleetSize"] == 1 and body["xksProxyVendor"] and body["ekmVendor"]
    assert body["xksProxyModel"].startswith("Cockpit XKS proxy ")
    assert body["ekmFleetDetails"] == [
        {"id": "pkcs11", "model": "Cockpit custody: HSM (PKCS#11)", "healthStatus": "ACTIVE"}
    ]
    assert not KeyOperationCount.objects.exists()  # the store's own keys are never used for health
    checks: list[str] = []
    monkeypatch.setattr(health, "deep_check", lambda name: checks.append(name) or "ACTIVE")
    xks.ok(store, store.url("health"), health_body())
    assert checks == []  # cached: at most 30 s old


def test_health_reports_unavailable_when_the_custody_cannot_do_crypto(
    make_store: MakeStore, xks: Xks, settings: Any
) -> None:
    store = make_store("a", custody="pkcs11")
    settings.PKCS11_MODULE = ""  # the HSM is no longer configured
    body = xks.ok(store, store.url("health"), health_body())
    assert body["ekmFleetDetails"][0]["healthStatus"] == "UNAVAILABLE"


def test_deep_check_recreates_its_key_when_the_key_store_was_replaced(
    make_store: MakeStore, settings: Any, tmp_path: Any
) -> None:
    make_store("a")
    assert health.deep_check("software") == "ACTIVE"
    from keys.custody import reset_backends

    settings.SOFTWARE_KEY_DIR = tmp_path / "new-store"
    reset_backends()
    assert health.deep_check("software") == "ACTIVE"


def test_every_call_is_recorded_with_operation_outcome_and_kms_request_id(store_a: Store, xks: Xks) -> None:
    body = encrypt_body(b"x")
    xks.ok(store_a, store_a.url("encrypt"), body)
    xks.call(store_a, store_a.url("encrypt", "missing"), body)
    calls = list(ConnectorCall.objects.filter(binding=store_a.binding).order_by("at", "id"))
    assert [(c.operation, c.outcome) for c in calls] == [
        ("Encrypt", "OK"),
        ("Encrypt", "KeyNotFoundException"),
    ]
    assert calls[0].request_id == body["requestMetadata"]["kmsRequestId"] and calls[0].latency_ms > 0


def test_an_unexpected_failure_is_internal_exception_not_a_django_error_page(
    store_a: Store, xks: Xks, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(key: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(operations, "key_metadata", boom)
    response = xks.call(store_a, store_a.url("metadata"), {"requestMetadata": metadata("CreateKey")})
    body = assert_xks_error(response, 500, "InternalException")
    assert "bug" not in body.get("errorMessage", "")


def test_plaintext_never_reaches_logs_audit_or_the_database(
    make_store: MakeStore, xks: Xks, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    plaintext, aad = b"PLAINTEXT-" + os.urandom(12).hex().encode(), b"AAD-" + os.urandom(8).hex().encode()
    for custody_name in ("software", "pkcs11"):
        store = make_store("a", custody=custody_name)
        encrypted = xks.ok(store, store.url("encrypt"), encrypt_body(plaintext, aad, cdiv=True))
        decrypted = xks.ok(store, store.url("decrypt"), decrypt_body(encrypted, aad))
        assert base64.b64decode(decrypted["plaintext"]) == plaintext
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    forms = [plaintext, base64.b64encode(plaintext), plaintext.hex().encode(), aad, base64.b64encode(aad)]
    haystacks = {"logs": caplog.text.encode(), "database": dump.getvalue().encode()}
    for where, text in haystacks.items():
        for form in forms:
            assert form not in text, (where, form)
    assert b"kmsRequestId" in haystacks["logs"]  # the metadata is logged, as the spec asks


def test_hostile_requests_leave_no_state_behind_but_their_call_record(store_a: Store, xks: Xks) -> None:
    def snapshot() -> tuple[int, ...]:
        return (
            KeyOperationCount.objects.count(),
            KeyVersion.objects.count(),
            BindingCredential.objects.filter(revoked_at__isnull=True).count(),
            AuditEvent.objects.exclude(action__startswith="connector.xks_").count(),
        )

    before = snapshot()
    bodies = [*HOSTILE_BODIES.values(), *(change(encrypt_body(b"x")) for change in BAD_ENCRYPT.values())]
    for body in bodies:
        xks.call(store_a, store_a.url("encrypt"), body)
    xks.call(store_a, store_a.url("encrypt"), encrypt_body(b"x"), secret="Invalid" + store_a.secret)
    assert snapshot() == before
    assert ConnectorCall.objects.filter(binding=store_a.binding).count() == len(bodies) + 1


def test_headers_signed_for_one_store_do_not_open_another(store_a: Store, store_b: Store, xks: Xks) -> None:
    raw = json.dumps(encrypt_body(b"x")).encode()
    headers = botocore_headers(
        method="POST", path=store_a.url("encrypt"), body=raw, access_key_id=store_a.access_key_id,
        secret=store_a.secret,
    )  # fmt: skip
    response = xks.send(store_b.url("encrypt", store_a.external_id), raw, headers)
    assert_xks_error(response, 401, "AuthenticationFailedException")


@pytest.mark.usefixtures("mpc_custody")
def test_health_lists_each_mpc_node_and_a_dead_one_as_unavailable(
    world: Any, django_capture_on_commit_callbacks: Any, mpc_custody: Any, xks: Xks
) -> None:
    from connectors import services as connector_services
    from testkit import make_key

    key = make_key(
        django_capture_on_commit_callbacks,
        tenant=world.tenant_a,
        actor=world.admin_a,
        custody="mpc",
        name="m",
    )
    binding = connector_services.binding_create(
        actor="test", tenant=world.tenant_a, kind="aws_xks", name="mpc-store", route="xks/mpc-store",
        keys=[connector_services.KeyRef(str(key.pk), "mpc-key")], settings={"secondary_authorization": []},
    )  # fmt: skip
    from xkskit import Store

    credential = binding.credentials.get()
    store = Store(
        binding=binding, key=key, external_id="mpc-key", access_key_id=credential.access_key_id,
        secret=connector_services.credential_secret(credential),
    )  # fmt: skip
    from connectors.aws_xks import health

    health.forget()
    body = {"requestMetadata": {"kmsRequestId": "r", "kmsOperation": "KmsHealthCheck"}}
    xks.ok(store, store.url("health"), body)  # creates the health key while all nodes are up (DKG needs n)
    health._results.clear()  # only the cached result: the next call checks again
    mpc_custody.cluster.kill(3)
    fleet = xks.ok(
        store,
        store.url("health"),
        {"requestMetadata": {"kmsRequestId": "r", "kmsOperation": "KmsHealthCheck"}},
    )["ekmFleetDetails"]
    by_id = {entry["id"]: entry["healthStatus"] for entry in fleet}
    assert by_id == {"mpc-node-1": "ACTIVE", "mpc-node-2": "ACTIVE", "mpc-node-3": "UNAVAILABLE"}
