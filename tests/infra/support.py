"""Helpers shared by the infrastructure tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

import yaml
from aws_cdk import App
from aws_cdk.assertions import Template

from infra.application import CENTRAL_STACK_NAME, CONFIG_CONTEXT_KEY, build_app
from infra.bundling import PROJECT_ROOT
from infra.central_stack import CentralStack
from infra.config import GuardrailConfig, load_config

SAMPLE_EVENTS = PROJECT_ROOT / "samples" / "events"
EXAMPLE_CONFIG = PROJECT_ROOT / "config" / "guardrail.yaml"
EXAMPLE_POLICY = PROJECT_ROOT / "policy" / "policy.yaml"


@dataclass(frozen=True)
class Synthesized:
    """One synthesized app, with what the tests look at."""

    app: App
    stack: CentralStack
    template: Template
    document: dict[str, Any]
    outdir: Path
    config: GuardrailConfig

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            name: resource
            for name, resource in self.document["Resources"].items()
            if resource["Type"] == resource_type
        }

    def only(self, resource_type: str) -> dict[str, Any]:
        (resource,) = self.resources(resource_type).values()
        return resource

    def logical_id(self, resource_type: str) -> str:
        (logical_id,) = self.resources(resource_type)
        return logical_id


def cdk_context(**overrides: Any) -> dict[str, Any]:
    """The context of cdk.json (feature flags included), so tests see what `cdk synth` sees."""
    document = json.loads((PROJECT_ROOT / "cdk.json").read_text(encoding="utf-8"))
    context = cast(dict[str, Any], document["context"])
    context.update(overrides)
    return context


def synthesize(config_path: Path, outdir: Path) -> Synthesized:
    """Build and synthesize the app like `cdk synth`; cdk-nag raises on an unacknowledged finding."""
    app = build_app(context=cdk_context(**{CONFIG_CONTEXT_KEY: str(config_path)}), outdir=str(outdir))
    assembly = app.synth()
    stack = app.node.find_child(CENTRAL_STACK_NAME)
    assert isinstance(stack, CentralStack)
    document = cast(dict[str, Any], assembly.get_stack_by_name(stack.stack_name).template)
    return Synthesized(app, stack, Template.from_stack(stack), document, outdir, load_config(config_path))


def example_config_data() -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8")))


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@cache
def _read_event(name: str) -> str:
    return (SAMPLE_EVENTS / name).read_text(encoding="utf-8")


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of a sample event from samples/events."""
    return cast(dict[str, Any], json.loads(_read_event(name)))
