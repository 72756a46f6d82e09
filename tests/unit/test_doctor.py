"""`guardrail doctor`'s pieces without AWS: the names it holds, held to the infra's, and its output."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

from emulator import central as emulated_central
from emulator import forwarding as emulated
from guardrail.pipeline.events import is_test_event, parse_test_event
from guardrail.pipeline.patterns import CENTRAL_EVENT_PATTERN, INSTANCE_EVENT_PATTERN, matches
from guardrail_cli import doctor
from guardrail_cli.central import CLAIM_KEY_PREFIX, claim_key
from guardrail_cli.doctor import (
    Check,
    DoctorSettings,
    Problem,
    document,
    render,
    schedule_period,
    synthetic_entry,
)


def test_the_names_the_doctor_and_the_emulation_hold_are_the_infras() -> None:
    from guardrail.sweep import coverage
    from infra.application import CENTRAL_STACK_NAME
    from infra.constructs.detect_function import FUNCTION_NAME
    from infra.constructs.event_forwarding import FORWARDING_DEAD_LETTER_QUEUE_NAME, FORWARDING_RULE_NAME
    from infra.constructs.member_stacksets import FORWARDING_STACKSET_NAME, ROLES_STACKSET_NAME

    assert doctor.CENTRAL_STACK_NAME == CENTRAL_STACK_NAME
    assert doctor.FIXED_DETECT_FUNCTION_NAME == FUNCTION_NAME
    assert doctor.FORWARDING_RULE_NAME == emulated.FORWARDING_RULE_NAME == FORWARDING_RULE_NAME
    assert (
        doctor.FORWARDING_DEAD_LETTER_QUEUE_NAME
        == emulated.FORWARDING_DEAD_LETTER_QUEUE_NAME
        == FORWARDING_DEAD_LETTER_QUEUE_NAME
    )
    assert (coverage.MEMBER_ROLES_STACKSET, coverage.FORWARDING_STACKSET) == (
        ROLES_STACKSET_NAME,
        FORWARDING_STACKSET_NAME,
    )


def test_the_sweep_schedule_the_doctor_and_the_emulation_hold_is_the_infras() -> None:
    from infra.config import SweepConfig
    from infra.constructs.sweep_schedule import SCHEDULE_NAME

    assert doctor.SWEEP_SCHEDULE_NAME == emulated_central.SCHEDULE_NAME == SCHEDULE_NAME
    assert SweepConfig().schedule == emulated_central.SCHEDULE_EXPRESSION


@pytest.mark.parametrize(
    ("expression", "period"),
    [
        ("cron(0 6 * * ? *)", timedelta(days=1)),
        ("cron(0 */6 * * ? *)", timedelta(days=1)),
        ("cron(0 6 ? * MON-FRI *)", timedelta(days=7)),
        ("cron(0 6 1 * ? *)", timedelta(days=31)),
        ("cron(0 6 1 JAN ? *)", timedelta(days=366)),
        ("rate(12 hours)", timedelta(hours=12)),
        ("rate(1 day)", timedelta(days=1)),
        ("rate(30 minutes)", timedelta(minutes=30)),
        ("rate(3 days)", timedelta(days=3)),
        ("at(2026-12-01T06:00:00)", timedelta(days=1)),
        ("", timedelta(days=1)),
    ],
)
def test_what_recently_means_for_a_schedule(expression: str, period: timedelta) -> None:
    assert schedule_period(expression) == period


def test_the_claim_key_is_the_idempotency_utilitys() -> None:
    """The doctor finds the function's record of its event where Powertools puts it."""
    layer = DynamoDBPersistenceLayer(
        table_name="t", boto3_client=boto3.client("dynamodb", region_name="us-east-1")
    )
    layer.configure(IdempotencyConfig(event_key_jmespath="event_id"), key_prefix=CLAIM_KEY_PREFIX)
    for event_id in ("0f8fad5b-d9cb-469f-a165-70867728950e", 'an id with "quotes" and ünïcode'):
        assert claim_key(event_id) == layer._get_hashed_idempotency_key({"event_id": event_id})


SETTINGS = DoctorSettings(
    central_account_id="222222222222",
    central_region="eu-west-1",
    central_bus_name="guardrail-bus",
    member_role_name="Audit",
    regions=("eu-west-1",),
)


def delivered(entry: dict[str, Any]) -> dict[str, Any]:
    """The event EventBridge makes of a PutEvents entry of the central account, on the central bus."""
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": SETTINGS.central_account_id,
        "time": "2026-12-01T06:00:00Z",
        "region": SETTINGS.central_region,
        "resources": [],
        "detail": json.loads(entry["Detail"]),
    }


def test_the_test_event_reaches_the_central_rule_only_and_parses_as_a_test() -> None:
    now = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    entry = synthetic_entry(SETTINGS, "evt-doctor-1", now, "arn:aws:sts::222222222222:assumed-role/Ops/alice")
    assert entry["EventBusName"] == SETTINGS.central_bus_arn
    assert not entry["Source"].startswith("aws.")  # EventBridge refuses those from PutEvents
    event = delivered(entry)
    assert matches(CENTRAL_EVENT_PATTERN, event)
    assert not matches(INSTANCE_EVENT_PATTERN, event)  # no forwarding rule carries it
    assert is_test_event(event)
    call = parse_test_event(event)
    assert (call.event_id, call.account_id, call.region) == ("evt-doctor-1", "222222222222", "eu-west-1")
    assert call.instance_arn == "arn:aws:sso:::instance/ssoins-doctor-test-0000"
    assert (call.actor.type, call.actor.arn) == (
        "AssumedRole",
        "arn:aws:sts::222222222222:assumed-role/Ops/alice",
    )
    assert call.event_time == now


def test_the_central_bus_is_the_configurations() -> None:
    settings = DoctorSettings(
        central_account_id="222222222222",
        central_region="eu-west-1",
        central_bus_name="guardrail-bus",
        member_role_name="Audit",
        regions=("eu-west-1",),
    )
    assert (
        settings.forwarding.central_bus_arn == "arn:aws:events:eu-west-1:222222222222:event-bus/guardrail-bus"
    )
    assert settings.forwarding.rule_name == doctor.FORWARDING_RULE_NAME


CHECKS = [
    Check("detect function", True, "f Active"),
    Check(
        "forwarding rules",
        False,
        "wrong in 1 of 8 account-Regions read",
        (Problem("333333333333 eu-west-1: the rule is DISABLED", "aws events enable-rule ..."),),
    ),
]


def test_each_check_is_one_line_and_each_problem_says_its_fix_below_it() -> None:
    assert render(CHECKS).splitlines() == [
        "ok     detect function: f Active",
        "WRONG  forwarding rules: wrong in 1 of 8 account-Regions read",
        "         333333333333 eu-west-1: the rule is DISABLED",
        "           fix: aws events enable-rule ...",
        "",
        "1 of 2 checks WRONG",
    ]
    assert render(CHECKS[:1]).splitlines()[-1] == "all ok"


def test_the_json_document_holds_every_check() -> None:
    data = json.loads(json.dumps(document(CHECKS)))
    assert data["ok"] is False
    assert data["checks"][1] == {
        "check": "forwarding rules",
        "ok": False,
        "detail": "wrong in 1 of 8 account-Regions read",
        "problems": [
            {"what": "333333333333 eu-west-1: the rule is DISABLED", "fix": "aws events enable-rule ..."}
        ],
    }
    assert document(CHECKS[:1])["ok"] is True
