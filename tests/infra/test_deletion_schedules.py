"""Pending deletions as deployed: the schedule group, the role Scheduler invokes the detect function
with, what the detect function and the sweep worker may do with them and the variables they get.

The variant has `remediation_enabled`, so it deploys them; the example and the delegated
administrator do not, and deploy none of it.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any, cast

import pytest

from guardrail.deletion.schedules import NAME_PREFIX, schedule_name
from guardrail.handlers.environment import DetectEnvironment, FunctionEnvironment, SweepWorkerEnvironment
from infra.constructs.deletion_schedules import SCHEDULE_GROUP_NAME
from infra.constructs.detect_function import FUNCTION_NAME
from tests.infra.support import (
    DELETION_SCHEDULE_GROUP_NAME,
    DETECT_FUNCTION_ARN,
    DETECT_FUNCTION_NAME,
    DETECT_HANDLER,
    WORKER_HANDLER,
    Document,
    Synthesized,
    assert_statements,
    dead_letter_queue_id,
    deletion_group_id,
    deletion_statements,
    readable,
    role_statements,
    scheduler_role_id,
)

ACCOUNT = "222222222222"
REGION = "us-east-1"
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
GROUP_ARN = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule-group/{DELETION_SCHEDULE_GROUP_NAME}"
INSTANCE = "arn:aws:sso:::instance/ssoins-7a1c2e9b4d5f6a80"
DELETION_FIELDS = {
    "deletion_schedule_group",
    "deletion_target_arn",
    "deletion_scheduler_role_arn",
    "deletion_dead_letter_arn",
}
SCHEDULING = ("scheduler:", "iam:PassRole")
WITHOUT_DELETIONS = ["synthesized", "synthesized_delegated_admin"]


def _real(s: Synthesized, value: Any) -> Any:
    """A template value as CloudFormation resolves it in the central account and Region: pseudo
    parameters, the Ref (name) and Arn of the schedule group and of the functions, joins."""
    if isinstance(value, list):
        return [_real(s, item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        name = value["Ref"]
        if name in PSEUDO:
            return PSEUDO[name]
        return _name(s, name)
    if set(value) == {"Fn::GetAtt"}:
        logical_id, attribute = value["Fn::GetAtt"]
        assert attribute == "Arn", value
        kind = s.document["Resources"][logical_id]["Type"]
        if kind == "AWS::Scheduler::ScheduleGroup":
            return f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule-group/{_name(s, logical_id)}"
        if kind == "AWS::Lambda::Function":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{_name(s, logical_id)}"
        raise AssertionError(f"no real ARN for {kind} {logical_id}")
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(str(_real(s, part)) for part in parts)
    return {key: _real(s, item) for key, item in value.items()}


def _name(s: Synthesized, logical_id: str) -> str:
    resource = s.document["Resources"][logical_id]
    key = {"AWS::Scheduler::ScheduleGroup": "Name", "AWS::Lambda::Function": "FunctionName"}[resource["Type"]]
    # A function without FunctionName has a name CloudFormation makes up: no ARN to compare with.
    assert key in resource["Properties"], f"{logical_id} has no fixed {key}"
    return cast(str, resource["Properties"][key])


def _scheduler_role(s: Synthesized) -> Document:
    return cast(Document, s.document["Resources"][scheduler_role_id(s)]["Properties"])


def _variables(s: Synthesized, handler: str) -> dict[str, Any]:
    return cast(dict[str, Any], s.function(handler)["Environment"]["Variables"])


def _all_role_statements(s: Synthesized) -> dict[str, list[Document]]:
    """Every role's statements, inline and attached, by the role's logical id."""
    found: dict[str, list[Document]] = {}
    for role_id, role in s.resources("AWS::IAM::Role").items():
        found[role_id] = [*role_statements(role["Properties"]), *s.role_policy_statements(role_id)]
    return found


def _actions(statement: Document) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


def _scheduling(statements: list[Document]) -> list[Document]:
    """The statements about schedules or passing roles."""
    return [st for st in statements if any(a.startswith(SCHEDULING) for a in _actions(st))]


def _scheduler_principal_roles(s: Synthesized) -> list[str]:
    return [
        role_id
        for role_id, role in s.resources("AWS::IAM::Role").items()
        if any(
            st.get("Principal") == {"Service": "scheduler.amazonaws.com"}
            for st in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        )
    ]


# --- the group --------------------------------------------------------------------------------------


def test_pending_deletions_have_a_schedule_group_of_their_own_named_in_an_output(
    synthesized_variant: Synthesized,
) -> None:
    s = synthesized_variant
    group_id = deletion_group_id(s)
    assert s.document["Resources"][group_id]["Properties"] == {"Name": DELETION_SCHEDULE_GROUP_NAME}
    assert SCHEDULE_GROUP_NAME == DELETION_SCHEDULE_GROUP_NAME
    output = s.document["Outputs"]["DeletionScheduleGroupName"]
    assert output["Value"] == {"Ref": group_id}
    assert "list-schedules --group-name" in output["Description"]
    # The schedules are the functions' to create: CloudFormation deploys none in the group.
    assert [
        schedule["Properties"].get("GroupName")
        for schedule in s.resources("AWS::Scheduler::Schedule").values()
    ] == [None]  # the sweep's, in the default group


# --- the role Scheduler invokes the detect function with -----------------------------------------------


def test_scheduler_role_is_for_schedules_of_this_group_in_this_account_only(
    synthesized_variant: Synthesized,
) -> None:
    """The confused-deputy condition Scheduler documents: aws:SourceArn is the schedule group's ARN."""
    s = synthesized_variant
    (trust,) = _scheduler_role(s)["AssumeRolePolicyDocument"]["Statement"]
    assert trust == {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Principal": {"Service": "scheduler.amazonaws.com"},
        "Condition": {
            "StringEquals": {
                "aws:SourceAccount": ACCOUNT,
                "aws:SourceArn": {"Fn::GetAtt": [deletion_group_id(s), "Arn"]},
            }
        },
    }
    assert _real(s, trust["Condition"]["StringEquals"]["aws:SourceArn"]) == GROUP_ARN


def test_scheduler_role_may_only_invoke_the_detect_function(synthesized_variant: Synthesized) -> None:
    s = synthesized_variant
    role = _scheduler_role(s)
    assert "ManagedPolicyArns" not in role
    assert s.role_policy_statements(scheduler_role_id(s)) == []  # no attached policy
    assert role_statements(role) == [
        {
            "Sid": "InvokeDetectFunction",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": DETECT_FUNCTION_ARN,
        },
        {
            "Sid": "ParkUndeliveredDeletions",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": [dead_letter_queue_id(s), "Arn"]},
        },
    ]


def test_what_scheduler_invokes_is_the_detect_function_itself(synthesized_variant: Synthesized) -> None:
    """The ARN the role may invoke and both functions hand their schedules as the target is the
    detect function's real ARN: that of the function the instance event rules target."""
    s = synthesized_variant
    function_id = s.function_id(DETECT_HANDLER)
    assert s.function(DETECT_HANDLER)["FunctionName"] == FUNCTION_NAME == DETECT_FUNCTION_NAME
    real_arn = _real(s, {"Fn::GetAtt": [function_id, "Arn"]})
    assert real_arn == DETECT_FUNCTION_ARN
    invoke, _park = role_statements(_scheduler_role(s))
    assert _real(s, invoke["Resource"]) == real_arn
    for handler in (DETECT_HANDLER, WORKER_HANDLER):
        assert _real(s, _variables(s, handler)["DELETION_TARGET_ARN"]) == real_arn, handler
    for rule in s.resources("AWS::Events::Rule").values():
        (target,) = rule["Properties"]["Targets"]
        assert _real(s, target["Arn"]) == real_arn


# --- what the functions may do --------------------------------------------------------------------------


@pytest.mark.parametrize("handler", [DETECT_HANDLER, WORKER_HANDLER])
def test_functions_may_manage_only_deletion_schedules_and_pass_only_the_scheduler_role(
    synthesized_variant: Synthesized, handler: str
) -> None:
    s = synthesized_variant
    scheduling = _scheduling(s.function_statements(handler))
    assert_statements(scheduling, deletion_statements(s))
    assert len(scheduling) == 2


def test_no_other_role_may_manage_schedules_or_pass_roles(synthesized_variant: Synthesized) -> None:
    s = synthesized_variant
    holders = {role_id for role_id, st in _all_role_statements(s).items() if _scheduling(st)}
    assert holders == {s.role_id(DETECT_HANDLER), s.role_id(WORKER_HANDLER)}


def test_granted_schedules_are_the_ones_the_runtime_names(synthesized_variant: Synthesized) -> None:
    """The grant's name prefix is the runtime's (`guardrail.adapters.schedules.NAME_PREFIX`), in the
    group the functions are told to use: the schedule of an instance matches, nothing else does."""
    s = synthesized_variant
    (grant,) = [st for st in s.function_statements(DETECT_HANDLER) if st.get("Sid") == "ScheduleDeletions"]
    granted = _real(s, grant["Resource"])
    group = _real(s, _variables(s, DETECT_HANDLER)["DELETION_SCHEDULE_GROUP"])
    assert granted == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{group}/{NAME_PREFIX}*"
    schedules = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule"
    assert fnmatchcase(f"{schedules}/{group}/{schedule_name(INSTANCE)}", granted)
    assert not fnmatchcase(f"{schedules}/default/{schedule_name(INSTANCE)}", granted)
    assert not fnmatchcase(f"{schedules}/{group}/IdentityCenterGuardrail-Sweep", granted)


def test_the_wildcard_is_acknowledged_for_exactly_the_granted_schedules(
    synthesized_variant: Synthesized,
) -> None:
    """cdk-nag's acknowledgment, written into the template, names the granted ARN: a wider grant
    would be a new finding and fail synth."""
    s = synthesized_variant
    for handler in (DETECT_HANDLER, WORKER_HANDLER):
        (policy,) = [
            p
            for p in s.resources("AWS::IAM::Policy").values()
            if p["Properties"]["Roles"] == [{"Ref": s.role_id(handler)}]
        ]
        (grant,) = [
            st
            for st in policy["Properties"]["PolicyDocument"]["Statement"]
            if st.get("Sid") == "ScheduleDeletions"
        ]
        ids = [rule["id"] for rule in policy["Metadata"]["cdk_nag"]["rules_to_suppress"]]
        assert f"AwsSolutions-IAM5[Resource::{readable(grant['Resource'])}]" in ids, handler


def test_detect_function_may_keep_the_deletion_guard_and_the_worker_may_not(
    synthesized_variant: Synthesized,
) -> None:
    """The guard's claims and counters (put with a condition, get, delete, update with ADD) are
    items of the idempotency table; the worker never deletes, so it only records deliveries."""
    s = synthesized_variant
    table = {"Fn::GetAtt": [s.resource_of("AWS::DynamoDB::Table", "IdempotencyTable")[0], "Arn"]}
    on_table = [st for st in s.function_statements(DETECT_HANDLER) if st["Resource"] == table]
    assert [sorted(_actions(st)) for st in on_table if "Condition" not in st] == [
        ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    ]
    worker = [st for st in s.function_statements(WORKER_HANDLER) if st["Resource"] == table]
    assert [(st["Sid"], sorted(_actions(st))) for st in worker] == [
        ("RecordAlertDeliveries", ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"])
    ]


# --- what the functions are told -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "model"), [(DETECT_HANDLER, DetectEnvironment), (WORKER_HANDLER, SweepWorkerEnvironment)]
)
def test_functions_are_told_the_group_the_target_and_the_role(
    synthesized_variant: Synthesized, handler: str, model: type[FunctionEnvironment]
) -> None:
    """The variables are the runtime model's fields, and name the deployed group, the detect
    function and the scheduler role."""
    s = synthesized_variant
    fields = {name.lower() for name in model.declared() if name.startswith("DELETION_")}
    assert fields == DELETION_FIELDS
    variables = _variables(s, handler)
    assert {name: variables[name.upper()] for name in fields} == {
        "deletion_schedule_group": {"Ref": deletion_group_id(s)},
        "deletion_target_arn": DETECT_FUNCTION_ARN,
        "deletion_scheduler_role_arn": {"Fn::GetAtt": [scheduler_role_id(s), "Arn"]},
        "deletion_dead_letter_arn": {"Fn::GetAtt": [dead_letter_queue_id(s), "Arn"]},
    }
    assert _real(s, variables["DELETION_SCHEDULE_GROUP"]) == DELETION_SCHEDULE_GROUP_NAME


# --- without remediation_enabled ------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", WITHOUT_DELETIONS)
def test_nothing_of_it_without_remediation_enabled(fixture: str, request: pytest.FixtureRequest) -> None:
    s: Synthesized = request.getfixturevalue(fixture)
    assert not s.config.remediation_enabled
    assert s.resources("AWS::Scheduler::ScheduleGroup") == {}
    assert "DeletionScheduleGroupName" not in s.document["Outputs"]
    # Scheduler assumes one role only: the sweep schedule's.
    (schedule,) = s.resources("AWS::Scheduler::Schedule").values()
    assert _scheduler_principal_roles(s) == [schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]]
    assert {role_id: st for role_id, st in _all_role_statements(s).items() if _scheduling(st)} == {}
    for handler in (DETECT_HANDLER, WORKER_HANDLER):
        variables = _variables(s, handler)
        assert {name: variables[name.upper()] for name in DELETION_FIELDS} == dict.fromkeys(
            DELETION_FIELDS, ""
        )
    # The detect function keeps the name CloudFormation gives it.
    assert "FunctionName" not in s.function(DETECT_HANDLER)


def test_with_remediation_enabled_scheduler_assumes_two_roles(synthesized_variant: Synthesized) -> None:
    """The sweep schedule's and the pending deletions'; the count the test above checks is one."""
    s = synthesized_variant
    (schedule,) = s.resources("AWS::Scheduler::Schedule").values()
    assert sorted(_scheduler_principal_roles(s)) == sorted(
        [schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0], scheduler_role_id(s)]
    )
