"""The role in each member account that deletes account instances, and nothing else.

Deleting is kept apart from reading: the member role, which the detect function and the sweep's
worker assume, only reads, and this role, which only the detect function may assume, may delete an
instance and describe it (the remediation re-checks owner and status right before deleting). Only
the account that owns an instance can delete it, so the role must be in the member account. It
exists only with `remediation_enabled`; the management account never gets it (its instance is the
organization instance).
"""

from __future__ import annotations

from typing import Final

from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import GuardrailConfig
from infra.constructs.member_role import central_roles_principal, instance_arns, role_in_every_account
from infra.nag import acknowledge

# DescribeInstance: the fresh look at owner and status right before DeleteInstance, and the follow-up.
DELETE_ACTIONS: Final = ("sso:DescribeInstance", "sso:DeleteInstance")


def deleter_role_arns(config: GuardrailConfig) -> str:
    """The deleter role in every account (the assuming statement narrows it to the organization)."""
    return role_in_every_account(config.deleter_role_name)


class DeleterRole(Construct):
    """`deleter_role_name`, trusted only by the detect function's role: delete and describe instances."""

    def __init__(self, scope: Construct, construct_id: str, *, config: GuardrailConfig) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            role_name=config.deleter_role_name,
            description="Lets the IAM Identity Center account-instance guardrail's detect function delete "
            "this account's instances",
            assumed_by=central_roles_principal(config, config.detect_role_name),
            inline_policies={
                "DeleteInstances": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            sid="DeleteInstances", actions=list(DELETE_ACTIONS), resources=[instance_arns()]
                        )
                    ]
                )
            },
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sso:::instance/*]",
            "The instance to delete is only known at run time, and an instance ARN holds no account or "
            "Region to narrow it by; within this account only its own instances are visible, and only the "
            "owning account can delete one",
        )
