"""The per-key-store request quota: ThrottlingException (429) beyond it, only for signed callers."""

from __future__ import annotations

from typing import Any

import pytest
from xkskit import MakeStore, Xks, assert_xks_error, encrypt_body, health_body

from cockpit.errors import InvalidRequest
from connectors.aws_xks.throttle import TokenBucket, clean_quota
from connectors.models import ConnectorCall
from connectors.settings_schema import clean_settings

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("custody")]


def test_beyond_the_burst_calls_are_throttled_and_recorded(make_store: MakeStore, xks: Xks) -> None:
    store = make_store("a", quota={"requests_per_second": 0.01, "burst": 2})
    for _ in range(2):
        xks.ok(store, store.url("encrypt"), encrypt_body(b"x"))
    assert_xks_error(xks.call(store, store.url("encrypt"), encrypt_body(b"x")), 429, "ThrottlingException")
    assert_xks_error(xks.call(store, store.url("health"), health_body()), 429, "ThrottlingException")
    outcomes = list(ConnectorCall.objects.filter(binding=store.binding).values_list("outcome", flat=True))
    assert sorted(outcomes) == ["OK", "OK", "ThrottlingException", "ThrottlingException"]


def test_unsigned_callers_cannot_spend_the_quota(make_store: MakeStore, xks: Xks) -> None:
    store = make_store("a", quota={"requests_per_second": 0.01, "burst": 1})
    for _ in range(3):
        response = xks.call(store, store.url("encrypt"), encrypt_body(b"x"), secret="Invalid" + store.secret)
        assert_xks_error(response, 401, "AuthenticationFailedException")
    xks.ok(store, store.url("encrypt"), encrypt_body(b"x"))


def test_quotas_are_per_key_store(make_store: MakeStore, xks: Xks) -> None:
    limited = make_store("a", quota={"requests_per_second": 0.01, "burst": 1})
    free = make_store("a")
    xks.ok(limited, limited.url("encrypt"), encrypt_body(b"x"))
    assert_xks_error(
        xks.call(limited, limited.url("encrypt"), encrypt_body(b"x")), 429, "ThrottlingException"
    )
    for _ in range(5):
        xks.ok(free, free.url("encrypt"), encrypt_body(b"x"))


def test_the_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    now = [100.0]
    bucket = TokenBucket(rate=2.0, burst=3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.5  # one token back
    assert [bucket.take(), bucket.take()] == [True, False]
    now[0] += 60  # never more than the burst
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


@pytest.mark.parametrize(
    "quota",
    [
        "fast",
        {"requests_per_second": 0},
        {"requests_per_second": -1},
        {"requests_per_second": True},
        {"requests_per_second": 1e9},
        {"requests_per_second": 10, "burst": 0},
        {"requests_per_second": 10, "burst": 2.5},
        {"requests_per_second": 10, "per": "minute"},
    ],
)
def test_malformed_quotas_are_refused(quota: Any) -> None:
    with pytest.raises(InvalidRequest):
        clean_settings("aws_xks", {"request_quota": quota})


def test_quotas_are_normalised_and_unknown_settings_refused() -> None:
    assert clean_quota({"requests_per_second": 250}) == {"requests_per_second": 250.0, "burst": 250}
    settings = clean_settings("aws_xks", {"request_quota": {"requests_per_second": 0.5, "burst": 3}})
    assert settings == {
        "secondary_authorization": [],
        "request_quota": {"requests_per_second": 0.5, "burst": 3},
    }
    assert clean_settings("aws_xks", {}) == {"secondary_authorization": []}
    with pytest.raises(InvalidRequest):
        clean_settings("aws_xks", {"request_qouta": {"requests_per_second": 1}})
