"""The two service-managed StackSets that put the member stacks in every account of the organization.

Why two: the forwarding rule is needed in every account *and Region* (events stay in the Region of
the call), while the roles are IAM, which is global: a role in a StackSet deployed to N Regions
would be created N times under one name and fail in all but the first. So the roles go in a
StackSet deployed to the central Region only, once per account, and the rules in a StackSet
deployed to every configured Region. The rules StackSet depends on the roles StackSet, so the first
deployment creates the role before the rules that use it; for accounts that join later both
auto-deploy independently, and a rule whose role is not there yet sends its deliveries of that
minute to its dead-letter queue (EventBridge does not retry a missing permission), where the sweep's
coverage check sees them, and the periodic sweep catches the instances.

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

# The roles go to one Region every account has: a failure there is real (an SCP denying IAM, a role
# name already taken) and leaves the function unable to read that account. Carry on past a few such
# accounts, so that one of them does not hold back (and roll back) everyone else's roles, but stop,
# and so fail the deployment, once failures are common enough to be systematic.
ROLES_OPERATION_PREFERENCES: Final = cloudformation.CfnStackSet.OperationPreferencesProperty(
    region_concurrency_type="PARALLEL",
    max_concurrent_percentage=25,
    failure_tolerance_percentage=10,
    concurrency_mode="SOFT_FAILURE_TOLERANCE",
)
# The rules go to every Region where Identity Center is available, opt-in Regions included, which
# most accounts have not enabled: there most instances fail by design, so every one may fail. With no
# number of failures able to stop the roll-out, holding accounts back would only make it slower.
FORWARDING_OPERATION_PREFERENCES: Final = cloudformation.CfnStackSet.OperationPreferencesProperty(
    region_concurrency_type="PARALLEL",
    max_concurrent_percentage=100,
    failure_tolerance_percentage=100,
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

    Operation preferences, and why (AWS CloudFormation documentation, by page title):

    - "Prepare to perform StackSet operations in AWS Regions that are disabled by default" (User
      Guide): a stack instance is created or updated only in a Region that the target account has
      enabled, and the management account too. No option skips such an instance (the only skip
      StackSets documents is `SKIPPED_SUSPENDED_ACCOUNT`, "StackInstanceComprehensiveStatus"), so
      it fails. "Create CloudFormation StackSets with service-managed permissions": a delegated
      administrator's operations are performed by the management account, so its Regions count in
      both call modes.
    - "StackSetOperationPreferences" (API Reference), "AWS::CloudFormation::StackSet
      OperationPreferences" (Template Reference): failure tolerance counts accounts per Region;
      past it the operation stops in that Region and is not attempted in later ones. A percentage
      is rounded down, so with 100 % every account of a Region may fail without stopping anything.
      STRICT_FAILURE_TOLERANCE (the default) runs at most tolerance + 1 accounts at once and fewer
      after each failure; SOFT_FAILURE_TOLERANCE keeps MaxConcurrent ("Choose the Concurrency Mode
      for CloudFormation StackSets", User Guide).
    - "StackSetOperation" (API Reference): SUCCEEDED means the failure tolerance was not exceeded,
      FAILED that it was. The `AWS::CloudFormation::StackSet` resource waits for its operation and
      fails only on FAILED or STOPPED (`BaseHandlerStd` in
      aws-cloudformation/aws-cloudformation-resource-providers-cloudformation), so failures within
      tolerance leave it, and the stack holding it, in CREATE/UPDATE_COMPLETE.

    Hence 100 % per Region, SOFT, for the forwarding rules: they go to every Region where Identity
    Center is available, and most accounts have not enabled most opt-in Regions; an account cannot
    create an instance in a Region it has not enabled, so the rule missing there loses nothing. The
    price: a rule failing where it was needed does not fail the deployment either; the README's
    Verify step lists the failed instances. A rule that cannot deploy anywhere still fails visibly,
    in the management Region stacks `cdk deploy` deploys from the same template. The roles go to the
    central Region only, one Region every account has (unless it is an opt-in Region), so a failure
    there is real: 10 %, SOFT (`ROLES_OPERATION_PREFERENCES`).

    The preferences do not apply to automatic deployments ("StackSetOperationPreferences"): for an
    account that joins later StackSets uses its defaults; failures in Regions that account has not
    enabled show in that operation's results and affect none of our stacks.
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
            preferences=ROLES_OPERATION_PREFERENCES,
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
            preferences=FORWARDING_OPERATION_PREFERENCES,
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
        preferences: cloudformation.CfnStackSet.OperationPreferencesProperty,
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
            operation_preferences=preferences,
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
