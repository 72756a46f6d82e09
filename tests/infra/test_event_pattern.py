"""The rule pattern catches exactly the instance calls, and tag changes of instances only, checked
with EventBridge semantics.

moto's matcher stands in for EventBridge; the replay's own matcher (`guardrail.pipeline.patterns.matches`)
must agree with it on every event here, and on generated ones.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto.events.models import EventPattern
from moto.events.utils import EventMessageType

from guardrail.pipeline import patterns
from guardrail.pipeline.patterns import INSTANCE_EVENT_PATTERN, UnsupportedPattern, check_pattern
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
    assert len(INSTANCE_SAMPLES) == 9
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


INSTANCE = "arn:aws:sso:::instance/ssoins-7a1c2e9b4d5f6a80"


def _tagging(name: str, resource_arn: Any) -> dict[str, Any]:
    return _look_alike(
        detail={
            "eventName": name,
            "requestParameters": {"instanceArn": INSTANCE, "resourceArn": resource_arn},
        }
    )


@pytest.mark.parametrize("name", ["TagResource", "UntagResource"])
@pytest.mark.parametrize(
    "resource_arn",
    [INSTANCE, "arn:aws-us-gov:sso:::instance/ssoins-1234", "arn:aws-cn:sso:::instance/ssoins-1234"],
)
def test_tag_changes_of_an_instance_match_in_every_partition(name: str, resource_arn: str) -> None:
    assert matches(_tagging(name, resource_arn))


@pytest.mark.parametrize(
    "resource_arn",
    [
        pytest.param(
            "arn:aws:sso:::permissionSet/ssoins-7a1c2e9b4d5f6a80/ps-0123456789abcdef", id="permission-set"
        ),
        pytest.param(
            "arn:aws:sso::444444444444:application/ssoins-7a1c2e9b4d5f6a80/apl-01234567", id="application"
        ),
        pytest.param("arn:aws:sso::444444444444:trustedTokenIssuer/ssoins-7a1c/tti-0123", id="token-issuer"),
        pytest.param("arn:aws:sso:::instance", id="no-instance-id"),
        pytest.param(None, id="null"),
    ],
)
def test_tag_changes_of_other_resources_do_not_match(resource_arn: Any) -> None:
    assert not matches(_tagging("TagResource", resource_arn))


def test_a_tag_change_without_a_resource_does_not_match() -> None:
    event = _look_alike(detail={"eventName": "TagResource", "requestParameters": {"instanceArn": INSTANCE}})
    assert not matches(event)


def test_a_tagged_instance_arn_does_not_make_an_instance_call_of_another_name() -> None:
    assert not matches(_tagging("ListTagsForResource", INSTANCE))


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
        "TagResource",
        "UntagResource",
        INSTANCE,
        "arn:aws:sso:::permissionSet/ssoins-1/ps-1",
        "arn:aws:sso:::instance/",
        "arn:sso:::instance/x",
        "",
    ]
)
_VALUE = st.one_of(
    _TEXT,
    st.none(),
    st.integers(-2, 2),
    st.lists(_TEXT, max_size=3),
    st.dictionaries(st.sampled_from(["eventName", "resourceArn", "x"]), _TEXT, max_size=2),
)


def _maybe(field: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(st.just({}), values.map(lambda v: {field: v}))


_DETAIL = st.builds(
    lambda *parts: {k: v for part in parts for k, v in part.items()},
    _maybe("eventSource", _VALUE),
    _maybe("eventName", _VALUE),
    _maybe("errorCode", _VALUE),
    _maybe("requestParameters", _VALUE),
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
    ("pattern", "value", "expected"),
    [
        ({"a": [{"prefix": "arn:aws:"}]}, "arn:aws:sso", True),
        ({"a": [{"prefix": "arn:aws:"}]}, "arn:aws", False),
        ({"a": [{"prefix": "1"}]}, 12, False),
        ({"a": [{"wildcard": "a*c"}]}, "abbbc", True),
        ({"a": [{"wildcard": "a*c"}]}, "abbbcd", False),
        ({"a": [{"wildcard": "a*c"}]}, "ac", True),
        ({"a": [{"wildcard": "a.c"}]}, "abc", False),
        ({"a": [{"wildcard": "a\\*c"}]}, "a*c", True),
        ({"a": [{"wildcard": "a\\*c"}]}, "abc", False),
        ({"a": ["x", {"wildcard": "*:instance/*"}]}, ["y", "arn-instance/1"], False),
        ({"a": ["x", {"wildcard": "*:instance/*"}]}, ["y", "arn::instance/1"], True),
    ],
)
def test_prefix_and_wildcard_as_eventbridge_reads_them(
    pattern: dict[str, Any], value: Any, expected: bool
) -> None:
    event = {"a": value}
    assert EventPattern.load(json.dumps(pattern)).matches_event(cast(EventMessageType, event)) is expected
    assert patterns.matches(pattern, event) is expected


def test_or_needs_one_branch_and_every_sibling() -> None:
    pattern = {"s": ["x"], "$or": [{"a": ["1"]}, {"b": ["2"]}]}
    for event, expected in [
        ({"s": "x", "a": "1"}, True),
        ({"s": "x", "b": "2"}, True),
        ({"s": "y", "a": "1"}, False),
        ({"s": "x", "a": "2", "b": "1"}, False),
    ]:
        assert EventPattern.load(json.dumps(pattern)).matches_event(cast(EventMessageType, event)) is expected
        assert patterns.matches(pattern, event) is expected


@pytest.mark.parametrize(
    ("pattern", "named"),
    [
        ({"detail": {"eventName": [{"anything-but": "Create"}]}}, "detail.eventName"),
        ({"detail": {"eventName": [{"prefix": 1}]}}, "detail.eventName"),
        ({"detail": {"eventName": [{"prefix": "a", "wildcard": "b"}]}}, "detail.eventName"),
        ({"source": []}, "source"),
        ({"source": "aws.sso"}, "source"),
        ({"$or": [{"source": ["aws.sso"]}]}, "$or"),
        ({"$or": [{"source": ["aws.sso"]}, {}]}, r"$or[1]"),
        ({"$and": [{"source": ["aws.sso"]}, {"source": ["x"]}]}, "$and"),
    ],
)
def test_grammar_beyond_exact_values_is_refused(pattern: dict[str, Any], named: str) -> None:
    with pytest.raises(UnsupportedPattern, match=re.escape(named)):
        check_pattern(pattern)
