"""cdk-nag and cfn-lint agree with every synthesized template, the StackSets' bodies included."""

from __future__ import annotations

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_sqs as sqs
from cfnlint.api import lint  # type: ignore[import-untyped]
from cfnlint.config import ManualArgs  # type: ignore[import-untyped]

from infra.application import CENTRAL_STACK_NAME, MANAGEMENT_STACK_NAME
from infra.constructs.member_stacksets import FORWARDING_STACKSET_NAME, ROLES_STACKSET_NAME
from infra.nag import add_nag_checks
from tests.infra.support import Document, Synthesized, cdk_context

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


def test_acknowledged_findings_are_the_reviewed_ones_each_with_a_reason(synthesized: Synthesized) -> None:
    """A new acknowledgment must be added here on purpose, not slip in."""
    assert _reviewed(synthesized.stack_document(CENTRAL_STACK_NAME)) == {
        "AWS::SQS::Queue": ["AwsSolutions-SQS3"],
        "AWS::Lambda::Function": ["AwsSolutions-L1"],
        "AWS::IAM::Policy": [
            "AwsSolutions-IAM5[Resource::*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/IdentityCenterGuardrailMemberRole]",
        ],
    }
    # The reader role and the member role: both acknowledge their own wildcards.
    assert _reviewed(synthesized.management) == {
        "AWS::IAM::Role": ["AwsSolutions-IAM5[Resource::*]", INSTANCE_WILDCARD]
    }
    # The StackSet bodies went through cdk-nag too: their acknowledgments are in them.
    assert _reviewed(synthesized.member_template(ROLES_STACKSET_NAME)) == {
        "AWS::IAM::Role": ["AwsSolutions-IAM5[Resource::*]", INSTANCE_WILDCARD]
    }
    assert _reviewed(synthesized.member_template(FORWARDING_STACKSET_NAME)) == {}
    for name in synthesized.stack_names():
        assert _all_reasons_explain(synthesized.stack_document(name)), name
    assert _all_reasons_explain(synthesized.member_template(ROLES_STACKSET_NAME))


def test_region_stacks_need_no_acknowledgment(synthesized: Synthesized) -> None:
    for region in synthesized.config.management_forwarding_regions:
        assert _acknowledged(synthesized.stack_document(f"{MANAGEMENT_STACK_NAME}-{region}")) == {}


def test_delegated_admin_wildcard_reason_names_organizations(
    synthesized_delegated_admin: Synthesized,
) -> None:
    acknowledged = _acknowledged(synthesized_delegated_admin.document)
    reason = acknowledged["AWS::IAM::Policy"]["AwsSolutions-IAM5[Resource::*]"]
    assert "Organizations" in reason
    assert "X-Ray" in reason
