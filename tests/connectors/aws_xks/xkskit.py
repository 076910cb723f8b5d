"""XKS test kit, imported by the tests (conftest.py puts this folder on sys.path): key stores (bindings)
in both tenants, and a client that signs like KMS and like curl.

``Xks.call`` signs with botocore's own SigV4 client code (``add_auth``) at a chosen time, so the server is
tested against real client signatures; ``curl_style_headers`` signs with a stdlib SigV4 written from the AWS
documentation, to show the verifier does not merely agree with itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.test import Client

from connectors import services
from connectors.models import BindingCredential, ConnectorBinding
from keys.models import Key
from testkit import World, make_key

HOST = "testserver"
REGION = "us-east-1"
KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
PRINCIPAL = "arn:aws:iam::111122223333:role/app"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def metadata(operation: str = "Encrypt", **extra: str) -> dict[str, str]:
    """A requestMetadata as KMS sends it for ``operation`` (GetKeyMetadata/Encrypt/Decrypt callers)."""
    return {
        "awsPrincipalArn": PRINCIPAL,
        "kmsKeyArn": KEY_ARN,
        "kmsOperation": operation,
        "kmsRequestId": str(uuid.uuid4()),
        **extra,
    }


def health_body() -> dict[str, Any]:
    return {"requestMetadata": {"kmsRequestId": str(uuid.uuid4()), "kmsOperation": "KmsHealthCheck"}}


def encrypt_body(
    plaintext: bytes, aad: bytes | None = None, *, cdiv: bool = False, **meta: str
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "requestMetadata": metadata("Encrypt", **meta),
        "plaintext": b64(plaintext),
        "encryptionAlgorithm": "AES_GCM",
    }
    if aad is not None:
        body["additionalAuthenticatedData"] = b64(aad)
    if cdiv:
        body["ciphertextDataIntegrityValueAlgorithm"] = "SHA_256"
    return body


def decrypt_body(encrypted: dict[str, Any], aad: bytes | None = None, **meta: str) -> dict[str, Any]:
    """A Decrypt request echoing an Encrypt response (metadata included), as KMS does."""
    body: dict[str, Any] = {
        "requestMetadata": metadata("Decrypt", **meta),
        "ciphertext": encrypted["ciphertext"],
        "initializationVector": encrypted["initializationVector"],
        "authenticationTag": encrypted["authenticationTag"],
        "encryptionAlgorithm": "AES_GCM",
    }
    if "ciphertextMetadata" in encrypted:
        body["ciphertextMetadata"] = encrypted["ciphertextMetadata"]
    if aad is not None:
        body["additionalAuthenticatedData"] = b64(aad)
    return body


def amz_now(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def botocore_headers(
    *, method: str, path: str, body: bytes, access_key_id: str, secret: str, host: str = HOST,
    region: str = REGION, service: str = "kms-xks-proxy", when: datetime | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:  # fmt: skip
    """Headers of a request signed by botocore's client code; by default KMS's set, ``host;x-amz-date``."""
    request = AWSRequest(
        method=method, url=f"https://{host}{path}", data=body, headers={"Host": host, **(extra or {})}
    )
    moment = (when or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=moment):
        SigV4Auth(Credentials(access_key_id, secret), service, region).add_auth(request)
    return dict(request.headers.items())


def curl_style_headers(
    *, path: str, body: bytes, access_key_id: str, secret: str, host: str,
    content_type: str = "application/json", region: str = REGION, when: datetime | None = None,
) -> dict[str, str]:  # fmt: skip
    """What ``curl --aws-sigv4 "aws:amz:<region>:kms-xks-proxy"`` sends: ``content-type;host;x-amz-date``
    signed, Host with the port, no x-amz-content-sha256. Signed here with the stdlib, per the AWS docs."""
    amz_date = amz_now(when)
    signed = {"content-type": content_type, "host": host, "x-amz-date": amz_date}
    names = ";".join(sorted(signed))
    canonical = "\n".join(
        [
            "POST",
            path,
            "",
            *(f"{n}:{signed[n]}" for n in sorted(signed)),
            "",
            names,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{amz_date[:8]}/{region}/kms-xks-proxy/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{secret}".encode()
    for part in (amz_date[:8], region, "kms-xks-proxy", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "Host": host,
        "X-Amz-Date": amz_date,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, SignedHeaders={names}, "
        f"Signature={signature}",
    }


@dataclass
class Store:
    """One XKS key store: a binding with its key(s) and its first credential's secret."""

    binding: ConnectorBinding
    key: Key
    external_id: str
    access_key_id: str
    secret: str
    extra_keys: dict[str, Key] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"/{self.binding.route}/kms/xks/v1"

    def url(self, action: str, external_id: str | None = None) -> str:
        if action == "health":
            return f"{self.base}/health"
        return f"{self.base}/keys/{external_id or self.external_id}/{action}"


