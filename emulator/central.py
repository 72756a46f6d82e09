"""The central stack as CloudFormation holds it, in the emulated security tooling account: what
`guardrail doctor` reads.

`EmulatedEnvironment` has the alert and chat topics, the dead-letter queue and the tables; this
deploys, as one CloudFormation stack named as the central stack, what the deployed stack has besides
and the doctor checks: the detect function (moto keeps a function's metadata without Docker) with
its environment, the central bus and the rule on it that invokes the function, the alarms, the
sweep's state machine and the schedule that starts it; its outputs name them and the plumbing the
environment made. Logical ids are the synthesized template's (the alarms' hash suffix aside;
`tests/infra/test_emulated_central.py` holds them to it), so that CloudFormation generates the
physical names the way it does for the real stack (`<stack>-<logical id>-<suffix>`).

moto's CloudFormation has no model of `AWS::CloudWatch::Alarm` nor of `AWS::Scheduler::Schedule`:
`_StackAlarm` and `_StackSchedule` are (made through moto's CloudWatch and Scheduler backends,
deleted with the stack). Email subscriptions are modelled as SNS keeps them, `PendingConfirmation`
until the address accepts the confirmation email (moto confirms every subscription at once). The
sweep's past runs are recorded in the state machine's history (`emulator.sweep_runs`): deployed, the
last one succeeded three hours ago. `CentralStack` breaks the pieces the ways the doctor must
report, and `CentralStack.running` makes the central bus deliver to the real detect handler,
in-process (`emulator.function_targets`).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moto.awslambda.models import lambda_backends
from moto.cloudformation import parsing
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.scheduler.models import scheduler_backends
from moto.sns.models import sns_backends

from emulator.forwarding import CENTRAL_BUS_NAME, central_bus_arn
from emulator.function_targets import FunctionTargets
from emulator.sweep_runs import record_run
from guardrail.core.policy import Policy, policy_data
from guardrail.pipeline.patterns import CENTRAL_EVENT_PATTERN

if TYPE_CHECKING:
    from emulator.environment import EmulatedEnvironment

__all__ = ["ALARM_LABELS", "CENTRAL_STACK_NAME", "CentralStack", "deploy_central_stack"]

CENTRAL_STACK_NAME = "IdentityCenterGuardrailCentral"
# The alarms `infra/constructs/monitoring.py` creates with the example configuration (no chat, no
# Security Hub), by the label in their construct id.
ALARM_LABELS = (
    "DeadLetterMessages",
    "FunctionErrors",
    "FunctionThrottles",
    "CentralBusRuleFailedInvocations",
    "AlertTopicDeliveryFailures",
    "UnrecordedInventory",
    "SweepUnfinished",
)
FUNCTION_ID = "DetectFunction23B099DD"
BUS_ID = "InstanceEventRulesCentralBus23DE98D9"
RULE_ID = "InstanceEventRulesCentralBusRuleB9FADAED"
STATE_MACHINE_ID = "SweepStateMachine97BDF35F"
SCHEDULE_ID = "SweepSchedule608B5E34"
# As infra/constructs/sweep_schedule.py names it, on the default sweep configuration's schedule.
SCHEDULE_NAME = "IdentityCenterGuardrail-Sweep"
SCHEDULE_EXPRESSION = "cron(0 6 * * ? *)"
PENDING = "PendingConfirmation"
EXAMPLE_POLICY = Path(__file__).resolve().parents[1] / "policy" / "policy.yaml"


class _StackAlarm(CloudFormationModel):
    """`AWS::CloudWatch::Alarm` for moto's CloudFormation: a metric alarm in moto's CloudWatch."""

    def __init__(self, name: str, account_id: str, region: str) -> None:
        self.name, self.account_id, self.region = name, account_id, region

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_: Any,
    ) -> _StackAlarm:
        p = cloudformation_json["Properties"]
        cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=resource_name,
            namespace=p.get("Namespace", ""),
            metric_name=p.get("MetricName", ""),
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            period=int(p.get("Period", 300)),
            threshold=float(p["Threshold"]),
            statistic=p.get("Statistic", "Sum"),
            description=p.get("AlarmDescription", ""),
            dimensions=[],
            alarm_actions=list(p.get("AlarmActions", [])),
            treat_missing_data=p.get("TreatMissingData"),
        )
        return cls(resource_name, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])


class _StackSchedule(CloudFormationModel):
    """`AWS::Scheduler::Schedule` for moto's CloudFormation: a schedule in moto's Scheduler, whose
    physical id (and `Ref`) is its name, as CloudFormation gives it."""

    def __init__(self, name: str, group: str) -> None:
        self.name, self.group = name, group

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Scheduler::Schedule"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_: Any,
    ) -> _StackSchedule:
        p = cloudformation_json["Properties"]
        group = p.get("GroupName") or "default"
        scheduler_backends[account_id][region_name].create_schedule(
            description=p.get("Description", ""),
            end_date=p.get("EndDate"),
            flexible_time_window=p["FlexibleTimeWindow"],
            group_name=group,
            kms_key_arn=p.get("KmsKeyArn"),
            name=p.get("Name", resource_name),
            schedule_expression=p["ScheduleExpression"],
            schedule_expression_timezone=p.get("ScheduleExpressionTimezone"),
            start_date=p.get("StartDate"),
            state=p.get("State", "ENABLED"),
            target=p["Target"],
            action_after_completion=None,
        )
        return cls(p.get("Name", resource_name), group)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        group = cloudformation_json["Properties"].get("GroupName") or "default"
        scheduler_backends[account_id][region_name].delete_schedule(group, resource_name)


# moto finds CloudFormation models among CloudFormationModel's subclasses, cached once looked up.
for _cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
    _cached.cache_clear()


def _hash(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:8].upper()


def alarm_logical_id(label: str) -> str:
    return f"Monitoring{label}Alarm{_hash(label)}"


@dataclass
class CentralStack:
    """The deployed central stack's names, and the ways to break its pieces."""

    env: EmulatedEnvironment
    function_name: str
    rule_name: str
    alarms: dict[str, str]
    emails: tuple[str, ...]
    state_machine_arn: str
    schedule_name: str = SCHEDULE_NAME

    def client(self, service: str) -> Any:
        return self.env.central_client(service)

    def running(self, policy: Policy | None = None) -> FunctionTargets:
        """Context manager: the central bus delivers to the real detect handler, in-process, with
        the function's environment and `policy` (the example policy by default); a failed
        invocation ends, after its retries, in the dead-letter queue (the function's on-failure
        destination)."""
        from guardrail.core.policy_file import load_policy

        sqs = self.client("sqs")
        function = lambda_backends[self.env.central_account_id][self.env.region].get_function(
            self.function_name
        )
        return FunctionTargets(
            (function.function_arn,),
            policy_json=json.dumps(policy_data(policy or load_policy(EXAMPLE_POLICY))),
            on_failure=lambda body: sqs.send_message(
                QueueUrl=self.env.dead_letter_queue_url, MessageBody=body
            ),
        )

    def disable_schedule(self) -> None:
        """As `sweep.enabled: false` deploys it, or someone turns it off in the console."""
        scheduler = self.client("scheduler")
        schedule = scheduler.get_schedule(Name=self.schedule_name)
        scheduler.update_schedule(
            Name=self.schedule_name,
            ScheduleExpression=schedule["ScheduleExpression"],
            FlexibleTimeWindow=schedule["FlexibleTimeWindow"],
            Target=schedule["Target"],
            State="DISABLED",
        )

    def delete_schedule(self) -> None:
        self.client("scheduler").delete_schedule(Name=self.schedule_name)

    def record_run(self, status: str, ended: timedelta, *, name: str | None = None) -> str:
        """A sweep run that ended `ended` ago with `status` (RUNNING: started then)."""
        return record_run(self.state_machine_arn, status=status, ended=datetime.now(UTC) - ended, name=name)

    def disable_security_hub(self) -> None:
        self.client("securityhub").disable_security_hub()

    def unsubscribe_chat(self) -> None:
        """Nothing reads the chat topic: no channel configuration was connected to it."""
        sns = self.client("sns")
        for sub in sns.list_subscriptions_by_topic(TopicArn=self.env.chat_topic_arn)["Subscriptions"]:
            sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])

    def function_state(self, state: str) -> None:
        """Lambda moves a function to `Inactive` when idle long enough, `Failed` when it cannot set it up."""
        backend = lambda_backends[self.env.central_account_id][self.env.region]
        backend.get_function(self.function_name).state = state

    def delete_function(self) -> None:
        self.client("lambda").delete_function(FunctionName=self.function_name)

    def disable_rule(self) -> None:
        self.client("events").disable_rule(Name=self.rule_name, EventBusName=CENTRAL_BUS_NAME)

    def remove_rule_target(self) -> None:
        self.client("events").remove_targets(
            Rule=self.rule_name, EventBusName=CENTRAL_BUS_NAME, Ids=["Target0"]
        )

    def delete_rule(self) -> None:
        self.remove_rule_target()
        self.client("events").delete_rule(Name=self.rule_name, EventBusName=CENTRAL_BUS_NAME)

    def pending_emails(self) -> None:
        """Every email subscription back to unconfirmed, and the capture queue unsubscribed: the
        topic delivers to no one."""
        sns = self.client("sns")
        for sub in sns.list_subscriptions_by_topic(TopicArn=self.env.topic_arn)["Subscriptions"]:
            if sub["Protocol"] == "sqs":
                sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
        for email in self.emails:
            _set_pending(self.env, email, pending=True)

    def raise_alarm(self, label: str) -> None:
        self.client("cloudwatch").set_alarm_state(
            AlarmName=self.alarms[label], StateValue="ALARM", StateReason="Threshold Crossed: 1 datapoint"
        )

    def delete_alarm(self, label: str) -> None:
        self.client("cloudwatch").delete_alarms(AlarmNames=[self.alarms[label]])

    def dead_letter(self, body: str = "{}") -> None:
        self.client("sqs").send_message(QueueUrl=self.env.dead_letter_queue_url, MessageBody=body)

    def delete_stack(self) -> None:
        """Gone with every resource it holds, as `cdk destroy` leaves it."""
        self.client("cloudformation").delete_stack(StackName=CENTRAL_STACK_NAME)


