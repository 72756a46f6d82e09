"""The templates the StackSets deploy in member accounts, written with CDK like the rest.

Each is an ordinary `Stack` in an app of its own, synthesized in memory and handed to the StackSet
as its TemplateBody. A separate app (rather than a `Stage` of the main one) keeps these stacks
out of `cdk deploy --all`, where they would land in the account running the deploy. The stacks
use no bootstrap resources and cannot use assets (`BootstraplessSynthesizer` refuses them), since
a StackSet provides neither; and they go through the same cdk-nag checks as the deployed stacks.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, cast

from aws_cdk import App, BootstraplessSynthesizer, Stack
from constructs import Construct

from infra.config import GuardrailConfig
from infra.constructs.deleter_role import DeleterRole
from infra.constructs.event_forwarding import ForwardingRole, ForwardingRule
from infra.constructs.member_role import MemberRole
from infra.nag import add_nag_checks

ROLES_STACK_NAME: Final = "IdentityCenterGuardrailMemberRoles"
FORWARDING_STACK_NAME: Final = "IdentityCenterGuardrailMemberForwarding"

# Context that would otherwise follow `cdk synth`'s flags into the templates: resource metadata
# naming construct paths, and the CDKMetadata resource (whose Region condition a StackSet does not need).
_TEMPLATE_CONTEXT: Final[Mapping[str, Any]] = {
    "aws:cdk:enable-path-metadata": False,
    "aws:cdk:enable-asset-metadata": False,
    "aws:cdk:version-reporting": False,
}


class MemberRolesStack(Stack):
    """Once per member account: the member role, the forwarding role and, with
    `remediation_enabled`, the deleter role."""

    def __init__(self, scope: Construct, construct_id: str, *, config: GuardrailConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            synthesizer=BootstraplessSynthesizer(),
            description="IAM Identity Center account-instance guardrail: roles of a member account",
        )
        self.member_role = MemberRole(self, "MemberRole", config=config)
        self.forwarding_role = ForwardingRole(self, "ForwardingRole", config=config)
        self.deleter_role = (
            DeleterRole(self, "DeleterRole", config=config) if config.remediation_enabled else None
        )


class MemberForwardingStack(Stack):
    """In every member account and Region: the rule forwarding instance events to the central bus."""

    def __init__(self, scope: Construct, construct_id: str, *, config: GuardrailConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            synthesizer=BootstraplessSynthesizer(),
            description="IAM Identity Center account-instance guardrail: forwarding of instance events",
        )
        self.rule = ForwardingRule(self, "ForwardingRule", config=config)


@dataclass(frozen=True)
class MemberTemplates:
    """The synthesized member templates, as CloudFormation documents."""

    roles: dict[str, Any]
    forwarding: dict[str, Any]


def synthesize_member_templates(
    config: GuardrailConfig, context: Mapping[str, Any] | None = None
) -> MemberTemplates:
    """Synthesize both member stacks with `context` (the main app's, for the same feature flags).

    cdk-nag runs on them as on the main app: an unacknowledged finding raises here.
    """
    with tempfile.TemporaryDirectory(prefix="member-templates-") as outdir:
        # An explicit outdir: otherwise the app would write into the CLI's cdk.out (CDK_OUTDIR).
        app = App(
            outdir=outdir,
            context=dict(context or {}),
            post_cli_context=dict(_TEMPLATE_CONTEXT),
            analytics_reporting=False,
            stack_traces=False,
        )
        roles = MemberRolesStack(app, ROLES_STACK_NAME, config=config)
        forwarding = MemberForwardingStack(app, FORWARDING_STACK_NAME, config=config)
        add_nag_checks(app)
        assembly = app.synth()
        return MemberTemplates(
            roles=cast(dict[str, Any], assembly.get_stack_by_name(roles.stack_name).template),
            forwarding=cast(dict[str, Any], assembly.get_stack_by_name(forwarding.stack_name).template),
        )
