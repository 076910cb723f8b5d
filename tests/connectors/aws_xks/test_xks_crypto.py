"""XKS Encrypt, Decrypt and GetKeyMetadata through the real key service, on software and PKCS#11 custody."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from typing import Any

import pytest
from xkskit import MakeStore, Store, Xks, assert_xks_error, b64, decrypt_body, encrypt_body, metadata

from connectors.aws_xks import operations
from connectors.models import BindingKey
from keys import custody, service
from keys import errors as key_errors
from keys import services as key_services
from keys.backends import AeadCiphertext, BackendUnavailable
from keys.models import KeyOperationCount
from testkit import World, make_key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("custody")]
CUSTODY = ["software", "pkcs11"]


def raw(value: str) -> bytes:
    return base64.b64decode(value)


@pytest.mark.parametrize("custody_name", CUSTODY)
@pytest.mark.parametrize("aad", [b"kms blob header", None], ids=["aad", "no-aad"])
def test_encrypt_then_decrypt_round_trips_and_echoes_metadata(
    make_store: MakeStore, xks: Xks, custody_name: str, aad: bytes | None
) -> None:
    store = make_store("a", custody=custody_name)
    plaintext = os.urandom(32)
    encrypted = xks.ok(store, store.url("encrypt"), encrypt_body(plaintext, aad))
    assert set(encrypted) == {"ciphertext", "ciphertextMetadata", "initializationVector", "authenticationTag"}
    assert len(raw(encrypted["initializationVector"])) == 12
    assert len(raw(encrypted["authenticationTag"])) == 16
    assert len(raw(encrypted["ciphertext"])) == len(plaintext)  # tag not appended
    assert raw(encrypted["ciphertextMetadata"]) == b"\x01\x00\x00\x00\x01"  # scheme 1, key version 1
    decrypted = xks.ok(store, store.url("decrypt"), decrypt_body(encrypted, aad))
    assert raw(decrypted["plaintext"]) == plaintext


@pytest.mark.parametrize("custody_name", CUSTODY)
@pytest.mark.parametrize("aad", [b"project=nile,department=marketing", None], ids=["aad", "no-aad"])
def test_cdiv_matches_the_appendix_c_formula_and_follows_a_verifying_decrypt(
    make_store: MakeStore, xks: Xks, custody_name: str, aad: bytes | None
) -> None:
    store = make_store("a", custody=custody_name)
    encrypted = xks.ok(store, store.url("encrypt"), encrypt_body(b"data key", aad, cdiv=True))
    fields = ("ciphertextMetadata", "initializationVector", "ciphertext", "authenticationTag")
    expected = hashlib.sha256((aad or b"") + b"".join(raw(encrypted[f]) for f in fields)).digest()
    assert raw(encrypted["ciphertextDataIntegrityValue"]) == expected
    counts = {c.operation: c.succeeded for c in KeyOperationCount.objects.filter(key=store.key)}
    assert counts == {"encrypt": 1, "decrypt": 1}  # the verification decrypt ran, through the key service


def test_cdiv_function_reproduces_the_spec_example_vector() -> None:
    digest = operations.cdiv(
        b"project=nile,department=marketing",
        b"key_version=1",
        raw("HMrlRw85cAJUd5Ax"),
        raw("ghxkK1txeDNn3q8Y"),
        raw("vBxN2ncH1oEkR8WVXpmyYQ=="),
    )
    assert digest.hex() == "a8703f2260bd8791ec2d15ea0b23e65a0631eedcf2a13a65cc82db3f47cf5ec7"
    assert b64(digest) == "qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc="


def test_gcm_aad_is_length_prefixed_exactly_as_the_spec_describes() -> None:
    assert operations.gcm_aad(b"ab", b"\x01\x00\x00\x00\x07") == b"\x00\x02ab\x05\x01\x00\x00\x00\x07"
    assert operations.gcm_aad(b"", b"") == b"\x00\x00\x00"
    assert operations.gcm_aad(b"x" * 8192, b"")[:2] == b"\x20\x00"


@pytest.mark.parametrize("custody_name", CUSTODY)
def test_ciphertext_opens_in_the_backend_with_the_spec_aad_built_by_hand(
    make_store: MakeStore, xks: Xks, custody_name: str
) -> None:
    store = make_store("a", custody=custody_name)
    aad = b"context"
    encrypted = xks.ok(store, store.url("encrypt"), encrypt_body(b"secret value", aad))
    md = raw(encrypted["ciphertextMetadata"])
    spec_aad = struct.pack(">H", len(aad)) + aad + struct.pack(">B", len(md)) + md
    sealed = AeadCiphertext(
        iv=raw(encrypted["initializationVector"]),
        ciphertext=raw(encrypted["ciphertext"]),
        tag=raw(encrypted["authenticationTag"]),
    )
    handle = store.key.versions.get(number=1).handle
    assert (
        custody.get_backend(custody_name).decrypt(handle, ciphertext=sealed, aad=spec_aad) == b"secret value"
    )


def _flip(value: str) -> str:
    data = bytearray(raw(value))
    data[0] ^= 1
    return b64(bytes(data))


TAMPERING: dict[str, Any] = {
    "different AAD": lambda body: {**body, "additionalAuthenticatedData": b64(b"other")},
    "missing AAD": lambda body: {k: v for k, v in body.items() if k != "additionalAuthenticatedData"},
    "metadata dropped": lambda body: {k: v for k, v in body.items() if k != "ciphertextMetadata"},
    "metadata moved into the AAD": lambda body: {
        **{k: v for k, v in body.items() if k != "ciphertextMetadata"},
        "additionalAuthenticatedData": body["ciphertextMetadata"],
    },
    "metadata names version 2": lambda body: {**body, "ciphertextMetadata": b64(b"\x01\x00\x00\x00\x02")},
    "metadata of an unknown scheme": lambda body: {
        **body,
        "ciphertextMetadata": b64(b"\x09\x00\x00\x00\x01"),
    },
    "tag flipped": lambda body: {**body, "authenticationTag": _flip(body["authenticationTag"])},
    "IV flipped": lambda body: {**body, "initializationVector": _flip(body["initializationVector"])},
    "ciphertext flipped": lambda body: {**body, "ciphertext": _flip(body["ciphertext"])},
    "16-byte IV": lambda body: {**body, "initializationVector": b64(bytes(16))},
    "8-byte IV": lambda body: {**body, "initializationVector": b64(bytes(8))},
    "short tag": lambda body: {**body, "authenticationTag": b64(bytes(12))},
}


@pytest.mark.parametrize("custody_name", CUSTODY)
@pytest.mark.parametrize("change", TAMPERING, ids=list(TAMPERING))
def test_decrypt_refuses_tampered_input_as_invalid_ciphertext(
    make_store: MakeStore, xks: Xks, custody_name: str, change: str
) -> None:
    store = make_store("a", custody=custody_name)
    encrypted = xks.ok(store, store.url("encrypt"), encrypt_body(b"payload", b"aad"))
    body = TAMPERING[change](decrypt_body(encrypted, b"aad"))
    response = xks.call(store, store.url("decrypt"), body)
    assert_xks_error(response, 400, "InvalidCiphertextException")
    assert "payload" not in response.content.decode()


def test_old_ciphertext_still_decrypts_after_rotation_and_new_one_names_version_2(
    make_store: MakeStore, xks: Xks, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    store = make_store("a")
    before = xks.ok(store, store.url("encrypt"), encrypt_body(b"v1 data"))
    with django_capture_on_commit_callbacks(execute=True):
        key_services.key_rotate(actor=world.admin_a, key=store.key)
    after = xks.ok(store, store.url("encrypt"), encrypt_body(b"v2 data"))
    assert raw(after["ciphertextMetadata"]) == b"\x01\x00\x00\x00\x02"
    assert raw(xks.ok(store, store.url("decrypt"), decrypt_body(before))["plaintext"]) == b"v1 data"
    assert raw(xks.ok(store, store.url("decrypt"), decrypt_body(after))["plaintext"]) == b"v2 data"


def test_key_metadata_reports_aes_256_encrypt_decrypt_and_enabled(store_a: Store, xks: Xks) -> None:
    body = xks.ok(store_a, store_a.url("metadata"), {"requestMetadata": metadata("CreateKey")})
    assert body == {"keySpec": "AES_256", "keyUsage": ["ENCRYPT", "DECRYPT"], "keyStatus": "ENABLED"}


def test_disabled_key_reads_disabled_and_refuses_encrypt_and_decrypt_with_invalid_state(
    store_a: Store, xks: Xks, world: World
) -> None:
    encrypted = xks.ok(store_a, store_a.url("encrypt"), encrypt_body(b"x"))
    key_services.key_disable(actor=world.admin_a, key=store_a.key)
    described = xks.ok(store_a, store_a.url("metadata"), {"requestMetadata": metadata("DescribeKey")})
    assert described["keyStatus"] == "DISABLED"
    assert_xks_error(
        xks.call(store_a, store_a.url("encrypt"), encrypt_body(b"x")), 400, "InvalidStateException"
    )
    response = xks.call(store_a, store_a.url("decrypt"), decrypt_body(encrypted))
    assert_xks_error(response, 400, "InvalidStateException")


def test_a_bound_key_without_encrypt_usage_gives_invalid_key_usage(
    store_a: Store, xks: Xks, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    # binding_create refuses such keys; bind one behind its back to prove the proxy checks again.
    wrap = make_key(
        django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a, usage="WRAP_UNWRAP"
    )
    BindingKey.objects.create(binding=store_a.binding, key=wrap, external_id="wrap-key")
    described = xks.ok(
        store_a, store_a.url("metadata", "wrap-key"), {"requestMetadata": metadata("CreateKey")}
    )
    assert described["keyUsage"] == ["WRAP", "UNWRAP"]
    response = xks.call(store_a, store_a.url("encrypt", "wrap-key"), encrypt_body(b"x", cdiv=True))
    assert_xks_error(response, 400, "InvalidKeyUsageException")
    good = xks.ok(store_a, store_a.url("encrypt"), encrypt_body(b"x"))
    response = xks.call(store_a, store_a.url("decrypt", "wrap-key"), decrypt_body(good))
    assert_xks_error(response, 400, "InvalidKeyUsageException")


@pytest.mark.parametrize("action", ["metadata", "encrypt", "decrypt"])
def test_unknown_external_key_id_is_key_not_found(store_a: Store, xks: Xks, action: str) -> None:
    body = encrypt_body(b"x") if action != "metadata" else {"requestMetadata": metadata("CreateKey")}
    if action == "decrypt":
        body = decrypt_body(xks.ok(store_a, store_a.url("encrypt"), encrypt_body(b"x")))
    for external_id in ("non_existing_key", "x" * 129, "a..b", "A" * 128, store_a.external_id.upper()):
        response = xks.call(store_a, store_a.url(action, external_id), body)
        assert_xks_error(response, 404, "KeyNotFoundException")


@pytest.mark.parametrize("action", ["metadata", "encrypt", "decrypt"])
def test_tenant_b_cannot_reach_tenant_a_key_through_its_own_prefix(
    store_a: Store, store_b: Store, xks: Xks, action: str
) -> None:
    encrypted = xks.ok(store_a, store_a.url("encrypt"), encrypt_body(b"tenant A data"))
    bodies = {
        "metadata": {"requestMetadata": metadata("CreateKey")},
        "encrypt": encrypt_body(b"x"),
        "decrypt": decrypt_body(encrypted),
    }
    response = xks.call(store_b, store_b.url(action, store_a.external_id), bodies[action])
    assert_xks_error(response, 404, "KeyNotFoundException")
    assert not KeyOperationCount.objects.filter(key=store_a.key, operation="decrypt").exists()


def test_a_binding_row_pointing_at_another_tenants_key_is_still_not_found(
    store_a: Store, store_b: Store, xks: Xks
) -> None:
    BindingKey.objects.create(binding=store_b.binding, key=store_a.key, external_id="smuggled")
    response = xks.call(store_b, store_b.url("encrypt", "smuggled"), encrypt_body(b"x"))
    assert_xks_error(response, 404, "KeyNotFoundException")


@pytest.mark.parametrize(("size", "aad_size"), [(4300, 0), (4096, 8192)], ids=["4300B", "test-client"])
def test_spec_minimum_sizes_are_supported(make_store: MakeStore, xks: Xks, size: int, aad_size: int) -> None:
    store = make_store("a")
    plaintext, aad = os.urandom(size), os.urandom(aad_size)
    encrypted = xks.ok(store, store.url("encrypt"), encrypt_body(plaintext, aad, cdiv=True))
    assert raw(xks.ok(store, store.url("decrypt"), decrypt_body(encrypted, aad))["plaintext"]) == plaintext


@pytest.mark.parametrize(
    ("field", "size"),
    [("plaintext", 4301), ("additionalAuthenticatedData", 8193), ("plaintext", 40_000)],
)
def test_inputs_above_our_limits_are_unsupported_operation(
    store_a: Store, xks: Xks, field: str, size: int
) -> None:
    body = {**encrypt_body(b"x"), field: b64(os.urandom(size))}
    assert_xks_error(xks.call(store_a, store_a.url("encrypt"), body), 501, "UnsupportedOperationException")
    assert not KeyOperationCount.objects.exists()


def test_ciphertext_above_our_limit_is_unsupported_operation(store_a: Store, xks: Xks) -> None:
    encrypted = xks.ok(store_a, store_a.url("encrypt"), encrypt_body(b"x"))
    body = {**decrypt_body(encrypted), "ciphertext": b64(os.urandom(4301))}
    assert_xks_error(xks.call(store_a, store_a.url("decrypt"), body), 501, "UnsupportedOperationException")


class _Down:
    def encrypt(self, *args: Any, **kwargs: Any) -> Any:
        raise BackendUnavailable()

    decrypt = encrypt


def test_unreachable_custody_is_dependency_timeout(
    store_a: Store, xks: Xks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service.custody, "get_backend", lambda name: _Down())
    response = xks.call(store_a, store_a.url("encrypt"), encrypt_body(b"x"))
    assert_xks_error(response, 503, "DependencyTimeoutException")


def test_a_failed_verification_decrypt_returns_no_ciphertext(
    store_a: Store, xks: Xks, monkeypatch: pytest.MonkeyPatch
) -> None:
    def corrupt(**kwargs: Any) -> bytes:
        raise key_errors.InvalidCiphertext()

    monkeypatch.setattr(operations.service, "aead_decrypt", corrupt)
    response = xks.call(store_a, store_a.url("encrypt"), encrypt_body(b"x", cdiv=True))
    body = assert_xks_error(response, 500, "InternalException")
    assert "ciphertext" not in body
