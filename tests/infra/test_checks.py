"""cdk-nag and cfn-lint agree with every synthesized template, the StackSets' bodies included."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_sqs as sqs
from cfnlint.api import lint  # type: ignore[import-untyped]
from cfnlint.config import ManualArgs  # type: ignore[import-untyped]

from infra.application import CENTRAL_STACK_NAME, MANAGEMENT_STACK_NAME
from infra.bundling import PROJECT_ROOT
from infra.constructs.member_stacksets import FORWARDING_STACKSET_NAME, ROLES_STACKSET_NAME
from infra.nag import add_nag_checks
from tests.infra.support import (
    DETECT_HANDLER,
    PLANNER_HANDLER,
    SUMMARY_HANDLER,
    WORKER_HANDLER,
    Document,
    Synthesized,
    cdk_context,
    state_machine_definition,
)

# W3005 (redundant DependsOn) fires on the DependsOn CDK itself writes from a function to its role
# and default policy, which we do not control.
IGNORED_LINT_RULES = ["W3005"]
VARIANTS = ["synthesized", "synthesized_delegated_admin", "synthesized_variant"]


def _lint(text: str, regions: list[str]) -> list[str]:
    config = ManualArgs(regions=regions, ignore_checks=IGNORED_LINT_RULES)
    return [str(match) for match in lint(text, config=config)]


@pytest.mark.parametrize("fixture", VARIANTS)
def test_cfn_lint_finds_nothing_in_any_stack(fixture: str, request: pytest.FixtureRequest) -> None:
    s: Synthesized = request.getfixturevalue(fixture)
    for stack in s.assembly.stacks:
        text = (s.outdir / stack.template_file).read_text(encoding="utf-8")
        assert _lint(text, [stack.environment.region]) == [], stack.stack_name


@pytest.mark.parametrize("fixture", VARIANTS)
def test_cfn_lint_finds_nothing_in_the_stackset_template_bodies(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    """Linted for every Region the StackSet deploys to, as the body is what CloudFormation gets there."""
    s: Synthesized = request.getfixturevalue(fixture)
    stack_sets = s.stack_sets()
    assert set(stack_sets) == {ROLES_STACKSET_NAME, FORWARDING_STACKSET_NAME}
    for name, stack_set in stack_sets.items():
        (group,) = stack_set["StackInstancesGroup"]
        assert _lint(stack_set["TemplateBody"], group["Regions"]) == [], name


ASL_VALIDATOR = PROJECT_ROOT / "node_modules" / ".bin" / "asl-validator"


def _validate_asl(definition: Document, folder: Path) -> subprocess.CompletedProcess[str]:
    """Run the npm `asl-validator` (pinned in package.json) on a definition written to a file."""
    if not ASL_VALIDATOR.is_file():
        pytest.fail(
            f"{ASL_VALIDATOR.relative_to(PROJECT_ROOT)} is missing: install the npm tools first "
            "(`make setup`, or `npm ci`), as CI does before the tests"
        )
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: asl-validator needs Node.js 20 or newer")
    path = folder / "sweep.asl.json"
    path.write_text(json.dumps(definition, indent=2), encoding="utf-8")
    return subprocess.run(  # noqa: S603 - fixed arguments
        [str(ASL_VALIDATOR), f"--json-path={path}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_asl_validator_is_the_pinned_version() -> None:
    """node_modules holds the version package.json pins (npm ci installs package-lock.json's)."""
    pinned = json.loads((PROJECT_ROOT / "package.json").read_text(encoding="utf-8"))["devDependencies"]
    installed = PROJECT_ROOT / "node_modules" / "asl-validator" / "package.json"
    if not installed.is_file():
        pytest.fail("node_modules/asl-validator is missing: install the npm tools first (`make setup`)")
    assert json.loads(installed.read_text(encoding="utf-8"))["version"] == pinned["asl-validator"]


@pytest.mark.parametrize("fixture", VARIANTS)
def test_asl_validator_accepts_the_sweep_definition(
    fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The definition as Step Functions gets it: the template's references resolved to placeholders."""
    s: Synthesized = request.getfixturevalue(fixture)
    result = _validate_asl(state_machine_definition(s), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout


def test_asl_validator_refuses_a_broken_definition(synthesized: Synthesized, tmp_path: Path) -> None:
    """The check can fail: a map whose batches have no size, and a transition to nowhere."""
    definition = state_machine_definition(synthesized)
    definition["States"]["Sweep accounts"]["ItemBatcher"]["MaxItemsPerBatch"] = "twenty-five"
    definition["States"]["Plan"]["Next"] = "Nowhere"
    result = _validate_asl(definition, tmp_path)
    assert result.returncode != 0
    assert "MaxItemsPerBatch" in result.stdout + result.stderr


@pytest.mark.parametrize("fixture", VARIANTS)
def test_nag_passes_with_every_finding_fixed_or_acknowledged(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    # The fixture's app.synth() would have raised on an unacknowledged finding; the report it
    # writes says so too.
    s: Synthesized = request.getfixturevalue(fixture)
    report = (s.outdir / "validation-report.json").read_text(encoding="utf-8")
    assert '"conclusion": "failure"' not in report


def test_an_unacknowledged_finding_fails_synth(tmp_path_factory: pytest.TempPathFactory) -> None:
    app = App(context=cdk_context(), outdir=str(tmp_path_factory.mktemp("nag")))
    stack = Stack(app, "Careless")
    sqs.Queue(stack, "PlainQueue", enforce_ssl=False)  # no DLQ, no TLS policy: AwsSolutions-SQS3/SQS4
    add_nag_checks(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()


def _acknowledged(document: Document) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for resource in document["Resources"].values():
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            found.setdefault(resource["Type"], {})[rule["id"]] = rule["reason"]
    return found


def _reviewed(document: Document) -> dict[str, list[str]]:
    return {kind: sorted(rules) for kind, rules in _acknowledged(document).items()}


def _all_reasons_explain(document: Document) -> bool:
    return all(len(reason) > 40 for rules in _acknowledged(document).values() for reason in rules.values())


INSTANCE_WILDCARD = "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sso:::instance/*]"


def _by_resource(document: Document) -> dict[str, list[str]]:
    return {
        logical_id: sorted(rule["id"] for rule in resource["Metadata"]["cdk_nag"]["rules_to_suppress"])
        for logical_id, resource in document["Resources"].items()
        if resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress")
    }


def _policy_of(s: Synthesized, role_id: str) -> str:
    """The logical id of a role's default policy, where its statements and their findings are."""
    (policy,) = [
        name
        for name, policy in s.resources("AWS::IAM::Policy").items()
        if policy["Properties"]["Roles"] == [{"Ref": role_id}] and "DefaultPolicy" in name
    ]
    return policy


def test_acknowledged_findings_are_the_reviewed_ones_each_with_a_reason(synthesized: Synthesized) -> None:
    """A new acknowledgment must be added here on purpose, not slip in."""
    s = synthesized
    bucket = s.logical_id("AWS::S3::Bucket")
    state_machine = s.logical_id("AWS::StepFunctions::StateMachine")
    wildcard = "AwsSolutions-IAM5[Resource::*]"
    member_roles = (
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/IdentityCenterGuardrailMemberRole]"
    )

    def objects(*keys: str) -> list[str]:
        return [f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/{key}]" for key in keys]

    executions = (
        "arn:aws:states:us-east-1:222222222222:execution:"
        f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{state_machine}"}}]}}]}}'
    )
    (map_policy,) = [name for name in s.resources("AWS::IAM::Policy") if "DistributedMapPolicy" in name]
    state_machine_role = s.document["Resources"][state_machine]["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    assert _by_resource(s.stack_document(CENTRAL_STACK_NAME)) == {
        s.logical_id("AWS::SQS::Queue"): ["AwsSolutions-SQS3"],
        bucket: ["AwsSolutions-S1"],
        **{
            s.function_id(h): ["AwsSolutions-L1"]
            for h in (DETECT_HANDLER, PLANNER_HANDLER, WORKER_HANDLER, SUMMARY_HANDLER)
        },
        _policy_of(s, s.role_id(DETECT_HANDLER)): sorted([wildcard, member_roles]),
        _policy_of(s, s.role_id(PLANNER_HANDLER)): sorted(
            [wildcard, *objects("runs/*/snapshot.json", "runs/*/accounts.json")]
        ),
        _policy_of(s, s.role_id(WORKER_HANDLER)): sorted(
            [wildcard, member_roles, *objects("runs/*/snapshot.json", "runs/*/batches/*")]
        ),
        _policy_of(s, s.role_id(SUMMARY_HANDLER)): sorted(
            [
                wildcard,
                *objects(
                    "map-results/*",
                    "runs/*/batches/*",
                    "runs/*/summary.json",
                    "runs/*/summary.published",
                    "runs/*/snapshot.json",
                    "runs/*/report.html",
                ),
            ]
        ),
        _policy_of(s, state_machine_role): sorted(
            [
                wildcard,
                *objects("runs/*/accounts.json", "map-results/*"),
                *(
                    f"AwsSolutions-IAM5[Resource::<{s.function_id(h)}.Arn>:*]"
                    for h in (PLANNER_HANDLER, WORKER_HANDLER, SUMMARY_HANDLER)
                ),
            ]
        ),
        map_policy: sorted(
            [f"AwsSolutions-IAM5[Resource::{executions}:*]", f"AwsSolutions-IAM5[Resource::{executions}/*:*]"]
        ),
    }
    # The reader role and the member role: both acknowledge their own wildcards (the reader's: the
    # accounts, OUs and SCPs of this organization, and the AWS managed SCPs).
    organization = "arn:<AWS::Partition>:organizations::111111111111"
    assert _reviewed(synthesized.management) == {
        "AWS::IAM::Role": sorted(
            [
                "AwsSolutions-IAM5[Resource::*]",
                INSTANCE_WILDCARD,
                f"AwsSolutions-IAM5[Resource::{organization}:account/o-exampleorg1/*]",
                f"AwsSolutions-IAM5[Resource::{organization}:ou/o-exampleorg1/ou-*]",
                f"AwsSolutions-IAM5[Resource::{organization}:policy/o-exampleorg1/service_control_policy/p-*]",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:organizations::aws:policy/"
                "service_control_policy/p-*]",
            ]
        )
    }
    # The StackSet bodies went through cdk-nag too: their acknowledgments are in them. The member
    # role reads the forwarding rule and its queue in any Region of its account.
    assert _reviewed(synthesized.member_template(ROLES_STACKSET_NAME)) == {
        "AWS::IAM::Role": sorted(
            [
                "AwsSolutions-IAM5[Resource::*]",
                INSTANCE_WILDCARD,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:*:<AWS::AccountId>:rule/"
                "IdentityCenterGuardrail-ForwardInstanceEvents]",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sqs:*:<AWS::AccountId>:"
                "IdentityCenterGuardrail-ForwardingDeadLetters]",
            ]
        )
    }
    assert _reviewed(synthesized.member_template(FORWARDING_STACKSET_NAME)) == FORWARDING_ACKNOWLEDGED
    for name in synthesized.stack_names():
        assert _all_reasons_explain(synthesized.stack_document(name)), name
    assert _all_reasons_explain(synthesized.member_template(ROLES_STACKSET_NAME))
    assert _all_reasons_explain(synthesized.member_template(FORWARDING_STACKSET_NAME))


# The forwarding dead-letter queue is a rule target's dead-letter queue, which cdk-nag cannot tell.
FORWARDING_ACKNOWLEDGED = {"AWS::SQS::Queue": ["AwsSolutions-SQS3"]}


def test_region_stacks_acknowledge_only_their_dead_letter_queue(synthesized: Synthesized) -> None:
    for region in synthesized.config.management_forwarding_regions:
        document = synthesized.stack_document(f"{MANAGEMENT_STACK_NAME}-{region}")
        assert _reviewed(document) == FORWARDING_ACKNOWLEDGED


@pytest.mark.parametrize("handler", [DETECT_HANDLER, PLANNER_HANDLER])
def test_delegated_admin_wildcard_reason_names_organizations(
    synthesized_delegated_admin: Synthesized, handler: str
) -> None:
    """The functions that read Organizations with their own role say why on *, beside X-Ray."""
    s = synthesized_delegated_admin
    policy = s.document["Resources"][_policy_of(s, s.role_id(handler))]
    (reason,) = [
        rule["reason"]
        for rule in policy["Metadata"]["cdk_nag"]["rules_to_suppress"]
        if rule["id"] == "AwsSolutions-IAM5[Resource::*]"
    ]
    assert "Organizations" in reason
    assert "X-Ray" in reason
