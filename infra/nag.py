"""cdk-nag wiring: every AWS Solutions finding is either fixed or acknowledged with a reason."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, App, CfnElement, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def add_nag_checks(app: App) -> None:
    """Make every unacknowledged AWS Solutions finding fail synth.

    Acknowledgments are also written into the template's resource metadata (`cdk_nag`), so that a
    reviewer of the template sees what was accepted and why.
    """
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Record why a finding on `scope` (and its children) is accepted.

    cdk-nag 3 acknowledges findings one by one: an IAM5 finding's id names the wildcard, e.g.
    `AwsSolutions-IAM5[Resource::*]`.
    """
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def resource_of(construct: IConstruct) -> IConstruct:
    """The CloudFormation resource behind an L2 construct, to acknowledge a finding on it alone."""
    child = construct.node.default_child
    if child is None:
        raise ValueError(f"{construct.node.path} has no default child")
    return child


def logical_id(construct: IConstruct) -> str:
    """The logical id of the resource behind an L2 construct, as cdk-nag names it in a finding."""
    resource = resource_of(construct)
    if not isinstance(resource, CfnElement):
        raise TypeError(f"{construct.node.path} is not backed by a CloudFormation resource")
    return Stack.of(resource).resolve(resource.logical_id)  # type: ignore[no-any-return]


def rendered(scope: IConstruct, value: str) -> str:
    """A value with tokens as cdk-nag writes it into a finding's id: `<Id>` for a Ref (a pseudo
    parameter's included, `<AWS::Partition>`), `<Id.Attribute>` for a Fn::GetAtt."""

    def text(part: Any) -> str:
        if isinstance(part, str):
            return part
        if isinstance(part, dict) and set(part) == {"Ref"}:
            return f"<{part['Ref']}>"
        if isinstance(part, dict) and set(part) == {"Fn::GetAtt"}:
            return "<{}.{}>".format(*part["Fn::GetAtt"])
        if isinstance(part, dict) and set(part) == {"Fn::Join"}:
            separator, parts = part["Fn::Join"]
            return str(separator).join(text(p) for p in parts)
        raise ValueError(f"cannot render {part!r} as cdk-nag does")

    return text(Stack.of(scope).resolve(value))
