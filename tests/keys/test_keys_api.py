"""The keys API: contract battery for every endpoint, then precise errors for bad input."""

from __future__ import annotations

import base64
import json
from typing import Any, ClassVar

import pytest
from django.test import Client

from keys.models import Key, KeyState
from testkit import TenantApiContract, World, assert_error, make_key, verified_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("custody")]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def keys(world: World, django_capture_on_commit_callbacks: Any) -> World:
    """One enabled key of each usage in tenant A, and one in tenant B."""
    make = make_key
    world.extras["aes_a"] = make(
        django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a, name="aes"
    )
    world.extras["wrap_a"] = make(
        django_capture_on_commit_callbacks,
        tenant=world.tenant_a,
        actor=world.admin_a,
        name="wrap",
        usage="WRAP_UNWRAP",
    )
    world.extras["sig_a"] = make(
        django_capture_on_commit_callbacks,
        tenant=world.tenant_a,
        actor=world.admin_a,
        name="sig",
        spec="ED25519",
        usage="SIGN_VERIFY",
    )
    world.extras["aes_b"] = make(
        django_capture_on_commit_callbacks, tenant=world.tenant_b, actor=world.admin_b, name="aes"
    )
    world.extras["wrap_b"] = make(
        django_capture_on_commit_callbacks,
        tenant=world.tenant_b,
        actor=world.admin_b,
        name="wrap",
        usage="WRAP_UNWRAP",
    )
    world.extras["sig_b"] = make(
        django_capture_on_commit_callbacks,
        tenant=world.tenant_b,
        actor=world.admin_b,
        name="sig",
        spec="ED25519",
        usage="SIGN_VERIFY",
    )
    return world


class KeyEndpoint(TenantApiContract):
    """A per-key endpoint: ``verb`` appended to /api/v1/keys/<id>; ``kind`` picks which key."""

    verb: ClassVar[str] = ""
    kind: ClassVar[str] = "aes"

    @pytest.fixture(autouse=True)
    def _keys(self, keys: World) -> None:
        pass

    def _url(self, key: Key) -> str:
        return f"/api/v1/keys/{key.pk}" + (f"/{self.verb}" if self.verb else "")

    def own_url(self, world: World) -> str:
        return self._url(world.extras[f"{self.kind}_a"])

    def other_url(self, world: World) -> str:
        return self._url(world.extras[f"{self.kind}_b"])


class TestKeyList(TenantApiContract):
    collection = True

    def own_url(self, world: World) -> str:
        return "/api/v1/keys"

    other_url = own_url


class TestKeyCreate(TenantApiContract):
    method = "post"
    collection = True
    body: ClassVar[dict[str, Any]] = {
        "name": "new",
        "spec": "AES_256",
        "usage": "ENCRYPT_DECRYPT",
        "custody": "software",
    }

    def own_url(self, world: World) -> str:
        return "/api/v1/keys"

    other_url = own_url


class TestKeyDetail(KeyEndpoint):
    pass


class TestKeyUpdate(KeyEndpoint):
    method = "patch"
    body: ClassVar[dict[str, Any]] = {"description": "payments"}


class TestKeyRotate(KeyEndpoint):
    method = "post"
    verb = "rotate"
    takes_body = False


class TestKeyDisable(KeyEndpoint):
    method = "post"
    verb = "disable"
    takes_body = False


class TestKeyEnable(KeyEndpoint):
    method = "post"
    verb = "enable"
    takes_body = False


class TestKeyScheduleDeletion(KeyEndpoint):
    method = "post"
    verb = "schedule-deletion"
    body: ClassVar[dict[str, Any]] = {"waiting_days": 7}


class TestKeyCancelDeletion(KeyEndpoint):
    method = "post"
    verb = "cancel-deletion"
    takes_body = False


class TestKeyEncrypt(KeyEndpoint):
    method = "post"
    verb = "encrypt"
    body: ClassVar[dict[str, Any]] = {"plaintext": b64(b"hello")}


