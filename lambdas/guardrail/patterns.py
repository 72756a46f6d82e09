"""The EventBridge pattern of the instance events, and a matcher for the part of the grammar it uses.

One definition serves the stacks (the rules on the central buses and the forwarding rules in
every account deploy it as it stands) and `guardrail replay`, which drops what those rules would
never deliver, so a replayed log sees exactly what the function would have seen.

The matcher implements EventBridge's semantics for the grammar the pattern is written in: nested
objects, and lists of exact values (a field matches when its value, or one element of an array
value, equals one of them; a missing field never matches). Content filters such as `prefix` or
`anything-but` are refused rather than guessed: `check_pattern` says so before anything is
matched, and tests/infra/test_event_pattern.py holds the matcher to moto's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

# CloudTrail records of the three calls that create, delete or change an instance. Matching on
# `eventSource` and the exact `eventName`s keeps out look-alikes such as
# CreateInstanceAccessControlAttributeConfiguration (same service) or Lightsail's CreateInstances.
# Failed calls match too (they carry `errorCode`): an attempt an SCP blocked is a signal.
INSTANCE_EVENT_PATTERN: Final[dict[str, Any]] = {
    "source": ["aws.sso"],
    "detail-type": ["AWS API Call via CloudTrail"],
    "detail": {
        "eventSource": ["sso.amazonaws.com"],
        "eventName": ["CreateInstance", "DeleteInstance", "UpdateInstance"],
    },
}

_EXACT = (str, int, float, bool, type(None))


class UnsupportedPattern(ValueError):
    """A pattern that uses more of EventBridge's grammar than this matcher implements."""


def check_pattern(pattern: Mapping[str, Any], where: str = "") -> None:
    """Raise `UnsupportedPattern` naming the first part of ``pattern`` the matcher cannot judge."""
    for key, value in pattern.items():
        path = f"{where}.{key}" if where else key
        if key.startswith("$"):
            raise UnsupportedPattern(f"{path}: the {key} operator is not implemented")
        if isinstance(value, Mapping):
            check_pattern(value, path)
        elif not isinstance(value, list) or not value:
            raise UnsupportedPattern(f"{path}: must be an object or a non-empty list of values")
        elif not all(isinstance(item, _EXACT) for item in value):
            raise UnsupportedPattern(f"{path}: only exact values are implemented, not content filters")


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether EventBridge would deliver ``event`` to a rule with ``pattern``."""
    for key, wanted in pattern.items():
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
    # JSON's types, not Python's: true is not 1, and "1" is not 1.
    if isinstance(wanted, bool) or isinstance(value, bool):
        return wanted is value
    if isinstance(wanted, int | float) and isinstance(value, int | float):
        return bool(wanted == value)
    return type(wanted) is type(value) and bool(wanted == value)


def detail_fields(pattern: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields of the CloudTrail record (the event's `detail`) that ``pattern`` reads."""
    detail = pattern.get("detail", {})
    return tuple(detail) if isinstance(detail, Mapping) else ()


check_pattern(INSTANCE_EVENT_PATTERN)
