"""The protection SCP: opt-in statements that keep the guardrail's roles, rules and queues as deployed.

Read from the synthesized management stack, and evaluated as IAM evaluates a Deny with `*`/`?`
wildcards and an `ArnNotLike aws:PrincipalArn` exception, for principals inside and outside it.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any, cast

import pytest

from infra import application
from infra.config import ConfigError, GuardrailConfig, parse_config
from infra.constructs import guard_scp
from infra.constructs.create_instance_scp import MAX_SCP_SIZE
from infra.constructs.guard_scp import GUARD_SCP_NAME, guard_scp_document
from infra.constructs.member_stacksets import FORWARDING_STACKSET_NAME, ROLES_STACKSET_NAME
from tests.infra.support import (
    CUSTOM_PLANNER_ROLE_NAME,
    CUSTOM_WORKER_ROLE_NAME,
    EXAMPLE_POLICY,
    SANDBOX_OU,
    VARIANT_DEPLOYMENT_ROLE_PATTERNS,
    WORKLOADS_OU,
    Document,
    Synthesized,
    example_config_data,
    only,
    resources,
)

CENTRAL = "222222222222"
MEMBER = "444444444444"
ROLE_WRITES = [
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRole*",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
]
STACKSETS_EXEC = {"ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/stacksets-exec-*"]}}


def _guard(s: Synthesized) -> Document | None:
    found = [
        p["Properties"]
        for p in resources(s.management, "AWS::Organizations::Policy").values()
        if p["Properties"]["Name"] == GUARD_SCP_NAME
    ]
    assert len(found) <= 1
    return cast(Document, found[0]) if found else None


def _central_statements(
    detect: str, planner: str, worker: str, deployers: list[str], passers: list[str]
) -> list[Document]:
    roles = [
        f"arn:aws:iam::{CENTRAL}:role/{detect}",
        f"arn:aws:iam::{CENTRAL}:role/{planner}",
        f"arn:aws:iam::{CENTRAL}:role/{worker}",
        f"arn:aws:iam::{CENTRAL}:role/IdentityCenterGuardrailCentral-*",
    ]
    deploying = [f"arn:aws:iam::{CENTRAL}:role/{name}" for name in deployers]
    return [
        {
            "Sid": "ProtectGuardrailCentralRoles",
            "Effect": "Deny",
            "Action": ROLE_WRITES,
            "Resource": roles,
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": deploying}},
        },
        {
            "Sid": "ProtectGuardrailCentralRolesFromPassing",
            "Effect": "Deny",
            "Action": "iam:PassRole",
            "Resource": roles,
            "Condition": {
                "ArnNotLike": {
                    "aws:PrincipalArn": [*deploying, *(f"arn:aws:iam::{CENTRAL}:role/{n}" for n in passers)]
                }
            },
        },
    ]


MEMBER_STATEMENTS: list[Document] = [
    {
        "Sid": "ProtectGuardrailMemberRoles",
        "Effect": "Deny",
        "Action": [*ROLE_WRITES, "iam:PassRole"],
        "Resource": [
            "arn:aws:iam::*:role/IdentityCenterGuardrailMemberRole",
            # Protected by name even without remediation, so that no other role takes the name.
            "arn:aws:iam::*:role/IdentityCenterGuardrailDeleterRole",
            "arn:aws:iam::*:role/IdentityCenterGuardrailEventForwarder",
        ],
        "Condition": STACKSETS_EXEC,
    },
    {
        "Sid": "ProtectGuardrailForwardingRules",
        "Effect": "Deny",
        "Action": [
            "events:DeleteRule",
            "events:DisableRule",
            "events:PutRule",
            "events:PutTargets",
            "events:RemoveTargets",
        ],
        "Resource": "arn:aws:events:*:*:rule/IdentityCenterGuardrail-ForwardInstanceEvents",
        "Condition": STACKSETS_EXEC,
    },
    {
        "Sid": "ProtectGuardrailForwardingDeadLetters",
        "Effect": "Deny",
        "Action": ["sqs:DeleteQueue", "sqs:SetQueueAttributes"],
        "Resource": "arn:aws:sqs:*:*:IdentityCenterGuardrail-ForwardingDeadLetters",
        "Condition": STACKSETS_EXEC,
    },
]


# --- where it is deployed, and what it says --------------------------------------------------------


def test_no_protection_scp_unless_switched_on(synthesized: Synthesized) -> None:
    assert not synthesized.config.guard.central_account
    assert not synthesized.config.guard.member_accounts
    assert _guard(synthesized) is None
    assert "GuardScpId" not in synthesized.management.get("Outputs", {})


def test_both_guards_protect_the_central_roles_and_the_member_stacks(
    synthesized_variant: Synthesized,
) -> None:
    """Remediation is on in the variant: the detect function and the sweep worker may still pass a
    role (the deletion scheduler role, which their own policies alone allow them to pass)."""
    guard = _guard(synthesized_variant)
    assert guard is not None
    assert guard["Type"] == "SERVICE_CONTROL_POLICY"
    assert guard["Content"] == {
        "Version": "2012-10-17",
        "Statement": [
            *_central_statements(
                "IdentityCenterGuardrailDetectFunction",
                "IdentityCenterGuardrailSweepPlanner",
                "IdentityCenterGuardrailSweepWorker",
                list(VARIANT_DEPLOYMENT_ROLE_PATTERNS),
                ["IdentityCenterGuardrailDetectFunction", "IdentityCenterGuardrailSweepWorker"],
            ),
            *MEMBER_STATEMENTS,
        ],
    }
    # The central account itself (whatever OU it is in), and where the StackSets deploy.
    assert guard["TargetIds"] == [CENTRAL, SANDBOX_OU, WORKLOADS_OU]
    output = synthesized_variant.management["Outputs"]["GuardScpId"]
    assert output["Value"] == {"Fn::GetAtt": [_guard_id(synthesized_variant), "Id"]}


def _guard_id(s: Synthesized) -> str:
    (logical_id,) = [
        k
        for k, p in resources(s.management, "AWS::Organizations::Policy").items()
        if p["Properties"]["Name"] == GUARD_SCP_NAME
    ]
    return logical_id


def test_the_central_guard_alone_attaches_to_the_central_account_alone(
    synthesized_delegated_admin: Synthesized,
) -> None:
    """Its own role names; no remediation, so no function may pass a guardrail role."""
    guard = _guard(synthesized_delegated_admin)
    assert guard is not None
    assert guard["Content"]["Statement"] == _central_statements(
        "IdentityCenterGuardrailDetectFunction",
        CUSTOM_PLANNER_ROLE_NAME,
        CUSTOM_WORKER_ROLE_NAME,
        ["cdk-*-cfn-exec-role-*"],
        [],
    )
    assert guard["TargetIds"] == [CENTRAL]


def test_the_member_guard_alone_attaches_where_the_stacksets_deploy() -> None:
    config = _config(guard={"member_accounts": True})
    assert guard_scp_document(config) == {"Version": "2012-10-17", "Statement": MEMBER_STATEMENTS}
    assert guard_scp.guard_scp_targets(config) == ["r-ab12"]


def test_the_guard_protects_what_the_stacks_create_by_the_names_they_give(
    synthesized_variant: Synthesized,
) -> None:
    """Every central role is named in it or named by CloudFormation after the central stack; the
    member stacks' roles, rule and queue by the names their templates give them."""
    s = synthesized_variant
    assert guard_scp.CENTRAL_STACK_NAME == application.CENTRAL_STACK_NAME
    guard = _guard(s)
    assert guard is not None
    central_roles, _, member_roles, rules, queues = guard["Content"]["Statement"]
    for role in s.resources("AWS::IAM::Role").values():
        name = role["Properties"].get("RoleName")
        if name is None:
            assert central_roles["Resource"][-1] == f"arn:aws:iam::{CENTRAL}:role/{s.stack.stack_name}-*"
        else:
            assert f"arn:aws:iam::{CENTRAL}:role/{name}" in central_roles["Resource"]
    for role in resources(s.member_template(ROLES_STACKSET_NAME), "AWS::IAM::Role").values():
        assert f"arn:aws:iam::*:role/{role['Properties']['RoleName']}" in member_roles["Resource"]
    forwarding = s.member_template(FORWARDING_STACKSET_NAME)
    rule = only(forwarding, "AWS::Events::Rule")["Properties"]["Name"]
    queue = only(forwarding, "AWS::SQS::Queue")["Properties"]["QueueName"]
    assert rules["Resource"] == f"arn:aws:events:*:*:rule/{rule}"
    assert queues["Resource"] == f"arn:aws:sqs:*:*:{queue}"


