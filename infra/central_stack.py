"""The stack in the central (security tooling) account."""

from __future__ import annotations

from typing import Any, Final

from aws_cdk import Annotations, CfnOutput, Environment, Stack
from constructs import Construct

from guardrail.core.policy import Policy
from infra.bundling import LAMBDA_PLATFORM, function_code
from infra.config import GuardrailConfig, known_regions
from infra.constructs import (
    AlertChannels,
    AlertTopic,
    DeadLetterQueue,
    DeletionSchedules,
    DetectFunction,
    IdempotencyTable,
    InstanceEventRules,
    InventoryTable,
    MemberStackSets,
    Monitoring,
    ReportsBucket,
    SweepFunctions,
    SweepSchedule,
    SweepStateMachine,
)
from infra.constructs.detect_function import FUNCTION_NAME as DETECT_FUNCTION_NAME
from infra.constructs.event_forwarding import forwarding_role_arns
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
    """Receives instance events, decides on them and alerts; sweeps the organization; watches itself.

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
            # Deleting it would remove the StackSets (DELEGATED_ADMIN) and so every account's roles
            # and forwarding rules: a deliberate two-step act, never an accident.
            termination_protection=True,
            **kwargs,
        )
        self.alerts = AlertTopic(self, "AlertTopic", emails=config.alert_emails)
        self.dead_letters = DeadLetterQueue(self, "DeadLetterQueue")
        self.idempotency = IdempotencyTable(self, "IdempotencyTable")
        self.inventory = InventoryTable(self, "InventoryTable")
        # What the detect function and the sweep worker alert on besides the alert topic, as the
        # channels' registry lists them; a channel's topic is encrypted with the alert topic's key.
        self.channels = AlertChannels(self, config, alert_topic=self.alerts, records=self.idempotency)
        # One asset for every function: the package, the policy and the dependencies, bundled once.
        code = function_code(policy, LAMBDA_PLATFORM)
        # Pending deletions (a grace period before a deletion) exist only where deleting is possible.
        self.deletions = (
            DeletionSchedules(
                self,
                "DeletionSchedules",
                target_function_name=DETECT_FUNCTION_NAME,
                dead_letter_queue=self.dead_letters.queue,
            )
            if config.remediation_enabled
            else None
        )
        self.detect = DetectFunction(
            self,
            "DetectFunction",
            config=config,
            code=code,
            alert_topic=self.alerts,
            channels=self.channels,
            dead_letter_queue=self.dead_letters.queue,
            idempotency=self.idempotency,
            inventory=self.inventory,
            deletions=self.deletions,
        )
        self.reports = ReportsBucket(self, "ReportsBucket", retention_days=config.sweep.report_retention_days)
        self.sweep_functions = SweepFunctions(
            self,
            "SweepFunctions",
            config=config,
            code=code,
            reports=self.reports,
            inventory=self.inventory,
            alert_topic=self.alerts,
            channels=self.channels,
            deletions=self.deletions,
        )
        self.sweep = SweepStateMachine(
            self,
            "SweepStateMachine",
            sweep=config.sweep,
            functions=self.sweep_functions,
            reports=self.reports,
        )
        functions = self.sweep_functions
        self.reports.restrict(
            readers=[
                functions.worker.role.role_arn,
                functions.summary.role.role_arn,
                self.sweep.state_machine.role.role_arn,
                *config.reports_readers,
            ],
            writers=[
                functions.planner.role.role_arn,
                functions.worker.role.role_arn,
                functions.summary.role.role_arn,
                self.sweep.state_machine.role.role_arn,
            ],
        )
        self.sweep_schedule = SweepSchedule(
            self,
            "SweepSchedule",
            sweep=config.sweep,
            state_machine=self.sweep.state_machine,
            dead_letter_queue=self.dead_letters.queue,
        )
        self.events = InstanceEventRules(
            self,
            "InstanceEventRules",
            organization_id=config.organization_id,
            bus_name=config.central_bus_name,
            forwarding_role_arns=forwarding_role_arns(config),
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
            state_machine=self.sweep.state_machine,
            sweep_functions=[
                ("Planner", self.sweep_functions.planner.function),
                ("Worker", self.sweep_functions.worker.function),
                ("Summary", self.sweep_functions.summary.function),
            ],
            delivery_channels=self.channels.names,
        )
        self.stack_sets = MemberStackSets.if_created_by(
            self, "DELEGATED_ADMIN", config=config, templates=member_templates
        )
        for warning_id, message in coverage_warnings(config, policy).items():
            Annotations.of(self).add_warning_v2(warning_id, message)

        CfnOutput(
            self, "AlertTopicArn", value=self.alerts.topic.topic_arn, description="SNS topic of the alerts"
        )
        self.channels.outputs(self)
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
        if self.deletions is not None:
            CfnOutput(
                self,
                "DeletionScheduleGroupName",
                value=self.deletions.group_name,
                description="EventBridge Scheduler group of the pending deletions, one schedule per "
                "instance; list them with aws scheduler list-schedules --group-name",
            )
        CfnOutput(
            self,
            "SweepStateMachineArn",
            value=self.sweep.state_machine.state_machine_arn,
            description="The sweep; start one now with aws stepfunctions start-execution --state-machine-arn",
        )
        CfnOutput(
            self,
            "ReportsBucketName",
            value=self.reports.bucket.bucket_name,
            description="The sweep's run files: runs/<run id>/summary.json and the batch reports",
        )
        CfnOutput(
            self,
            "InventoryTableName",
            value=self.inventory.table.table_name,
            description="Every account instance the guardrail knows of",
        )
        CfnOutput(
            self,
            "DashboardName",
            value=DASHBOARD_NAME,
            description="CloudWatch dashboard of the guardrail",
        )
