"""The stack in the central (security tooling) account."""

from __future__ import annotations

from typing import Any, Final

from aws_cdk import Annotations, CfnOutput, Environment, Stack
from constructs import Construct

from guardrail.core.policy import Policy
from infra.config import GuardrailConfig, known_regions
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
# Ids of the synth warnings about the watched Regions; a deliberate choice can acknowledge one with
# `Annotations.of(stack).acknowledge_warning(id)`.
ONLY_ALLOWED_REGIONS_WATCHED: Final = "guardrail:only-allowed-regions-watched"
REGIONS_NOT_WATCHED: Final = "guardrail:regions-not-watched"


def coverage_warnings(config: GuardrailConfig, policy: Policy) -> dict[str, str]:
    """What is wrong with the watched Regions, by warning id; nothing when every Region is watched.

    Neither stops synthesis: watching fewer Regions can be a deliberate choice, but it should not be
    an unnoticed one. A Region without a forwarding rule sends no event, so an instance created there
    is seen by no rule, `region-not-allowed` included.
    """
    warnings: dict[str, str] = {}
    allowed = policy.allowed_regions
    if allowed is not None and set(config.regions) <= set(allowed):
        warnings[ONLY_ALLOWED_REGIONS_WATCHED] = (
            f"regions: every watched Region ({', '.join(config.regions)}) is allowed by the policy "
            f"({', '.join(allowed)}), so region-not-allowed can never fire from an event; watch every "
            "Region where IAM Identity Center is available (leave regions out)"
        )
    unwatched = [region for region in known_regions("sso") if region not in config.regions]
    if unwatched:
        warnings[REGIONS_NOT_WATCHED] = (
            f"regions: IAM Identity Center is available in Regions that are not watched: "
            f"{', '.join(unwatched)}; an account instance created there raises no alert and is not seen "
            "until a sweep lists instances there"
        )
    return warnings


class CentralStack(Stack):
    """Receives instance events, decides on them and alerts; watches itself.

    Pinned to the configured central account and Region so that a deploy with credentials for
    another account fails instead of installing the guardrail in the wrong place. With
    `stackset_call_as: DELEGATED_ADMIN` (the default) it also holds the member StackSets, which
    needs the central account registered as a delegated administrator of CloudFormation StackSets.
    `cdk synth` warns on it when the watched Regions leave Identity Center Regions unseen
    (`coverage_warnings`).
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
        for warning_id, message in coverage_warnings(config, policy).items():
            Annotations.of(self).add_warning_v2(warning_id, message)

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
