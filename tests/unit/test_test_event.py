"""The doctor's test event: which events are tests, and which tests the function accepts."""

from __future__ import annotations

import copy
import json
from typing import Any, cast

import pytest
from moto.events.models import EventPattern
from moto.events.utils import EventMessageType

from guardrail.pipeline.events import InvalidEvent, is_test_event, parse_api_call, parse_test_event
from guardrail.pipeline.patterns import CENTRAL_EVENT_PATTERN, INSTANCE_EVENT_PATTERN, TEST_SOURCE, matches
from tests.builders import sample

SYNTHETIC = "arn:aws:sso:::instance/ssoins-doctor-test-0000"


def doctor_event(**detail: Any) -> dict[str, Any]:
    event = copy.deepcopy(sample("create-instance-console-success"))
    event["source"] = TEST_SOURCE
    event["detail"]["responseElements"] = {"instanceArn": SYNTHETIC}
    event["detail"].update(detail)
    return event


def test_only_the_test_source_makes_a_test() -> None:
    assert is_test_event(doctor_event())
    assert not is_test_event(sample("create-instance-console-success"))
    assert not is_test_event(["not", "an", "event"])
    assert parse_test_event(doctor_event()).instance_arn == SYNTHETIC
    # Parsed as a real event is: the envelope must agree with the record.
    assert parse_test_event(doctor_event()) == parse_api_call(doctor_event())


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            {"responseElements": {"instanceArn": "arn:aws:sso:::instance/ssoins-7a1c2e9b4d5f6a80"}},
            "not CreateInstance",
        ),
        (
            {"eventName": "DeleteInstance", "requestParameters": {"instanceArn": SYNTHETIC}},
            "not DeleteInstance",
        ),
        ({"responseElements": None}, "of None"),
    ],
    ids=["a-real-instance", "not-a-create", "no-instance"],
)
def test_a_test_event_must_create_the_synthetic_instance(change: dict[str, Any], says: str) -> None:
    """So that a test never names, or updates the finding of, a real instance."""
    with pytest.raises(InvalidEvent, match="a test event must be a CreateInstance of the synthetic instance"):
        parse_test_event(doctor_event(**change))
    with pytest.raises(InvalidEvent, match=says):
        parse_test_event(doctor_event(**change))


@pytest.mark.parametrize(
    ("event", "central", "forwarded"),
    [
        (doctor_event(), True, False),
        (sample("create-instance-console-success"), True, True),
        ({**doctor_event(), "source": "identity-center-guardrail.other"}, False, False),
    ],
    ids=["test", "cloudtrail", "other-source"],
)
def test_the_central_rule_alone_takes_the_test_source(
    event: dict[str, Any], central: bool, forwarded: bool
) -> None:
    """As the replay's matcher and EventBridge's (moto's) both judge it."""
    for pattern, expected in ((CENTRAL_EVENT_PATTERN, central), (INSTANCE_EVENT_PATTERN, forwarded)):
        assert matches(pattern, event) is expected
        assert EventPattern.load(json.dumps(pattern)).matches_event(cast(EventMessageType, event)) is expected
