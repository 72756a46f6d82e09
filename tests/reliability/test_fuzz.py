"""Hostile and broken input through the real handler: every event ends in exactly one outcome.

The events are the samples, mutated by Hypothesis (keys dropped, values replaced by nulls, wrong
types, nested junk, odd unicode, strings far beyond EventBridge's 256 KB), plausible variations
(other accounts, Regions, operations, errors) and inputs that are not events at all. Whatever
arrives, the invocation returns, and exactly one of these happened:

* ``alerted``: one alert published for the event, nothing dead-lettered;
* ``rejected``: one dead-letter record saying why, one error logged, nothing published;
* ``duplicate``: nothing published or dead-lettered, and the event id had already been alerted;
* ``recorded``: a failed call that repeats one alerted within the policy's window (a series):
  nothing published or dead-lettered.

Examples are derandomized, so a failure reproduces; each starts with fresh event ids.
"""

from __future__ import annotations

import copy
import logging
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.environment import EmulatedEnvironment
from emulator.organization import (
    MANAGEMENT_ACCOUNT_ID,
    OUTSIDE_ACCOUNT_ID,
    PROD_ACCOUNT_ID,
    SANDBOX_ACCOUNT_ID,
)
from guardrail.handlers import detect
from tests.builders import SAMPLES, sample
from tests.reliability.conftest import CONTEXT, Records

SAMPLE_NAMES = sorted(path.stem for path in SAMPLES.glob("*.json"))
TOP_KEYS = ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
DETAIL_KEYS = [
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "requestParameters",
    "responseElements",
    "eventID",
    "recipientAccountId",
    "errorCode",
    "errorMessage",
]
NESTED_KEYS = [
    ("requestParameters", "name"),
    ("requestParameters", "tags"),
    ("requestParameters", "instanceArn"),
    ("responseElements", "instanceArn"),
    ("userIdentity", "arn"),
    ("userIdentity", "type"),
]
PATHS: list[tuple[str, ...]] = (
    [(k,) for k in TOP_KEYS] + [("detail", k) for k in DETAIL_KEYS] + [("detail", *p) for p in NESTED_KEYS]
)
DELETING = {"delete-instance", "would-delete-instance"}

odd_text = st.text(
    alphabet=st.characters(codec=None, exclude_categories=[])
    | st.sampled_from(["\x00", "\ud800", "\udfff", "\u202e", "\ufeff", "\U0001f4a5", "\n"]),
    max_size=40,
)
huge_text = st.sampled_from([20_000, 300_000]).flatmap(
    lambda n: st.sampled_from(["x", "é", "\U0001f4a5", "\ud800"]).map(lambda c: c * n)
)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | odd_text
junk = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=12,
)
values = junk | huge_text | st.sampled_from(["", "0", "CreateInstance", "sso.amazonaws.com", "us-east-1"])


def _set(event: dict[str, Any], path: tuple[str, ...], value: Any, *, delete: bool = False) -> None:
    target: Any = event
    for key in path[:-1]:
        if not isinstance(target, dict) or not isinstance(target.get(key), dict):
            return
        target = target[key]
    if delete:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value


mutation = st.one_of(
    st.tuples(st.just("delete"), st.sampled_from(PATHS), st.none()),
    st.tuples(st.just("set"), st.sampled_from(PATHS), values),
    st.tuples(st.just("add"), st.sampled_from([(), ("detail",)]), st.tuples(odd_text, junk)),
)


@st.composite
def mutated_samples(draw: st.DrawFn) -> Any:
    event = sample(draw(st.sampled_from(SAMPLE_NAMES)))
    event["detail"]["eventID"] = str(uuid.uuid4())
    event["id"] = str(uuid.uuid4())
    for kind, path, value in draw(st.lists(mutation, min_size=1, max_size=4)):
        if kind == "delete":
            _set(event, path, None, delete=True)
        elif kind == "set":
            _set(event, path, copy.deepcopy(value))
        else:
            key, extra = value
            _set(event, (*path, key), extra)
    return event


