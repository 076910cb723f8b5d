"""Secondary authorization: per-binding allow rules over the XKS ``requestMetadata``.

A rule is an object of conditions; a request is allowed when ANY rule matches ALL of that rule's conditions.
No rules at all means "allow every authenticated request" (AWS IAM and the key policy still apply).

Conditions (each a string or a list of strings; stored as lists):

* ``awsPrincipalArn``, ``kmsKeyArn`` — shell-style patterns (``*``, ``?``, ``[...]``; ``*`` also matches
  ``:`` and ``/``), case-sensitive. One matching pattern satisfies the condition.
* ``kmsOperation``, ``kmsViaService``, ``awsSourceVpc``, ``awsSourceVpce``, ``externalKeyId`` — exact
  values. A condition on a field the request does not carry (e.g. ``kmsViaService`` on a direct call) fails.

``sid`` optionally names a rule, for logs. GetHealthStatus is never subject to these rules (spec).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from cockpit.errors import InvalidRequest

MAX_RULES = 50
MAX_VALUES = 50
MAX_VALUE_LENGTH = 2048
PATTERN_FIELDS = ("awsPrincipalArn", "kmsKeyArn")
EXACT_FIELDS = ("kmsOperation", "kmsViaService", "awsSourceVpc", "awsSourceVpce", "externalKeyId")
CONDITIONS = PATTERN_FIELDS + EXACT_FIELDS
_PRINTABLE = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$")
_SID = re.compile(r"^[A-Za-z0-9 ._:-]{1,80}$")


@dataclass(frozen=True)
class Decision:
    """The outcome, the rule that allowed (index or sid), or per rule the conditions that failed."""

    allowed: bool
    rule: str = ""
    mismatches: tuple[tuple[str, tuple[str, ...]], ...] = ()


def _values(where: str, name: str, raw: Any) -> list[str]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        raise InvalidRequest(f"{where}.{name} must be a string or a non-empty list of strings.")
    if len(items) > MAX_VALUES:
        raise InvalidRequest(f"{where}.{name} has more than {MAX_VALUES} values.")
    clean: list[str] = []
    for item in items:
        if not isinstance(item, str) or len(item) > MAX_VALUE_LENGTH or not _PRINTABLE.match(item):
            raise InvalidRequest(
                f"{where}.{name} values must be printable ASCII strings of 1-{MAX_VALUE_LENGTH} characters "
                "without surrounding spaces."
            )
        if item not in clean:
            clean.append(item)
    return clean


def _clean_rule(index: int, raw: Any) -> dict[str, Any]:
    where = f"secondary_authorization[{index}]"
    if not isinstance(raw, dict):
        raise InvalidRequest(f"{where} must be an object of conditions.")
    unknown = sorted(set(raw) - set(CONDITIONS) - {"sid"})
    if unknown:
        allowed = ", ".join(("sid", *CONDITIONS))
        raise InvalidRequest(f"{where} has unknown field(s) {', '.join(map(str, unknown))}; use {allowed}.")
    rule: dict[str, Any] = {}
    if "sid" in raw:
        if not isinstance(raw["sid"], str) or not _SID.match(raw["sid"]):
            raise InvalidRequest(f"{where}.sid must be 1-80 of A-Z a-z 0-9 space . _ : -.")
        rule["sid"] = raw["sid"]
    for name in CONDITIONS:
        if name in raw:
            rule[name] = _values(where, name, raw[name])
    if not rule.keys() - {"sid"}:
        raise InvalidRequest(f"{where} has no condition; to allow everything, configure no rules at all.")
    return rule


def clean_rules(raw: Any) -> list[dict[str, Any]]:
    """Validated canonical rules (lists everywhere, no duplicates); InvalidRequest says what is wrong."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidRequest("secondary_authorization must be a list of rules.")
    if len(raw) > MAX_RULES:
        raise InvalidRequest(f"secondary_authorization has more than {MAX_RULES} rules.")
    return [_clean_rule(index, rule) for index, rule in enumerate(raw)]


def _failed_conditions(rule: dict[str, Any], attributes: dict[str, str]) -> tuple[str, ...]:
    failed = []
    for name in CONDITIONS:
        if name not in rule:
            continue
        value = attributes.get(name)
        if value is None:
            failed.append(name)
        elif name in PATTERN_FIELDS:
            if not any(fnmatchcase(value, pattern) for pattern in rule[name]):
                failed.append(name)
        elif value not in rule[name]:
            failed.append(name)
    return tuple(failed)


def evaluate(rules: list[dict[str, Any]], attributes: dict[str, str]) -> Decision:
    """Allow when any rule matches; ``attributes`` are the request's metadata plus ``externalKeyId``."""
    if not rules:
        return Decision(allowed=True, rule="no rules")
    mismatches = []
    for index, rule in enumerate(rules):
        label = rule.get("sid", str(index))
        failed = _failed_conditions(rule, attributes)
        if not failed:
            return Decision(allowed=True, rule=label)
        mismatches.append((label, failed))
    return Decision(allowed=False, mismatches=tuple(mismatches))
