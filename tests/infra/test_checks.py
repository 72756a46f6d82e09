"""cdk-nag and cfn-lint agree with the synthesized template."""

from __future__ import annotations

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_sqs as sqs
from cfnlint.api import lint  # type: ignore[import-untyped]
from cfnlint.config import ManualArgs  # type: ignore[import-untyped]

from infra.nag import add_nag_checks
from tests.infra.support import Synthesized, cdk_context

# W3005 (redundant DependsOn) fires on the DependsOn CDK itself writes from a function to its role
# and default policy, which we do not control.
IGNORED_LINT_RULES = ["W3005"]


def _lint(synthesized: Synthesized) -> list[str]:
    text = (synthesized.outdir / synthesized.stack.template_file).read_text(encoding="utf-8")
    config = ManualArgs(regions=[synthesized.config.central_region], ignore_checks=IGNORED_LINT_RULES)
    return [str(match) for match in lint(text, config=config)]


def test_cfn_lint_finds_nothing(synthesized: Synthesized) -> None:
    assert _lint(synthesized) == []


def test_cfn_lint_finds_nothing_in_delegated_admin_setup(synthesized_delegated_admin: Synthesized) -> None:
    assert _lint(synthesized_delegated_admin) == []


def test_nag_passes_with_every_finding_fixed_or_acknowledged(synthesized: Synthesized) -> None:
    # The fixture's app.synth() would have raised on an unacknowledged finding; the report it
    # writes says so too.
    report = (synthesized.outdir / "validation-report.json").read_text(encoding="utf-8")
    assert '"conclusion": "failure"' not in report


def test_an_unacknowledged_finding_fails_synth(tmp_path_factory: pytest.TempPathFactory) -> None:
    app = App(context=cdk_context(), outdir=str(tmp_path_factory.mktemp("nag")))
    stack = Stack(app, "Careless")
    sqs.Queue(stack, "PlainQueue", enforce_ssl=False)  # no DLQ, no TLS policy: AwsSolutions-SQS3/SQS4
    add_nag_checks(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()


def _acknowledged(synthesized: Synthesized) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for resource in synthesized.document["Resources"].values():
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            found.setdefault(resource["Type"], {})[rule["id"]] = rule["reason"]
    return found


def test_acknowledged_findings_are_the_reviewed_ones_each_with_a_reason(synthesized: Synthesized) -> None:
    """A new acknowledgment must be added here on purpose, not slip in."""
    acknowledged = _acknowledged(synthesized)
    assert {kind: sorted(rules) for kind, rules in acknowledged.items()} == {
        "AWS::SQS::Queue": ["AwsSolutions-SQS3"],
        "AWS::Lambda::Function": ["AwsSolutions-L1"],
        "AWS::IAM::Policy": [
            "AwsSolutions-IAM5[Resource::*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/IdentityCenterGuardrailMemberRole]",
        ],
    }
    assert all(len(reason) > 40 for rules in acknowledged.values() for reason in rules.values())


def test_delegated_admin_wildcard_reason_names_organizations(
    synthesized_delegated_admin: Synthesized,
) -> None:
    reason = _acknowledged(synthesized_delegated_admin)["AWS::IAM::Policy"]["AwsSolutions-IAM5[Resource::*]"]
    assert "Organizations" in reason
    assert "X-Ray" in reason
