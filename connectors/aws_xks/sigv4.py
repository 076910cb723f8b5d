"""SigV4 verification of XKS requests: botocore recomputes the signature, we only choose its inputs.

KMS signs ``host;x-amz-date``; ``curl --aws-sigv4`` signs ``content-type;host;x-amz-date``. Both work
because the request handed to botocore carries exactly the headers the client listed in ``SignedHeaders``
(raw values, ``Host`` with its port), the path as received, the raw body, and the client's own
``X-Amz-Date``; the region comes from the credential scope. See the README for the details reconciled.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.http import HttpRequest

from connectors.aws_xks.errors import XksError

SERVICE = "kms-xks-proxy"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=5)
REQUIRED_SIGNED = frozenset({"host", "x-amz-date"})
MAX_SIGNED_HEADERS = 20
# Any origin will do: botocore takes only path and query from the URL (Host comes from the headers), and
# a plain-http URL makes it hash the body whatever the request context says.
_ORIGIN = "http://xks-proxy.invalid"
_CREDENTIAL = re.compile(
    r"^(?P<akid>[A-Za-z0-9]{1,64})/(?P<date>\d{8})/(?P<region>[a-z0-9-]{1,32})/(?P<service>[a-z0-9-]{1,64})"
    r"/aws4_request$"
)
_HEADER_NAME = re.compile(r"^[a-z0-9-]{1,64}$")
_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")


class AuthenticationFailed(XksError):
    """401 ``AuthenticationFailedException``, with a reason KMS logs to the customer (never a secret)."""

    def __init__(self, message: str) -> None:
        super().__init__("AuthenticationFailedException", message)


@dataclass(frozen=True)
class Authorization:
    """The parsed ``Authorization`` header."""

    access_key_id: str
    scope_date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str | None) -> Authorization:
    """``AWS4-HMAC-SHA256 Credential=<akid>/<date>/<region>/<service>/aws4_request, SignedHeaders=<a;b>,
    Signature=<hex>`` (one space after the algorithm, commas between the components)."""
    if not value:
        raise AuthenticationFailed("The request is not signed (no Authorization header).")
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AuthenticationFailed(f"Only {ALGORITHM} signatures are accepted.")
    parts: dict[str, str] = {}
    for component in rest.split(","):
        name, sep, item = component.strip().partition("=")
        if not sep or name in parts:
            raise AuthenticationFailed("The Authorization header is malformed.")
        parts[name] = item
    if set(parts) != {"Credential", "SignedHeaders", "Signature"}:
        raise AuthenticationFailed("The Authorization header needs Credential, SignedHeaders and Signature.")
    credential = _CREDENTIAL.match(parts["Credential"])
    if credential is None:
        raise AuthenticationFailed("The credential scope is malformed.")
    return Authorization(
        access_key_id=credential["akid"],
        scope_date=credential["date"],
        region=credential["region"],
        service=credential["service"],
        signed_headers=tuple(parts["SignedHeaders"].split(";")),
        signature=parts["Signature"],
    )


def check_shape(auth: Authorization) -> None:
    """What must hold before any secret is touched: service, signed headers, signature format."""
    if auth.service != SERVICE:
        raise AuthenticationFailed(f"The signing service must be {SERVICE}.")
    names = auth.signed_headers
    if len(names) > MAX_SIGNED_HEADERS or not all(_HEADER_NAME.match(n) for n in names):
        raise AuthenticationFailed("SignedHeaders is malformed.")
    if not set(names) >= REQUIRED_SIGNED:
        raise AuthenticationFailed("host and x-amz-date must be signed.")
    if not _SIGNATURE.match(auth.signature):
        raise AuthenticationFailed("The signature is malformed.")


def request_time(auth: Authorization, amz_date: str, *, now: datetime | None = None) -> datetime:
    """The signed ``X-Amz-Date``, which must be within five minutes of now and match the scope date."""
    try:
        when = datetime.strptime(amz_date, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        raise AuthenticationFailed("X-Amz-Date must look like 20240101T120000Z.") from None
    if amz_date[:8] != auth.scope_date:
        raise AuthenticationFailed("The credential scope date does not match X-Amz-Date.")
    if abs((now or datetime.now(UTC)) - when) > MAX_SKEW:
        raise AuthenticationFailed("The request time is more than 5 minutes from the proxy's clock.")
    return when


def signed_header_values(request: HttpRequest, auth: Authorization, body: bytes) -> dict[str, str]:
    """The raw values of the headers the client signed (Django maps content-type/-length for us)."""
    values: dict[str, str] = {}
    for name in auth.signed_headers:
        value = request.headers.get(name)
        if value is None:
            raise AuthenticationFailed(f"The signed header {name} is missing.")
        values[name] = value
    # botocore trusts a signed x-amz-content-sha256 instead of hashing the body: hold it to the body.
    declared = values.get("x-amz-content-sha256")
    if declared is not None and not hmac.compare_digest(declared, hashlib.sha256(body).hexdigest()):
        raise AuthenticationFailed("x-amz-content-sha256 does not match the body.")
    return values


def expected_signature(
    *, method: str, path: str, query: str, headers: dict[str, str], body: bytes, auth: Authorization,
    secret: str, amz_date: str,
) -> tuple[str, str]:  # fmt: skip
    """(signature, signed header list) as botocore computes them for this request at ``amz_date``."""
    url = _ORIGIN + path + (f"?{query}" if query else "")
    aws_request = AWSRequest(method=method, url=url, headers=headers, data=body)
    aws_request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(auth.access_key_id, secret), SERVICE, auth.region)
    canonical = signer.canonical_request(aws_request)
    signature = signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)
    return signature, signer.signed_headers(signer.headers_to_sign(aws_request))


def verify(request: HttpRequest, body: bytes, *, auth: Authorization, secret: str) -> None:
    """Raise ``AuthenticationFailed`` unless ``request`` carries a valid, fresh signature under ``secret``."""
    amz_date = request.headers.get("X-Amz-Date", "")
    request_time(auth, amz_date)
    headers = signed_header_values(request, auth, body)
    signature, signed = expected_signature(
        method=request.method or "POST",
        path=request.path,
        query=request.META.get("QUERY_STRING", ""),
        headers=headers,
        body=body,
        auth=auth,
        secret=secret,
        amz_date=amz_date,
    )
    if signed != ";".join(auth.signed_headers):
        # Unsorted names, or a header botocore never signs (user-agent, ...): we cannot verify it.
        raise AuthenticationFailed("SignedHeaders must be sorted lowercase names of signable headers.")
    if not hmac.compare_digest(signature, auth.signature):
        raise AuthenticationFailed("The signature does not match.")
