"""Secondary authorization: rule validation, matching semantics, and allow/deny (audited) over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from xkskit import KEY_ARN, PRINCIPAL, MakeStore, Xks, assert_xks_error, decrypt_body, encrypt_body, metadata

from audit.models import AuditEvent
from cockpit.errors import InvalidRequest
from connectors.aws_xks.authorization import clean_rules, evaluate
from connectors.models import ConnectorBinding, ConnectorCall
from connectors.settings_schema import clean_settings
from keys.models import KeyOperationCount

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("custody")]


def test_rules_are_canonicalised_to_lists_without_duplicates() -> None:
    raw = [
        {
            "sid": "app role",
            "awsPrincipalArn": "arn:aws:iam::111122223333:*",
            "kmsOperation": ["Encrypt", "Encrypt"],
        },
        {"kmsViaService": "ebs", "awsSourceVpce": ["vpce-1"], "externalKeyId": ["k1"]},
    ]
    assert clean_rules(raw) == [
        {"sid": "app role", "awsPrincipalArn": ["arn:aws:iam::111122223333:*"], "kmsOperation": ["Encrypt"]},
        {"kmsViaService": ["ebs"], "awsSourceVpce": ["vpce-1"], "externalKeyId": ["k1"]},
    ]
    assert clean_rules(clean_rules(raw)) == clean_rules(raw)
    assert clean_rules([]) == [] and clean_rules(None) == []
    assert clean_settings("aws_xks", {}) == {"secondary_authorization": []}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"awsPrincipalArn": "x"}, "must be a list"),
        (["rule"], "must be an object"),
        ([{}], "no condition"),
        ([{"sid": "only a name"}], "no condition"),
        ([{"kmsOperations": ["Encrypt"]}], "unknown field(s) kmsOperations"),
        ([{"kmsOperation": []}], "non-empty list"),
        ([{"kmsOperation": [1]}], "printable ASCII"),
        ([{"kmsOperation": [" Encrypt"]}], "printable ASCII"),
        ([{"awsPrincipalArn": "arn:\u00e9"}], "printable ASCII"),
        ([{"awsPrincipalArn": "a" * 2049}], "printable ASCII"),
        ([{"kmsOperation": ["x"] * 51}], "more than 50"),
        ([{"kmsOperation": ["Encrypt"]}] * 51, "more than 50 rules"),
        ([{"sid": "bad\nsid", "kmsOperation": ["Encrypt"]}], "sid"),
        ([{"kmsViaService": None}], "non-empty list"),
    ],
)
def test_bad_rules_are_refused_with_a_clear_message(raw: Any, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        clean_rules(raw)
    assert message in caught.value.message
    with pytest.raises(InvalidRequest):
        clean_settings("aws_xks", {"secondary_authorization": raw})


ATTRS = {
    "awsPrincipalArn": "arn:aws:iam::111122223333:role/app",
    "kmsKeyArn": "arn:aws:kms:eu-west-1:111122223333:key/abc",
    "kmsOperation": "Decrypt",
    "externalKeyId": "k1",
}


@pytest.mark.parametrize(
    ("rules", "allowed"),
    [
        ([], True),
        ([{"awsPrincipalArn": ["arn:aws:iam::111122223333:*"]}], True),
        ([{"awsPrincipalArn": ["arn:aws:iam::999999999999:*"]}], False),
        ([{"awsPrincipalArn": ["ARN:AWS:IAM::111122223333:*"]}], False),  # case-sensitive
        ([{"kmsKeyArn": ["arn:aws:kms:*:111122223333:key/*"], "kmsOperation": ["Decrypt"]}], True),
        ([{"kmsKeyArn": ["arn:aws:kms:*:111122223333:key/*"], "kmsOperation": ["Encrypt"]}], False),
        ([{"kmsOperation": ["Encrypt"]}, {"externalKeyId": ["k1"]}], True),  # any rule
        ([{"kmsViaService": ["ebs"]}], False),  # the request has no kmsViaService
        ([{"awsSourceVpc": ["vpc-1"], "kmsOperation": ["Decrypt"]}], False),
    ],
)
def test_a_request_is_allowed_when_any_rule_matches_all_its_conditions(
    rules: list[dict[str, Any]], allowed: bool
) -> None:
    assert evaluate(clean_rules(rules), ATTRS).allowed is allowed


def test_a_denial_names_per_rule_what_did_not_match() -> None:
    rules = clean_rules(
        [{"sid": "ebs only", "kmsViaService": "ebs"}, {"kmsOperation": "Encrypt", "kmsKeyArn": "*"}]
    )
    decision = evaluate(rules, ATTRS)
    assert decision.mismatches == (("ebs only", ("kmsViaService",)), ("1", ("kmsOperation",)))


RULES = [{"sid": "app", "awsPrincipalArn": PRINCIPAL, "kmsOperation": ["Encrypt", "Decrypt", "CreateKey"]}]


def test_a_matching_principal_may_encrypt_and_decrypt(make_store: MakeStore, xks: Xks) -> None:
    store = make_store("a", rules=RULES)
    encrypted = xks.ok(store, store.url("encrypt"), encrypt_body(b"x"))
    assert xks.ok(store, store.url("decrypt"), decrypt_body(encrypted))["plaintext"]
    assert not AuditEvent.objects.filter(action="connector.xks_access_denied").exists()


def test_another_principal_is_denied_audited_and_the_key_is_not_touched(
    make_store: MakeStore, xks: Xks
) -> None:
    store = make_store("a", rules=RULES)
    other = "arn:aws:iam::999999999999:role/intruder"
    body = encrypt_body(b"x", awsPrincipalArn=other, kmsViaService="ebs", awsSourceVpc="vpc-9")
    assert_xks_error(xks.call(store, store.url("encrypt"), body), 403, "AccessDeniedException")
    event = AuditEvent.objects.get(action="connector.xks_access_denied")
    assert event.outcome == "denied" and event.tenant_id == store.binding.tenant_id
    assert event.actor_type == "provider" and event.actor_id == store.access_key_id
    assert event.details["requestMetadata"]["awsPrincipalArn"] == other
    assert event.details["requestMetadata"]["kmsRequestId"] == body["requestMetadata"]["kmsRequestId"]
    assert event.details["requestMetadata"]["awsSourceVpc"] == "vpc-9"
    assert event.details["rules"] == [{"rule": "app", "unmatched": ["awsPrincipalArn"]}]
    assert event.details["externalKeyId"] == store.external_id
    assert "plaintext" not in str(event.details)
    assert not KeyOperationCount.objects.exists()
    assert ConnectorCall.objects.get(binding=store.binding).outcome == "AccessDeniedException"


def test_a_denied_caller_cannot_probe_which_key_ids_exist(make_store: MakeStore, xks: Xks) -> None:
    store = make_store("a", rules=RULES)
    body = encrypt_body(b"x", awsPrincipalArn="arn:aws:iam::999999999999:root")
    assert_xks_error(xks.call(store, store.url("encrypt", "no-such-key"), body), 403, "AccessDeniedException")


def test_an_operation_outside_the_rule_is_denied(make_store: MakeStore, xks: Xks) -> None:
    store = make_store("a", rules=[{"awsPrincipalArn": PRINCIPAL, "kmsOperation": ["Encrypt"]}])
    encrypted = xks.ok(store, store.url("encrypt"), encrypt_body(b"x"))
    assert_xks_error(
        xks.call(store, store.url("decrypt"), decrypt_body(encrypted)), 403, "AccessDeniedException"
    )


def test_rules_can_restrict_one_external_key_to_one_key_arn(make_store: MakeStore, xks: Xks) -> None:
    store = make_store("a")
    store.binding.settings = {
        "secondary_authorization": [{"externalKeyId": [store.external_id], "kmsKeyArn": KEY_ARN}]
    }
    store.binding.save()
    assert xks.ok(store, store.url("metadata"), {"requestMetadata": metadata("DescribeKey")})
    confused = metadata("DescribeKey", kmsKeyArn=KEY_ARN.replace("111122223333", "444455556666"))
    response = xks.call(store, store.url("metadata"), {"requestMetadata": confused})
    assert_xks_error(response, 403, "AccessDeniedException")


def test_health_is_never_subject_to_secondary_authorization(make_store: MakeStore, xks: Xks) -> None:
    store = make_store("a", rules=[{"awsPrincipalArn": "nobody"}])
    body = {"requestMetadata": {"kmsRequestId": "r", "kmsOperation": "KmsHealthCheck"}}
    assert xks.ok(store, store.url("health"), body)["ekmFleetDetails"]


def test_rules_that_no_longer_validate_deny_everything(make_store: MakeStore, xks: Xks) -> None:
    store = make_store("a")
    ConnectorBinding.objects.filter(pk=store.binding.pk).update(
        settings={"secondary_authorization": "garbage"}
    )
    assert_xks_error(xks.call(store, store.url("encrypt"), encrypt_body(b"x")), 403, "AccessDeniedException")


def test_denial_audit_stores_opaque_metadata_safely(make_store: MakeStore, xks: Xks) -> None:
    store = make_store("a", rules=RULES)
    body = encrypt_body(b"x", awsPrincipalArn="arn:\u0000null", kmsRequestId="id\u0000")
    assert_xks_error(xks.call(store, store.url("encrypt"), body), 403, "AccessDeniedException")
    stored = AuditEvent.objects.get(action="connector.xks_access_denied").details["requestMetadata"]
    assert "\x00" not in stored["awsPrincipalArn"] + stored["kmsRequestId"]
    assert "\x00" not in ConnectorCall.objects.get(binding=store.binding).request_id
