"""The sweep's three Lambda functions: the planner, the worker (one batch of accounts) and the summary.

They run the same asset as the detect function (`infra.bundling.function_code`), on the same
platform and with the same Powertools layer; `SweepStateMachine` runs them in order. Each has a
role of its own, written out statement by statement as the detect function's is, so that a review
of this file is a review of everything a sweep may do.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from guardrail.handlers.environment import (
    Alerting,
    FunctionEnvironment,
    PolicyFile,
    SweepPlannerEnvironment,
    SweepSummaryEnvironment,
    SweepWorkerEnvironment,
)
from guardrail.sweep.blind_spots import KNOWN_KEY as KNOWN_BLIND_SPOTS_KEY
from guardrail.sweep.report.history import HISTORY_KEY
from guardrail.sweep.report.store import REPORT_NAME
from infra.bundling import LAMBDA_PLATFORM, POLICY_FILE_NAME
from infra.config import SWEEP_WORKER_TIMEOUT_SECONDS, GuardrailConfig
from infra.constructs.alert_channels import AlertChannels
from infra.constructs.alert_topic import AlertTopic
from infra.constructs.deletion_schedules import DeletionSchedules, pending_deletions
from infra.constructs.detect_function import (
    acknowledge_runtime,
    member_reads,
    organization_reads,
    powertools_layer,
)
from infra.constructs.event_forwarding import (
    FORWARDING_DEAD_LETTER_QUEUE_NAME,
    FORWARDING_RULE_NAME,
    central_bus_arn,
)
from infra.constructs.inventory_table import InventoryTable
from infra.constructs.member_role import member_role_arns
from infra.constructs.reports_bucket import MAP_RESULTS_PREFIX, ReportsBucket, run_objects
from infra.nag import acknowledge, logical_id
from infra.organizations_reads import (
    SWEEP_ORGANIZATIONS_READ_ACTIONS,
    UNSCOPED_REASON,
    acknowledge_organization_wildcards,
    organizations_read_statements,
)

PLANNER_HANDLER: Final = "guardrail.handlers.sweep.plan_handler"
WORKER_HANDLER: Final = "guardrail.handlers.sweep.work_handler"
SUMMARY_HANDLER: Final = "guardrail.handlers.sweep.summarize_handler"
PLANNER_TIMEOUT: Final = Duration.minutes(5)
WORKER_TIMEOUT: Final = Duration.seconds(SWEEP_WORKER_TIMEOUT_SECONDS)
SUMMARY_TIMEOUT: Final = Duration.minutes(5)
# The planner holds the whole organization in memory once; the worker reads 8 accounts at a time,
# each with its own sessions and clients (one per watched Region where it lists Region by Region);
# the summary holds every batch's report. Memory also buys CPU, which TLS handshakes use most.
PLANNER_MEMORY_MB: Final = 512
WORKER_MEMORY_MB: Final = 1024
SUMMARY_MEMORY_MB: Final = 512

XRAY_REASON: Final = "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions"


class SweepFunction(Construct):
    """One of the sweep's functions, with its own role and log group, traced with X-Ray."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        handler: str,
        code: lambda_.Code,
        role_name: str | None,
        memory_size: int,
        timeout: Duration,
        environment: FunctionEnvironment,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "LogGroup", retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.RETAIN
        )
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Runs the IAM Identity Center account-instance guardrail's sweep {construct_id.lower()}",
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=LAMBDA_PLATFORM.runtime,
            architecture=LAMBDA_PLATFORM.architecture,
            handler=handler,
            code=code,
            layers=[powertools_layer(self)],
            memory_size=memory_size,
            timeout=timeout,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            role=self.role,
            environment=environment.variables(),
        )
        self.log_group.grant_write(self.role)
        acknowledge_runtime(self.function)

    @property
    def default_policy(self) -> IConstruct:
        """The role's default policy, where the findings about the role's statements are."""
        return self.role.node.find_child("DefaultPolicy")

    def allow(self, sid: str, actions: list[str], resources: list[str]) -> None:
        """One statement of the role's policy, named by its `sid`."""
        self.role.add_to_policy(iam.PolicyStatement(sid=sid, actions=actions, resources=resources))