class TestKeyDecrypt(KeyEndpoint):
    method = "post"
    verb = "decrypt"
    body: ClassVar[dict[str, Any]] = {"ciphertext": b64(b"\x00" * 64)}


class TestKeyGenerateDataKey(KeyEndpoint):
    method = "post"
    verb = "generate-data-key"
    body: ClassVar[dict[str, Any]] = {"number_of_bytes": 32}


class TestKeySign(KeyEndpoint):
    method = "post"
    verb = "sign"
    kind = "sig"
    body: ClassVar[dict[str, Any]] = {"message": b64(b"m"), "algorithm": "ED25519"}


class TestKeyVerify(KeyEndpoint):
    method = "post"
    verb = "verify"
    kind = "sig"
    body: ClassVar[dict[str, Any]] = {
        "message": b64(b"m"),
        "signature": b64(b"\x00" * 64),
        "algorithm": "ED25519",
    }


class TestKeyWrap(KeyEndpoint):
    method = "post"
    verb = "wrap"
    kind = "wrap"
    body: ClassVar[dict[str, Any]] = {"key_material": b64(b"k" * 32)}


class TestKeyUnwrap(KeyEndpoint):
    method = "post"
    verb = "unwrap"
    kind = "wrap"
    body: ClassVar[dict[str, Any]] = {"wrapped": b64(b"\x00" * 40)}


class TestKeyPublicKey(KeyEndpoint):
    verb = "public-key"
    kind = "sig"


# --- behaviour through the API --------------------------------------------------------------------------


def api(world: World) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {world.token_a}")


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_encrypt_decrypt_round_trip_over_the_api(keys: World) -> None:
    key = keys.extras["aes_a"]
    sealed = post(
        api(keys), f"/api/v1/keys/{key.pk}/encrypt", {"plaintext": b64(b"hello"), "aad": b64(b"ctx")}
    )
    assert sealed.status_code == 200 and sealed.json()["key_version"] == 1
    opened = post(
        api(keys),
        f"/api/v1/keys/{key.pk}/decrypt",
        {"ciphertext": sealed.json()["ciphertext"], "aad": b64(b"ctx")},
    )
    assert base64.b64decode(opened.json()["plaintext"]) == b"hello"


def test_create_over_the_api_is_a_request_that_officers_approve(
    keys: World, django_capture_on_commit_callbacks: Any
) -> None:
    from approvals.selectors import request_of
    from testkit import approve_all

    body = {"name": "svc", "spec": "EC_P256", "usage": "SIGN_VERIFY", "custody": "pkcs11"}
    response = post(api(keys), "/api/v1/keys", body)
    assert response.status_code == 202
    filed = response.json()["approval_request"]
    assert (
        filed["operation"] == "keys.create"
        and filed["state"] == "pending"
        and filed["required_approvals"] == 2
    )
    assert not Key.objects.filter(tenant=keys.tenant_a, name="svc").exists()
    with django_capture_on_commit_callbacks(execute=True):
        approve_all(request_of(tenant=keys.tenant_a, request_id=filed["id"]), keys.officer_a, keys.officer2_a)
    key = Key.objects.get(tenant=keys.tenant_a, name="svc")
    detail = api(keys).get(f"/api/v1/keys/{key.pk}").json()
    assert detail["state"] == "enabled" and detail["custody_label"] == "HSM (PKCS#11)"
    assert detail["versions"][0]["state"] == "active"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"plaintext": "not base64!!"}, 400, "invalid_request"),
        ({"plaintext": 42}, 400, "invalid_request"),
        ({}, 400, "invalid_request"),
        ({"plaintext": b64(b"x" * 4301)}, 413, "input_too_large"),
        ({"plaintext": b64(b"x"), "aad": b64(b"a" * 8201)}, 413, "input_too_large"),
        ({"plaintext": "A" * 200_000}, 413, "input_too_large"),
    ],
)
def test_bad_encrypt_input_gets_a_precise_error(
    keys: World, body: dict[str, Any], status: int, code: str
) -> None:
    response = post(api(keys), f"/api/v1/keys/{keys.extras['aes_a'].pk}/encrypt", body)
    assert_error(response, status, code)


