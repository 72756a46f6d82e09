"""The member StackSets and the templates they deploy, read from the synthesized templates."""

from __future__ import annotations

import pytest

from infra.application import CENTRAL_STACK_NAME, MANAGEMENT_STACK_NAME
from infra.config import known_regions
from infra.constructs.instance_event_rules import INSTANCE_EVENT_PATTERN
from infra.constructs.member_stacksets import FORWARDING_STACKSET_NAME, ROLES_STACKSET_NAME
from tests.infra.support import (
    CENTRAL_BUS_ARN,
    DETECT_HANDLER,
    DETECT_ROLE_ARN,
    FORWARDING_RULE_NAME,
    SANDBOX_OU,
    SWEEP_WORKER_ROLE_ARN,
    WORKER_HANDLER,
    WORKLOADS_OU,
    Document,
    Synthesized,
    actions,
    assert_forwarding_role,
    assert_trusts_only_the_detect_function_and_the_sweep_worker,
    granted,
    only,
    pseudo_parameters,
    resolve,
    resources,
    role_named,
    role_statements,
)

MEMBER = pseudo_parameters("444444444444", "eu-west-1")


def _holder(s: Synthesized) -> list[str]:
    """Names of the stacks that hold StackSet resources."""
    return sorted(
        stack.stack_name
        for stack in s.assembly.stacks
        if resources(s.stack_document(stack.stack_name), "AWS::CloudFormation::StackSet")
    )


# --- the StackSets ---------------------------------------------------------------------------------


def test_two_stacksets_live_in_the_central_stack_as_delegated_admin(synthesized: Synthesized) -> None:
    assert _holder(synthesized) == [CENTRAL_STACK_NAME]
    stack_sets = synthesized.stack_sets()
    assert set(stack_sets) == {ROLES_STACKSET_NAME, FORWARDING_STACKSET_NAME}
    assert {s["CallAs"] for s in stack_sets.values()} == {"DELEGATED_ADMIN"}


def test_self_managed_call_puts_the_stacksets_in_the_management_stack(
    synthesized_variant: Synthesized,
) -> None:
    assert _holder(synthesized_variant) == [MANAGEMENT_STACK_NAME]
    assert {s["CallAs"] for s in synthesized_variant.stack_sets().values()} == {"SELF"}


