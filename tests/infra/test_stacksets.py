"""The member StackSets and the templates they deploy, read from the synthesized templates."""

from __future__ import annotations

import json

import pytest

from guardrail.pipeline.patterns import TEST_SOURCE
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
    assert_forwarding_role,
    assert_statements,
    assert_trusts_only_the_detect_function,
    assert_trusts_only_the_detect_function_and_the_sweep_worker,
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


@pytest.mark.parametrize("fixture", ["synthesized", "synthesized_variant"])
def test_accounts_without_an_opt_in_region_cannot_fail_the_forwarding_operation_or_its_stack(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    """Most accounts have not enabled most opt-in Regions: their stack instances there fail.

    StackSets stops an operation in a Region once more accounts failed there than the tolerance, the
    percentage of the Region's accounts rounded down, and the operation is then FAILED, which fails
    the AWS::CloudFormation::StackSet resource and rolls back the stack holding it. At 100 % that
    count is every account of the Region, so no number of failures, all of them included, exceeds
    it; the Regions run in parallel, so none waits on another; and nothing else in the holding
    stack waits on the forwarding StackSet.
    """
    s: Synthesized = request.getfixturevalue(fixture)
    preferences = s.stack_sets()[FORWARDING_STACKSET_NAME]["OperationPreferences"]
    assert preferences["RegionConcurrencyType"] == "PARALLEL"
    for accounts in (1, 2, 3, 7, 99, 100, 101, 5_000):
        tolerated = accounts * preferences["FailureTolerancePercentage"] // 100
        failed_everywhere = accounts  # no account of the organization enabled this Region
        assert failed_everywhere <= tolerated, accounts
    holder = next(
        stack.stack_name
        for stack in s.assembly.stacks
        if any(
            r["Properties"]["StackSetName"] == FORWARDING_STACKSET_NAME
            for r in resources(s.stack_document(stack.stack_name), "AWS::CloudFormation::StackSet").values()
        )
    )
    document = s.stack_document(holder)
    (forwarding_id,) = [
        logical_id
        for logical_id, r in resources(document, "AWS::CloudFormation::StackSet").items()
        if r["Properties"]["StackSetName"] == FORWARDING_STACKSET_NAME
    ]
    dependents = [
        logical_id
        for logical_id, r in document["Resources"].items()
        if forwarding_id in r.get("DependsOn", []) or forwarding_id in json.dumps(r.get("Properties", {}))
    ]
    assert dependents == []
    assert "Outputs" not in document or forwarding_id not in json.dumps(document["Outputs"])


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


def test_forwarding_template_holds_the_rule_and_its_dead_letter_queue(synthesized: Synthesized) -> None:
    template = synthesized.member_template(FORWARDING_STACKSET_NAME)
    assert sorted(r["Type"] for r in template["Resources"].values()) == [
        "AWS::Events::Rule",
        "AWS::SQS::Queue",
        "AWS::SQS::QueuePolicy",
    ]


def test_forwarding_rule_matches_exactly_the_central_pattern(synthesized: Synthesized) -> None:
    template = synthesized.member_template(FORWARDING_STACKSET_NAME)
    rule = only(template, "AWS::Events::Rule")["Properties"]
    assert rule["EventPattern"] == INSTANCE_EVENT_PATTERN
    assert rule["Name"] == FORWARDING_RULE_NAME
    assert rule["State"] == "ENABLED"
    assert "EventBusName" not in rule  # the default bus, where CloudTrail events arrive
    central_rules = [
        r["Properties"]["EventPattern"] for r in synthesized.resources("AWS::Events::Rule").values()
    ]
    # The central rule takes the forwarded calls and, besides, the doctor's test event (its source).
    assert central_rules == [{**rule["EventPattern"], "source": ["aws.sso", TEST_SOURCE]}]


def test_forwarding_rule_targets_the_central_bus_with_the_forwarding_role(
    synthesized: Synthesized,
) -> None:
    """Retried for a day (185 attempts), then parked in the dead-letter queue of its own stack."""
    template = synthesized.member_template(FORWARDING_STACKSET_NAME)
    rule = only(template, "AWS::Events::Rule")["Properties"]
    (queue_id,) = resources(template, "AWS::SQS::Queue")
    (target,) = resolve(rule["Targets"], MEMBER)
    assert target == {
        "Id": "CentralBus",
        "Arn": CENTRAL_BUS_ARN,
        "RoleArn": "arn:aws:iam::444444444444:role/IdentityCenterGuardrailEventForwarder",
        "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}},
    }


@pytest.mark.parametrize("fixture", ["synthesized", "synthesized_variant"])
def test_forwarding_dead_letter_queue_is_named_encrypted_tls_only_and_takes_only_the_rule(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    """In the rule's account and Region (EventBridge requires the queue in the rule's Region), by
    the fixed name the sweep reads it by; only EventBridge, for this very rule, may send to it."""
    s: Synthesized = request.getfixturevalue(fixture)
    template = s.member_template(FORWARDING_STACKSET_NAME)
    ((queue_id, queue),) = resources(template, "AWS::SQS::Queue").items()
    assert queue["Properties"] == {
        "QueueName": "IdentityCenterGuardrail-ForwardingDeadLetters",
        "SqsManagedSseEnabled": True,
        "MessageRetentionPeriod": 14 * 24 * 3600,
    }
    policy = only(template, "AWS::SQS::QueuePolicy")["Properties"]
    assert policy["Queues"] == [{"Ref": queue_id}]
    queue_arn = {"Fn::GetAtt": [queue_id, "Arn"]}
    assert resolve(policy["PolicyDocument"], MEMBER) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "sqs:*",
                "Resource": queue_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "ForwardingRuleDeadLetters",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {
                    "ArnEquals": {
                        "aws:SourceArn": f"arn:aws:events:eu-west-1:444444444444:rule/{FORWARDING_RULE_NAME}"
                    }
                },
            },
        ],
    }


