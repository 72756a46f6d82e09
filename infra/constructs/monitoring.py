"""Alarms and a dashboard that show when the guardrail itself stops working.

A guardrail fails silently: no alert looks the same as nothing to report. So every way the central
path can lose an event raises an alarm to the alert topic: the rules failing to deliver, the
function failing or being throttled, events parked in the dead-letter queue, a channel that did not
take an alert, and an alert the inventory could not record; and a sweep that does not finish (its
execution failed, timed out or was aborted) alarms too.

The alarms notify the alert topic, so while that topic fails, no alarm notification arrives, the
one on its own failures included: such a failure shows on the dashboard (the failures, and the
alarms' states), and the event it left ends in the dead-letter queue once the retries are spent,
which puts the dead-letter queue alarm in ALARM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from guardrail.channels.registry import channel as registered
from guardrail.core.decision import Verdict
from guardrail.handlers.environment import METRICS_NAMESPACE, SERVICE_NAME

PERIOD: Final = Duration.minutes(5)
# The function's own metrics (Powertools adds the `service` dimension to each).
EVENT_METRICS: Final = ("Alerts", "RejectedEvents", "DuplicateEvents")
VERDICT_METRICS: Final = tuple(f"Verdict_{verdict.value}" for verdict in Verdict)
# The sweep functions' metrics (`guardrail.handlers.sweep`).
SWEEP_METRICS: Final = ("SweptAccounts", "UnreadableAccounts", "SweepFailedBatches")
# An alert went out, but the inventory does not know of its event (the next sweep will).
UNRECORDED_INVENTORY: Final = "UnrecordedInventory"


def channel_failures_metric(channel: str) -> str:
    return f"ChannelFailures_{channel}"


@dataclass(frozen=True)
class WatchedRule:
    """An EventBridge rule and the bus it is on (None: the default bus), for its metrics."""

    label: str
    name: str
    bus_name: str | None = None

    def metric(self, metric_name: str) -> cloudwatch.Metric:
        # Rules on a custom bus report with both dimensions, rules on the default bus with RuleName only.
        dimensions = {"RuleName": self.name} | ({"EventBusName": self.bus_name} if self.bus_name else {})
        return cloudwatch.Metric(
            namespace="AWS/Events",
            metric_name=metric_name,
            dimensions_map=dimensions,
            statistic=cloudwatch.Stats.SUM,
            period=PERIOD,
        )


def guardrail_metric(name: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE_NAME},
        statistic=cloudwatch.Stats.SUM,
        period=PERIOD,
    )


class Monitoring(Construct):
    """CloudWatch alarms notifying the alert topic, and the guardrail's dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
        rules: Sequence[WatchedRule],
        topic: sns.ITopic,
        dashboard_name: str,
        state_machine: sfn.IStateMachine,
        sweep_functions: Sequence[tuple[str, lambda_.IFunction]],
        delivery_channels: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self._topic = topic
        self.alarms: list[cloudwatch.Alarm] = []
        dead_letters = dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
        )
        self._alarm(
            "DeadLetterMessagesAlarm",
            dead_letters,
            "Events the IAM Identity Center guardrail could not handle are waiting in its dead-letter queue",
        )
        self._alarm(
            "FunctionErrorsAlarm",
            function.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            "The IAM Identity Center guardrail's function failed; Lambda retries, then uses the "
            "dead-letter queue",
        )
        self._alarm(
            "FunctionThrottlesAlarm",
            function.metric_throttles(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            "The IAM Identity Center guardrail's function was throttled; check its account's concurrency",
        )
        for rule in rules:
            self._alarm(
                f"{rule.label}FailedInvocationsAlarm",
                rule.metric("FailedInvocations"),
                f"EventBridge rule {rule.label} ({rule.name}) failed to deliver IAM Identity Center "
                "instance events to the guardrail's function",
            )

        for channel in delivery_channels:
            # Named, and explained, by the channel's row in the registry.
            alarm = registered(channel).alarm
            self._alarm(
                f"{alarm.label}DeliveryFailuresAlarm",
                guardrail_metric(channel_failures_metric(channel)),
                f"The IAM Identity Center guardrail could not deliver an alert to {alarm.where}. The "
                "delivery is retried alone (a sweep's with its batch); an event whose retries are spent "
                f"is in the dead-letter queue.{alarm.note}",
            )
        self._alarm(
            "UnrecordedInventoryAlarm",
            guardrail_metric(UNRECORDED_INVENTORY),
            "The IAM Identity Center guardrail alerted on an instance event but could not record it in "
            "its inventory; the next sweep records the instance",
        )

        # One alarm for every way an execution can end other than SUCCEEDED.
        unfinished = cloudwatch.MathExpression(
            expression="failed + timedOut + aborted",
            using_metrics={
                "failed": state_machine.metric_failed(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                "timedOut": state_machine.metric_timed_out(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                "aborted": state_machine.metric_aborted(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            },
            label="Sweeps failed, timed out or aborted",
            period=PERIOD,
        )
        self._alarm(
            "SweepUnfinishedAlarm",
            unfinished,
            "A sweep of the IAM Identity Center guardrail failed, timed out or was aborted; its "
            "execution's history in Step Functions says where",
        )

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=dashboard_name, default_interval=Duration.days(7)
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Function invocations, errors and throttles",
                left=[
                    function.metric_invocations(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                    function.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                    function.metric_throttles(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Function duration",
                left=[
                    function.metric_duration(period=PERIOD, statistic=cloudwatch.Stats.AVERAGE),
                    function.metric_duration(period=PERIOD, statistic=cloudwatch.Stats.percentile(99)),
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Alerts and event handling",
                left=[guardrail_metric(name) for name in EVENT_METRICS],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Verdicts", left=[guardrail_metric(name) for name in VERDICT_METRICS], width=8
            ),
            cloudwatch.GraphWidget(title="Dead-letter queue depth", left=[dead_letters], width=8),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Rule deliveries",
                left=[rule.metric("Invocations") for rule in rules],
                right=[rule.metric("FailedInvocations") for rule in rules],
                width=12,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=12),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Alert deliveries that failed, per channel",
                left=[guardrail_metric(channel_failures_metric(c)) for c in delivery_channels],
                right=[guardrail_metric(UNRECORDED_INVENTORY)],
                width=24,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Sweeps",
                left=[
                    state_machine.metric_started(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                    state_machine.metric_succeeded(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                    state_machine.metric_failed(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                    state_machine.metric_timed_out(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                    state_machine.metric_aborted(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                ],
                right=[state_machine.metric_time(period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM)],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Accounts swept", left=[guardrail_metric(name) for name in SWEEP_METRICS], width=8
            ),
            cloudwatch.GraphWidget(
                title="Sweep functions' errors and throttles",
                left=[
                    function.metric_errors(
                        period=PERIOD, statistic=cloudwatch.Stats.SUM, label=f"{label} errors"
                    )
                    for label, function in sweep_functions
                ],
                right=[
                    function.metric_throttles(
                        period=PERIOD, statistic=cloudwatch.Stats.SUM, label=f"{label} throttles"
                    )
                    for label, function in sweep_functions
                ],
                width=8,
            ),
        )

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, description: str) -> None:
        """Any occurrence in a five-minute period alarms; no data (the normal case) does not."""
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self._topic))
        self.alarms.append(alarm)