@st.composite
def plausible_events(draw: st.DrawFn) -> dict[str, Any]:
    """Well-formed events about any account, Region and outcome: these should all be alerted."""
    event = sample(draw(st.sampled_from([n for n in SAMPLE_NAMES if "permission-set" not in n])))
    detail = event["detail"]
    account = draw(
        st.sampled_from([MANAGEMENT_ACCOUNT_ID, SANDBOX_ACCOUNT_ID, PROD_ACCOUNT_ID, OUTSIDE_ACCOUNT_ID])
        | st.from_regex(r"[0-9]{12}", fullmatch=True)
    )
    region = draw(st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-7", "us-gov-west-1"]))
    detail.update(
        eventID=str(uuid.uuid4()),
        recipientAccountId=account,
        awsRegion=region,
        eventName=draw(st.sampled_from(["CreateInstance", "DeleteInstance", "UpdateInstance"])),
    )
    if draw(st.booleans()):
        detail["errorCode"], detail["errorMessage"] = (
            draw(st.sampled_from(["AccessDenied", "ConflictException"])),
            "x",
        )
    # An instance ARN of another shape is not plausible: the mutated samples send those.
    arn = draw(st.none() | st.from_regex(r"arn:aws:sso:::instance/ssoins-[0-9a-f]{16}", fullmatch=True))
    detail["responseElements"] = None if arn is None else {"instanceArn": arn}
    event["account"], event["region"] = account, region
    return event


not_events = st.one_of(
    st.none(), st.integers(), odd_text, st.lists(junk, max_size=3), huge_text, st.binary(max_size=20)
)


def deliver(event: Any, world: EmulatedEnvironment, logs: Records, alerted: set[str]) -> str:
    """Run the handler and check that exactly one outcome happened; return the status."""
    logs.take()
    result = detect.handler(event, CONTEXT)  # never raises: a raise here fails the example
    alerts, letters, errors = world.received_alerts(), world.dead_letters(), logs.take(logging.ERROR)
    status: str = result["status"]
    if status == "alerted":
        assert (len(alerts), letters) == (1, []), (alerts, letters)
        body = alerts[0]["body"]
        assert body["event_id"] == result["event_id"]
        assert not (body["missing_facts"] and body["action"] in DELETING), body
        alerted.add(result["event_id"])
    elif status == "rejected":
        assert (alerts, len(letters)) == ([], 1), (alerts, letters)
        assert letters[0]["attributes"]["reason"]
        assert [r.getMessage() for r in errors] == ["Rejected an event it cannot process"]
    elif status == "duplicate":
        assert (alerts, letters) == ([], [])
        assert result["event_id"] in alerted
    elif status == "recorded":
        assert (alerts, letters) == ([], [])
        assert isinstance(event, dict)
        assert event["detail"].get("errorCode"), "only a failed call is held back as a repeat"
    else:
        pytest.fail(f"unexpected status {status!r}")
    return status


FUZZ = settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,  # `clean` only needs to run once per test
    ],
)


@pytest.fixture(scope="module")
def alerted() -> set[str]:
    return set()


@pytest.mark.usefixtures("clean")
@settings(FUZZ, max_examples=100)
@given(event=mutated_samples())
def test_mutated_samples_are_alerted_or_rejected(
    event: Any, world: EmulatedEnvironment, logs: Records, alerted: set[str]
) -> None:
    deliver(event, world, logs, alerted)


@pytest.mark.usefixtures("clean")
@settings(FUZZ, max_examples=30)
@given(event=plausible_events())
def test_plausible_events_about_any_account_are_alerted(
    event: dict[str, Any], world: EmulatedEnvironment, logs: Records, alerted: set[str]
) -> None:
    # Alerted, or (a failed call repeating one alerted earlier in the run) held as a repeat.
    assert deliver(event, world, logs, alerted) in ("alerted", "recorded")


@pytest.mark.usefixtures("clean")
@settings(FUZZ, max_examples=25)
@given(event=not_events)
def test_inputs_that_are_not_events_are_rejected(
    event: Any, world: EmulatedEnvironment, logs: Records, alerted: set[str]
) -> None:
    assert deliver(event, world, logs, alerted) == "rejected"


@pytest.mark.usefixtures("clean")
def test_a_reused_event_id_is_a_duplicate_not_a_second_alert(
    world: EmulatedEnvironment, logs: Records, alerted: set[str]
) -> None:
    event = sample("update-instance")
    event["detail"]["eventID"] = str(uuid.uuid4())
    assert deliver(event, world, logs, alerted) == "alerted"
    event["detail"]["userAgent"] = "\U0001f4a5" * 10_000  # same id, different content
    assert deliver(event, world, logs, alerted) == "duplicate"
