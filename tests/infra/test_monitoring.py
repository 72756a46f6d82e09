"""The alarms and the dashboard that show when the guardrail itself stops working."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest

from guardrail.core.decision import Verdict
from guardrail.handlers import detect, sweep
from infra.constructs.monitoring import UNRECORDED_INVENTORY, channel_failures_metric
from tests.infra.support import (
    DETECT_HANDLER,
    PLANNER_HANDLER,
    SUMMARY_HANDLER,
    WORKER_HANDLER,
    Document,
    Synthesized,
)


def _alarms(s: Synthesized) -> list[Document]:
    return [alarm["Properties"] for alarm in s.resources("AWS::CloudWatch::Alarm").values()]


def _alarm(s: Synthesized, metric_name: str, **dimensions: Any) -> Document:
    (alarm,) = [
        a
        for a in _alarms(s)
        if a.get("MetricName") == metric_name
        and all({"Name": k, "Value": v} in a.get("Dimensions", []) for k, v in dimensions.items())
    ]
    return alarm


@pytest.mark.parametrize(("fixture", "count"), [("synthesized", 7), ("synthesized_variant", 9)])
def test_every_alarm_notifies_the_alert_topic_on_any_occurrence(
    fixture: str, count: int, request: pytest.FixtureRequest
) -> None:
    """The variant alarms on two more channels' failures (chat, Security Hub CSPM)."""
    s: Synthesized = request.getfixturevalue(fixture)
    topic = {"Ref": s.alert_topic_id()}
    alarms = _alarms(s)
    assert len(alarms) == count
    for alarm in alarms:
        assert alarm["AlarmActions"] == [topic]
        assert alarm["Threshold"] == 0
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["EvaluationPeriods"] == 1
        assert alarm["TreatMissingData"] == "notBreaching"  # no data is the normal, quiet case
        periods = [m["MetricStat"]["Period"] for m in alarm.get("Metrics", []) if "MetricStat" in m]
        assert periods or alarm["Period"] == 300
        assert all(period == 300 for period in periods)


def test_function_errors_and_throttles_raise_alarms(synthesized: Synthesized) -> None:
    function = {"Ref": synthesized.function_id(DETECT_HANDLER)}
    for metric_name in ("Errors", "Throttles"):
        alarm = _alarm(synthesized, metric_name)
        assert alarm["Namespace"] == "AWS/Lambda"
        assert alarm["Statistic"] == "Sum"
        assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": function}]


def test_dead_letter_queue_depth_raises_an_alarm(synthesized: Synthesized) -> None:
    queue = {"Fn::GetAtt": [synthesized.logical_id("AWS::SQS::Queue"), "QueueName"]}
    alarm = _alarm(synthesized, "ApproximateNumberOfMessagesVisible")
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": queue}]


def test_failed_deliveries_of_each_rule_raise_an_alarm(synthesized: Synthesized) -> None:
    """Rules on a custom bus report with EventBusName and RuleName; on the default bus, RuleName only."""
    bus = {"Ref": synthesized.logical_id("AWS::Events::EventBus")}
    expected = []
    for logical_id, rule in synthesized.resources("AWS::Events::Rule").items():
        dimensions = [{"Name": "RuleName", "Value": {"Ref": logical_id}}]
        if "EventBusName" in rule["Properties"]:
            dimensions.insert(0, {"Name": "EventBusName", "Value": bus})
        expected.append(dimensions)
    failed = [a for a in _alarms(synthesized) if a.get("MetricName") == "FailedInvocations"]
    assert all(a["Namespace"] == "AWS/Events" and a["Statistic"] == "Sum" for a in failed)
    key = json.dumps
    assert sorted(key(sorted(a["Dimensions"], key=key)) for a in failed) == sorted(
        key(sorted(d, key=key)) for d in expected
    )


CHANNELS = {"synthesized": ["alerts"], "synthesized_variant": ["alerts", "chat", "securityhub"]}


def _guardrail_metric_alarms(s: Synthesized) -> dict[str, Document]:
    return {a["MetricName"]: a for a in _alarms(s) if a.get("Namespace") == "IdentityCenterGuardrail"}


