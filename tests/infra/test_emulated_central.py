"""The emulated central stack that `guardrail doctor --emulated` reads is the synthesized one."""

from __future__ import annotations

import re

from emulator import central
from tests.infra.support import Synthesized


def test_the_emulation_holds_the_templates_function_bus_rule_alarms_and_outputs(
    synthesized: Synthesized,
) -> None:
    resources = synthesized.document["Resources"]
    assert resources[central.FUNCTION_ID]["Type"] == "AWS::Lambda::Function"
    assert resources[central.FUNCTION_ID]["Properties"]["Handler"] == "guardrail.handlers.detect.handler"
    assert resources[central.BUS_ID]["Type"] == "AWS::Events::EventBus"
    assert resources[central.RULE_ID]["Type"] == "AWS::Events::Rule"
    assert synthesized.resources("AWS::Events::Rule").keys() == {central.RULE_ID}
    assert resources[central.STATE_MACHINE_ID]["Type"] == "AWS::StepFunctions::StateMachine"
    schedule = resources[central.SCHEDULE_ID]
    assert schedule["Type"] == "AWS::Scheduler::Schedule"
    assert (schedule["Properties"]["Name"], schedule["Properties"]["ScheduleExpression"]) == (
        central.SCHEDULE_NAME,
        central.SCHEDULE_EXPRESSION,
    )
    labels = {
        re.fullmatch(r"Monitoring(\w+)Alarm[0-9A-F]{8}", logical_id).group(1)  # type: ignore[union-attr]
        for logical_id in synthesized.resources("AWS::CloudWatch::Alarm")
    }
    assert labels == set(central.ALARM_LABELS)
    # The outputs the doctor reads.
    assert {"DetectFunctionName", "AlertTopicArn", "DeadLetterQueueUrl", "SweepStateMachineArn"} <= set(
        synthesized.document["Outputs"]
    )
    # The function's environment names the variables the emulated function is given.
    variables = resources[central.FUNCTION_ID]["Properties"]["Environment"]["Variables"]
    assert {"IDEMPOTENCY_TABLE_NAME", "CHAT_TOPIC_ARN", "SECURITY_HUB_ACCOUNT_ID"} <= set(variables)
