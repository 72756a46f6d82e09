"""What the guardrail reads of Organizations, and the IAM statements that grant exactly that.

One place for the reads and their resources, used wherever they are granted: the Organizations
reader role in the management account, and the central functions' own roles when the central
account is a delegated administrator (no role to assume).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from infra.config import GuardrailConfig
from infra.nag import acknowledge, rendered

# What the detect function reads of the organization on an event.
DETECT_ORGANIZATIONS_READ_ACTIONS: Final = (
    "organizations:DescribeOrganization",
    "organizations:DescribeAccount",
    "organizations:ListParents",
    "organizations:DescribeOrganizationalUnit",
    "organizations:ListTagsForResource",
    "organizations:ListPoliciesForTarget",
    "organizations:DescribePolicy",
)
# What the sweep's planner reads once per run: the OU tree with every account under it (each OU's
# accounts, with their parent: no ListAccounts), every SCP and its targets.
SWEEP_ORGANIZATIONS_READ_ACTIONS: Final = (
    "organizations:DescribeOrganization",
    "organizations:ListRoots",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListAccountsForParent",
    "organizations:ListPolicies",
    "organizations:DescribePolicy",
    "organizations:ListTargetsForPolicy",
)
# What each read acts on, as the Service Authorization Reference lists its resource types (none
# for an action that supports none): only the accounts' tags are read, and only SCPs.
ORGANIZATIONS_READ_RESOURCES: Final[dict[str, tuple[str, ...]]] = {
    "organizations:DescribeOrganization": (),
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
UNSCOPED_REASON: Final = (
    "The Organizations reads DescribeOrganization, ListRoots and ListPolicies (read-only) "
    "support no resource-level permissions"
)


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


def acknowledge_organization_wildcards(
    scope: IConstruct, config: GuardrailConfig, actions: Sequence[str]
) -> None:
    """Acknowledge the cdk-nag findings on the wildcards of `organizations_read_statements`' ARNs
    (`*` itself is the caller's to acknowledge, with its other reasons)."""
    kinds = {kind for action in actions for kind in ORGANIZATIONS_READ_RESOURCES[action]}
    arns = {arn for kind in kinds for arn in organization_resource_arns(config, kind) if "*" in arn}
    for arn in sorted(arns):
        acknowledge(
            scope,
            f"AwsSolutions-IAM5[Resource::{rendered(scope, arn)}]",
            "Read-only: the accounts, OUs and SCPs read are only known at run time; the ARN names this "
            "organization (its management account and id), and the AWS managed SCPs for DescribePolicy",
        )
