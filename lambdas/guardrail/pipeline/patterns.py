"""The EventBridge pattern of the instance events, and a matcher for the part of the grammar it uses.

One definition serves the stacks (the rules on the central buses and the forwarding rules in
every account deploy it as it stands) and `guardrail replay`, which drops what those rules would
never deliver, so a replayed log sees exactly what the function would have seen.

The matcher implements EventBridge's semantics for the grammar the pattern is written in: nested
objects, `$or` of objects, and lists of exact values, `prefix` or `wildcard` filters (a field
matches when its value, or one element of an array value, matches one of them; a missing field
never matches). Other filters such as `anything-but` or `numeric` are refused rather than guessed:
`check_pattern` says so before anything is matched, and tests/infra/test_event_pattern.py holds
the matcher to moto's, which implements the same features.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any, Final

# CloudTrail records of the calls that create, delete, change or tag an instance. Matching on
# `eventSource` and the exact `eventName`s keeps out look-alikes such as
# CreateInstanceAccessControlAttributeConfiguration (same service) or Lightsail's CreateInstances.
# TagResource and UntagResource also tag permission sets, applications and trusted token issuers:
# only those on an instance's ARN (`arn:<partition>:sso:::instance/ssoins-…`) are wanted.
# Failed calls match too (they carry `errorCode`): an attempt an SCP blocked is a signal.
INSTANCE_EVENT_PATTERN: Final[dict[str, Any]] = {
    "source": ["aws.sso"],
    "detail-type": ["AWS API Call via CloudTrail"],
    "detail": {
        "eventSource": ["sso.amazonaws.com"],
        "$or": [
            {"eventName": ["CreateInstance", "DeleteInstance", "UpdateInstance"]},
            {
                "eventName": ["TagResource", "UntagResource"],
                "requestParameters": {"resourceArn": [{"wildcard": "arn:*:sso:::instance/*"}]},
            },
        ],
    },
}

# The source of the synthetic instance event `guardrail doctor --send-test-event` puts on the
# central bus (EventBridge refuses `aws.*` sources from PutEvents). Only the central rule accepts it,
# never a forwarding rule, and the detect function judges such an event as a test: it acts on nothing.
TEST_SOURCE: Final = "identity-center-guardrail.test"
# The central bus rule's pattern: the instance calls forwarded by every account, and the test event.
CENTRAL_EVENT_PATTERN: Final[dict[str, Any]] = {
    **INSTANCE_EVENT_PATTERN,
    "source": [*INSTANCE_EVENT_PATTERN["source"], TEST_SOURCE],
}

_EXACT = (str, int, float, bool, type(None))
_FILTERS = frozenset({"prefix", "wildcard"})


class UnsupportedPattern(ValueError):
    """A pattern that uses more of EventBridge's grammar than this matcher implements."""


def check_pattern(pattern: Mapping[str, Any], where: str = "") -> None:
    """Raise `UnsupportedPattern` naming the first part of ``pattern`` the matcher cannot judge."""
    for key, value in pattern.items():
        path = f"{where}.{key}" if where else key
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise UnsupportedPattern(f"{path}: must be a list of two or more objects")
            for index, branch in enumerate(value):
                if not isinstance(branch, Mapping) or not branch:
                    raise UnsupportedPattern(f"{path}[{index}]: must be a non-empty object")
                check_pattern(branch, f"{path}[{index}]")
        elif key.startswith("$"):
            raise UnsupportedPattern(f"{path}: the {key} operator is not implemented")
        elif isinstance(value, Mapping):
            check_pattern(value, path)
        elif not isinstance(value, list) or not value:
            raise UnsupportedPattern(f"{path}: must be an object or a non-empty list of values")
        else:
            for item in value:
                _check_value(item, path)


def _check_value(item: Any, path: str) -> None:
    if isinstance(item, _EXACT):
        return
    if isinstance(item, Mapping) and len(item) == 1:
        (name, argument), *_ = item.items()
        if name in _FILTERS and isinstance(argument, str):
            return
        raise UnsupportedPattern(f"{path}: the {name} filter is not implemented (only prefix and wildcard)")
    raise UnsupportedPattern(f"{path}: {item!r} is neither a value nor a filter")


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether EventBridge would deliver ``event`` to a rule with ``pattern``."""
    for key, wanted in pattern.items():
        if key == "$or":
            if not any(matches(branch, event) for branch in wanted):
                return False
            continue
        if key not in event:
            return False
        value = event[key]
        if isinstance(wanted, Mapping):
            if not isinstance(value, Mapping) or not matches(wanted, value):
                return False
        elif not _matches_values(wanted, value):
            return False
    return True


def _matches_values(wanted: list[Any], value: Any) -> bool:
    if isinstance(value, list):
        return any(_same(w, v) for v in value for w in wanted)
    return any(_same(w, value) for w in wanted)


def _same(wanted: Any, value: Any) -> bool:
    if isinstance(wanted, Mapping):
        (name, argument), *_ = wanted.items()
        if not isinstance(value, str):
            return False  # prefix and wildcard match strings only
        if name == "prefix":
            return value.startswith(argument)
        return _wildcard(argument).fullmatch(value) is not None
    # JSON's types, not Python's: true is not 1, and "1" is not 1.
    if isinstance(wanted, bool) or isinstance(value, bool):
        return wanted is value
    if isinstance(wanted, int | float) and isinstance(value, int | float):
        return bool(wanted == value)
    return type(wanted) is type(value) and bool(wanted == value)


@cache
def _wildcard(expression: str) -> re.Pattern[str]:
    """EventBridge's wildcard: `*` stands for any run of characters, `\\*` for a star itself."""
    parts = re.split(r"(\\\*|\*)", expression)
    return re.compile(
        "".join(".*" if part == "*" else re.escape("*" if part == "\\*" else part) for part in parts),
        re.DOTALL,
    )


def detail_fields(pattern: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields of the CloudTrail record (the event's `detail`) that ``pattern`` reads."""
    detail = pattern.get("detail", {})
    if not isinstance(detail, Mapping):
        return ()
    fields = [key for key in detail if key != "$or"]
    for branch in detail.get("$or", ()):
        fields.extend(key for key in branch if key not in fields)
    return tuple(fields)


check_pattern(INSTANCE_EVENT_PATTERN)
check_pattern(CENTRAL_EVENT_PATTERN)
