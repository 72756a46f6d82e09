"""EventBridge rules that route IAM Identity Center instance API calls to the detect function."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from guardrail.patterns import INSTANCE_EVENT_PATTERN
from infra.constructs.monitoring import WatchedRule

# The pattern is defined with its matcher in the function's package, so that `guardrail replay`
# filters logs with the very pattern these rules deploy; re-exported here for the other constructs.
__all__ = ["INSTANCE_EVENT_PATTERN", "InstanceEventRules"]

# EventBridge's limits for delivering to a target: keep trying for a day before the DLQ.
TARGET_RETRY_ATTEMPTS = 185
TARGET_MAX_EVENT_AGE = Duration.hours(24)


def _event_pattern() -> events.EventPattern:
    return events.EventPattern(
        source=INSTANCE_EVENT_PATTERN["source"],
        detail_type=INSTANCE_EVENT_PATTERN["detail-type"],
        detail=INSTANCE_EVENT_PATTERN["detail"],
    )


class InstanceEventRules(Construct):
    """The central event bus and the rules on it and on the default bus.

    The default bus sees the central account's own calls in its Region; the central bus
    receives what member accounts forward. Only principals of this organization may put events
    on the central bus, so an outsider cannot feed the guardrail forged events. When the StackSets
    also target the central account, its calls in this Region arrive twice (default bus, and
    forwarded by its own forwarding rule); the idempotency table makes that one alert. The
    default-bus rule stays so that the central account is covered here even when it is not.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        organization_id: str,
        bus_name: str,
        function: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(
            self, "CentralBus", event_bus_name=bus_name, description="IAM Identity Center instance events"
        )
        self.bus.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PutEventsFromThisOrganization",
                principals=[iam.AnyPrincipal()],
                actions=["events:PutEvents"],
                resources=[self.bus.event_bus_arn],
                conditions={"StringEquals": {"aws:PrincipalOrgID": organization_id}},
            )
        )
        self.rules: dict[str, events.Rule] = {}
        for rule_id, bus, description in (
            ("DefaultBusRule", None, "IAM Identity Center instance calls in this account"),
            ("CentralBusRule", self.bus, "IAM Identity Center instance calls forwarded by member accounts"),
        ):
            rule = events.Rule(
                self, rule_id, event_bus=bus, description=description, event_pattern=_event_pattern()
            )
            rule.add_target(
                targets.LambdaFunction(
                    function,
                    retry_attempts=TARGET_RETRY_ATTEMPTS,
                    max_event_age=TARGET_MAX_EVENT_AGE,
                    dead_letter_queue=dead_letter_queue,
                )
            )
            self.rules[rule_id] = rule

    def watched(self) -> list[WatchedRule]:
        """The rules with the bus each is on, as their CloudWatch metrics are dimensioned."""
        return [
            WatchedRule(label, rule.rule_name, None if label == "DefaultBusRule" else self.bus.event_bus_name)
            for label, rule in self.rules.items()
        ]
