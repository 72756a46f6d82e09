"""The Lambda function that decides on instance events against the policy and alerts."""

from __future__ import annotations

import re
from pathlib import Path

import jsii
from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct, IConstruct

from guardrail.handlers.environment import (
    Alerting,
    DetectEnvironment,
    MemberReads,
    OrganizationReads,
    PolicyFile,
)
from infra.bundling import LAMBDA_PLATFORM, POLICY_FILE_NAME, PROJECT_ROOT, LambdaPlatform
from infra.config import GuardrailConfig
from infra.constructs.alert_channels import AlertChannels
from infra.constructs.alert_topic import AlertTopic
from infra.constructs.deletion_schedules import NAME_PREFIX, DeletionSchedules, pending_deletions
from infra.constructs.idempotency_table import IdempotencyTable
from infra.constructs.inventory_table import InventoryTable
from infra.nag import acknowledge, resource_of
from infra.organizations_reads import (
    DETECT_ORGANIZATIONS_READ_ACTIONS,
    UNSCOPED_REASON,
    acknowledge_organization_wildcards,
    organizations_read_statements,
)

HANDLER = "guardrail.handlers.detect.handler"
# The function's name where pending deletions are deployed: their schedules invoke it by its ARN,
# which its own environment holds, so the ARN is built from this name (see DeletionSchedules).
FUNCTION_NAME = f"{NAME_PREFIX}-Detect"

# The public Powertools for AWS Lambda (Python) v3 layer: Powertools and the X-Ray SDK its tracer
# needs, built for the function's runtime and architecture (LAMBDA_PLATFORM). Its ARN is resolved at
# deploy time from the public SSM parameter Powertools publishes in each Region for each release,
# `/aws/service/powertools/python/<arch>/<runtime>/<version>` (`<runtime>` with its dot, as
# `python3.13`), so synth needs no AWS call and the version is the one the tests run: the pin in
# requirements.txt. The function's other third-party package (msgspec) is in its asset, from
# lambdas/requirements.txt; Powertools is not (infra/bundling.py installs without dependencies).
POWERTOOLS_PACKAGE = "aws-lambda-powertools"
POWERTOOLS_PARAMETER_PREFIX = "/aws/service/powertools/python"
REQUIREMENTS_FILE = PROJECT_ROOT / "requirements.txt"