# --- what it denies, to whom -----------------------------------------------------------------------


def _as_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def _denied(document: Document, principal: str, action: str, resource: str) -> bool:
    """IAM's reading of the Deny statements: action (case-insensitive) and resource with wildcards,
    the exception an ArnNotLike on aws:PrincipalArn."""
    for statement in document["Statement"]:
        assert statement["Effect"] == "Deny"
        if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _as_list(statement["Action"])):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in _as_list(statement["Resource"])):
            continue
        excepted = statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
        if not any(fnmatch.fnmatchcase(principal, pattern) for pattern in excepted):
            return True
    return False


CFN_EXEC = f"arn:aws:iam::{CENTRAL}:role/cdk-hnb659fds-cfn-exec-role-{CENTRAL}-us-east-1"
ADMIN = f"arn:aws:iam::{CENTRAL}:role/AWSReservedSSO_AdministratorAccess_0123456789abcdef"
DETECT_ROLE = f"arn:aws:iam::{CENTRAL}:role/IdentityCenterGuardrailDetectFunction"
GENERATED = (
    f"arn:aws:iam::{CENTRAL}:role/IdentityCenterGuardrailCentral-SweepStateMachineRoleF1E8-1AB2CD3EF4GH"
)


@pytest.mark.parametrize(
    "action", ["iam:DeleteRole", "iam:DeleteRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy"]
)
def test_in_the_central_account_only_the_deployment_role_changes_the_guardrails_roles(
    synthesized_variant: Synthesized, action: str
) -> None:
    guard = _guard(synthesized_variant)
    assert guard is not None
    document = guard["Content"]
    for role in (DETECT_ROLE, GENERATED):
        assert _denied(document, ADMIN, action, role)
        assert not _denied(document, CFN_EXEC, action, role)
    assert not _denied(document, ADMIN, action, f"arn:aws:iam::{CENTRAL}:role/SomeoneElsesRole")
    # The reads stay open: a console still shows the roles.
    assert not _denied(document, ADMIN, "iam:GetRole", DETECT_ROLE)


