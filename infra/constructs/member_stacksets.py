"""The two service-managed StackSets that put the member stacks in every account of the organization.

Why two: the forwarding rule is needed in every account *and Region* (events stay in the Region of
the call), while the roles are IAM, which is global: a role in a StackSet deployed to N Regions
would be created N times under one name and fail in all but the first. So the roles go in a
StackSet deployed to the central Region only, once per account, and the rules in a StackSet
deployed to every configured Region. The rules StackSet depends on the roles StackSet, so the first
deployment creates the role before the rules that use it; for accounts that join later both
auto-deploy independently, and a rule whose role is not there yet only fails deliveries for the
minute it takes (the periodic sweep catches those).

Service-managed permissions with auto-deployment cover accounts that join the target OUs later
and remove the stacks from accounts that leave (`RetainStacksOnAccountRemoval: false`).
StackSets never deploy to the management account: the management stacks cover it.
"""

from __future__ import annotations

import json
from typing import Any, Final

from aws_cdk import aws_cloudformation as cloudformation
from constructs import Construct

from infra.config import GuardrailConfig
from infra.member_templates import MemberTemplates

ROLES_STACKSET_NAME: Final = "IdentityCenterGuardrail-MemberRoles"
FORWARDING_STACKSET_NAME: Final = "IdentityCenterGuardrail-EventForwarding"

# Deploy to every Region at once and to a quarter of the accounts at a time, and carry on past a
# few failing accounts (an SCP or a missing opt-in Region) instead of stopping the whole roll-out;
# the failed instances show in the StackSet's operation results.
OPERATION_PREFERENCES: Final = cloudformation.CfnStackSet.OperationPreferencesProperty(
    region_concurrency_type="PARALLEL",
    max_concurrent_percentage=25,
    failure_tolerance_percentage=10,
    concurrency_mode="SOFT_FAILURE_TOLERANCE",
)


def template_body(template: dict[str, Any]) -> str:
    """A template as compact JSON: StackSets take at most 51,200 bytes of TemplateBody."""
    body = json.dumps(template, separators=(",", ":"))
    if len(body.encode("utf-8")) > 51_200:
        raise ValueError(f"a member template is {len(body)} bytes, over the TemplateBody limit of 51,200")
    return body


class MemberStackSets(Construct):
    """The member-roles and event-forwarding StackSets, targeting the configured OUs or the root.

    `call_as` is `DELEGATED_ADMIN` when this construct is in the central stack (the central account
    is registered as a delegated administrator for StackSets) and `SELF` when it is in the
    management stack; `config.stackset_call_as` chooses between the two.
    """

    @classmethod
    def if_created_by(
        cls, scope: Construct, call_as: str, *, config: GuardrailConfig, templates: MemberTemplates
    ) -> MemberStackSets | None:
        """The StackSets in `scope` when `config.stackset_call_as` is `call_as`, else None."""
        if config.stackset_call_as != call_as:
            return None
        return cls(
            scope,
            "MemberStackSets",
            config=config,
            roles_template=templates.roles,
            forwarding_template=templates.forwarding,
        )

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: GuardrailConfig,
        roles_template: dict[str, Any],
        forwarding_template: dict[str, Any],
    ) -> None:
        super().__init__(scope, construct_id)
        self.roles = self._stack_set(
            "MemberRoles",
            config,
            name=ROLES_STACKSET_NAME,
            description="IAM Identity Center account-instance guardrail: the member role and the event "
            "forwarding role, once per account",
            template=roles_template,
            regions=[config.central_region],
            capabilities=["CAPABILITY_NAMED_IAM"],
        )
        self.forwarding = self._stack_set(
            "EventForwarding",
            config,
            name=FORWARDING_STACKSET_NAME,
            description="IAM Identity Center account-instance guardrail: forwards instance events to the "
            "central bus, in every Region",
            template=forwarding_template,
            regions=list(config.regions),
            capabilities=None,
        )
        self.forwarding.add_dependency(self.roles)

    def _stack_set(
        self,
        construct_id: str,
        config: GuardrailConfig,
        *,
        name: str,
        description: str,
        template: dict[str, Any],
        regions: list[str],
        capabilities: list[str] | None,
    ) -> cloudformation.CfnStackSet:
        return cloudformation.CfnStackSet(
            self,
            construct_id,
            stack_set_name=name,
            description=description,
            permission_model="SERVICE_MANAGED",
            call_as=config.stackset_call_as,
            auto_deployment=cloudformation.CfnStackSet.AutoDeploymentProperty(
                enabled=True, retain_stacks_on_account_removal=False
            ),
            capabilities=capabilities,
            managed_execution={"Active": True},
            operation_preferences=OPERATION_PREFERENCES,
            stack_instances_group=[
                cloudformation.CfnStackSet.StackInstancesProperty(
                    deployment_targets=cloudformation.CfnStackSet.DeploymentTargetsProperty(
                        organizational_unit_ids=list(config.deployment_targets)
                    ),
                    regions=regions,
                )
            ],
            template_body=template_body(template),
        )
