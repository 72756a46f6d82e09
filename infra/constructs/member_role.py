"""The role the central functions (detect, and the sweep's worker) assume in other accounts to read."""

from __future__ import annotations

from typing import Final

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import GuardrailConfig
from infra.constructs.event_forwarding import (
    FORWARDING_DEAD_LETTER_QUEUE_NAME,
    FORWARDING_RULE_NAME,
    forwarding_dead_letter_queue_arns,
    forwarding_rule_arns,
)
from infra.nag import acknowledge

# What is read of an instance, on its ARN (the one resource type the Service Authorization Reference
# lists for these actions).
INSTANCE_READ_ACTIONS: Final = ("sso:DescribeInstance", "sso:ListTagsForResource")
# Reads the Service Authorization Reference lists with no resource type: only `Resource: "*"` grants
# them (on an instance ARN they grant nothing). ListApplications takes an InstanceArn parameter, but
# is authorized on no resource.
UNSCOPED_READ_ACTIONS: Final = ("sso:ListInstances", "sso:ListApplications")
# What the sweep reads of an account's forwarding, in each Region: the rule and its target, and
# how many events wait in its dead-letter queue (the URL by name too).
FORWARDING_RULE_READ_ACTIONS: Final = ("events:DescribeRule", "events:ListTargetsByRule")
FORWARDING_QUEUE_READ_ACTIONS: Final = ("sqs:GetQueueAttributes", "sqs:GetQueueUrl")


def central_role_arn(config: GuardrailConfig, role_name: str) -> str:
    """The ARN of a role of the central stack, from its configured name."""
    return f"arn:{Aws.PARTITION}:iam::{config.central_account_id}:role/{role_name}"


def detect_function_role_arn(config: GuardrailConfig) -> str:
    return central_role_arn(config, config.detect_role_name)


def role_in_every_account(role_name: str) -> str:
    """A role of this name in every account (the assuming statements narrow it to the organization)."""
    return f"arn:{Aws.PARTITION}:iam::*:role/{role_name}"


def central_roles_principal(config: GuardrailConfig, *role_names: str) -> iam.IPrincipal:
    """The named roles of the central account, and no other principal of it.

    Trusting the account with an aws:PrincipalArn condition, rather than naming the roles as the
    principal, keeps the trust valid when a role is replaced and lets member stacks deploy
    before the central stack exists (IAM refuses a principal that does not exist yet).
    """
    arns = [central_role_arn(config, name) for name in role_names]
    return iam.AccountPrincipal(config.central_account_id).with_conditions(
        {"ArnEquals": {"aws:PrincipalArn": arns[0] if len(arns) == 1 else arns}}
    )


def member_role_principal(config: GuardrailConfig, *, swept: bool = True) -> iam.IPrincipal:
    """Who reads an account: the detect function, on an event, and, if `swept`, the sweep's worker."""
    names = (config.detect_role_name, config.sweep_worker_role_name) if swept else (config.detect_role_name,)
    return central_roles_principal(config, *names)


def member_role_arns(config: GuardrailConfig) -> str:
    """The member role in every account (the assuming statements narrow it to the organization)."""
    return role_in_every_account(config.member_role_name)


def instance_arns() -> str:
    """Every Identity Center instance; an instance ARN names neither account nor Region."""
    return f"arn:{Aws.PARTITION}:sso:::instance/*"


class MemberRole(Construct):
    """The role that lets the detect function and the sweep's worker read an account's instances;
    it only reads (deleting is the deleter role's, `infra.constructs.deleter_role`).

    `swept` is false in the management account, which the sweep never reads (its planner leaves it
    out: it holds the organization instance, which the planner reads through the Organizations
    reader role), so there only the detect function may assume the role.

    Where it is `swept`, the sweep also checks the account's forwarding: it may read the forwarding
    rule and its targets, and the attributes (depth) of the forwarding dead-letter queue, in any
    Region of the account, and nothing else of EventBridge or SQS.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: GuardrailConfig,
        swept: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        statements = [
            iam.PolicyStatement(
                sid="ListInstancesAndApplications", actions=list(UNSCOPED_READ_ACTIONS), resources=["*"]
            ),
            iam.PolicyStatement(
                sid="ReadInstances", actions=list(INSTANCE_READ_ACTIONS), resources=[instance_arns()]
            ),
            # Where ListInstances cannot list every Region at once: which Regions the account has
            # enabled, so that a Region it has not is known to hold no instance.
            iam.PolicyStatement(
                sid="ReadEnabledRegions",
                actions=["account:ListRegions"],
                resources=[f"arn:{Aws.PARTITION}:account::{Aws.ACCOUNT_ID}:account"],
            ),
        ]
        if swept:
            statements += [
                iam.PolicyStatement(
                    sid="ReadForwardingRule",
                    actions=list(FORWARDING_RULE_READ_ACTIONS),
                    resources=[forwarding_rule_arns()],
                ),
                iam.PolicyStatement(
                    sid="ReadForwardingDeadLetters",
                    actions=list(FORWARDING_QUEUE_READ_ACTIONS),
                    resources=[forwarding_dead_letter_queue_arns()],
                ),
            ]
        self.role = iam.Role(
            self,
            "Role",
            role_name=config.member_role_name,
            description="Lets the IAM Identity Center account-instance guardrail read this account's instances",
            assumed_by=member_role_principal(config, swept=swept),
            inline_policies={"IdentityCenterInstances": iam.PolicyDocument(statements=statements)},
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "sso:ListInstances and sso:ListApplications support no resource-level permissions (the Service "
            "Authorization Reference lists no resource type for them); both only read",
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sso:::instance/*]",
            "The instances to read are only known at run time, and an instance ARN holds no account or "
            "Region to narrow it by; within this account only its own instances are visible",
        )
        if swept:
            acknowledge(
                self.role,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:*:<AWS::AccountId>:rule/"
                f"{FORWARDING_RULE_NAME}]",
                "The forwarding rule has one fixed name and exists in every Region of this account: the "
                "Region is the only wildcard, and the actions only read the rule and its targets",
            )
            acknowledge(
                self.role,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sqs:*:<AWS::AccountId>:"
                f"{FORWARDING_DEAD_LETTER_QUEUE_NAME}]",
                "The forwarding dead-letter queue has one fixed name and exists in every Region of this "
                "account: the Region is the only wildcard, and the actions only read its URL and attributes",
            )
