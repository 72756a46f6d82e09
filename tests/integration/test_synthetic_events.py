"""The detect function on the doctor's test event: judged as the same real event would be, acted on
never (no deletion, none scheduled, the inventory untouched), claimed once, alerted as a test."""

from __future__ import annotations

import copy
import json
import logging
import os
from typing import Any

import pytest
from msgspec.structs import replace

from emulator.environment import EmulatedEnvironment
from emulator.scheduler import schedules
from guardrail.core.policy import Enforcement, Mode, Policy, RuleSettings, policy_data
from guardrail.handlers import detect
from guardrail.pipeline.synthetic import NOT_ACTED
from guardrail_cli.doctor import synthetic_entry
from guardrail_cli.emulated import LambdaContextStub, doctor_settings
from tests.builders import NOW, SECURITY

SYNTHETIC = "arn:aws:sso:::instance/ssoins-doctor-test-0000"


def doctor_event(env: EmulatedEnvironment, event_id: str = "evt-doctor-1") -> dict[str, Any]:
    """The doctor's PutEvents entry as the central bus delivers it to the function."""
    entry = synthetic_entry(
        doctor_settings(env, ("us-east-1",)), event_id, NOW, "arn:aws:iam::222222222222:user/ops"
    )
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": SECURITY,
        "time": NOW.isoformat(),
        "region": env.region,
        "resources": [],
        "detail": json.loads(entry["Detail"]),
    }


def enforcing(env: EmulatedEnvironment, policy: Policy, grace_hours: int) -> detect.Runtime:
    """A function deployed with a policy that deletes an instance in an unapproved account."""
    rules = {**policy.rules, "account-not-approved": RuleSettings(action="remediate")}
    enforce = replace(
        policy, mode=Mode.ENFORCE, rules=rules, enforcement=Enforcement(grace_period_hours=grace_hours)
    )
    with open(os.environ["POLICY_PATH"], "w", encoding="utf-8") as file:
        json.dump(policy_data(enforce), file)
    runtime = detect.build_runtime(clock=lambda: NOW, sleep=lambda seconds: None)
    runtime.once.register(LambdaContextStub())  # type: ignore[arg-type]
    return runtime


def inventory(env: EmulatedEnvironment) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = env.central_client("dynamodb").scan(TableName=env.inventory_table_name)[
        "Items"
    ]
    return items


@pytest.mark.parametrize(("grace_hours", "action"), [(0, "delete-instance"), (24, "schedule-deletion")])
def test_a_test_event_is_judged_as_the_real_one_and_acted_on_never(
    env: EmulatedEnvironment,
    policy: Policy,
    caplog: pytest.LogCaptureFixture,
    grace_hours: int,
    action: str,
) -> None:
    # The synthetic instance exists here, so that the decision is the one a real instance gets.
    env.identity_center.seed_instance(
        SECURITY, "us-east-1", name="guardrail-doctor-test", instance_arn=SYNTHETIC
    )
    runtime = enforcing(env, policy, grace_hours)
    caplog.set_level(logging.INFO)

    result = detect.process(doctor_event(env), runtime)

    assert (result["status"], result["test"], result["event_id"]) == ("alerted", True, "evt-doctor-1")
    [alert] = env.received_alerts()
    body = alert["body"]
    assert (body["test"], body["action"], body["remediation"], body["deletion"]) == (
        True,
        action,
        NOT_ACTED,
        None,
    )
    assert "account-not-approved" in {f["rule"] for f in body["findings"]}
    assert alert["subject"].startswith("[TEST] [")
    assert [i.instance_arn for i in env.identity_center.instances(SECURITY)] == [SYNTHETIC]
    assert schedules(env.scheduler_client(), env.deletion_schedule_group) == []
    assert inventory(env) == []
    audit = [r for r in caplog.records if getattr(r, "audit", None)]
    assert audit
    assert all(r.test is True for r in audit)  # type: ignore[attr-defined]

    # The same call from CloudTrail is acted on: what held the test back is its being a test.
    real = copy.deepcopy(doctor_event(env, "evt-real-1"))
    real["source"] = "aws.sso"
    detect.process(real, runtime)
    if grace_hours:
        assert [
            s.input["instance_arn"] for s in schedules(env.scheduler_client(), env.deletion_schedule_group)
        ] == [SYNTHETIC]
    else:
        assert env.identity_center.instances(SECURITY) == []
    assert inventory(env) != []


def test_a_test_event_delivered_twice_alerts_once(env: EmulatedEnvironment, runtime: detect.Runtime) -> None:
    first = detect.process(doctor_event(env), runtime)
    again = detect.process(doctor_event(env), runtime)
    assert (first["status"], again["status"]) == ("alerted", "duplicate")
    assert again["test"] is True
    assert len(env.received_alerts()) == 1


def test_a_test_event_naming_a_real_instance_is_rejected(
    env: EmulatedEnvironment, runtime: detect.Runtime
) -> None:
    event = doctor_event(env)
    event["detail"]["responseElements"]["instanceArn"] = "arn:aws:sso:::instance/ssoins-7a1c2e9b4d5f6a80"
    result = detect.process(event, runtime)
    assert (result["status"], result["test"]) == ("rejected", True)
    assert "a test event must be a CreateInstance of the synthetic instance" in result["reason"]
    [letter] = env.dead_letters()
    assert letter["attributes"]["reason"] == result["reason"]
    assert env.received_alerts() == []


def test_the_handler_takes_a_test_event_as_lambda_invokes_it(env: EmulatedEnvironment) -> None:
    result = detect.handler(doctor_event(env), LambdaContextStub())
    assert (result["status"], result["test"]) == ("alerted", True)
    claims = env.central_client("dynamodb").scan(TableName=env.idempotency_table_name)["Items"]
    assert [c["status"]["S"] for c in claims] == ["COMPLETED"]
    assert json.loads(claims[0]["data"]["S"])["subject"].startswith("[TEST] ")
