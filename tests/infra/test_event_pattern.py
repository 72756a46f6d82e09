"""The rule pattern catches exactly the three instance calls, checked with EventBridge semantics."""

from __future__ import annotations

import copy
import json
from typing import Any, cast

import pytest
from moto.events.models import EventPattern
from moto.events.utils import EventMessageType

from infra.constructs.instance_event_rules import INSTANCE_EVENT_PATTERN
from tests.infra.support import SAMPLE_EVENTS, load_event

PATTERN = EventPattern.load(json.dumps(INSTANCE_EVENT_PATTERN))


def matches(event: dict[str, Any]) -> bool:
    """EventBridge's matching, as moto implements it."""
    return PATTERN.matches_event(cast(EventMessageType, event))


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
