"""Helpers shared by the infrastructure tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, cast

import yaml
from aws_cdk import App, cx_api
from aws_cdk.assertions import Template

from infra.application import (
    CENTRAL_STACK_NAME,
    CONFIG_CONTEXT_KEY,
    MANAGEMENT_STACK_NAME,
    build_app,
    management_region_stack_name,
)
from infra.bundling import PROJECT_ROOT
from infra.central_stack import CentralStack
from infra.config import GuardrailConfig, load_config

SAMPLE_EVENTS = PROJECT_ROOT / "samples" / "events"
EXAMPLE_CONFIG = PROJECT_ROOT / "config" / "guardrail.yaml"
EXAMPLE_POLICY = PROJECT_ROOT / "policy" / "policy.yaml"
# A fixed synth date, so that which policy exemptions the SCP excepts does not depend on the day.
SYNTH_DATE = date(2026, 11, 30)
# The variant configuration's organization: OUs under the example's root r-ab12.
SANDBOX_OU = "ou-ab12-sandbox1"
WORKLOADS_OU = "ou-ab12-workload"
APPROVED_ACCOUNT = "333333333333"

Document = dict[str, Any]


def resources(document: Document, resource_type: str) -> dict[str, Document]:
    return {
        name: resource
        for name, resource in document["Resources"].items()
        if resource["Type"] == resource_type
    }


def only(document: Document, resource_type: str) -> Document:
    (resource,) = resources(document, resource_type).values()
    return resource


@dataclass(frozen=True)
class Synthesized:
    """One synthesized app, with what the tests look at.

    `stack`, `template` and `document` are the central stack's; the other stacks are reached by
    name through `stack_document`.
    """

    app: App
    stack: CentralStack
    template: Template
    document: Document
    outdir: Path
    config: GuardrailConfig
    assembly: cx_api.CloudAssembly

    def resources(self, resource_type: str) -> dict[str, Document]:
        return resources(self.document, resource_type)

    def only(self, resource_type: str) -> Document:
        return only(self.document, resource_type)

    def logical_id(self, resource_type: str) -> str:
        (logical_id,) = self.resources(resource_type)
        return logical_id

    def stack_document(self, stack_name: str) -> Document:
        return cast(Document, self.assembly.get_stack_by_name(stack_name).template)

    def stack_names(self) -> list[str]:
        return sorted(stack.stack_name for stack in self.assembly.stacks)

    @property
    def management(self) -> Document:
        return self.stack_document(MANAGEMENT_STACK_NAME)

    def management_region(self, region: str) -> Document:
        return self.stack_document(management_region_stack_name(region))

    def stack_sets(self) -> dict[str, Document]:
        """The StackSets' properties by StackSet name, from whichever stack holds them."""
        found: dict[str, Document] = {}
        for stack in self.assembly.stacks:
            for resource in resources(
                cast(Document, stack.template), "AWS::CloudFormation::StackSet"
            ).values():
                found[resource["Properties"]["StackSetName"]] = resource["Properties"]
        return found

    def member_template(self, stack_set_name: str) -> Document:
        """The template a StackSet deploys, parsed from its TemplateBody."""
        return cast(Document, json.loads(self.stack_sets()[stack_set_name]["TemplateBody"]))


def cdk_context(**overrides: Any) -> dict[str, Any]:
    """The context of cdk.json (feature flags included), so tests see what `cdk synth` sees."""
    document = json.loads((PROJECT_ROOT / "cdk.json").read_text(encoding="utf-8"))
    context = cast(dict[str, Any], document["context"])
    context.update(overrides)
    return context


def synthesize(config_path: Path, outdir: Path) -> Synthesized:
    """Build and synthesize the app like `cdk synth`; cdk-nag raises on an unacknowledged finding."""
    app = build_app(
        context=cdk_context(**{CONFIG_CONTEXT_KEY: str(config_path)}), outdir=str(outdir), today=SYNTH_DATE
    )
    assembly = app.synth()
    stack = app.node.find_child(CENTRAL_STACK_NAME)
    assert isinstance(stack, CentralStack)
    document = cast(Document, assembly.get_stack_by_name(stack.stack_name).template)
    return Synthesized(
        app, stack, Template.from_stack(stack), document, outdir, load_config(config_path), assembly
    )


def example_config_data() -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8")))


def example_policy_data() -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(EXAMPLE_POLICY.read_text(encoding="utf-8")))


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def pseudo_parameters(account_id: str, region: str) -> dict[str, str]:
    """What CloudFormation's pseudo parameters resolve to in a stack of `account_id` and `region`."""
    return {"AWS::Partition": "aws", "AWS::AccountId": account_id, "AWS::Region": region}


def resolve(value: Any, pseudo: dict[str, str]) -> Any:
    """Resolve the Ref/Fn::Join of pseudo parameters in a template value, as CloudFormation would."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return pseudo[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolve(part, pseudo)) for part in parts)
    if isinstance(value, dict):
        return {key: resolve(item, pseudo) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, pseudo) for item in value]
    return value


# --- IAM roles ---------------------------------------------------------------------------------------

CENTRAL_BUS_ARN = "arn:aws:events:us-east-1:222222222222:event-bus/identity-center-guardrail"
DETECT_ROLE_ARN = "arn:aws:iam::222222222222:role/IdentityCenterGuardrailDetectFunction"
FORWARDING_RULE_NAME = "IdentityCenterGuardrail-ForwardInstanceEvents"


def role_named(template: Document, name: str) -> Document:
    """The properties of the role called `name` in a template."""
    (role,) = [
        r["Properties"]
        for r in resources(template, "AWS::IAM::Role").values()
        if r["Properties"].get("RoleName") == name
    ]
    return cast(Document, role)


def role_statements(role: Document) -> list[Document]:
    """The statements of a role's inline policies."""
    return [s for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


def actions(statement: Document) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


def granted(role: Document) -> set[str]:
    return {action for s in role_statements(role) if s["Effect"] == "Allow" for action in actions(s)}


def assert_trusts_only_the_detect_function(role: Document, pseudo: dict[str, str]) -> None:
    """Only the central detect function's role may assume `role`: its account, narrowed to its ARN."""
    (statement,) = resolve(role["AssumeRolePolicyDocument"]["Statement"], pseudo)
    assert statement == {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
        "Condition": {"ArnEquals": {"aws:PrincipalArn": DETECT_ROLE_ARN}},
    }


def assert_forwarding_role(role: Document, pseudo: dict[str, str]) -> None:
    """EventBridge, for this account's forwarding rule only, may put events on the central bus only."""
    account = pseudo["AWS::AccountId"]
    (trust,) = resolve(role["AssumeRolePolicyDocument"]["Statement"], pseudo)
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {"aws:SourceArn": f"arn:aws:events:*:{account}:rule/{FORWARDING_RULE_NAME}"},
    }
    (statement,) = resolve(role_statements(role), pseudo)
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == CENTRAL_BUS_ARN


@cache
def _read_event(name: str) -> str:
    return (SAMPLE_EVENTS / name).read_text(encoding="utf-8")


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of a sample event from samples/events."""
    return cast(dict[str, Any], json.loads(_read_event(name)))
