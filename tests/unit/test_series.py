"""Repeated failed calls grouped into series: what repeats is held and said once; nothing new is held."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import boto3
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from guardrail.adapters.series import SeriesTable
from guardrail.channels.securityhub import Importer, findings
from guardrail.core.alert import build_alert
from guardrail.core.decision import decide
from guardrail.core.facts import Actor, Operation, Outcome
from guardrail.core.policy import Policy
from guardrail.core.series import series_key
from tests.builders import NOW, PROD, call, facts, instance

WINDOW = timedelta(hours=1)


@pytest.fixture(scope="module")
def table() -> Iterator[SeriesTable]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="guard",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield SeriesTable(client, "guard")


def refused(**overrides: object) -> object:
    fields: dict[str, object] = {
        "account_id": PROD,
        "outcome": Outcome.FAILED,
        "error_code": "AccessDenied",
        "instance_arn": None,
        "actor": Actor(arn="arn:aws:sts::444444444444:assumed-role/Deployer/ci", type="AssumedRole"),
    }
    fields.update(overrides)
    return call(**fields)


def key_of(the_call: object, **more: object) -> str | None:
    the_facts = facts(**{"call": the_call, "instance": None, **more})
    return series_key(the_facts, decide(the_facts, Policy(), NOW))


def test_a_call_that_succeeded_is_never_part_of_a_series() -> None:
    assert key_of(call(account_id=PROD), instance=instance(owner_account_id=PROD)) is None


def test_the_same_refused_call_repeated_is_one_series_and_any_difference_another() -> None:
    same = key_of(refused())
    assert same is not None
    assert key_of(refused(event_id="another-event")) == same  # the same attempt, repeated
    for different in (
        refused(actor=Actor(arn="arn:aws:iam::444444444444:user/mallory", type="IAMUser")),
        refused(account_id="333333333333"),
        refused(region="eu-central-1"),
        refused(error_code="ThrottlingException"),
        refused(operation=Operation.DELETE, instance_arn="arn:aws:sso:::instance/ssoins-1111111111111111"),
    ):
        assert key_of(different) not in (None, same)
    # Another finding (here: the root user) is news too.
    root = refused(actor=Actor(arn="arn:aws:iam::444444444444:root", type="Root"))
    assert key_of(root) not in (None, same)


calls_in_time = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 90)),  # a series, and minutes later
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(calls_in_time)
def test_only_what_repeats_within_the_window_is_held_and_every_held_call_is_said_once(
    table: SeriesTable, steps: list[tuple[str, int]]
) -> None:
    run = uuid.uuid4().hex  # series of their own per example
    opened: dict[str, datetime] = {}
    held: dict[str, int] = {}
    now, said, held_total = NOW, 0, 0
    for name, minutes in steps:
        now += timedelta(minutes=minutes)
        key = f"{run}-{name}"
        admission = table.admit(key, now, WINDOW)
        window_open = key in opened and opened[key] > now - WINDOW
        # Held exactly when an earlier call of the same series alerted within the window.
        assert admission.alert is not window_open
        if admission.alert:
            assert admission.held_before == held.get(key, 0)
            said += admission.held_before
            opened[key], held[key] = now, 0
        else:
            held[key] += 1
            held_total += 1
    # Every call held is said by its series' next alert, or still counted in its open window.
    assert said + sum(held.values()) == held_total


def test_a_series_keeps_one_security_hub_finding_updated_with_the_count_held() -> None:
    the_facts = facts(call=refused(), instance=None)
    decision = decide(the_facts, Policy(), NOW)
    key = series_key(the_facts, decision)
    assert key is not None
    importer = Importer(account_id="222222222222", region="us-east-1")
    first = build_alert(
        the_facts, decision, mode="dry-run", series={"key": key, "held_before": 0, "since": None}
    )
    later = build_alert(
        msgspec.structs.replace(the_facts, trigger=refused(event_id="later")),
        decision,
        mode="dry-run",
        series={"key": key, "held_before": 199, "since": NOW.isoformat()},
    )
    assert "(+199 since)" in later.subject
    before = {f["Id"]: f for f in findings(first.body, importer, NOW.isoformat())}
    after = {f["Id"]: f for f in findings(later.body, importer, NOW.isoformat())}
    assert before.keys() == after.keys()  # updated, not duplicated
    assert {f["ProductFields"].get("guardrail/held_before") for f in after.values()} == {"199"}