def test_in_the_central_account_only_the_deployer_and_the_schedulers_pass_the_guardrails_roles(
    synthesized_variant: Synthesized,
) -> None:
    guard = _guard(synthesized_variant)
    assert guard is not None
    document = guard["Content"]
    assert _denied(document, ADMIN, "iam:PassRole", GENERATED)
    assert not _denied(document, CFN_EXEC, "iam:PassRole", GENERATED)
    assert not _denied(document, DETECT_ROLE, "iam:PassRole", GENERATED)
    # Passing is all the detect function is excepted for.
    assert _denied(document, DETECT_ROLE, "iam:PutRolePolicy", DETECT_ROLE)


STACKSETS_EXEC_ROLE = f"arn:aws:iam::{MEMBER}:role/stacksets-exec-0123456789abcdef0123456789abcdef"
MEMBER_ADMIN = f"arn:aws:iam::{MEMBER}:role/AWSReservedSSO_AdministratorAccess_fedcba9876543210"


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:DeleteRole", f"arn:aws:iam::{MEMBER}:role/IdentityCenterGuardrailMemberRole"),
        ("iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{MEMBER}:role/IdentityCenterGuardrailDeleterRole"),
        ("iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{MEMBER}:role/IdentityCenterGuardrailEventForwarder"),
        ("iam:PassRole", f"arn:aws:iam::{MEMBER}:role/IdentityCenterGuardrailEventForwarder"),
        (
            "events:DisableRule",
            f"arn:aws:events:eu-west-1:{MEMBER}:rule/IdentityCenterGuardrail-ForwardInstanceEvents",
        ),
        (
            "events:RemoveTargets",
            f"arn:aws:events:ap-east-1:{MEMBER}:rule/IdentityCenterGuardrail-ForwardInstanceEvents",
        ),
        (
            "sqs:SetQueueAttributes",
            f"arn:aws:sqs:eu-west-1:{MEMBER}:IdentityCenterGuardrail-ForwardingDeadLetters",
        ),
        ("sqs:DeleteQueue", f"arn:aws:sqs:us-east-1:{MEMBER}:IdentityCenterGuardrail-ForwardingDeadLetters"),
    ],
)
def test_in_member_accounts_only_stacksets_changes_the_member_stacks(
    synthesized_variant: Synthesized, action: str, resource: str
) -> None:
    guard = _guard(synthesized_variant)
    assert guard is not None
    assert _denied(guard["Content"], MEMBER_ADMIN, action, resource)
    assert not _denied(guard["Content"], STACKSETS_EXEC_ROLE, action, resource)