@pytest.mark.parametrize("ciphertext", [b"", b"\x00" * 10, b"CKP\x01" + b"\x00" * 60, b"garbage" * 30])
def test_bad_ciphertext_is_400_invalid_ciphertext(keys: World, ciphertext: bytes) -> None:
    response = post(
        api(keys), f"/api/v1/keys/{keys.extras['aes_a'].pk}/decrypt", {"ciphertext": b64(ciphertext)}
    )
    assert_error(response, 400, "invalid_ciphertext")


def test_wrong_usage_disabled_and_unknown_keys_have_their_own_errors(keys: World) -> None:
    client = api(keys)
    wrap_key, aes_key = keys.extras["wrap_a"], keys.extras["aes_a"]
    assert_error(
        post(client, f"/api/v1/keys/{wrap_key.pk}/encrypt", {"plaintext": b64(b"x")}), 400, "wrong_key_usage"
    )
    post(client, f"/api/v1/keys/{aes_key.pk}/disable", {})
    assert_error(
        post(client, f"/api/v1/keys/{aes_key.pk}/encrypt", {"plaintext": b64(b"x")}), 409, "key_disabled"
    )
    assert_error(
        post(client, "/api/v1/keys/00000000-0000-0000-0000-000000000000/encrypt", {"plaintext": b64(b"x")}),
        404,
        "not_found",
    )
    assert_error(post(client, "/api/v1/keys/not-a-uuid/encrypt", {"plaintext": b64(b"x")}), 404, "not_found")


def test_lifecycle_conflicts_are_409_and_change_nothing(keys: World) -> None:
    key = keys.extras["aes_a"]
    assert_error(post(api(keys), f"/api/v1/keys/{key.pk}/enable", {}), 409, "invalid_key_state")
    assert_error(post(api(keys), f"/api/v1/keys/{key.pk}/cancel-deletion", {}), 409, "invalid_key_state")
    assert_error(
        post(api(keys), f"/api/v1/keys/{key.pk}/schedule-deletion", {"waiting_days": 3}),
        400,
        "invalid_request",
    )
    key.refresh_from_db()
    assert key.state == KeyState.ENABLED and key.deletion_date is None


def test_ciphertext_of_tenant_b_cannot_be_opened_by_tenant_a(keys: World) -> None:
    client_b = Client(HTTP_AUTHORIZATION=f"Bearer {keys.token_b}")
    sealed = post(
        client_b, f"/api/v1/keys/{keys.extras['aes_b'].pk}/encrypt", {"plaintext": b64(b"b's secret")}
    ).json()
    response = post(
        api(keys), f"/api/v1/keys/{keys.extras['aes_a'].pk}/decrypt", {"ciphertext": sealed["ciphertext"]}
    )
    assert_error(response, 400, "invalid_ciphertext")


def test_officer_disables_at_once_but_enabling_is_a_request(keys: World) -> None:
    key = keys.extras["aes_a"]
    officer = verified_client(keys.officer_a)
    header = {"HTTP_X_COCKPIT_TENANT": keys.tenant_a.slug}
    assert officer.post(f"/api/v1/keys/{key.pk}/disable", **header).status_code == 200
    response = officer.post(f"/api/v1/keys/{key.pk}/enable", **header)
    assert response.status_code == 202 and response.json()["approval_request"]["operation"] == "keys.enable"
    key.refresh_from_db()
    assert key.state == KeyState.DISABLED


def test_duplicate_name_is_409(keys: World) -> None:
    body = {"name": "aes", "spec": "AES_256", "usage": "ENCRYPT_DECRYPT", "custody": "software"}
    assert_error(post(api(keys), "/api/v1/keys", body), 409, "conflict")
    assert Key.objects.filter(tenant=keys.tenant_a, name="aes").count() == 1
