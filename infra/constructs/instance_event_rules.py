"""EventBridge rules that route IAM Identity Center instance API calls to the detect function."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from guardrail.pipeline.patterns import CENTRAL_EVENT_PATTERN, INSTANCE_EVENT_PATTERN
from infra.constructs.monitoring import WatchedRule

# The pattern is defined with its matcher in the function's package, so that `guardrail replay`
# filters logs with the very pattern these rules deploy; re-exported here for the other constructs.
__all__ = ["INSTANCE_EVENT_PATTERN", "InstanceEventRules"]

# EventBridge's limits for delivering to a target: keep trying for a day before the DLQ.
TARGET_RETRY_ATTEMPTS = 185
TARGET_MAX_EVENT_AGE = Duration.hours(24)


def _event_pattern() -> events.EventPattern:
    """The central rule's: the forwarded instance calls, and `guardrail doctor`'s test event."""
    return events.EventPattern(
        source=CENTRAL_EVENT_PATTERN["source"],
        detail_type=CENTRAL_EVENT_PATTERN["detail-type"],
        detail=CENTRAL_EVENT_PATTERN["detail"],
    )


class InstanceEventRules(Construct):
    """The central event bus and the one rule on it that invokes the detect function.

    Every account forwards its instance events to the central bus with its forwarding rule (the
    forwarding StackSet's, or the management Region stacks'), the central account included: in the
    central Region its rule targets a bus of its own account and Region, which EventBridge supports
    with a role as any other bus target. No rule on the central account's default bus invokes the
    function, so each event reaches it by exactly one path, and the central account is watched in
    every Region, as a member is. This needs the central account among the StackSets' targets (it is
    with the default, the root), as its member role already does.

    Only the forwarding role, in an account of this organization, may put events on the central
    bus (`forwarding_role_arns`, every account's role by its fixed name; `aws:PrincipalArn` is the
    role's ARN for its sessions), so neither an outsider nor another principal of the organization
    can feed the guardrail forged events. Within the central account, a principal allowed
    `events:PutEvents` on the bus by its own policy may put events too: `guardrail doctor
    --send-test-event` puts its test event so (source `TEST_SOURCE`, which this rule alone accepts
    and the function judges as a test, acting on nothing).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        organization_id: str,
        bus_name: str,
        forwarding_role_arns: str,
        function: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(
            self, "CentralBus", event_bus_name=bus_name, description="IAM Identity Center instance events"
        )
        self.bus.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PutEventsFromTheForwardingRolesOfThisOrganization",
                principals=[iam.AnyPrincipal()],
                actions=["events:PutEvents"],
                resources=[self.bus.event_bus_arn],
                conditions={
                    "StringEquals": {"aws:PrincipalOrgID": organization_id},
                    "ArnLike": {"aws:PrincipalArn": forwarding_role_arns},
                },
            )
        )
        self.rule = events.Rule(
            self,
            "CentralBusRule",
            event_bus=self.bus,
            description="IAM Identity Center instance calls forwarded by every account of the organization",
            event_pattern=_event_pattern(),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                function,
                retry_attempts=TARGET_RETRY_ATTEMPTS,
                max_event_age=TARGET_MAX_EVENT_AGE,
                dead_letter_queue=dead_letter_queue,
            )
        )

    def watched(self) -> list[WatchedRule]:
        """The rule with the bus it is on, as its CloudWatch metrics are dimensioned."""
        return [WatchedRule("CentralBusRule", self.rule.rule_name, self.bus.event_bus_name)]