@pytest.mark.parametrize("name", [ROLES_STACKSET_NAME, FORWARDING_STACKSET_NAME])
def test_stacksets_are_service_managed_and_follow_the_organization(
    synthesized: Synthesized, name: str
) -> None:
    stack_set = synthesized.stack_sets()[name]
    assert stack_set["PermissionModel"] == "SERVICE_MANAGED"
    assert stack_set["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert stack_set["ManagedExecution"] == {"Active": True}
    preferences = stack_set["OperationPreferences"]
    assert preferences["RegionConcurrencyType"] == "PARALLEL"
    # Failures do not slow the roll-out; the tolerance alone decides when it stops.
    assert preferences["ConcurrencyMode"] == "SOFT_FAILURE_TOLERANCE"
    assert "FailureToleranceCount" not in preferences
    assert "MaxConcurrentCount" not in preferences


@pytest.mark.parametrize("fixture", ["synthesized", "synthesized_variant"])
def test_forwarding_tolerates_every_account_failing_in_any_region(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    """Most accounts have not enabled most opt-in Regions: their instances there fail, harmlessly.

    The tolerance counts accounts per Region and rounds down; at 100 % no number of failed accounts
    exceeds it, so the operation succeeds and the StackSet resource (and its stack) completes.
    """
    s: Synthesized = request.getfixturevalue(fixture)
    preferences = s.stack_sets()[FORWARDING_STACKSET_NAME]["OperationPreferences"]
    assert preferences["FailureTolerancePercentage"] == 100
    assert preferences["MaxConcurrentPercentage"] == 100


def test_roles_stackset_stops_on_systematic_failures(synthesized: Synthesized) -> None:
    """One Region every account has: a failure is real, so only a few accounts may fail."""
    stack_sets = synthesized.stack_sets()
    roles = stack_sets[ROLES_STACKSET_NAME]["OperationPreferences"]
    forwarding = stack_sets[FORWARDING_STACKSET_NAME]["OperationPreferences"]
    assert 0 < roles["FailureTolerancePercentage"] <= 10
    assert roles["FailureTolerancePercentage"] < forwarding["FailureTolerancePercentage"]
    assert roles["FailureTolerancePercentage"] < roles["MaxConcurrentPercentage"] < 100


def test_stacksets_target_the_root_by_default(synthesized: Synthesized) -> None:
    for stack_set in synthesized.stack_sets().values():
        (group,) = stack_set["StackInstancesGroup"]
        assert group["DeploymentTargets"] == {"OrganizationalUnitIds": ["r-ab12"]}


def test_stacksets_target_the_configured_ous(synthesized_variant: Synthesized) -> None:
    for stack_set in synthesized_variant.stack_sets().values():
        (group,) = stack_set["StackInstancesGroup"]
        assert group["DeploymentTargets"] == {"OrganizationalUnitIds": [SANDBOX_OU, WORKLOADS_OU]}


def test_forwarding_goes_to_every_region_and_roles_once_per_account(synthesized: Synthesized) -> None:
    """Every Region where Identity Center is available, opt-in Regions included."""
    stack_sets = synthesized.stack_sets()
    (forwarding,) = stack_sets[FORWARDING_STACKSET_NAME]["StackInstancesGroup"]
    (roles,) = stack_sets[ROLES_STACKSET_NAME]["StackInstancesGroup"]
    assert forwarding["Regions"] == list(synthesized.config.regions) == list(known_regions("sso"))
    assert "ap-east-1" in forwarding["Regions"]
    assert roles["Regions"] == [synthesized.config.central_region]


def test_roles_stackset_may_name_iam_roles_and_comes_first(synthesized: Synthesized) -> None:
    stack_sets = synthesized.stack_sets()
    assert stack_sets[ROLES_STACKSET_NAME]["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
    assert "Capabilities" not in stack_sets[FORWARDING_STACKSET_NAME]
    (forwarding_id,) = [
        logical_id
        for logical_id, r in synthesized.resources("AWS::CloudFormation::StackSet").items()
        if r["Properties"]["StackSetName"] == FORWARDING_STACKSET_NAME
    ]
    (roles_id,) = set(synthesized.resources("AWS::CloudFormation::StackSet")) - {forwarding_id}
    assert synthesized.document["Resources"][forwarding_id]["DependsOn"] == [roles_id]


def test_member_templates_need_no_bootstrap_and_no_parameters(synthesized: Synthesized) -> None:
    for name in (ROLES_STACKSET_NAME, FORWARDING_STACKSET_NAME):
        template = synthesized.member_template(name)
        assert set(template) == {"Description", "Resources"}, name  # no Parameters, Rules, Conditions
        assert not resources(template, "AWS::CDK::Metadata")


# --- what the forwarding template deploys in each account and Region -------------------------------


def test_forwarding_rule_matches_exactly_the_central_pattern(synthesized: Synthesized) -> None:
    template = synthesized.member_template(FORWARDING_STACKSET_NAME)
    rule = only(template, "AWS::Events::Rule")["Properties"]
    assert set(template["Resources"]) == {next(iter(resources(template, "AWS::Events::Rule")))}
    assert rule["EventPattern"] == INSTANCE_EVENT_PATTERN
    assert rule["Name"] == FORWARDING_RULE_NAME
    assert rule["State"] == "ENABLED"
    assert "EventBusName" not in rule  # the default bus, where CloudTrail events arrive
    central_rules = [
        r["Properties"]["EventPattern"] for r in synthesized.resources("AWS::Events::Rule").values()
    ]
    assert central_rules == [rule["EventPattern"]] * 2


def test_forwarding_rule_targets_the_central_bus_with_the_forwarding_role(
    synthesized: Synthesized,
) -> None:
    rule = only(synthesized.member_template(FORWARDING_STACKSET_NAME), "AWS::Events::Rule")["Properties"]
    (target,) = resolve(rule["Targets"], MEMBER)
    assert target["Arn"] == CENTRAL_BUS_ARN
    assert target["RoleArn"] == "arn:aws:iam::444444444444:role/IdentityCenterGuardrailEventForwarder"


# --- what the roles template deploys once per account -----------------------------------------------


def _member_roles(s: Synthesized) -> Document:
    return s.member_template(ROLES_STACKSET_NAME)


def test_roles_template_holds_exactly_the_member_and_forwarding_roles(synthesized: Synthesized) -> None:
    template = _member_roles(synthesized)
    assert {r["Type"] for r in template["Resources"].values()} == {"AWS::IAM::Role"}
    names = sorted(r["Properties"]["RoleName"] for r in template["Resources"].values())
    assert names == ["IdentityCenterGuardrailEventForwarder", "IdentityCenterGuardrailMemberRole"]
    assert all("ManagedPolicyArns" not in r["Properties"] for r in template["Resources"].values())


@pytest.mark.parametrize("fixture", ["synthesized", "synthesized_variant"])
def test_member_role_trusts_only_the_detect_function_and_the_sweep_worker(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    s: Synthesized = request.getfixturevalue(fixture)
    role = role_named(_member_roles(s), "IdentityCenterGuardrailMemberRole")
    assert_trusts_only_the_detect_function_and_the_sweep_worker(role, MEMBER)
    # The very roles the central stack creates, by name.
    assert s.role(DETECT_HANDLER)["RoleName"] == DETECT_ROLE_ARN.rpartition("/")[2]
    assert s.role(WORKER_HANDLER)["RoleName"] == SWEEP_WORKER_ROLE_ARN.rpartition("/")[2]


def test_member_role_reads_instances_and_cannot_delete_by_default(synthesized: Synthesized) -> None:
    role = role_named(_member_roles(synthesized), "IdentityCenterGuardrailMemberRole")
    assert granted(role) == {
        "sso:DescribeInstance",
        "sso:ListInstances",
        "sso:ListTagsForResource",
        "sso:ListApplications",
        "account:ListRegions",
    }
    by_sid = {s["Sid"]: resolve(s["Resource"], MEMBER) for s in role_statements(role)}
    assert by_sid == {
        "ListInstances": "*",
        "ReadInstances": "arn:aws:sso:::instance/*",
        "ReadEnabledRegions": f"arn:aws:account::{MEMBER['AWS::AccountId']}:account",
    }


def test_member_role_may_delete_instances_with_remediation_enabled(synthesized_variant: Synthesized) -> None:
    role = role_named(_member_roles(synthesized_variant), "IdentityCenterGuardrailMemberRole")
    assert granted(role) == {
        "sso:DescribeInstance",
        "sso:ListInstances",
        "sso:ListTagsForResource",
        "sso:ListApplications",
        "account:ListRegions",
        "sso:DeleteInstance",
    }
    (delete,) = [s for s in role_statements(role) if "sso:DeleteInstance" in actions(s)]
    assert actions(delete) == ["sso:DeleteInstance"]
    assert resolve(delete["Resource"], MEMBER) == "arn:aws:sso:::instance/*"


def test_forwarding_role_can_only_put_events_on_the_central_bus(synthesized: Synthesized) -> None:
    assert_forwarding_role(
        role_named(_member_roles(synthesized), "IdentityCenterGuardrailEventForwarder"), MEMBER
    )


def test_member_role_name_follows_the_configuration(synthesized: Synthesized) -> None:
    """The functions assume `member_role_name`; the StackSet must create the very same name."""
    for handler in (DETECT_HANDLER, WORKER_HANDLER):
        member_role_name = synthesized.function(handler)["Environment"]["Variables"]["MEMBER_ROLE_NAME"]
        assert role_named(_member_roles(synthesized), member_role_name)
