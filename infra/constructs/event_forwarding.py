"""Forwarding of instance events from an account's default bus to the central bus.

Identity Center's CloudTrail events reach only the default bus of the account and Region where the
call was made. A rule there, with exactly the central rules' pattern, hands them to the central
bus; EventBridge delivers to another bus (in another account or Region, or in the same account and
Region: the central account's own rule in the central Region) with a role of the sending account
that may `events:PutEvents` on that bus (and on nothing else).

Every account forwards this way, the central account included: the central bus's rule is the only
rule that invokes the detect function, so each event reaches it by one path.

A delivery that fails is retried for 24 hours (185 attempts), then parked in a dead-letter queue of
the same account and Region (EventBridge requires the queue in the rule's Region). The queue has a
fixed name, so that the central sweep can read its depth in every account and Region through the
member role, and only this rule may send to it.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Aws, Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import GuardrailConfig
from infra.constructs.instance_event_rules import (
    INSTANCE_EVENT_PATTERN,
    TARGET_MAX_EVENT_AGE,
    TARGET_RETRY_ATTEMPTS,
)
from infra.nag import acknowledge, resource_of

# Fixed, so that the forwarding role's trust can name the rule (aws:SourceArn) in every Region.
FORWARDING_RULE_NAME: Final = "IdentityCenterGuardrail-ForwardInstanceEvents"
FORWARDING_TARGET_ID: Final = "CentralBus"
# Fixed, so that the sweep finds it by name in every account and Region (and the member role may
# read its attributes, and nothing else's).
FORWARDING_DEAD_LETTER_QUEUE_NAME: Final = "IdentityCenterGuardrail-ForwardingDeadLetters"
# The longest SQS keeps a message.
FORWARDING_DEAD_LETTER_RETENTION: Final = Duration.days(14)


def forwarding_rule_arns() -> str:
    """The forwarding rule of the stack's account, in any Region."""
    return f"arn:{Aws.PARTITION}:events:*:{Aws.ACCOUNT_ID}:rule/{FORWARDING_RULE_NAME}"


def forwarding_rule_arn() -> str:
    """The forwarding rule of the stack's account and Region (a rule on the default bus)."""
    return f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:rule/{FORWARDING_RULE_NAME}"


def forwarding_dead_letter_queue_arns() -> str:
    """The forwarding dead-letter queue of the stack's account, in any Region."""
    return f"arn:{Aws.PARTITION}:sqs:*:{Aws.ACCOUNT_ID}:{FORWARDING_DEAD_LETTER_QUEUE_NAME}"


def central_bus_arn(config: GuardrailConfig) -> str:
    """The central bus's ARN, in the partition of the stack it is used in (an organization has one)."""
    return (
        f"arn:{Aws.PARTITION}:events:{config.central_region}:{config.central_account_id}:"
        f"event-bus/{config.central_bus_name}"
    )


def forwarding_role_arn(config: GuardrailConfig) -> str:
    """The forwarding role of the account the stack is deployed in (created once per account)."""
    return f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/{config.forwarding_role_name}"


def forwarding_role_arns(config: GuardrailConfig) -> str:
    """The forwarding role in every account (the central bus's policy narrows it to the organization)."""
    return f"arn:{Aws.PARTITION}:iam::*:role/{config.forwarding_role_name}"


class ForwardingRole(Construct):
    """The role EventBridge assumes to put forwarded events on the central bus.

    One per account: IAM is global, and the rules of every Region use it. Only EventBridge acting
    for the forwarding rule of this very account may assume it (aws:SourceAccount and
    aws:SourceArn, against the confused deputy), and it may put events on the central bus only.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: GuardrailConfig) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            role_name=config.forwarding_role_name,
            description="Lets EventBridge forward IAM Identity Center instance events to the guardrail's bus",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": forwarding_rule_arns()},
                }
            ),
            inline_policies={
                "PutEventsOnTheCentralBus": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            sid="PutEventsOnTheCentralBus",
                            actions=["events:PutEvents"],
                            resources=[central_bus_arn(config)],
                        )
                    ]
                )
            },
        )


class ForwardingDeadLetterQueue(Construct):
    """The queue a forwarding rule parks the events it could not deliver in, one per account and Region.

    SQS-managed encryption, TLS only, 14 days (the longest SQS keeps a message). Only EventBridge,
    for this account's forwarding rule in this Region, may send to it. Deleted with its stack (an
    account that leaves the StackSets' targets keeps nothing behind), its messages with it.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=FORWARDING_DEAD_LETTER_QUEUE_NAME,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=FORWARDING_DEAD_LETTER_RETENTION,
        )
        # The rule's ARN from its fixed name rather than its attribute: the policy exists before
        # the rule does, so no delivery ever finds the queue closed to it.
        self.queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ForwardingRuleDeadLetters",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": forwarding_rule_arn()}},
            )
        )
        acknowledge(
            resource_of(self.queue),  # the AWS::SQS::Queue, not its policy
            "AwsSolutions-SQS3",
            "This queue is the dead-letter queue of the forwarding rule's target (DeadLetterConfig); "
            "cdk-nag only recognises queues named in another queue's redrive policy",
        )


class ForwardingRule(Construct):
    """The default-bus rule of one account and Region that forwards instance events to the central bus.

    It uses the very pattern of the central rule, so that what is forwarded is what is handled. Its
    target retries for 24 hours (185 attempts), then sends the event to its dead-letter queue.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: GuardrailConfig) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = ForwardingDeadLetterQueue(self, "DeadLetters")
        self.rule = events.CfnRule(
            self,
            "Rule",
            name=FORWARDING_RULE_NAME,
            description="Forwards IAM Identity Center instance calls to the guardrail's central event bus",
            event_pattern=INSTANCE_EVENT_PATTERN,
            state="ENABLED",
            targets=[
                events.CfnRule.TargetProperty(
                    id=FORWARDING_TARGET_ID,
                    arn=central_bus_arn(config),
                    role_arn=forwarding_role_arn(config),
                    retry_policy=events.CfnRule.RetryPolicyProperty(
                        maximum_retry_attempts=TARGET_RETRY_ATTEMPTS,
                        maximum_event_age_in_seconds=int(TARGET_MAX_EVENT_AGE.to_seconds()),
                    ),
                    dead_letter_config=events.CfnRule.DeadLetterConfigProperty(
                        arn=self.dead_letters.queue.queue_arn
                    ),
                )
            ],
        )