def powertools_version(requirements: Path = REQUIREMENTS_FILE) -> str:
    """The Powertools version requirements.txt pins (extras allowed), which the tests run."""
    text = requirements.read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(POWERTOOLS_PACKAGE)}(?:\[[^\]]*\])?==([0-9][^\s;#]*)", text, re.M)
    if match is None:
        raise ValueError(f"{requirements}: {POWERTOOLS_PACKAGE} is not pinned with ==")
    return match.group(1)


def powertools_layer_parameter(platform: LambdaPlatform = LAMBDA_PLATFORM, version: str | None = None) -> str:
    """The public SSM parameter holding the layer's ARN for `platform` and `version` (the pin)."""
    return (
        f"{POWERTOOLS_PARAMETER_PREFIX}/{platform.architecture.name}/{platform.runtime.name}/"
        f"{version or powertools_version()}"
    )


def powertools_layer(scope: Construct) -> lambda_.ILayerVersion:
    """The public Powertools layer of the stack's Region, its ARN a parameter resolved at deploy time.

    One `AWS::SSM::Parameter::Value<String>` parameter per stack, whichever function asks.
    """
    arn = ssm.StringParameter.value_for_string_parameter(Stack.of(scope), powertools_layer_parameter())
    return lambda_.LayerVersion.from_layer_version_arn(scope, "PowertoolsLayer", arn)


def acknowledge_runtime(function: lambda_.Function) -> None:
    """cdk-nag's AwsSolutions-L1 (not the latest runtime), on the function alone."""
    acknowledge(
        resource_of(function),  # the AWS::Lambda::Function, not its invoke config
        "AwsSolutions-L1",
        "Python 3.13 is the runtime the code is tested on and the one the public Powertools layer "
        f"({powertools_layer_parameter()}) is resolved for; the layer follows the runtime",
    )


def member_reads(config: GuardrailConfig) -> MemberReads:
    """How the detect function and the sweep worker read member accounts."""
    return MemberReads(
        member_role_name=config.member_role_name, instance_regions=config.regions, partition=Aws.PARTITION
    )


def organization_reads(config: GuardrailConfig) -> OrganizationReads:
    """How the detect function and the sweep planner read the organization."""
    return OrganizationReads(
        organizations_role_arn=config.organizations_role_arn,
        organization_instance_region=config.organization_instance_region,
    )


@jsii.implements(lambda_.IDestination)
class _DeadLetterDestination:
    """The on-failure destination, a queue: `SqsDestination` without its grant, which adds
    sqs:GetQueueAttributes and sqs:GetQueueUrl to sqs:SendMessage, the one action Lambda uses."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(
        self,
        scope: Construct,
        fn: lambda_.IFunction,
        *,
        type: lambda_.DestinationType,
    ) -> lambda_.DestinationConfig:
        return lambda_.DestinationConfig(destination=self._queue.queue_arn)


class DetectFunction(Construct):
    """The detect function with its own least-privilege role and log group.

    Invoked asynchronously by EventBridge: Lambda retries a failed invocation twice within six
    hours, then sends the event to the dead-letter queue, so nothing is lost silently. Its reserved
    concurrency (`detect_reserved_concurrency`) bounds how many run at once: an invocation beyond it
    is throttled, and Lambda retries a throttled asynchronous invocation until the six hours are up
    (the throttles alarm tells), so a flood costs at most that many functions' time. The role
    is written out statement by statement instead of using AWS managed policies, so that a
    review of this file is a review of everything the function may do. `code` is the guardrail's
    asset (`infra.bundling.function_code`), which the sweep's functions share. It alerts on the
    alert topic and on the configured `channels`.

    With `deletions` (pending deletions are deployed: `remediation_enabled`), the function is named
    `deletions.target_function_name`, its environment names the schedule group, itself and the
    role Scheduler invokes it with, and its role may create, read and delete the deletion
    schedules and pass that role to Scheduler. Without, the name is CloudFormation's.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: GuardrailConfig,
        code: lambda_.Code,
        alert_topic: AlertTopic,
        channels: AlertChannels,
        dead_letter_queue: sqs.IQueue,
        idempotency: IdempotencyTable,
        inventory: InventoryTable,
        deletions: DeletionSchedules | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if channels.records is not idempotency:
            # The function records deliveries in the table it is given as IDEMPOTENCY_TABLE_NAME.
            raise ValueError("the detect function records its deliveries in its idempotency table")
        self.log_group = logs.LogGroup(
            self, "LogGroup", retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.RETAIN
        )
        self.role = iam.Role(
            self,
            "Role",
            # Named: the member and Organizations reader roles trust exactly this role's ARN.
            role_name=config.detect_role_name,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Runs the IAM Identity Center account-instance guardrail",
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="Decides on IAM Identity Center account-instance events against the policy",
            # Fixed where the schedules of pending deletions name it (the ARN in its environment).
            function_name=deletions.target_function_name if deletions else None,
            # The platform the asset's compiled dependencies are installed for.
            runtime=LAMBDA_PLATFORM.runtime,
            architecture=LAMBDA_PLATFORM.architecture,
            handler=HANDLER,
            code=code,
            layers=[powertools_layer(self)],
            memory_size=256,
            timeout=Duration.seconds(60),
            # What a flood of events can cost, and how many reads it makes at once (see the config);
            # none reserved by default, so that the stack deploys in an account of any quota.
            reserved_concurrent_executions=config.detect_reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            role=self.role,
            environment=DetectEnvironment(
                alerting=Alerting(alert_topic_arn=alert_topic.topic.topic_arn),
                channels=channels.environment(),
                dead_letter_queue_url=dead_letter_queue.queue_url,
                idempotency_table_name=idempotency.table.table_name,
                inventory_table_name=inventory.table.table_name,
                member_reads=member_reads(config),
                deleter_role_name=config.deleter_role_name if config.remediation_enabled else None,
                organization_reads=organization_reads(config),
                policy=PolicyFile(policy_path=POLICY_FILE_NAME),
                pending_deletions=pending_deletions(deletions),
            ).variables(),
            retry_attempts=2,
            max_event_age=Duration.hours(6),
            on_failure=_DeadLetterDestination(dead_letter_queue),
        )
        self._grant(config, alert_topic, dead_letter_queue)
        # Its claims on events, and the deletion guard's items beside them (the claims of deletions,
        # and the hourly counters and flags: deletion#, deletion-due#, deletions#, deletion-cap#).
        idempotency.grant_claims(self.role)
        # Its deliveries are recorded in the table of its claims (`idempotency_table_name`).
        channels.grant(self.role)
        inventory.grant_event_records(self.role)
        if deletions is not None:
            deletions.grant_scheduling(self.role)

    def _policy(self) -> IConstruct:
        """The role's default policy, where the findings about the role's statements are."""
        return self.role.node.find_child("DefaultPolicy")

    def _grant(self, config: GuardrailConfig, alert_topic: AlertTopic, dead_letter_queue: sqs.IQueue) -> None:
        assumed = [("AssumeMemberRoleInThisOrganization", config.member_role_name)]
        if config.remediation_enabled:
            assumed.append(("AssumeDeleterRoleInThisOrganization", config.deleter_role_name))
        for sid, role_name in assumed:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid=sid,
                    actions=["sts:AssumeRole"],
                    # The role in every account: the condition narrows it to this organization.
                    resources=[f"arn:{Aws.PARTITION}:iam::*:role/{role_name}"],
                    conditions={"StringEquals": {"aws:ResourceOrgID": config.organization_id}},
                )
            )
            acknowledge(
                self._policy(),
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/{role_name}]",
                "The role exists in every member account, which join and leave the organization over "
                "time; the aws:ResourceOrgID condition limits the statement to roles inside this organization",
            )
        wildcard_reasons = [
            "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions"
        ]
        if config.organizations_role_arn:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="AssumeOrganizationsReader",
                    actions=["sts:AssumeRole"],
                    resources=[config.organizations_role_arn],
                )
            )
        else:  # a delegated administrator: the function reads Organizations itself
            for statement in organizations_read_statements(config, DETECT_ORGANIZATIONS_READ_ACTIONS):
                self.role.add_to_policy(statement)
            acknowledge_organization_wildcards(self._policy(), config, DETECT_ORGANIZATIONS_READ_ACTIONS)
            wildcard_reasons.append(UNSCOPED_REASON)
        acknowledge(self._policy(), "AwsSolutions-IAM5[Resource::*]", "; ".join(wildcard_reasons))

        # Written out rather than topic.grant_publish(), which adds kms:GenerateDataKey* on the key.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PublishAlerts", actions=["sns:Publish"], resources=[alert_topic.topic.topic_arn]
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="EncryptAlerts",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[alert_topic.key.key_arn],
            )
        )
        # The function's own dead letters (rejected events) and Lambda's on-failure records: Lambda
        # sends those with the function's role. SQS-managed encryption: no key to grant.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="SendDeadLetters", actions=["sqs:SendMessage"], resources=[dead_letter_queue.queue_arn]
            )
        )
        self.log_group.grant_write(self.role)
        acknowledge_runtime(self.function)
