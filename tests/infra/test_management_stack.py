"""The management account's stacks, read from the synthesized templates."""

from __future__ import annotations

import json
from typing import cast

import pytest
from aws_cdk import App, Stack

from guardrail.core.regions import REGIONS_ENABLED_BY_DEFAULT
from infra.application import CENTRAL_STACK_NAME, MANAGEMENT_STACK_NAME
from infra.config import parse_config
from infra.constructs.member_stacksets import FORWARDING_STACKSET_NAME
from infra.organizations_reads import (
    DETECT_ORGANIZATIONS_READ_ACTIONS,
    SWEEP_ORGANIZATIONS_READ_ACTIONS,
    organization_resource_arns,
)
from tests.infra.support import (
    DETECT_ROLE_ARN,
    EXAMPLE_POLICY,
    LIST_CHILDREN,
    LIST_POLICIES_OF_TARGETS,
    PLANNER_HANDLER,
    READ_ACCOUNTS,
    READ_AND_TARGETS_OF_SCPS,
    READ_PARENTS,
    READ_UNITS,
    SANDBOX_OU,
    SWEEP_PLANNER_ROLE_ARN,
    Document,
    Synthesized,
    assert_forwarding_role,
    assert_statements,
    assert_trusts_only,
    assert_trusts_only_the_detect_function,
    example_config_data,
    granted,
    only,
    pseudo_parameters,
    resolve,
    resources,
    role_named,
    role_statements,
)

MANAGEMENT = pseudo_parameters("111111111111", "us-east-1")
READER_ROLE_NAME = "IdentityCenterGuardrailOrganizationsReader"


def _manifest(s: Synthesized) -> Document:
    return cast(Document, json.loads((s.outdir / "manifest.json").read_text(encoding="utf-8")))


def test_app_has_the_central_the_management_and_one_stack_per_region(synthesized: Synthesized) -> None:
    """One per watched Region the management account has enabled: by default, those every account has."""
    assert synthesized.stack_names() == sorted(
        [
            CENTRAL_STACK_NAME,
            MANAGEMENT_STACK_NAME,
            *(f"{MANAGEMENT_STACK_NAME}-{region}" for region in REGIONS_ENABLED_BY_DEFAULT),
        ]
    )


def test_no_management_region_stack_where_the_account_is_not_known_to_have_the_region(
    synthesized: Synthesized,
) -> None:
    """`cdk deploy` would fail in an opt-in Region the management account has not enabled."""
    opt_in = [region for region in synthesized.config.regions if region not in REGIONS_ENABLED_BY_DEFAULT]
    assert "ap-east-1" in opt_in
    assert not {f"{MANAGEMENT_STACK_NAME}-{region}" for region in opt_in} & set(synthesized.stack_names())


def test_management_stacks_are_pinned_to_the_management_account(synthesized: Synthesized) -> None:
    environments = {
        stack.stack_name: (stack.environment.account, stack.environment.region)
        for stack in synthesized.assembly.stacks
        if stack.stack_name.startswith(MANAGEMENT_STACK_NAME)
    }
    assert environments == {
        MANAGEMENT_STACK_NAME: ("111111111111", "us-east-1"),
        **{
            f"{MANAGEMENT_STACK_NAME}-{region}": ("111111111111", region)
            for region in synthesized.config.management_forwarding_regions
        },
    }


def test_management_stacks_deploy_with_the_callers_credentials_and_no_bootstrap(
    synthesized: Synthesized,
) -> None:
    """No bootstrap role to assume, no asset, no bootstrap version check: none needed in that account."""
    artifacts = _manifest(synthesized)["artifacts"]
    for name, artifact in artifacts.items():
        if not name.startswith(MANAGEMENT_STACK_NAME):
            continue
        properties = artifact["properties"]
        assert "assumeRoleArn" not in properties, name
        assert "requiresBootstrapStackVersion" not in properties, name
        assert "stackTemplateAssetObjectUrl" not in properties, name
        assert "Parameters" not in synthesized.stack_document(name), name
    central = artifacts[CENTRAL_STACK_NAME]["properties"]
    assert "assumeRoleArn" in central  # the central stack has an asset: it uses the bootstrap


def test_region_stacks_depend_on_the_management_stack(synthesized: Synthesized) -> None:
    artifacts = _manifest(synthesized)["artifacts"]
    for region in synthesized.config.management_forwarding_regions:
        assert MANAGEMENT_STACK_NAME in artifacts[f"{MANAGEMENT_STACK_NAME}-{region}"]["dependencies"]


# --- forwarding ----------------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "eu-central-1"])
def test_each_region_forwards_with_the_member_accounts_rule(synthesized: Synthesized, region: str) -> None:
    """The management account's rule and dead-letter queue are the very ones the StackSet puts in
    member accounts (retry for a day, then the queue of its own account and Region)."""
    document = synthesized.management_region(region)
    member = synthesized.member_template(FORWARDING_STACKSET_NAME)

    def deployed(template: Document) -> dict[str, Document]:
        return {
            logical_id: {"Type": r["Type"], "Properties": r["Properties"]}
            for logical_id, r in template["Resources"].items()
            if r["Type"] != "AWS::CDK::Metadata"
        }

    assert deployed(document) == deployed(member)
    assert sorted(r["Type"] for r in deployed(document).values()) == [
        "AWS::Events::Rule",
        "AWS::SQS::Queue",
        "AWS::SQS::QueuePolicy",
    ]
    (target,) = only(document, "AWS::Events::Rule")["Properties"]["Targets"]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert "DeadLetterConfig" in target


