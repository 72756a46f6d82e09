"""The rule pattern catches exactly the three instance calls, checked with EventBridge semantics.

moto's matcher stands in for EventBridge; the replay's own matcher (`guardrail.patterns.matches`)
must agree with it on every event here, and on generated ones.
"""

from __future__ import annotations

import copy
import json
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto.events.models import EventPattern
from moto.events.utils import EventMessageType

from guardrail import patterns
from guardrail.patterns import INSTANCE_EVENT_PATTERN, UnsupportedPattern, check_pattern
from infra.constructs import instance_event_rules
from tests.infra.support import SAMPLE_EVENTS, load_event

PATTERN = EventPattern.load(json.dumps(INSTANCE_EVENT_PATTERN))


def matches(event: dict[str, Any]) -> bool:
    """EventBridge's matching, as moto implements it; the replay's matcher must say the same."""
    expected = PATTERN.matches_event(cast(EventMessageType, event))
    assert patterns.matches(INSTANCE_EVENT_PATTERN, event) is expected
    return expected


def test_the_rules_deploy_the_shared_pattern() -> None:
    assert instance_event_rules.INSTANCE_EVENT_PATTERN is INSTANCE_EVENT_PATTERN


INSTANCE_SAMPLES = sorted(
    p.name for p in SAMPLE_EVENTS.glob("*.json") if "not-an-instance-event" not in p.name
)


def test_samples_are_where_the_tests_expect_them() -> None:
    names = sorted(p.name for p in SAMPLE_EVENTS.glob("*.json"))
    assert "not-an-instance-event-permission-set.json" in names
    assert len(INSTANCE_SAMPLES) == 7
    operations = {load_event(name)["detail"]["eventName"] for name in INSTANCE_SAMPLES}
    assert operations == {"CreateInstance", "DeleteInstance", "UpdateInstance"}


@pytest.mark.parametrize("name", INSTANCE_SAMPLES)
def test_instance_events_match(name: str) -> None:
    assert matches(load_event(name))


def test_permission_set_event_does_not_match() -> None:
    assert not matches(load_event("not-an-instance-event-permission-set.json"))


def _look_alike(**changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(load_event("create-instance-console-success.json"))
    detail = changes.pop("detail", {})
    event.update(changes)
    event["detail"].update(detail)
    return event


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(
            _look_alike(
                source="aws.lightsail",
                detail={"eventSource": "lightsail.amazonaws.com", "eventName": "CreateInstances"},
            ),
            id="lightsail-CreateInstances",
        ),
        pytest.param(
            _look_alike(
                source="aws.ec2", detail={"eventSource": "ec2.amazonaws.com", "eventName": "RunInstances"}
            ),
            id="ec2-RunInstances",
        ),
        pytest.param(
            _look_alike(detail={"eventName": "CreateInstanceAccessControlAttributeConfiguration"}),
            id="sso-CreateInstanceAccessControlAttributeConfiguration",
        ),
        pytest.param(
            _look_alike(**{"detail-type": "AWS Service Event via CloudTrail"}),
            id="sso-service-event",
        ),
        pytest.param(
            _look_alike(detail={"eventSource": "identitystore.amazonaws.com"}),
            id="other-event-source",
        ),
    ],
)
def test_look_alikes_do_not_match(event: dict[str, Any]) -> None:
    assert not matches(event)


def test_a_failed_call_still_matches() -> None:
    """A call an SCP denied carries errorCode; the guardrail wants to hear about it."""
    event = _look_alike(detail={"errorCode": "AccessDenied", "responseElements": None})
    assert matches(event)


# -- the replay's matcher against moto's, on generated events ---------------------------------------

_TEXT = st.sampled_from(
    [
        "aws.sso",
        "aws.ec2",
        "AWS API Call via CloudTrail",
        "AWS Service Event via CloudTrail",
        "sso.amazonaws.com",
        "ec2.amazonaws.com",
        "CreateInstance",
        "DeleteInstance",
        "UpdateInstance",
        "createinstance",
        "CreateInstance ",
        "CreateInstances",
        "",
    ]
)
_VALUE = st.one_of(
    _TEXT,
    st.none(),
    st.integers(-2, 2),
    st.lists(_TEXT, max_size=3),
    st.dictionaries(st.sampled_from(["eventName", "x"]), _TEXT, max_size=2),
)


def _maybe(field: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(st.just({}), values.map(lambda v: {field: v}))


_DETAIL = st.builds(
    lambda *parts: {k: v for part in parts for k, v in part.items()},
    _maybe("eventSource", _VALUE),
    _maybe("eventName", _VALUE),
    _maybe("errorCode", _VALUE),
)
_EVENT = st.builds(
    lambda *parts: {k: v for part in parts for k, v in part.items()},
    _maybe("source", _VALUE),
    _maybe("detail-type", _VALUE),
    _maybe("detail", st.one_of(_DETAIL, _VALUE)),
)


@settings(max_examples=400, deadline=None)
@given(_EVENT)
def test_the_replay_matcher_agrees_with_moto(event: dict[str, Any]) -> None:
    matches(event)  # asserts that both matchers agree


@settings(max_examples=200, deadline=None)
@given(
    source=st.sampled_from(["aws.sso", ["aws.sso", "aws.ec2"]]),
    name=st.sampled_from(["CreateInstance", "DeleteInstance", "UpdateInstance", ["x", "UpdateInstance"]]),
)
def test_every_instance_call_matches_even_as_an_array_value(source: Any, name: Any) -> None:
    event = {
        "source": source,
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {"eventSource": "sso.amazonaws.com", "eventName": name},
    }
    assert matches(event)


def test_json_types_are_not_pythons() -> None:
    """true is not 1 to EventBridge, though it is to Python."""
    assert patterns.matches({"a": [1]}, {"a": 1})
    assert patterns.matches({"a": [1]}, {"a": 1.0})
    assert not patterns.matches({"a": [1]}, {"a": True})
    assert not patterns.matches({"a": [True]}, {"a": 1})
    assert not patterns.matches({"a": ["1"]}, {"a": 1})
    assert patterns.matches({"a": [None]}, {"a": None})
    assert not patterns.matches({"a": [None]}, {})


@pytest.mark.parametrize(
    ("pattern", "named"),
    [
        ({"detail": {"eventName": [{"prefix": "Create"}]}}, "detail.eventName"),
        ({"source": []}, "source"),
        ({"source": "aws.sso"}, "source"),
        ({"$or": [{"source": ["aws.sso"]}]}, "$or"),
    ],
)
def test_grammar_beyond_exact_values_is_refused(pattern: dict[str, Any], named: str) -> None:
    with pytest.raises(UnsupportedPattern, match=named.replace("$", r"\$")):
        check_pattern(pattern)