# --- what the roles template deploys once per account -----------------------------------------------


def _member_roles(s: Synthesized) -> Document:
    return s.member_template(ROLES_STACKSET_NAME)


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("synthesized", ["IdentityCenterGuardrailEventForwarder", "IdentityCenterGuardrailMemberRole"]),
        # With remediation_enabled, and only then, the deleter role too.
        (
            "synthesized_variant",
            [
                "IdentityCenterGuardrailDeleterRole",
                "IdentityCenterGuardrailEventForwarder",
                "IdentityCenterGuardrailMemberRole",
            ],
        ),
    ],
)
def test_roles_template_holds_exactly_the_member_and_forwarding_roles_and_the_deleter_role_when_deleting(
    fixture: str, expected: list[str], request: pytest.FixtureRequest
) -> None:
    template = _member_roles(request.getfixturevalue(fixture))
    assert {r["Type"] for r in template["Resources"].values()} == {"AWS::IAM::Role"}
    names = sorted(r["Properties"]["RoleName"] for r in template["Resources"].values())
    assert names == expected
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


def _member_role_statements() -> list[Document]:
    """The member role's statements in the member account MEMBER (444444444444, any Region)."""
    account = MEMBER["AWS::AccountId"]
    return [
        # No resource type in the Service Authorization Reference: only "*" grants these two.
        {
            "Sid": "ListInstancesAndApplications",
            "Effect": "Allow",
            "Action": ["sso:ListApplications", "sso:ListInstances"],
            "Resource": "*",
        },
        {
            "Sid": "ReadInstances",
            "Effect": "Allow",
            "Action": ["sso:DescribeInstance", "sso:ListTagsForResource"],
            "Resource": "arn:aws:sso:::instance/*",
        },
        {
            "Sid": "ReadEnabledRegions",
            "Effect": "Allow",
            "Action": "account:ListRegions",
            "Resource": f"arn:aws:account::{account}:account",
        },
        # The sweep's check of the account's forwarding, in every Region of the account.
        {
            "Sid": "ReadForwardingRule",
            "Effect": "Allow",
            "Action": ["events:DescribeRule", "events:ListTargetsByRule"],
            "Resource": f"arn:aws:events:*:{account}:rule/{FORWARDING_RULE_NAME}",
        },
        {
            "Sid": "ReadForwardingDeadLetters",
            "Effect": "Allow",
            "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
            "Resource": f"arn:aws:sqs:*:{account}:IdentityCenterGuardrail-ForwardingDeadLetters",
        },
    ]


@pytest.mark.parametrize("fixture", ["synthesized", "synthesized_variant"])
def test_member_role_reads_instances_and_forwarding_and_never_deletes(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    """Remediation or not: deleting is the deleter role's."""
    role = role_named(_member_roles(request.getfixturevalue(fixture)), "IdentityCenterGuardrailMemberRole")
    assert_statements(resolve(role_statements(role), MEMBER), _member_role_statements())


def test_deleter_role_may_only_describe_and_delete_instances(synthesized_variant: Synthesized) -> None:
    role = role_named(_member_roles(synthesized_variant), "IdentityCenterGuardrailDeleterRole")
    assert_statements(
        resolve(role_statements(role), MEMBER),
        [
            {
                "Sid": "DeleteInstances",
                "Effect": "Allow",
                "Action": ["sso:DeleteInstance", "sso:DescribeInstance"],
                "Resource": "arn:aws:sso:::instance/*",
            }
        ],
    )


def test_deleter_role_trusts_only_the_detect_function(synthesized_variant: Synthesized) -> None:
    """The sweep's worker reads through the member role and may not assume this one."""
    role = role_named(_member_roles(synthesized_variant), "IdentityCenterGuardrailDeleterRole")
    assert_trusts_only_the_detect_function(role, MEMBER)


def test_member_role_reads_the_forwarding_by_the_names_the_forwarding_template_gives(
    synthesized: Synthesized,
) -> None:
    role = role_named(_member_roles(synthesized), "IdentityCenterGuardrailMemberRole")
    by_sid = {s["Sid"]: resolve(s["Resource"], MEMBER) for s in role_statements(role)}
    template = synthesized.member_template(FORWARDING_STACKSET_NAME)
    rule = only(template, "AWS::Events::Rule")["Properties"]["Name"]
    queue = only(template, "AWS::SQS::Queue")["Properties"]["QueueName"]
    assert by_sid["ReadForwardingRule"].endswith(f":444444444444:rule/{rule}")
    assert by_sid["ReadForwardingDeadLetters"].endswith(f":444444444444:{queue}")


def test_forwarding_role_can_only_put_events_on_the_central_bus(synthesized: Synthesized) -> None:
    assert_forwarding_role(
        role_named(_member_roles(synthesized), "IdentityCenterGuardrailEventForwarder"), MEMBER
    )


def test_member_role_name_follows_the_configuration(synthesized: Synthesized) -> None:
    """The functions assume `member_role_name`; the StackSet must create the very same name."""
    for handler in (DETECT_HANDLER, WORKER_HANDLER):
        member_role_name = synthesized.function(handler)["Environment"]["Variables"]["MEMBER_ROLE_NAME"]
        assert role_named(_member_roles(synthesized), member_role_name)
