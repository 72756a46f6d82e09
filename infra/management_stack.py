"""The stacks in the management account, which StackSets never deploy to.

`ManagementStack` holds what exists once per account (IAM is global) and what only the management
account may create (the SCP; the StackSets when `stackset_call_as` is SELF). One small
`ManagementRegionStack` per watched Region that the management account has enabled
(`GuardrailConfig.management_forwarding_regions`) holds the forwarding rule of that Region: a stack
in a Region the account has not enabled would fail to deploy, and would catch nothing there. Plain
stacks rather than a self-managed StackSet, which would first need the StackSet administration and
execution roles in the management account, and `cdk deploy` shows each one's changes.

They use `LegacyStackSynthesizer`, which deploys with the caller's credentials instead of the
bootstrap roles, and the stacks have no assets and small templates (sent inline): so they deploy
with management-account credentials and the management account needs no CDK bootstrap in any Region.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Environment, LegacyStackSynthesizer, Stack
from constructs import Construct

from infra.config import GuardrailConfig
from infra.constructs.create_instance_scp import CreateInstanceScp
from infra.constructs.event_forwarding import ForwardingRole, ForwardingRule
from infra.constructs.guard_scp import GuardScp
from infra.constructs.member_role import MemberRole
from infra.constructs.member_stacksets import MemberStackSets
from infra.constructs.organizations_reader import OrganizationsReaderRole
from infra.member_templates import MemberTemplates


class ManagementStack(Stack):
    """Account-wide resources of the management account, in the central Region.

    - the Organizations reader role (`organizations_role_arn`), if configured;
    - the member role: the detect function reads the management account's instances like any other
      account's, but never deletes there (its instance is the organization instance: there is no
      deleter role), and the sweep does not read it;
    - the forwarding role of the Region stacks' rules;
    - the SCP, given its document when `scp.enabled`;
    - the protection SCP, when `guard.central_account` or `guard.member_accounts` is on;
    - the member StackSets, if `stackset_call_as` is SELF.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: GuardrailConfig,
        member_templates: MemberTemplates,
        scp_document: dict[str, Any] | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.management_account_id, region=config.central_region),
            synthesizer=LegacyStackSynthesizer(),
            description="IAM Identity Center account-instance guardrail: management account roles and SCP",
            # It holds the SCPs, the Organizations reader role and, with SELF, the StackSets.
            termination_protection=True,
            **kwargs,
        )
        self.organizations_reader = (
            OrganizationsReaderRole(self, "OrganizationsReader", config=config)
            if config.organizations_role_arn
            else None
        )
        # The sweep leaves the management account out, so only the detect function reads it.
        self.member_role = MemberRole(self, "MemberRole", config=config, swept=False)
        self.forwarding_role = ForwardingRole(self, "ForwardingRole", config=config)
        self.scp = (
            CreateInstanceScp(self, "CreateInstanceScp", document=scp_document, targets=config.scp.targets)
            if scp_document is not None
            else None
        )
        self.guard = GuardScp(self, "GuardScp", config=config) if config.guard.enabled else None
        self.stack_sets = MemberStackSets.if_created_by(
            self, "SELF", config=config, templates=member_templates
        )
        if self.organizations_reader is not None:
            CfnOutput(
                self,
                "OrganizationsReaderRoleArn",
                value=self.organizations_reader.role.role_arn,
                description="The role the detect function and the sweep's planner assume for Organizations reads",
            )
        if self.scp is not None:
            CfnOutput(
                self,
                "CreateInstanceScpId",
                value=self.scp.policy.attr_id,
                description="The SCP denying sso:CreateInstance outside the approved accounts and OUs",
            )
        if self.guard is not None:
            CfnOutput(
                self,
                "GuardScpId",
                value=self.guard.policy.attr_id,
                description="The SCP keeping the guardrail's roles, forwarding rules and their dead-letter "
                "queues as deployed",
            )


class ManagementRegionStack(Stack):
    """The management account's forwarding rule in one Region it has enabled, and its dead-letter queue.

    The management account cannot create account instances, so the rule is there to see a refused
    CreateInstance attempt and, in the organization instance's Region, its DeleteInstance.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: GuardrailConfig, region: str, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.management_account_id, region=region),
            synthesizer=LegacyStackSynthesizer(),
            description="IAM Identity Center account-instance guardrail: management account events in "
            + region,
            **kwargs,
        )
        self.rule = ForwardingRule(self, "ForwardingRule", config=config)