@pytest.mark.parametrize("fixture", ["synthesized", "synthesized_variant"])
def test_each_configured_channels_failures_and_an_unrecorded_inventory_raise_an_alarm(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    """Any failure in five minutes, counted by the detect function and the sweep worker alike (both
    report with the same `service`); a channel that is off has no alarm."""
    s: Synthesized = request.getfixturevalue(fixture)
    alarms = _guardrail_metric_alarms(s)
    assert sorted(alarms) == sorted(
        [*(f"ChannelFailures_{channel}" for channel in CHANNELS[fixture]), "UnrecordedInventory"]
    )
    for alarm in alarms.values():
        assert alarm["Dimensions"] == [{"Name": "service", "Value": "identity-center-guardrail"}]
        assert alarm["Statistic"] == "Sum"
        assert alarm["Period"] == 300
        assert alarm["Threshold"] == 0
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["AlarmActions"] == [{"Ref": s.alert_topic_id()}]


def test_the_alert_topics_own_alarm_says_where_else_its_failure_shows(synthesized: Synthesized) -> None:
    """It notifies the topic that is failing, so it may never arrive."""
    description = _guardrail_metric_alarms(synthesized)["ChannelFailures_alerts"]["AlarmDescription"]
    assert "dashboard" in description
    assert "dead-letter queue" in description


def test_the_alarms_watch_the_metrics_the_functions_count() -> None:
    """The handlers count `ChannelFailures_<channel>` and `UnrecordedInventory` under these names."""
    for handler in (detect, sweep):
        with mock.patch.object(handler, "_count") as count:
            handler._channel_failed("chat", RuntimeError("chat is down"))
        count.assert_called_once_with(channel_failures_metric("chat"))
    with mock.patch.object(detect, "_count") as count:
        detect._unrecorded(RuntimeError("throttled"))
    count.assert_called_once_with(UNRECORDED_INVENTORY)


@pytest.mark.parametrize("fixture", ["synthesized", "synthesized_variant"])
def test_dashboard_shows_the_delivery_failures_and_their_alarms(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    s: Synthesized = request.getfixturevalue(fixture)
    body = _dashboard_body(s)
    for metric in [*(f"ChannelFailures_{channel}" for channel in CHANNELS[fixture]), "UnrecordedInventory"]:
        assert f'["IdentityCenterGuardrail","{metric}","service","identity-center-guardrail"' in body, metric
    for logical_id, alarm in s.resources("AWS::CloudWatch::Alarm").items():
        if alarm["Properties"].get("Namespace") == "IdentityCenterGuardrail":
            assert json.dumps({"Fn::GetAtt": [logical_id, "Arn"]}) in body, logical_id


def _dashboard_body(s: Synthesized) -> str:
    """The dashboard body with its tokens (Fn::Join parts) flattened into text."""
    body = s.only("AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    return "".join(part if isinstance(part, str) else json.dumps(part) for part in parts)


def test_dashboard_shows_the_function_the_queue_and_the_guardrails_metrics(synthesized: Synthesized) -> None:
    dashboard = synthesized.only("AWS::CloudWatch::Dashboard")["Properties"]
    assert dashboard["DashboardName"] == "IdentityCenterGuardrail"
    body = _dashboard_body(synthesized)
    for metric in ("Invocations", "Errors", "Duration", "Throttles", "ApproximateNumberOfMessagesVisible"):
        assert f'"{metric}"' in body, metric
    custom = ["Alerts", "RejectedEvents", "DuplicateEvents", *(f"Verdict_{v.value}" for v in Verdict)]
    for metric in custom:
        assert f'["IdentityCenterGuardrail","{metric}","service","identity-center-guardrail"' in body, metric
    assert "Verdict_violation" in custom
    assert '"FailedInvocations"' in body
    assert '"alarms":[' in body


def test_a_sweep_that_fails_times_out_or_is_aborted_raises_an_alarm(synthesized: Synthesized) -> None:
    """One alarm on the sum of the three ways an execution ends without succeeding."""
    state_machine = {"Ref": synthesized.logical_id("AWS::StepFunctions::StateMachine")}
    (alarm,) = [a for a in _alarms(synthesized) if "Metrics" in a]
    expression, *metrics = alarm["Metrics"]
    assert expression["Expression"] == "failed + timedOut + aborted"
    assert expression["ReturnData"] is True
    assert {m["Id"]: m["MetricStat"]["Metric"]["MetricName"] for m in metrics} == {
        "failed": "ExecutionsFailed",
        "timedOut": "ExecutionsTimedOut",
        "aborted": "ExecutionsAborted",
    }
    for metric in metrics:
        assert metric["ReturnData"] is False
        assert metric["MetricStat"]["Stat"] == "Sum"
        assert metric["MetricStat"]["Metric"]["Namespace"] == "AWS/States"
        assert metric["MetricStat"]["Metric"]["Dimensions"] == [
            {"Name": "StateMachineArn", "Value": state_machine}
        ]


def test_dashboard_shows_the_sweep(synthesized: Synthesized) -> None:
    body = _dashboard_body(synthesized)
    state_machine = json.dumps({"Ref": synthesized.logical_id("AWS::StepFunctions::StateMachine")})
    for metric in (
        "ExecutionsStarted",
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionsAborted",
        "ExecutionTime",
    ):
        assert f'"AWS/States","{metric}","StateMachineArn","{state_machine}"' in body, metric
    for metric in ("SweptAccounts", "UnreadableAccounts", "SweepFailedBatches"):
        assert f'["IdentityCenterGuardrail","{metric}","service","identity-center-guardrail"' in body, metric
    for handler in (PLANNER_HANDLER, WORKER_HANDLER, SUMMARY_HANDLER):
        assert json.dumps({"Ref": synthesized.function_id(handler)}) in body, handler
