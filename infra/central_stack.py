"""The stack in the central (security tooling) account."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Environment, Stack
from constructs import Construct
from guardrail.core.policy import Policy

from infra.config import GuardrailConfig
from infra.constructs import AlertTopic, DeadLetterQueue, DetectFunction, IdempotencyTable, InstanceEventRules


class CentralStack(Stack):
    """Receives instance events, decides on them and alerts.

    Pinned to the configured central account and Region so that a deploy with credentials for
    another account fails instead of installing the guardrail in the wrong place.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: GuardrailConfig, policy: Policy, **kwargs: Any
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
        self.dead_letters.alarm_to(self.alerts.topic)
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
