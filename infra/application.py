"""Builds the CDK app from a configuration file, without any AWS call."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App

from infra.bundling import PROJECT_ROOT
from infra.central_stack import CentralStack
from infra.config import load_config
from infra.nag import add_nag_checks

CONFIG_CONTEXT_KEY = "guardrail:config"
DEFAULT_CONFIG = "config/guardrail.yaml"
CENTRAL_STACK_NAME = "IdentityCenterGuardrailCentral"


def config_path(app: App) -> Path:
    """The configuration file named by context; a relative path is taken from the project root."""
    value = app.node.try_get_context(CONFIG_CONTEXT_KEY) or DEFAULT_CONFIG
    path = Path(str(value))
    return path if path.is_absolute() else PROJECT_ROOT / path


def build_app(context: Mapping[str, Any] | None = None, outdir: str | None = None) -> App:
    """Validate the configuration and policy named by context and define the stacks.

    Raises `ConfigError` or `PolicyError` (both `ValueError`) before anything is synthesized.
    """
    app = App(context=dict(context) if context is not None else None, outdir=outdir)
    config = load_config(config_path(app))
    policy = config.load_policy()
    CentralStack(app, CENTRAL_STACK_NAME, config=config, policy=policy)
    add_nag_checks(app)
    return app
