"""The read-only role in the management account for the function's Organizations reads."""

from __future__ import annotations

from typing import Final

from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import GuardrailConfig
from infra.constructs.member_role import central_roles_principal
from infra.nag import acknowledge
from infra.organizations_reads import (
    DETECT_ORGANIZATIONS_READ_ACTIONS,
    SWEEP_ORGANIZATIONS_READ_ACTIONS,
    UNSCOPED_REASON,
    acknowledge_organization_wildcards,
    organizations_read_statements,
)

# The functions list the organization instance with this role, in organization_instance_region.
ORGANIZATION_INSTANCE_READ_ACTIONS: Final = ("sso:ListInstances",)


def organizations_reader_principal(config: GuardrailConfig) -> iam.IPrincipal:
    """Who reads the organization: the detect function, on an event, and the sweep's planner."""
    return central_roles_principal(config, config.detect_role_name, config.sweep_planner_role_name)


class OrganizationsReaderRole(Construct):
    """`organizations_role_arn`: the Organizations reads of the detect function and of the sweep's
    planner, and nothing more.

    Organizations answers DescribeAccount, ListParents, ListPoliciesForTarget, ListAccounts and the
    rest only in the management account (or a delegated administrator), so the central functions
    assume this role for them. Only the detect function's and the sweep planner's roles may assume it.

    Each read is granted on this organization's resources of the types the Service Authorization
    Reference lists for it (accounts, OUs, the root, SCPs: their ARNs hold the management account
    and the organization id); `*` only for the actions that support no resource (DescribeOrganization,
    ListRoots, ListPolicies, sso:ListInstances).
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: GuardrailConfig) -> None:
        super().__init__(scope, construct_id)
        role = config.organizations_role
        if role is None:
            raise ValueError("OrganizationsReaderRole needs organizations_role_arn in the configuration")
        path, name = role
        actions = list(dict.fromkeys([*DETECT_ORGANIZATIONS_READ_ACTIONS, *SWEEP_ORGANIZATIONS_READ_ACTIONS]))
        self.role = iam.Role(
            self,
            "Role",
            role_name=name,
            path=path,
            description="Lets the IAM Identity Center account-instance guardrail read the organization",
            assumed_by=organizations_reader_principal(config),
            inline_policies={
                "ReadOrganization": iam.PolicyDocument(
                    statements=[
                        *organizations_read_statements(config, actions),
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
            f"{UNSCOPED_REASON}; nor does sso:ListInstances",
        )
        acknowledge_organization_wildcards(self.role, config, actions)