def deploy_central_stack(
    env: EmulatedEnvironment,
    *,
    emails: tuple[str, ...] = ("security@example.com",),
    chat: bool = False,
    security_hub: bool = False,
    last_sweep: timedelta | None = timedelta(hours=3),
) -> CentralStack:
    """Deploy the stack, healthy: the function Active, the rule enabled, every email confirmed, no
    alarm in ALARM, the sweep's schedule enabled and its last run (`last_sweep` ago; None: none
    yet) succeeded. `chat` and `security_hub` turn those channels on, as the configuration does:
    the chat topic (read by the environment's capture queue, as a channel configuration would) and
    Security Hub CSPM enabled in the central account and Region."""
    from emulator.function_environment import handler_environment
    from guardrail.channels.registry import CHAT, SECURITY_HUB
    from guardrail.handlers.environment import Channels

    targets: dict[str, str] = {}  # the channels' targets, as the stack sets them when turned on
    if chat:
        targets[CHAT.name] = env.chat_topic_arn
    if security_hub:
        targets[SECURITY_HUB.name] = env.central_account_id
    variables = {**handler_environment(env, Path("policy.json")), **Channels(targets=targets).variables()}
    if security_hub:
        env.central_client("securityhub").enable_security_hub(EnableDefaultStandards=False)
    sqs = env.central_client("sqs")
    dead_letters = sqs.get_queue_attributes(QueueUrl=env.dead_letter_queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    function_name = env.detect_function_arn.rsplit(":", 1)[-1]
    resources: dict[str, Any] = {
        "DetectFunctionServiceRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            },
        },
        FUNCTION_ID: {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": function_name,
                "Runtime": "python3.13",
                "Architectures": ["arm64"],
                "Handler": "guardrail.handlers.detect.handler",
                "Role": {"Fn::GetAtt": ["DetectFunctionServiceRole", "Arn"]},
                "Code": {"ZipFile": "def handler(event, context):\n    return None\n"},
                "Timeout": 60,
                "Environment": {"Variables": variables},
            },
        },
        "SweepStateMachineRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": ["states.amazonaws.com", "scheduler.amazonaws.com"]},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            },
        },
        STATE_MACHINE_ID: {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "DefinitionString": json.dumps(
                    {"StartAt": "Sweep", "States": {"Sweep": {"Type": "Succeed"}}}
                ),
                "RoleArn": {"Fn::GetAtt": ["SweepStateMachineRole", "Arn"]},
            },
        },
        SCHEDULE_ID: {
            "Type": "AWS::Scheduler::Schedule",
            "Properties": {
                "Name": SCHEDULE_NAME,
                "ScheduleExpression": SCHEDULE_EXPRESSION,
                "ScheduleExpressionTimezone": "UTC",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "State": "ENABLED",
                "Target": {
                    "Arn": {"Ref": STATE_MACHINE_ID},
                    "RoleArn": {"Fn::GetAtt": ["SweepStateMachineRole", "Arn"]},
                    "DeadLetterConfig": {"Arn": dead_letters},
                    "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 185},
                },
            },
        },
        BUS_ID: {"Type": "AWS::Events::EventBus", "Properties": {"Name": CENTRAL_BUS_NAME}},
        RULE_ID: {
            "Type": "AWS::Events::Rule",
            "DependsOn": [BUS_ID],
            "Properties": {
                "EventBusName": CENTRAL_BUS_NAME,
                "EventPattern": CENTRAL_EVENT_PATTERN,
                "State": "ENABLED",
                "Targets": [
                    {
                        "Id": "Target0",
                        "Arn": {"Fn::GetAtt": [FUNCTION_ID, "Arn"]},
                        "DeadLetterConfig": {"Arn": dead_letters},
                        "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
                    }
                ],
            },
        },
    }
    for label in ALARM_LABELS:
        resources[alarm_logical_id(label)] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": f"The guardrail's {label} alarm",
                "Namespace": "IdentityCenterGuardrail",
                "MetricName": label,
                "Statistic": "Sum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [env.topic_arn],
            },
        }
    outputs = {
        "AlertTopicArn": env.topic_arn,
        "CentralBusArn": central_bus_arn(env.region, env.central_account_id),
        "DeadLetterQueueUrl": env.dead_letter_queue_url,
        "DetectFunctionName": {"Ref": FUNCTION_ID},
        "SweepStateMachineArn": {"Ref": STATE_MACHINE_ID},
        **({"ChatTopicArn": env.chat_topic_arn} if chat else {}),
        "ReportsBucketName": env.reports_bucket,
        "InventoryTableName": env.inventory_table_name,
        "DashboardName": "IdentityCenterGuardrail",
    }
    template = {"Resources": resources, "Outputs": {key: {"Value": value} for key, value in outputs.items()}}
    cloudformation = env.central_client("cloudformation")
    with warnings.catch_warnings():  # moto warns of the properties it does not model
        warnings.simplefilter("ignore", UserWarning)
        cloudformation.create_stack(
            StackName=CENTRAL_STACK_NAME, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"]
        )
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cloudformation.list_stack_resources(StackName=CENTRAL_STACK_NAME)["StackResourceSummaries"]
    }
    cloudwatch = env.central_client("cloudwatch")
    alarms = {label: physical[alarm_logical_id(label)] for label in ALARM_LABELS}
    for name in alarms.values():  # evaluated: no data, not breaching
        cloudwatch.set_alarm_state(
            AlarmName=name, StateValue="OK", StateReason="no datapoints: not breaching"
        )
    sns = env.central_client("sns")
    for email in emails:
        sns.subscribe(TopicArn=env.topic_arn, Protocol="email", Endpoint=email)
        _set_pending(env, email, pending=False)  # the address accepted the confirmation email
    central = CentralStack(
        env, function_name, physical[RULE_ID].rpartition("|")[2], alarms, emails, physical[STATE_MACHINE_ID]
    )
    if last_sweep is not None:
        central.record_run("SUCCEEDED", last_sweep)
    return central


def _set_pending(env: EmulatedEnvironment, email: str, *, pending: bool) -> None:
    """SNS lists an unconfirmed subscription's ARN as `PendingConfirmation` (moto's serializer reads
    `SubscriptionArn` from the subscription before its own `arn`)."""
    backend = sns_backends[env.central_account_id][env.region]
    for subscription in backend.subscriptions.values():
        if subscription.topic.arn == env.topic_arn and subscription.endpoint == email:
            subscription.confirmed = not pending
            subscription.attributes["PendingConfirmation"] = "true" if pending else "false"
            if pending:
                setattr(subscription, "SubscriptionArn", PENDING)  # noqa: B010
            else:
                subscription.__dict__.pop("SubscriptionArn", None)