class Xks:
    """Signs (like KMS: botocore, ``host;x-amz-date``) and sends XKS requests through Django's stack."""

    def __init__(self) -> None:
        self.client = Client()

    def send(
        self, path: str, body: bytes, headers: dict[str, str], *, method: str = "POST",
        content_type: str = "application/json",
    ) -> Any:  # fmt: skip
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        return self.client.generic(method, path, data=body, content_type=content_type, headers=headers)

    def call(
        self, store: Store, path: str, body: Any, *, method: str = "POST", access_key_id: str | None = None,
        secret: str | None = None, when: datetime | None = None, region: str = REGION,
    ) -> Any:  # fmt: skip
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = botocore_headers(
            method=method, path=path, body=raw, access_key_id=access_key_id or store.access_key_id,
            secret=secret or store.secret, when=when, region=region,
        )  # fmt: skip
        return self.send(path, raw, headers, method=method)

    def ok(self, store: Store, path: str, body: Any) -> dict[str, Any]:
        response = self.call(store, path, body)
        assert response.status_code == 200, (response.status_code, response.content[:300])
        return response.json()  # type: ignore[no-any-return]


def assert_xks_error(response: Any, status: int, name: str) -> dict[str, Any]:
    """An XKS error: the status, single-line JSON with ``errorName`` and a printable short message."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    text = response.content.decode("ascii")
    assert "\n" not in text
    body = json.loads(text)
    assert body["errorName"] == name, body
    message = body.get("errorMessage", "")
    assert len(message) < 512 and all(0x20 <= ord(c) <= 0x7E for c in message), message
    assert set(body) <= {"errorName", "errorMessage"}
    return body  # type: ignore[no-any-return]


MakeStore = Callable[..., Store]


def new_store(
    world: World, capture: Any, n: int, tenant: str = "a", *, custody: str = "software",
    rules: list[dict[str, Any]] | None = None, route: str | None = None, quota: dict[str, Any] | None = None,
) -> Store:  # fmt: skip
    """A key store in tenant A or B: a fresh AES key, a binding with it, and its first credential."""
    owner, admin = (world.tenant_a, world.admin_a) if tenant == "a" else (world.tenant_b, world.admin_b)
    key = make_key(capture, tenant=owner, actor=admin, custody=custody, name=f"xks-{tenant}-{custody}-{n}")
    external_id = f"{tenant}-key-{n}"
    binding = services.binding_create(
        actor="test", tenant=owner, kind="aws_xks", name=f"store-{tenant}-{n}",
        route=route or f"xks/{owner.slug}/{n}", keys=[services.KeyRef(str(key.pk), external_id)],
        settings={"secondary_authorization": rules or [], **({"request_quota": quota} if quota else {})},
    )  # fmt: skip
    credential = BindingCredential.objects.get(binding=binding)
    return Store(binding, key, external_id, credential.access_key_id, services.credential_secret(credential))