def test_in_member_accounts_other_rules_queues_and_reads_stay_open(synthesized_variant: Synthesized) -> None:
    guard = _guard(synthesized_variant)
    assert guard is not None
    document = guard["Content"]
    assert not _denied(
        document, MEMBER_ADMIN, "events:DeleteRule", f"arn:aws:events:eu-west-1:{MEMBER}:rule/Mine"
    )
    assert not _denied(document, MEMBER_ADMIN, "sqs:DeleteQueue", f"arn:aws:sqs:eu-west-1:{MEMBER}:mine")
    rule = f"arn:aws:events:eu-west-1:{MEMBER}:rule/IdentityCenterGuardrail-ForwardInstanceEvents"
    queue = f"arn:aws:sqs:eu-west-1:{MEMBER}:IdentityCenterGuardrail-ForwardingDeadLetters"
    assert not _denied(document, MEMBER_ADMIN, "events:DescribeRule", rule)
    # An operator can still read and drain the dead letters once the cause is fixed.
    assert not _denied(document, MEMBER_ADMIN, "sqs:ReceiveMessage", queue)
    assert not _denied(document, MEMBER_ADMIN, "sqs:PurgeQueue", queue)


# --- configuration ---------------------------------------------------------------------------------


def _config(**changes: Any) -> GuardrailConfig:
    data = {**example_config_data(), "policy_file": str(EXAMPLE_POLICY), **changes}
    return parse_config(data)


def test_the_guard_is_off_by_default_and_excepts_cdk_and_stacksets() -> None:
    guard = _config().guard
    assert (guard.central_account, guard.member_accounts, guard.enabled) == (False, False, False)
    assert guard.deployment_role_patterns == ("cdk-*-cfn-exec-role-*",)
    assert guard.stackset_execution_role_patterns == ("stacksets-exec-*",)
    assert guard_scp_document(_config()) is None


@pytest.mark.parametrize(
    ("guard", "message"),
    [
        (
            {"central_account": True, "deployment_role_patterns": ["cdk-*", "*?"]},
            r"guard\.deployment_role_patterns: \['\*\?'\] would except every role",
        ),
        (
            {"member_accounts": True, "stackset_execution_role_patterns": []},
            "stackset_execution_role_patterns",
        ),
        ({"deployment_role_patterns": ["a", "a"]}, "listed more than once"),
        ({"deployment_role_patterns": ["arn:aws:iam::1:role/x"]}, "deployment_role_patterns"),
        ({"central": True}, "unknown field"),
    ],
)
def test_bad_guard_settings_are_refused_naming_the_field(guard: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(guard=guard)


def test_a_guard_too_large_for_an_scp_is_refused() -> None:
    patterns = [f"deployer-{n:03d}-{'x' * 40}" for n in range(120)]
    config = _config(
        guard={"central_account": True, "member_accounts": True, "deployment_role_patterns": patterns}
    )
    with pytest.raises(ConfigError, match=f"over the {MAX_SCP_SIZE}"):
        guard_scp_document(config)
    small = guard_scp_document(_config(guard={"central_account": True, "member_accounts": True}))
    assert small is not None
    assert len(json.dumps(small, separators=(",", ":"))) < MAX_SCP_SIZE
