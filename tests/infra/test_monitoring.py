"""The alarms and the dashboard that show when the guardrail itself stops working."""

from __future__ import annotations

import json
from typing import Any

from guardrail.core.decision import Verdict
from tests.infra.support import Document, Synthesized


def _alarms(s: Synthesized) -> list[Document]:
    return [alarm["Properties"] for alarm in s.resources("AWS::CloudWatch::Alarm").values()]


def _alarm(s: Synthesized, metric_name: str, **dimensions: Any) -> Document:
    (alarm,) = [
        a
        for a in _alarms(s)
        if a["MetricName"] == metric_name
        and all({"Name": k, "Value": v} in a.get("Dimensions", []) for k, v in dimensions.items())
    ]
    return alarm


def test_every_alarm_notifies_the_alert_topic_on_any_occurrence(synthesized: Synthesized) -> None:
    topic = {"Ref": synthesized.logical_id("AWS::SNS::Topic")}
    alarms = _alarms(synthesized)
    assert len(alarms) == 5
    for alarm in alarms:
        assert alarm["AlarmActions"] == [topic]
        assert alarm["Threshold"] == 0
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["EvaluationPeriods"] == 1
        assert alarm["TreatMissingData"] == "notBreaching"  # no data is the normal, quiet case
        assert alarm["Period"] == 300


def test_function_errors_and_throttles_raise_alarms(synthesized: Synthesized) -> None:
    function = {"Ref": synthesized.logical_id("AWS::Lambda::Function")}
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
    failed = [a for a in _alarms(synthesized) if a["MetricName"] == "FailedInvocations"]
    assert all(a["Namespace"] == "AWS/Events" and a["Statistic"] == "Sum" for a in failed)
    key = json.dumps
    assert sorted(key(sorted(a["Dimensions"], key=key)) for a in failed) == sorted(
        key(sorted(d, key=key)) for d in expected
    )


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
