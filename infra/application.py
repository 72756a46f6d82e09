"""Builds the CDK app from a configuration file, without any AWS call."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

from aws_cdk import App

from infra.bundling import PROJECT_ROOT
from infra.central_stack import CentralStack
from infra.config import load_config
from infra.constructs.create_instance_scp import create_instance_scp_document
from infra.management_stack import ManagementRegionStack, ManagementStack
from infra.member_templates import synthesize_member_templates
from infra.nag import add_nag_checks

CONFIG_CONTEXT_KEY: Final = "guardrail:config"
DEFAULT_CONFIG: Final = "config/guardrail.yaml"
CENTRAL_STACK_NAME: Final = "IdentityCenterGuardrailCentral"
MANAGEMENT_STACK_NAME: Final = "IdentityCenterGuardrailManagement"


def management_region_stack_name(region: str) -> str:
    return f"{MANAGEMENT_STACK_NAME}-{region}"


def config_path(app: App) -> Path:
    """The configuration file named by context; a relative path is taken from the project root."""
    value = app.node.try_get_context(CONFIG_CONTEXT_KEY) or DEFAULT_CONFIG
    path = Path(str(value))
    return path if path.is_absolute() else PROJECT_ROOT / path


def build_app(
    context: Mapping[str, Any] | None = None, outdir: str | None = None, *, today: date | None = None
) -> App:
    """Validate the configuration and policy named by context and define the stacks.

    - `IdentityCenterGuardrailCentral`: central account and Region (and the member StackSets when
      `stackset_call_as` is DELEGATED_ADMIN);
    - `IdentityCenterGuardrailManagement`: management account, central Region;
    - `IdentityCenterGuardrailManagement-<region>`: management account, each watched Region the
      management account has enabled (`GuardrailConfig.management_forwarding_regions`).

    `today` decides which policy exemptions the SCP still excepts (UTC today by default).
    Raises `ConfigError` or `PolicyError` (both `ValueError`) before anything is synthesized.
    """
    app = App(context=dict(context) if context is not None else None, outdir=outdir)
    config = load_config(config_path(app))
    policy = config.load_policy()
    # Before anything is synthesized: a policy the SCP cannot express stops here.
    scp_document = (
        create_instance_scp_document(policy, config, today=today or datetime.now(UTC).date())
        if config.scp.enabled
        else None
    )
    member_templates = synthesize_member_templates(config, app.node.get_all_context())
    CentralStack(app, CENTRAL_STACK_NAME, config=config, policy=policy, member_templates=member_templates)
    management = ManagementStack(
        app,
        MANAGEMENT_STACK_NAME,
        config=config,
        member_templates=member_templates,
        scp_document=scp_document,
    )
    for region in config.management_forwarding_regions:
        regional = ManagementRegionStack(
            app, management_region_stack_name(region), config=config, region=region
        )
        # Deploy order only (`cdk deploy 'IdentityCenterGuardrailManagement*'`): the rules use its role.
        regional.add_dependency(management)
    add_nag_checks(app)
    return app
