"""The functions' environments are composed of parts declared once: what a model writes is what it
declares, Powertools' variables are the `Observability` part's and nowhere else, and the channels'
variables are the registry's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from guardrail.channels.registry import ALERTS, channels, optional_channels
from guardrail.handlers.environment import (
    Alerting,
    Channels,
    DetectEnvironment,
    FunctionEnvironment,
    MemberReads,
    Observability,
    Part,
    SweepPlannerEnvironment,
    SweepSummaryEnvironment,
    SweepWorkerEnvironment,
)

ROOT = Path(__file__).resolve().parents[2]
ALERTING = Alerting(alert_topic_arn="arn:aws:sns:us-east-1:222222222222:alerts")
MEMBERS = MemberReads(member_role_name="Member", instance_regions=("us-east-1",))
MODELS: list[FunctionEnvironment] = [
    DetectEnvironment(
        alerting=ALERTING,
        member_reads=MEMBERS,
        dead_letter_queue_url="https://sqs/dlq",
        idempotency_table_name="claims",
        inventory_table_name="inventory",
        channels=Channels(targets={"chat": "arn:aws:sns:us-east-1:222222222222:chat"}),
    ),
    SweepPlannerEnvironment(reports_bucket="reports"),
    SweepWorkerEnvironment(
        reports_bucket="reports", inventory_table_name="inventory", alerting=ALERTING, member_reads=MEMBERS
    ),
    SweepSummaryEnvironment(reports_bucket="reports", alerting=ALERTING),
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_a_model_writes_exactly_what_it_declares_and_reads_it_back(model: FunctionEnvironment) -> None:
    variables = model.variables()
    assert set(variables) == set(model.declared())
    assert type(model).from_environ(variables) == model
    assert {k: v for k, v in variables.items() if k.startswith("POWERTOOLS_")} == Observability().variables()


def test_the_channels_part_declares_one_variable_per_optional_channel() -> None:
    assert set(Channels.declared()) == {spec.variable for spec in optional_channels()}
    assert ALERTS.variable in Alerting.declared()  # the alert topic's row names the Alerting part's
    assert len({spec.name for spec in channels()}) == len(channels())
    with pytest.raises(ValueError, match="no optional channel is registered as pager"):
        Channels(targets={"pager": "x"})


class Twice(Part, frozen=True, kw_only=True):
    alert_topic_arn: str = "again"


class Clash(FunctionEnvironment, frozen=True, kw_only=True):
    alerting: Alerting
    twice: Twice = Twice()


def test_a_variable_declared_by_two_parts_is_refused() -> None:
    with pytest.raises(ValueError, match="ALERT_TOPIC_ARN declared twice"):
        Clash(alerting=ALERTING).variables()


def test_powertools_variables_are_spelled_in_the_model_alone() -> None:
    """The deployed functions' and the local runners' Powertools settings come from the model."""
    spelled = re.compile(r"[\"']POWERTOOLS_(SERVICE_NAME|METRICS_NAMESPACE|METRICS_DISABLED|TRACE_DISABLED)")
    found = [
        str(path.relative_to(ROOT))
        for folder in ("infra", "lambdas", "guardrail_cli", "emulator")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "environment.py" and spelled.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []
