"""The recorder keeps the functions' calls, as IAM authorizes them, and nothing else."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from emulator.environment import EmulatedEnvironment
from guardrail.adapters.clients import AwsClients
from tests.iam.calls import Call, UnmappedCall, needs_of
from tests.iam.normalize import canonical
from tests.iam.recording import Recorded, Recorder, Recording, recording

INSTANCE = "arn:aws:sso:::instance/ssoins-7a1c2e9b4d5f6a80"


def _call(service: str, operation: str, params: dict[str, Any], **lookups: Any) -> Call:
    return Call(service, operation, params, "eu-west-1", "444444444444", lookups)


def test_each_call_needs_what_the_service_authorization_reference_says() -> None:
    # No resource type: only "*" grants these, whatever instance the call names.
    (applications,) = needs_of(_call("sso-admin", "ListApplications", {"InstanceArn": INSTANCE}))
    assert (applications.action, applications.resource) == ("sso:ListApplications", "*")
    (describe,) = needs_of(_call("sso-admin", "DescribeInstance", {"InstanceArn": INSTANCE}))
    assert (describe.action, describe.resource, describe.resource_account) == (
        "sso:DescribeInstance",
        INSTANCE,
        "444444444444",
    )
    # Implied: what the caller never names but AWS checks.
    head = needs_of(_call("s3", "HeadObject", {"Bucket": "b", "Key": "runs/x/summary.published"}))
    assert [(n.action, n.resource, bool(n.implied)) for n in head] == [
        ("s3:GetObject", "arn:aws:s3:::b/runs/x/summary.published", False),
        ("s3:ListBucket", "arn:aws:s3:::b", True),
    ]
    key = "arn:aws:kms:eu-west-1:444444444444:key/1"
    publish = needs_of(
        _call("sns", "Publish", {"TopicArn": "arn:aws:sns:eu-west-1:444444444444:t"}, topic_key=key)
    )
    assert [(n.action, n.resource) for n in publish] == [
        ("sns:Publish", "arn:aws:sns:eu-west-1:444444444444:t"),
        ("kms:GenerateDataKey", key),
        ("kms:Decrypt", key),
    ]
    schedule = needs_of(
        _call(
            "scheduler",
            "CreateSchedule",
            {
                "Name": "guardrail-delete-1",
                "GroupName": "g",
                "Target": {"RoleArn": "arn:aws:iam::444444444444:role/r"},
            },
        )
    )
    assert [(n.action, n.context) for n in schedule] == [
        ("scheduler:CreateSchedule", ()),
        ("iam:PassRole", (("iam:PassedToService", "scheduler.amazonaws.com"),)),
    ]


def test_an_operation_without_an_entry_is_an_error_not_a_pass() -> None:
    with pytest.raises(UnmappedCall, match=r"sso-admin:CreateInstance is not in tests/iam/calls.py"):
        needs_of(_call("sso-admin", "CreateInstance", {}))


def test_the_canonical_form_keeps_what_a_statement_can_name_and_replaces_the_rest() -> None:
    recorded = Recorded(
        function="worker",
        role="arn:aws:iam::500000000017:role/IdentityCenterGuardrailMemberRole",
        account="500000000017",
        region="eu-west-1",
        call="dynamodb:UpdateItem",
        action="dynamodb:UpdateItem",
        resource="arn:aws:s3:::bucket-222222222222/runs/sweep-838456a6-6424-4d48-8aff-19266bd88cea/batches/500000000017-7.json",
        context=[("dynamodb:LeadingKeys", ["delivery#84f3608f-f4b7-5200-8acd-e415c806d505#chat", INSTANCE])],
        resource_account="500000000017",
        implied=None,
        unvalidated=None,
        organization_id="o-votprwjdz6",
        root_id="r-p2q2",
        principal_in_organization=True,
        error=None,
        test="t",
    )
    same = canonical(recorded)
    assert same.role == "arn:aws:iam::333333333333:role/IdentityCenterGuardrailMemberRole"
    assert same.account == same.resource_account == "333333333333"
    # The central account, the bucket's name and the key's shape stay.
    assert same.resource == (
        "arn:aws:s3:::bucket-222222222222/runs/sweep-00000000-0000-0000-0000-000000000000/batches/333333333333-1.json"
    )
    assert same.context == [
        (
            "dynamodb:LeadingKeys",
            [
                "arn:aws:sso:::instance/ssoins-0000000000000000",
                "delivery#00000000-0000-0000-0000-000000000000#chat",
            ],
        )
    ]
    assert (same.organization_id, same.root_id) == ("o-exampleorg1", "r-ab12")
    # A time, from a fixed clock or the wall clock, in a key: its digits go, its form stays.
    for key, form in (
        ("deletions#2026-12-07T06", "deletions#0000-00-00T00"),
        ("delivery#deletion-cap:2026-11-10 14:00#alerts", "delivery#deletion-cap:0000-00-00 00:00#alerts"),
        (
            "delivery#deletion-due:arn:aws:sso:::instance/ssoins-1a2b3c4d5e6f7a8b:2026-11-10T14:30:00+00:00#chat",
            "delivery#deletion-due:arn:aws:sso:::instance/ssoins-0000000000000000:0000-00-00T00:00:00+00:00#chat",
        ),
    ):
        timed = canonical(
            recorded.__class__(**{**recorded.__dict__, "context": [("dynamodb:LeadingKeys", [key])]})
        )
        assert timed.context == [("dynamodb:LeadingKeys", [form])]
    text = "arn:aws:organizations::111111111111:ou/o-votprwjdz6/ou-p2q2-21zj2jth"
    assert canonical(recorded.__class__(**{**recorded.__dict__, "resource": text})).resource == (
        "arn:aws:organizations::111111111111:ou/o-exampleorg1/ou-ab12-00000000"
    )


def test_only_the_functions_sessions_are_recorded_with_the_role_they_act_as() -> None:
    """The test's own calls and a session made outside the functions' entry points are not recorded
    (the detect function's is: tests/iam/test_least_privilege.py); a call made with credentials that
    the session's AssumeRole returned is the assumed role's."""
    recorder = Recorder()
    with EmulatedEnvironment() as world, recording(recorder):
        boto3.client("sns", region_name=world.region).list_topics()
        AwsClients().client("sns", world.region).list_topics()
        clients = AwsClients()
        recorder.watch(clients.session, "detect")  # what AwsClients() inside build_runtime does
        member = clients.assume(world.organization.member_role_arns["444444444444"], "test")
        member.client("sso-admin", "eu-west-1").list_instances()
    calls = {(r.call, r.role) for r in recorder.records}
    assert calls == {
        ("sts:AssumeRole", None),
        ("sso-admin:ListInstances", "arn:aws:iam::333333333333:role/IdentityCenterGuardrailMemberRole"),
    }
    assert {r.function for r in recorder.records} == {"detect"}


def test_a_recorded_test_renamed_since_does_not_keep_the_record_from_being_rewritten() -> None:
    """A test of the record that is not collected any more, though its file is, is gone; one whose
    file this run did not collect may just not have run."""
    run = Recording([], [], {"tests/a.py::kept"}, set(), {"tests/a.py::kept", "tests/a.py::new_name"})
    assert run.gone("tests/a.py::old_name")
    assert not run.gone("tests/a.py::kept")
    assert not run.gone("tests/b.py::not_run_this_time")
