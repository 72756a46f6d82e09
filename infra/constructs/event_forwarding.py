"""Forwarding of instance events from an account's default bus to the central bus.

Identity Center's CloudTrail events reach only the default bus of the account and Region where the
call was made. A rule there, with exactly the central rules' pattern, hands them to the central
bus; EventBridge delivers to another account's bus with a role of the sending account that may
`events:PutEvents` on that bus (and on nothing else).
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Aws
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import GuardrailConfig
from infra.constructs.instance_event_rules import INSTANCE_EVENT_PATTERN

# Fixed, so that the forwarding role's trust can name the rule (aws:SourceArn) in every Region.
FORWARDING_RULE_NAME: Final = "IdentityCenterGuardrail-ForwardInstanceEvents"
FORWARDING_TARGET_ID: Final = "CentralBus"


def forwarding_rule_arns() -> str:
    """The forwarding rule of the stack's account, in any Region."""
    return f"arn:{Aws.PARTITION}:events:*:{Aws.ACCOUNT_ID}:rule/{FORWARDING_RULE_NAME}"


def central_bus_arn(config: GuardrailConfig) -> str:
    """The central bus's ARN, in the partition of the stack it is used in (an organization has one)."""
    return (
        f"arn:{Aws.PARTITION}:events:{config.central_region}:{config.central_account_id}:"
        f"event-bus/{config.central_bus_name}"
    )


def forwarding_role_arn(config: GuardrailConfig) -> str:
    """The forwarding role of the account the stack is deployed in (created once per account)."""
    return f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/{config.forwarding_role_name}"


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


class ForwardingRule(Construct):
    """The default-bus rule of one account and Region that forwards instance events to the central bus.

    It uses the very pattern of the central rules, so that what is forwarded is what is handled.
    The target keeps EventBridge's default retry policy (185 attempts over 24 hours).
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: GuardrailConfig) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.CfnRule(
            self,
            "Rule",
            name=FORWARDING_RULE_NAME,
            description="Forwards IAM Identity Center instance calls to the guardrail's central event bus",
            event_pattern=INSTANCE_EVENT_PATTERN,
            state="ENABLED",
            targets=[
                events.CfnRule.TargetProperty(
                    id=FORWARDING_TARGET_ID, arn=central_bus_arn(config), role_arn=forwarding_role_arn(config)
                )
            ],
        )
