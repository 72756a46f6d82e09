"""The templates grant every call the functions make, and docs/least-privilege.md says why each
statement is there: checked on the recorded calls (tests/iam/calls.json), and shown to catch a role
that lacks what a call needs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from unittest import mock

import pytest

from emulator.environment import EmulatedEnvironment
from emulator.function_environment import handler_environment
from guardrail.core.policy import policy_data
from guardrail.core.policy_file import load_policy
from guardrail.handlers import detect
from guardrail_cli.replay import LambdaContextStub
from tests.builders import NOW, sample
from tests.iam.catalogue import UPDATE_COMMAND, Catalogue
from tests.iam.check import PAGE, permissions_deployment, render, verdict
from tests.iam.deployment import ROLES_TEMPLATE, Deployment
from tests.iam.evaluate import evaluate
from tests.iam.reasons import REASONS
from tests.iam.recording import Recorder, Recording, recording
from tests.iam.simulator import shared_simulator

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "policy" / "policy.yaml"
MEMBER_ROLE = "IdentityCenterGuardrailMemberRole"


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    return permissions_deployment()


def test_every_recorded_call_is_allowed_by_the_templates(deployment: Deployment) -> None:
    catalogue = Catalogue.load()
    assert catalogue.calls, f"tests/iam/calls.json is empty; run: {UPDATE_COMMAND}"
    evaluation = evaluate(deployment, list(catalogue.calls), shared_simulator())
    assert [checked.describe() for checked in evaluation.failures] == []


def test_the_page_accounts_for_every_statement_and_is_up_to_date(deployment: Deployment) -> None:
    report = render(deployment, Catalogue.load())
    assert report.unjustified == [], "remove these statements, or say in tests/iam/reasons.py why they stay"
    assert set(REASONS) <= report.reasons_used, "reasons for statements that are gone or needed now"
    assert PAGE.read_text(encoding="utf-8") == report.text, (
        f"docs/least-privilege.md is out of date; run: {UPDATE_COMMAND}"
    )


@pytest.fixture(scope="module")
def detect_calls(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """What the detect function calls on the console-created instance in Prod, recorded live."""
    policy_path = tmp_path_factory.mktemp("policy") / "policy.json"
    policy_path.write_text(json.dumps(policy_data(load_policy(EXAMPLE_POLICY))))
    recorder = Recorder()
    with (
        EmulatedEnvironment() as world,
        mock.patch.dict(os.environ, handler_environment(world, policy_path)),
        recording(recorder),
    ):
        detect.runtime.cache_clear()
        runtime = detect.build_runtime(clock=lambda: NOW)
        runtime.once.register(LambdaContextStub())  # type: ignore[arg-type]
        detect.process(sample("create-instance-console-success"), runtime)
        detect.runtime.cache_clear()
    return Recording(recorder.records, recorder.problems, set(), set())


def _member_role_statements(deployment: Deployment) -> list[dict[str, object]]:
    (role,) = [
        resource
        for resource in deployment.templates[ROLES_TEMPLATE]["Resources"].values()
        if resource["Properties"].get("RoleName") == MEMBER_ROLE
    ]
    (policy,) = role["Properties"]["Policies"]
    statements: list[dict[str, object]] = policy["PolicyDocument"]["Statement"]
    return statements


def _lines(outcome_lines: list[str], action: str) -> list[str]:
    return [line for line in outcome_lines if line.startswith("NOT ALLOWED") and f"may not {action} " in line]


def test_the_calls_of_a_detection_pass_on_the_templates(
    deployment: Deployment, detect_calls: Recording
) -> None:
    actions = {recorded.action for recorded in detect_calls.records}
    assert {"sso:ListInstances", "sso:ListApplications", "sso:DescribeInstance", "sns:Publish"} <= actions
    outcome = verdict(deployment, detect_calls, Catalogue.load())
    assert not outcome.failed, outcome.lines


def test_a_role_without_a_statement_a_call_needs_fails_the_run(
    deployment: Deployment, detect_calls: Recording
) -> None:
    """Remove the member role's statement granting ListInstances and ListApplications: the session's
    verdict fails, naming the role, the action, the resource and why."""
    broken = deployment.copy()
    statements = _member_role_statements(broken)
    statements[:] = [s for s in statements if s.get("Sid") != "ListInstancesAndApplications"]
    outcome = verdict(broken, detect_calls, Catalogue.load())
    assert outcome.failed
    (line,) = _lines(outcome.lines, "sso:ListInstances")
    assert line.startswith(
        f"NOT ALLOWED: {ROLES_TEMPLATE} role {MEMBER_ROLE} [arn:aws:iam::333333333333:role/{MEMBER_ROLE}] "
        "may not sso:ListInstances on *: ImplicitlyDenied: no Allow in the identity policies; "
        "call sso-admin:ListInstances by the detect function"
    )
    assert _lines(outcome.lines, "sso:ListApplications")


def test_list_applications_granted_on_instance_arns_is_refused_as_aws_refuses_it(
    deployment: Deployment, detect_calls: Recording
) -> None:
    """The grant the pre-deployment review found: ListApplications has no resource type, so a
    statement naming instance ARNs grants nothing."""
    broken = deployment.copy()
    statements = _member_role_statements(broken)
    for statement in statements:
        if statement.get("Sid") == "ListInstancesAndApplications":
            statement["Action"] = "sso:ListInstances"
        if statement.get("Sid") == "ReadInstances":
            statement["Action"] = ["sso:DescribeInstance", "sso:ListApplications", "sso:ListTagsForResource"]
    outcome = verdict(broken, detect_calls, Catalogue.load())
    assert outcome.failed
    (line,) = _lines(outcome.lines, "sso:ListApplications")
    assert "may not sso:ListApplications on *: ImplicitlyDenied: no Allow in the identity policies" in line
    assert not _lines(outcome.lines, "sso:DescribeInstance")


def test_a_call_the_record_lacks_fails_the_run(deployment: Deployment, detect_calls: Recording) -> None:
    """The page would not account for it: the run says so, and how to bring the record up to date."""
    catalogue = Catalogue.load()
    publish = [call for call in catalogue.calls if call.action == "sns:Publish" and call.function == "detect"]
    assert publish
    without = Catalogue(tuple(call for call in catalogue.calls if call not in publish), catalogue.tests)
    outcome = verdict(deployment, detect_calls, without)
    assert outcome.failed
    assert any(
        line.startswith("NOT IN tests/iam/calls.json: sns:Publish on arn:aws:sns:") for line in outcome.lines
    )
    assert outcome.lines[-1].endswith(UPDATE_COMMAND)
