"""The read-only role in the management account for the function's Organizations reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import GuardrailConfig
from infra.constructs.detect_function import ORGANIZATIONS_READ_ACTIONS
from infra.constructs.member_role import central_roles_principal
from infra.nag import acknowledge, rendered

# The functions list the organization instance with this role, in organization_instance_region.
ORGANIZATION_INSTANCE_READ_ACTIONS: Final = ("sso:ListInstances",)
# What the sweep's planner reads once per run: every account, the OU tree, every SCP and its targets.
SWEEP_ORGANIZATIONS_READ_ACTIONS: Final = (
    "organizations:DescribeOrganization",
    "organizations:ListAccounts",
    "organizations:ListRoots",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListAccountsForParent",
    "organizations:ListPolicies",
    "organizations:DescribePolicy",
    "organizations:ListTargetsForPolicy",
)


# What each read acts on, as the Service Authorization Reference lists its resource types ("" for
# an action that supports none): only the accounts' tags are read, and only SCPs.
ORGANIZATIONS_READ_RESOURCES: Final[dict[str, tuple[str, ...]]] = {
    "organizations:DescribeOrganization": (),
    "organizations:ListAccounts": (),
    "organizations:ListRoots": (),
    "organizations:ListPolicies": (),
    "organizations:DescribeAccount": ("account",),
    "organizations:ListTagsForResource": ("account",),
    "organizations:ListParents": ("account", "ou"),
    "organizations:DescribeOrganizationalUnit": ("ou",),
    "organizations:ListPoliciesForTarget": ("account", "ou", "root"),
    "organizations:ListOrganizationalUnitsForParent": ("ou", "root"),
    "organizations:ListAccountsForParent": ("ou", "root"),
    "organizations:DescribePolicy": ("policy",),
    "organizations:ListTargetsForPolicy": ("policy",),
}
# Names of the statements, by the resource types they act on.
_STATEMENT_IDS: Final[dict[tuple[str, ...], str]] = {
    (): "ReadOrganization",
    ("account",): "ReadAccounts",
    ("account", "ou"): "ReadParents",
    ("ou",): "ReadOrganizationalUnits",
    ("account", "ou", "root"): "ListPoliciesOfTargets",
    ("ou", "root"): "ListChildren",
    ("policy",): "ReadServiceControlPolicies",
}


def organization_resource_arns(config: GuardrailConfig, kind: str) -> list[str]:
    """The ARNs of one kind of Organizations resource of this organization (the management account's).

    `policy` is the organization's SCPs and the AWS managed ones (FullAWSAccess is attached to every
    target by default), whose ARNs name neither the organization nor its management account.
    """
    prefix = f"arn:{Aws.PARTITION}:organizations::{config.management_account_id}"
    organization = config.organization_id
    if kind == "account":
        return [f"{prefix}:account/{organization}/*"]
    if kind == "ou":
        return [f"{prefix}:ou/{organization}/ou-*"]
    if kind == "root":
        return [f"{prefix}:root/{organization}/{config.root_id or 'r-*'}"]
    if kind == "policy":
        return [
            f"{prefix}:policy/{organization}/service_control_policy/p-*",
            f"arn:{Aws.PARTITION}:organizations::aws:policy/service_control_policy/p-*",
        ]
    raise ValueError(f"unknown Organizations resource type {kind}")


def organizations_read_statements(
    config: GuardrailConfig, actions: Sequence[str]
) -> list[iam.PolicyStatement]:
    """Statements granting `actions`, each on the resources of this organization it can act on."""
    grouped: dict[tuple[str, ...], list[str]] = {}
    for action in actions:
        grouped.setdefault(ORGANIZATIONS_READ_RESOURCES[action], []).append(action)
    return [
        iam.PolicyStatement(
            sid=_STATEMENT_IDS[kinds],
            actions=sorted(granted),
            resources=[arn for kind in kinds for arn in organization_resource_arns(config, kind)] or ["*"],
        )
        for kinds, granted in grouped.items()
    ]


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
    ListAccounts, ListRoots, ListPolicies, sso:ListInstances).
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: GuardrailConfig) -> None:
        super().__init__(scope, construct_id)
        role = config.organizations_role
        if role is None:
            raise ValueError("OrganizationsReaderRole needs organizations_role_arn in the configuration")
        path, name = role
        actions = list(dict.fromkeys([*ORGANIZATIONS_READ_ACTIONS, *SWEEP_ORGANIZATIONS_READ_ACTIONS]))
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
            "Read-only: DescribeOrganization, ListAccounts, ListRoots, ListPolicies and sso:ListInstances "
            "support no resource-level permissions",
        )
        wildcards = {
            arn
            for kind in ("account", "ou", "root", "policy")
            for arn in organization_resource_arns(config, kind)
        }
        for arn in sorted(wildcards):
            if "*" not in arn:
                continue
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[Resource::{rendered(self, arn)}]",
                "Read-only: the accounts, OUs and SCPs read are only known at run time; the ARN names this "
                "organization (its management account and id), and the AWS managed SCPs for DescribePolicy",
            )
