"""The read-only role in the management account for the function's Organizations reads."""

from __future__ import annotations

from typing import Final

from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import GuardrailConfig
from infra.constructs.detect_function import ORGANIZATIONS_READ_ACTIONS
from infra.constructs.member_role import detect_function_principal
from infra.nag import acknowledge

# The function lists the organization instance with this role, in organization_instance_region.
ORGANIZATION_INSTANCE_READ_ACTIONS: Final = ("sso:ListInstances",)


class OrganizationsReaderRole(Construct):
    """`organizations_role_arn`: the Organizations reads of the detect function, and nothing more.

    Organizations answers DescribeAccount, ListParents, ListPoliciesForTarget and DescribePolicy
    only in the management account (or a delegated administrator), so the central function
    assumes this role for them. Only the detect function's role may assume it.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: GuardrailConfig) -> None:
        super().__init__(scope, construct_id)
        role = config.organizations_role
        if role is None:
            raise ValueError("OrganizationsReaderRole needs organizations_role_arn in the configuration")
        path, name = role
        self.role = iam.Role(
            self,
            "Role",
            role_name=name,
            path=path,
            description="Lets the IAM Identity Center account-instance guardrail read the organization",
            assumed_by=detect_function_principal(config),
            inline_policies={
                "ReadOrganization": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            sid="ReadOrganization", actions=list(ORGANIZATIONS_READ_ACTIONS), resources=["*"]
                        ),
                        iam.PolicyStatement(
                            sid="ListOrganizationInstance",
                            actions=list(ORGANIZATION_INSTANCE_READ_ACTIONS),
                            resources=["*"],
                        ),
                    ]
                )
            },
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Read-only: DescribeOrganization and sso:ListInstances support no resource-level permissions, "
            "and the accounts, OUs and SCPs read are only known at run time",
        )
