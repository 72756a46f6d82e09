"""Packaging of the function's code without Docker.

The asset holds only the `guardrail` package and the validated policy as `policy.json`: boto3
comes with the Lambda runtime and Powertools (with pydantic v2) from its public layer, so nothing
needs installing, and building the asset is a copy that works on any machine that can synth.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from guardrail.core.policy import Policy

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_SOURCE = PROJECT_ROOT / "lambdas"
PACKAGE_NAME = "guardrail"
POLICY_FILE_NAME = "policy.json"
_IGNORED = ("__pycache__", "*.pyc", "*.pyo", ".mypy_cache", ".pytest_cache")


@jsii.implements(ILocalBundling)
class GuardrailBundling:
    """Copies the `guardrail` package and writes the policy next to it, in this process."""

    def __init__(self, policy: Policy, source: Path = LAMBDA_SOURCE) -> None:
        self._policy = policy
        self._package = source / PACKAGE_NAME

    def try_bundle(self, output_dir: str, *, image: DockerImage, **options: Any) -> bool:
        """Build the asset in `output_dir`; returning True tells CDK that Docker is not needed."""
        target = Path(output_dir)
        shutil.copytree(
            self._package, target / PACKAGE_NAME, ignore=shutil.ignore_patterns(*_IGNORED), dirs_exist_ok=True
        )
        document = json.dumps(self._policy.model_dump(mode="json"), indent=2) + "\n"
        (target / POLICY_FILE_NAME).write_text(document, encoding="utf-8")
        return True


def function_code(policy: Policy, source: Path = LAMBDA_SOURCE) -> lambda_.Code:
    """The function's code asset; its hash changes when the package or the policy changes."""
    return lambda_.Code.from_asset(
        str(source),
        exclude=list(_IGNORED),
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds, but CDK requires an image.
            image=DockerImage.from_registry("none"),
            local=GuardrailBundling(policy, source),
        ),
    )