class SweepFunctions(Construct):
    """The planner, the worker and the summary of the sweep.

    - planner: reads the organization (through `organizations_role_arn`, or with its own role in a
      delegated administrator) and writes the run's snapshot and accounts;
    - worker: assumes the member role in each account of its batch (where it also checks the
      account's forwarding rule and its dead-letter queue, by the names the templates give them),
      keeps the inventory, alerts on the alert topic and the configured `channels` (recording its
      deliveries when there are several; it makes no idempotency claims);
    - summary: reads what the map wrote and the run's snapshot, writes the summary and the report
      (and the runs' history its chart draws), and publishes the summary.

    The planner's and the worker's roles have the configured names, because the Organizations
    reader role and the member role in other accounts trust exactly those ARNs.

    With `deletions` (pending deletions are deployed), the worker schedules the deletions its
    decisions ask for after a grace period and cancels those no longer asked for: it may create,
    read and delete the deletion schedules and pass their role to Scheduler. It never deletes an
    instance itself (the detect function does, when the schedule is due), so it gets none of the
    deletion guard's table actions.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: GuardrailConfig,
        code: lambda_.Code,
        reports: ReportsBucket,
        inventory: InventoryTable,
        alert_topic: AlertTopic,
        channels: AlertChannels,
        deletions: DeletionSchedules | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        bucket = reports.bucket
        self.planner = SweepFunction(
            self,
            "Planner",
            description="Plans a sweep of IAM Identity Center account instances: reads the organization",
            handler=PLANNER_HANDLER,
            code=code,
            role_name=config.sweep_planner_role_name,
            memory_size=PLANNER_MEMORY_MB,
            timeout=PLANNER_TIMEOUT,
            environment=SweepPlannerEnvironment(
                reports_bucket=bucket.bucket_name,
                organization_reads=organization_reads(config),
                partition=Aws.PARTITION,
            ),
        )
        self.worker = SweepFunction(
            self,
            "Worker",
            description="Sweeps a batch of accounts for IAM Identity Center account instances",
            handler=WORKER_HANDLER,
            code=code,
            role_name=config.sweep_worker_role_name,
            memory_size=WORKER_MEMORY_MB,
            timeout=WORKER_TIMEOUT,
            environment=SweepWorkerEnvironment(
                reports_bucket=bucket.bucket_name,
                inventory_table_name=inventory.table.table_name,
                alerting=Alerting(alert_topic_arn=alert_topic.topic.topic_arn),
                member_reads=member_reads(config),
                policy=PolicyFile(policy_path=POLICY_FILE_NAME),
                reminder_days=config.sweep.reminder_days,
                idempotency_table_name=channels.records_table_name,
                channels=channels.environment(),
                pending_deletions=pending_deletions(deletions),
                # The coverage check: each account's forwarding, named as the templates name it.
                forwarding_rule_name=FORWARDING_RULE_NAME,
                forwarding_dead_letter_queue_name=FORWARDING_DEAD_LETTER_QUEUE_NAME,
                central_bus_arn=central_bus_arn(config),
            ),
        )
        self.summary = SweepFunction(
            self,
            "Summary",
            description="Summarizes a sweep of IAM Identity Center account instances and publishes it",
            handler=SUMMARY_HANDLER,
            code=code,
            role_name=None,  # nothing outside this stack names it
            memory_size=SUMMARY_MEMORY_MB,
            timeout=SUMMARY_TIMEOUT,
            environment=SweepSummaryEnvironment(
                reports_bucket=bucket.bucket_name,
                alerting=Alerting(alert_topic_arn=alert_topic.topic.topic_arn),
                policy=PolicyFile(policy_path=POLICY_FILE_NAME),
                ending_within_days=config.sweep.ending_within_days,
            ),
        )
        self._grant_planner(config, reports)
        self._grant_worker(config, reports, inventory, alert_topic, channels)
        if deletions is not None:
            deletions.grant_scheduling(self.worker.role)
        self._grant_summary(reports, alert_topic)

    @property
    def functions(self) -> tuple[SweepFunction, SweepFunction, SweepFunction]:
        return (self.planner, self.worker, self.summary)

    def _acknowledge_objects(self, function: SweepFunction, reports: ReportsBucket, *keys: str) -> None:
        """The findings on object ARNs with a wildcard: the run id is only known at run time."""
        bucket_id = logical_id(reports.bucket)
        for key in keys:
            acknowledge(
                function.default_policy,
                f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{key}]",
                "Each run writes its files under runs/<run id>/ (and the map its results under "
                f"{MAP_RESULTS_PREFIX}/<map run id>/), ids only known at run time; the statement names the "
                "one kind of object this function reads or writes, in the reports bucket only",
            )

    def _grant_planner(self, config: GuardrailConfig, reports: ReportsBucket) -> None:
        planner = self.planner
        wildcard_reasons = [XRAY_REASON]
        if config.organizations_role_arn:
            planner.allow("AssumeOrganizationsReader", ["sts:AssumeRole"], [config.organizations_role_arn])
        else:
            for statement in organizations_read_statements(config, SWEEP_ORGANIZATIONS_READ_ACTIONS):
                planner.role.add_to_policy(statement)
            acknowledge_organization_wildcards(
                planner.default_policy, config, SWEEP_ORGANIZATIONS_READ_ACTIONS
            )
            wildcard_reasons.append(UNSCOPED_REASON)
        acknowledge(planner.default_policy, "AwsSolutions-IAM5[Resource::*]", "; ".join(wildcard_reasons))
        planner.allow(
            "WriteRunPlan",
            ["s3:PutObject"],
            [
                run_objects(reports.bucket.bucket_arn, "snapshot.json"),
                run_objects(reports.bucket.bucket_arn, "accounts.json"),
            ],
        )
        self._acknowledge_objects(planner, reports, "runs/*/snapshot.json", "runs/*/accounts.json")

    def _grant_worker(
        self,
        config: GuardrailConfig,
        reports: ReportsBucket,
        inventory: InventoryTable,
        alert_topic: AlertTopic,
        channels: AlertChannels,
    ) -> None:
        worker = self.worker
        worker.role.add_to_policy(
            iam.PolicyStatement(
                sid="AssumeMemberRoleInThisOrganization",
                actions=["sts:AssumeRole"],
                resources=[member_role_arns(config)],
                conditions={"StringEquals": {"aws:ResourceOrgID": config.organization_id}},
            )
        )
        acknowledge(
            worker.default_policy,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/{config.member_role_name}]",
            "The member role exists in every member account, which join and leave the organization over "
            "time; the aws:ResourceOrgID condition limits the statement to roles inside this organization",
        )
        acknowledge(worker.default_policy, "AwsSolutions-IAM5[Resource::*]", XRAY_REASON)
        worker.allow(
            "ReadRunSnapshot", ["s3:GetObject"], [run_objects(reports.bucket.bucket_arn, "snapshot.json")]
        )
        worker.allow(
            "WriteBatchReports", ["s3:PutObject"], [run_objects(reports.bucket.bucket_arn, "batches/*")]
        )
        self._acknowledge_objects(worker, reports, "runs/*/snapshot.json", "runs/*/batches/*")
        inventory.grant_sweep_records(worker.role)
        self._grant_alerts(worker, alert_topic)
        channels.grant(worker.role)

    def _grant_summary(self, reports: ReportsBucket, alert_topic: AlertTopic) -> None:
        summary = self.summary
        bucket_arn = reports.bucket.bucket_arn
        map_results = f"{bucket_arn}/{MAP_RESULTS_PREFIX}/*"
        summary.allow(
            "ReadMapResultsAndBatchReports",
            ["s3:GetObject"],
            [
                map_results,
                run_objects(bucket_arn, "batches/*"),
                run_objects(bucket_arn, "summary.published"),
                # The report: the organization's tree, and the earlier runs' counts for its chart.
                run_objects(bucket_arn, "snapshot.json"),
                f"{bucket_arn}/{HISTORY_KEY}",
            ],
        )
        summary.allow(
            "WriteSummary",
            ["s3:PutObject"],
            [
                run_objects(bucket_arn, "summary.json"),
                run_objects(bucket_arn, "summary.published"),
                run_objects(bucket_arn, REPORT_NAME),
                f"{bucket_arn}/{HISTORY_KEY}",
            ],
        )
        # The blind spots the last run knew of, which each run compares its own with (and replaces).
        summary.allow(
            "KeepKnownBlindSpots", ["s3:GetObject", "s3:PutObject"], [f"{bucket_arn}/{KNOWN_BLIND_SPOTS_KEY}"]
        )
        # Without it, S3 answers HeadObject on the not yet written `summary.published` with 403
        # rather than 404, and the summary could not tell "not published yet" from a refusal.
        summary.allow("TellMissingObjects", ["s3:ListBucket"], [bucket_arn])
        bucket_id = logical_id(reports.bucket)
        acknowledge(
            summary.default_policy,
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{MAP_RESULTS_PREFIX}/*]",
            "The Distributed Map writes its results under map-results/<map run id>/, an id only known at "
            "run time; the summary reads the manifest and the result files the map's output names",
        )
        self._acknowledge_objects(
            summary,
            reports,
            "runs/*/batches/*",
            "runs/*/summary.published",
            "runs/*/summary.json",
            "runs/*/snapshot.json",
            f"runs/*/{REPORT_NAME}",
        )
        acknowledge(summary.default_policy, "AwsSolutions-IAM5[Resource::*]", XRAY_REASON)
        self._grant_alerts(summary, alert_topic)

    @staticmethod
    def _grant_alerts(function: SweepFunction, alert_topic: AlertTopic) -> None:
        # Written out rather than topic.grant_publish(), which adds kms:GenerateDataKey* on the key.
        function.allow("PublishAlerts", ["sns:Publish"], [alert_topic.topic.topic_arn])
        function.allow("EncryptAlerts", ["kms:GenerateDataKey", "kms:Decrypt"], [alert_topic.key.key_arn])
