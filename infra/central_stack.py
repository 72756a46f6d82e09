"""The stack in the central (security tooling) account."""

from __future__ import annotations

from typing import Any, Final

from aws_cdk import CfnOutput, Environment, Stack
from constructs import Construct

from guardrail.core.policy import Policy
from infra.config import GuardrailConfig
from infra.constructs import (
    AlertTopic,
    DeadLetterQueue,
    DetectFunction,
    IdempotencyTable,
    InstanceEventRules,
    MemberStackSets,
    Monitoring,
)
from infra.member_templates import MemberTemplates

DASHBOARD_NAME: Final = "IdentityCenterGuardrail"


class CentralStack(Stack):
    """Receives instance events, decides on them and alerts; watches itself.

    Pinned to the configured central account and Region so that a deploy with credentials for
    another account fails instead of installing the guardrail in the wrong place. With
    `stackset_call_as: DELEGATED_ADMIN` (the default) it also holds the member StackSets, which
    needs the central account registered as a delegated administrator of CloudFormation StackSets.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: GuardrailConfig,
        policy: Policy,
        member_templates: MemberTemplates,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.central_account_id, region=config.central_region),
            description="IAM Identity Center account-instance guardrail: central detection and alerting",
            **kwargs,
        )
        self.alerts = AlertTopic(self, "AlertTopic", emails=config.alert_emails)
        self.dead_letters = DeadLetterQueue(self, "DeadLetterQueue")
        self.idempotency = IdempotencyTable(self, "IdempotencyTable")
        self.detect = DetectFunction(
            self,
            "DetectFunction",
            config=config,
            policy=policy,
            alert_topic=self.alerts,
            dead_letter_queue=self.dead_letters.queue,
            idempotency=self.idempotency,
        )
        self.events = InstanceEventRules(
            self,
            "InstanceEventRules",
            organization_id=config.organization_id,
            bus_name=config.central_bus_name,
            function=self.detect.function,
            dead_letter_queue=self.dead_letters.queue,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            function=self.detect.function,
            dead_letter_queue=self.dead_letters.queue,
            rules=self.events.watched(),
            topic=self.alerts.topic,
            dashboard_name=DASHBOARD_NAME,
        )
        self.stack_sets = MemberStackSets.if_created_by(
            self, "DELEGATED_ADMIN", config=config, templates=member_templates
        )

        CfnOutput(
            self, "AlertTopicArn", value=self.alerts.topic.topic_arn, description="SNS topic of the alerts"
        )
        CfnOutput(
            self,
            "CentralBusArn",
            value=self.events.bus.event_bus_arn,
            description="Event bus member accounts forward instance events to",
        )
        CfnOutput(
            self,
            "DeadLetterQueueUrl",
            value=self.dead_letters.queue.queue_url,
            description="Events that could not be delivered or handled",
        )
        CfnOutput(
            self,
            "DetectFunctionName",
            value=self.detect.function.function_name,
            description="The detect function",
        )
        CfnOutput(
            self,
            "DashboardName",
            value=DASHBOARD_NAME,
            description="CloudWatch dashboard of the guardrail",
        )