def test_management_forwarding_role_can_only_put_events_on_the_central_bus(synthesized: Synthesized) -> None:
    role = role_named(synthesized.management, "IdentityCenterGuardrailEventForwarder")
    assert_forwarding_role(role, MANAGEMENT)


# --- roles the detect function assumes ------------------------------------------------------------


def test_organizations_reader_trusts_only_the_detect_function_and_the_sweep_planner(
    synthesized: Synthesized,
) -> None:
    role = role_named(synthesized.management, READER_ROLE_NAME)
    assert role["Path"] == "/"
    assert_trusts_only(role, MANAGEMENT, DETECT_ROLE_ARN, SWEEP_PLANNER_ROLE_ARN)
    assert synthesized.role(PLANNER_HANDLER)["RoleName"] == SWEEP_PLANNER_ROLE_ARN.rpartition("/")[2]
    configured = synthesized.config.organizations_role_arn
    assert configured == f"arn:aws:iam::111111111111:role/{READER_ROLE_NAME}"


def test_organizations_reader_reads_only_this_organizations_resources(synthesized: Synthesized) -> None:
    """Each read on the resource types the Service Authorization Reference lists for it, in this
    organization (management account and id in the ARN; the example's root by id); `*` only for
    the actions that support no resource. SCPs include the AWS managed ones (FullAWSAccess)."""
    role = role_named(synthesized.management, READER_ROLE_NAME)
    assert_statements(
        resolve(role_statements(role), MANAGEMENT),
        [
            {
                "Sid": "ReadOrganization",
                "Effect": "Allow",
                "Action": [
                    "organizations:DescribeOrganization",
                    "organizations:ListPolicies",
                    "organizations:ListRoots",
                ],
                "Resource": "*",
            },
            READ_ACCOUNTS,
            READ_PARENTS,
            READ_UNITS,
            LIST_POLICIES_OF_TARGETS,
            LIST_CHILDREN,
            READ_AND_TARGETS_OF_SCPS,
            {
                "Sid": "ListOrganizationInstance",
                "Effect": "Allow",
                "Action": "sso:ListInstances",
                "Resource": "*",
            },
        ],
    )
    assert "ManagedPolicyArns" not in role


def test_organizations_reader_grants_every_read_the_functions_make_and_only_reads(
    synthesized: Synthesized,
) -> None:
    role = role_named(synthesized.management, READER_ROLE_NAME)
    # The detect function's reads, the sweep planner's listing of the organization, and the
    # organization instance; the planner needs nothing the detect function's reads do not name.
    assert granted(role) == {
        *DETECT_ORGANIZATIONS_READ_ACTIONS,
        *SWEEP_ORGANIZATIONS_READ_ACTIONS,
        "sso:ListInstances",
    }
    assert set(SWEEP_ORGANIZATIONS_READ_ACTIONS) == {
        "organizations:DescribeOrganization",
        "organizations:ListRoots",
        "organizations:ListOrganizationalUnitsForParent",
        "organizations:ListAccountsForParent",
        "organizations:ListPolicies",
        "organizations:DescribePolicy",
        "organizations:ListTargetsForPolicy",
    }
    assert all(action.split(":")[1].startswith(("Describe", "List")) for action in granted(role))
    assert all(s["Effect"] == "Allow" for s in role_statements(role))


def test_organizations_reader_without_a_root_id_reads_any_root_of_the_organization() -> None:
    """With stackset_targets instead of root_id, the root's id is not known: the org's roots."""
    data = {**example_config_data(), "policy_file": str(EXAMPLE_POLICY), "stackset_targets": [SANDBOX_OU]}
    del data["root_id"]
    config = parse_config(data)
    stack = Stack(App(), "Probe")
    assert stack.resolve(organization_resource_arns(config, "root")) == [
        {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, ":organizations::111111111111:root/o-exampleorg1/r-*"],
            ]
        }
    ]


def test_no_reader_role_when_the_central_account_reads_organizations_itself(
    synthesized_delegated_admin: Synthesized,
) -> None:
    names = {
        r["Properties"]["RoleName"]
        for r in resources(synthesized_delegated_admin.management, "AWS::IAM::Role").values()
    }
    assert READER_ROLE_NAME not in names
    assert names == {"IdentityCenterGuardrailMemberRole", "IdentityCenterGuardrailEventForwarder"}


@pytest.mark.parametrize("fixture", ["synthesized", "synthesized_variant"])
def test_management_member_role_never_deletes(fixture: str, request: pytest.FixtureRequest) -> None:
    """Even with remediation enabled: the management account's instance is the organization instance.

    Only the detect function may assume it: the sweep leaves the management account out."""
    s: Synthesized = request.getfixturevalue(fixture)
    role = role_named(s.management, "IdentityCenterGuardrailMemberRole")
    assert_trusts_only_the_detect_function(role, MANAGEMENT)
    # Nor is there a deleter role in the management account.
    names = {r["Properties"].get("RoleName") for r in resources(s.management, "AWS::IAM::Role").values()}
    assert "IdentityCenterGuardrailDeleterRole" not in names
    assert granted(role) == {
        "sso:DescribeInstance",
        "sso:ListInstances",
        "sso:ListTagsForResource",
        "sso:ListApplications",
        "account:ListRegions",
    }


def test_management_stack_holds_no_scp_and_no_stacksets_by_default(synthesized: Synthesized) -> None:
    assert not resources(synthesized.management, "AWS::Organizations::Policy")
    assert not resources(synthesized.management, "AWS::CloudFormation::StackSet")
