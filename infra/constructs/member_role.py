"""The roles the central detect function assumes in other accounts."""

from __future__ import annotations

from typing import Final

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import GuardrailConfig
from infra.nag import acknowledge

INSTANCE_READ_ACTIONS: Final = ("sso:DescribeInstance", "sso:ListTagsForResource", "sso:ListApplications")
INSTANCE_DELETE_ACTION: Final = "sso:DeleteInstance"


def detect_function_role_arn(config: GuardrailConfig) -> str:
    return f"arn:{Aws.PARTITION}:iam::{config.central_account_id}:role/{config.detect_role_name}"


def detect_function_principal(config: GuardrailConfig) -> iam.IPrincipal:
    """The central detect function's role, and no other principal of the central account.

    Trusting the account with an aws:PrincipalArn condition, rather than naming the role as the
    principal, keeps the trust valid when the role is replaced and lets member stacks deploy
    before the central stack exists (IAM refuses a principal that does not exist yet).
    """
    return iam.AccountPrincipal(config.central_account_id).with_conditions(
        {"ArnEquals": {"aws:PrincipalArn": detect_function_role_arn(config)}}
    )


def instance_arns() -> str:
    """Every Identity Center instance; an instance ARN names neither account nor Region."""
    return f"arn:{Aws.PARTITION}:sso:::instance/*"


class MemberRole(Construct):
    """The role that lets the detect function read an account's instances, and delete them if allowed.

    `allow_delete` adds sso:DeleteInstance, which only the owning account can call, so remediation
    has to go through this role. It is never granted in the management account, whose instance is
    the organization instance.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: GuardrailConfig, allow_delete: bool
    ) -> None:
        super().__init__(scope, construct_id)
        statements = [
            iam.PolicyStatement(sid="ListInstances", actions=["sso:ListInstances"], resources=["*"]),
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
        if allow_delete:
            statements.append(
                iam.PolicyStatement(
                    sid="DeleteInstances", actions=[INSTANCE_DELETE_ACTION], resources=[instance_arns()]
                )
            )
        self.role = iam.Role(
            self,
            "Role",
            role_name=config.member_role_name,
            description="Lets the IAM Identity Center account-instance guardrail read "
            + ("and delete " if allow_delete else "")
            + "this account's instances",
            assumed_by=detect_function_principal(config),
            inline_policies={"IdentityCenterInstances": iam.PolicyDocument(statements=statements)},
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "sso:ListInstances supports no resource-level permissions; it is read-only",
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sso:::instance/*]",
            "The instances to read are only known at run time, and an instance ARN holds no account or "
            "Region to narrow it by; within this account only its own instances are visible",
        )
