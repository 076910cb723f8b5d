"""SigV4: what KMS (botocore) and curl sign verifies; everything else is 401, audited on the key store."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from xkskit import (
    MakeStore,
    Store,
    Xks,
    assert_xks_error,
    b64,
    botocore_headers,
    curl_style_headers,
    encrypt_body,
    health_body,
)

from audit.models import AuditEvent
from connectors import services
from connectors.aws_xks import sigv4
from connectors.models import ConnectorCall
from testkit import World

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("custody")]
SCOPE = "20240101/us-east-1/kms-xks-proxy/aws4_request"


def test_kms_style_request_signing_host_and_x_amz_date_is_accepted(store_a: Store, xks: Xks) -> None:
    raw = json.dumps(health_body()).encode()
    path = store_a.url("health")
    headers = botocore_headers(
        method="POST", path=path, body=raw, access_key_id=store_a.access_key_id, secret=store_a.secret
    )
    assert "SignedHeaders=host;x-amz-date," in headers["Authorization"]
    response = xks.send(path, raw, headers)
    assert response.status_code == 200, response.content
    assert '"healthStatus":' in response.content.decode()


@pytest.mark.parametrize("host", ["testserver", "localhost:8000", "127.0.0.1:8443"])
def test_curl_style_request_signing_content_type_and_host_with_port_is_accepted(
    store_a: Store, xks: Xks, host: str
) -> None:
    raw = json.dumps(encrypt_body(b"hello")).encode()
    path = store_a.url("encrypt")
    headers = curl_style_headers(
        path=path, body=raw, access_key_id=store_a.access_key_id, secret=store_a.secret, host=host
    )
    assert "SignedHeaders=content-type;host;x-amz-date," in headers["Authorization"]
    response = xks.send(path, raw, headers)
    assert response.status_code == 200, response.content
    assert '"ciphertext":' in response.content.decode()


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl binary")
def test_real_curl_aws_sigv4_request_is_accepted(
    live_server: Any, make_store: MakeStore, world: World, tmp_path: Any
) -> None:
    store = make_store("a")
    body = tmp_path / "body.json"
    body.write_text(json.dumps(encrypt_body(b"from curl")))
    result = subprocess.run(
        ["curl", "-s", "--max-time", "20", "--aws-sigv4", "aws:amz:eu-west-1:kms-xks-proxy",
         "--user", f"{store.access_key_id}:{store.secret}", "-H", "Content-Type: application/json",
         "--data-binary", f"@{body}", f"{live_server.url}{store.url('encrypt')}"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout.splitlines()[-1])) >= {"ciphertext", "authenticationTag"}


def test_every_region_in_the_credential_scope_is_accepted(store_a: Store, xks: Xks) -> None:
    response = xks.call(store_a, store_a.url("health"), health_body(), region="ap-southeast-2")
    assert response.status_code == 200, response.content


def test_both_credentials_of_a_rotation_pair_work_and_a_revoked_one_does_not(
    store_a: Store, xks: Xks, world: World
) -> None:
    old = store_a.binding.credentials.get()
    new = services.credential_issue(actor=world.admin_a, binding=store_a.binding)
    new_secret = services.credential_secret(new)
    path = store_a.url("health")
    assert xks.call(store_a, path, health_body()).status_code == 200
    response = xks.call(store_a, path, health_body(), access_key_id=new.access_key_id, secret=new_secret)
    assert response.status_code == 200
    services.credential_revoke(actor=world.admin_a, credential=old)
    assert_xks_error(xks.call(store_a, path, health_body()), 401, "AuthenticationFailedException")
    response = xks.call(store_a, path, health_body(), access_key_id=new.access_key_id, secret=new_secret)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("offset", "status"),
    [(timedelta(minutes=-4, seconds=-50), 200), (timedelta(minutes=4, seconds=50), 200),
     (timedelta(minutes=-5, seconds=-10), 401), (timedelta(minutes=5, seconds=10), 401),
     (timedelta(days=-1), 401)],
)  # fmt: skip
def test_request_time_must_be_within_five_minutes(
    store_a: Store, xks: Xks, offset: timedelta, status: int
) -> None:
    response = xks.call(store_a, store_a.url("health"), health_body(), when=datetime.now(UTC) + offset)
    assert response.status_code == status, response.content
    if status == 401:
        assert "5 minutes" in assert_xks_error(response, 401, "AuthenticationFailedException")["errorMessage"]


@pytest.mark.parametrize(
    "who",
    ["unknown access key id", "wrong secret", "tenant B's credential", "wrong service", "no signature"],
)
def test_bad_credentials_are_authentication_failed_and_audited(
    store_a: Store, store_b: Store, xks: Xks, who: str
) -> None:
    path, raw = store_a.url("encrypt"), json.dumps(encrypt_body(b"x")).encode()
    sign: dict[str, Any] = {"access_key_id": store_a.access_key_id, "secret": store_a.secret}
    if who == "unknown access key id":  # what the AWS test client sends
        sign["access_key_id"] = "Invalid" + store_a.access_key_id
    elif who == "wrong secret":
        sign["secret"] = "Invalid" + store_a.secret
    elif who == "tenant B's credential":
        sign = {"access_key_id": store_b.access_key_id, "secret": store_b.secret}
    elif who == "wrong service":
        sign["service"] = "kms"
    headers = botocore_headers(method="POST", path=path, body=raw, **sign)
    if who == "no signature":
        headers.pop("Authorization")
    assert_xks_error(xks.send(path, raw, headers), 401, "AuthenticationFailedException")
    event = AuditEvent.objects.get(action="connector.xks_authentication_failed")
    assert event.tenant_id == store_a.binding.tenant_id and event.outcome == "denied"
    assert event.target_id == str(store_a.binding.pk) and event.actor_type == "anonymous"
    assert event.details["operation"] == "Encrypt" and event.details["reason"]
    assert store_a.secret not in json.dumps(event.details)
    call = ConnectorCall.objects.get(binding=store_a.binding)
    assert call.outcome == "AuthenticationFailedException" and call.operation == "Encrypt"
    assert not ConnectorCall.objects.filter(binding=store_b.binding).exists()


def _signed(store: Store, body: bytes, **extra: Any) -> dict[str, str]:
    path = store.url("encrypt")
    return botocore_headers(
        method="POST", path=path, body=body, access_key_id=store.access_key_id, secret=store.secret, **extra
    )


def test_a_body_changed_after_signing_is_refused(store_a: Store, xks: Xks) -> None:
    signed_body = json.dumps(encrypt_body(b"what was signed")).encode()
    headers = _signed(store_a, signed_body)
    other = json.dumps(encrypt_body(b"what was sent")).encode()
    assert_xks_error(xks.send(store_a.url("encrypt"), other, headers), 401, "AuthenticationFailedException")


@pytest.mark.parametrize("header", ["Host", "X-Amz-Date", "Authorization"])
def test_changed_signed_headers_are_refused(store_a: Store, xks: Xks, header: str) -> None:
    raw = json.dumps(encrypt_body(b"x")).encode()
    headers = _signed(store_a, raw)
    if header == "Host":
        headers[header] = "localhost:8000"
    elif header == "X-Amz-Date":  # one second earlier
        stamp = datetime.strptime(headers[header], "%Y%m%dT%H%M%SZ") - timedelta(seconds=1)
        headers[header] = stamp.strftime("%Y%m%dT%H%M%SZ")
    else:
        last = headers[header][-1]
        headers[header] = headers[header][:-1] + ("0" if last != "0" else "1")
    assert_xks_error(xks.send(store_a.url("encrypt"), raw, headers), 401, "AuthenticationFailedException")


def test_a_signed_content_sha256_header_cannot_vouch_for_another_body(store_a: Store, xks: Xks) -> None:
    signed_body = json.dumps(encrypt_body(b"honest")).encode()
    digest = hashlib.sha256(signed_body).hexdigest()
    headers = _signed(store_a, signed_body, extra={"X-Amz-Content-SHA256": digest})
    assert "x-amz-content-sha256" in headers["Authorization"]
    assert xks.send(store_a.url("encrypt"), signed_body, headers).status_code == 200
    forged = json.dumps(encrypt_body(b"forged")).encode()
    response = xks.send(store_a.url("encrypt"), forged, headers)
    assert_xks_error(response, 401, "AuthenticationFailedException")


def test_host_and_x_amz_date_must_both_be_signed(store_a: Store, xks: Xks) -> None:
    raw = json.dumps(health_body()).encode()
    headers = _signed(store_a, raw)
    headers["Authorization"] = headers["Authorization"].replace(
        "SignedHeaders=host;x-amz-date", "SignedHeaders=x-amz-date"
    )
    body = assert_xks_error(
        xks.send(store_a.url("encrypt"), raw, headers), 401, "AuthenticationFailedException"
    )
    assert "must be signed" in body["errorMessage"]


def test_an_unknown_prefix_is_invalid_uri_path_before_credentials_are_looked_at(
    store_a: Store, xks: Xks
) -> None:
    unsigned = xks.send("/xks/nobody/kms/xks/v1/health", b"{}", {})
    assert_xks_error(unsigned, 404, "InvalidUriPathException")
    wrong_prefix = "/" + store_a.binding.route + "x/kms/xks/v1/health"
    signed = botocore_headers(
        method="POST",
        path=wrong_prefix,
        body=b"{}",
        access_key_id=store_a.access_key_id,
        secret=store_a.secret,
    )
    assert_xks_error(xks.send(wrong_prefix, b"{}", signed), 404, "InvalidUriPathException")
    assert_xks_error(
        xks.call(store_a, store_a.base + "/invalid", health_body()), 404, "InvalidUriPathException"
    )
    assert not AuditEvent.objects.filter(action="connector.xks_authentication_failed").exists()


@pytest.mark.parametrize(
    "value",
    [
        f"AWS4-HMAC-SHA1 Credential=A/{SCOPE}, SignedHeaders=host, Signature=0",
        f"AWS4-HMAC-SHA256 Credential=A/{SCOPE}",
        "AWS4-HMAC-SHA256 Credential=A/2024/us-east-1/kms-xks-proxy/aws4_request, "
        "SignedHeaders=h, Signature=0",
        f"AWS4-HMAC-SHA256 Credential=A/{SCOPE}, SignedHeaders=host, Signature=0, Signature=1",
        f"AWS4-HMAC-SHA256 Credential=A/{SCOPE}, SignedHeaders=host, Signature=0, Extra=1",
        "AWS4-HMAC-SHA256 Credential=A/../../x/aws4_request, SignedHeaders=host, Signature=0",
        f"AWS4-HMAC-SHA256 Credential=\u00c4/{SCOPE}, SignedHeaders=h, Signature=0",
        f"AWS4-HMAC-SHA256 Credential=A/{SCOPE} SignedHeaders=host Signature=0",
        "",
        "Bearer abc",
    ],
)
def test_malformed_authorization_headers_are_refused(value: str) -> None:
    with pytest.raises(sigv4.AuthenticationFailed):
        sigv4.parse_authorization(value)


def test_authorization_header_parses_like_kms_sends_it() -> None:
    auth = sigv4.parse_authorization(
        "AWS4-HMAC-SHA256 Credential=MUBSXM6K3KMXHN6RRCXI7TWQH4NU/20211009/us-west-2/kms-xks-proxy/"
        "aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "ab" * 32
    )
    assert (auth.access_key_id, auth.scope_date, auth.region, auth.service) == (
        "MUBSXM6K3KMXHN6RRCXI7TWQH4NU", "20211009", "us-west-2", "kms-xks-proxy",
    )  # fmt: skip
    assert auth.signed_headers == ("host", "x-amz-date")
    sigv4.check_shape(auth)


def test_unsorted_or_unsignable_signed_headers_are_refused(store_a: Store, xks: Xks) -> None:
    raw = json.dumps(health_body()).encode()
    headers = _signed(store_a, raw, extra={"User-Agent": "kms"})
    headers["Authorization"] = headers["Authorization"].replace(
        "SignedHeaders=host;x-amz-date", "SignedHeaders=host;user-agent;x-amz-date"
    )
    response = xks.send(store_a.url("health"), raw, headers)
    assert "signable" in assert_xks_error(response, 401, "AuthenticationFailedException")["errorMessage"]


def test_scope_date_must_match_x_amz_date(store_a: Store, xks: Xks) -> None:
    raw = json.dumps(health_body()).encode()
    headers = _signed(store_a, raw)
    today = headers["X-Amz-Date"][:8]
    headers["Authorization"] = headers["Authorization"].replace(f"/{today}/", "/20000101/")
    response = xks.send(store_a.url("health"), raw, headers)
    assert "scope date" in assert_xks_error(response, 401, "AuthenticationFailedException")["errorMessage"]


def test_secret_never_appears_in_responses_or_audit(store_a: Store, xks: Xks) -> None:
    response = xks.call(store_a, store_a.url("health"), health_body(), secret="Invalid" + store_a.secret)
    assert store_a.secret not in response.content.decode()
    assert b64(store_a.secret.encode()) not in json.dumps(
        list(AuditEvent.objects.values_list("details", flat=True))
    )
