"""The guardrail's own protection: an SCP that keeps its roles, rules and queues as deployed.

Opt-in (`guard` in the configuration, both switches off by default), deployed by the management
stack beside the CreateInstance SCP, as a policy of its own: it protects other things, and attaches
elsewhere.

- `guard.central_account`: in the central account, every principal but CDK's CloudFormation
  execution role (`guard.deployment_role_patterns`) is denied creating, changing, deleting and
  passing the roles of the central stack (the three named roles, and the others, whose names
  CloudFormation starts with the stack's name). The detect function's and the sweep worker's roles
  may still pass a role where pending deletions are deployed (`remediation_enabled`): they hand the
  deletion scheduler role to EventBridge Scheduler, and their own policies allow nothing else.
  Attached to the central account itself, so that it holds whatever OU the account is in.
- `guard.member_accounts`: in every account under the StackSets' targets, every principal but the
  StackSets execution role (`guard.stackset_execution_role_patterns`, `stacksets-exec-*` for
  service-managed StackSets) is denied changing or deleting the member role, the deleter role (its
  name is protected even where `remediation_enabled` is off, so that no other role takes it) and the
  forwarding role (IAM's role writes, and passing them), the forwarding rule (delete, disable, put, targets) and its
  dead-letter queue (delete, change its attributes, its policy included). Attached to the StackSets'
  targets (`GuardrailConfig.deployment_targets`), where those resources are.

Each exception is an `ArnNotLike aws:PrincipalArn` condition: for a role's sessions that is the
role's ARN. SCPs never apply to the management account; its stacks are protected by whoever
administers it. The document names ARNs in the `aws` partition, the only one the configuration's
Regions belong to (`infra.config.known_regions`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from aws_cdk import aws_organizations as organizations
from constructs import Construct

from infra.config import ConfigError, GuardrailConfig
from infra.constructs.create_instance_scp import MAX_SCP_SIZE
from infra.constructs.event_forwarding import FORWARDING_DEAD_LETTER_QUEUE_NAME, FORWARDING_RULE_NAME

GUARD_SCP_NAME: Final = "IdentityCenterGuardrailProtection"
# The central stack's name (infra.application.CENTRAL_STACK_NAME): CloudFormation names the roles
# it creates without a name `<stack name>-<logical id>-<suffix>`.
CENTRAL_STACK_NAME: Final = "IdentityCenterGuardrailCentral"
PARTITION: Final = "aws"
# Every IAM action that writes a role, its policies, its trust, its boundary or its tags.
ROLE_WRITE_ACTIONS: Final = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRole*",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)
PASS_ROLE_ACTION: Final = "iam:PassRole"  # noqa: S105 - an IAM action, not a secret
FORWARDING_RULE_WRITE_ACTIONS: Final = (
    "events:DeleteRule",
    "events:DisableRule",
    "events:PutRule",
    "events:PutTargets",
    "events:RemoveTargets",
)
FORWARDING_QUEUE_WRITE_ACTIONS: Final = ("sqs:DeleteQueue", "sqs:SetQueueAttributes")


def _role_arns(account: str, *names: str) -> list[str]:
    return [f"arn:{PARTITION}:iam::{account}:role/{name}" for name in names]


def central_role_arns(config: GuardrailConfig) -> list[str]:
    """The central stack's roles: the named ones and those CloudFormation names after the stack."""
    return _role_arns(
        config.central_account_id,
        config.detect_role_name,
        config.sweep_planner_role_name,
        config.sweep_worker_role_name,
        f"{CENTRAL_STACK_NAME}-*",
    )


def _except(principals: Sequence[str]) -> dict[str, Any]:
    return {"ArnNotLike": {"aws:PrincipalArn": list(principals)}}


def central_account_statements(config: GuardrailConfig) -> list[dict[str, Any]]:
    """What protects the central stack's roles in the central account (`guard.central_account`)."""
    deployers = _role_arns(config.central_account_id, *config.guard.deployment_role_patterns)
    # With pending deletions, the detect function and the sweep worker pass the scheduler role.
    passers = (
        _role_arns(config.central_account_id, config.detect_role_name, config.sweep_worker_role_name)
        if config.remediation_enabled
        else []
    )
    roles = central_role_arns(config)
    return [
        {
            "Sid": "ProtectGuardrailCentralRoles",
            "Effect": "Deny",
            "Action": list(ROLE_WRITE_ACTIONS),
            "Resource": roles,
            "Condition": _except(deployers),
        },
        {
            "Sid": "ProtectGuardrailCentralRolesFromPassing",
            "Effect": "Deny",
            "Action": PASS_ROLE_ACTION,
            "Resource": roles,
            "Condition": _except([*deployers, *passers]),
        },
    ]


def member_account_statements(config: GuardrailConfig) -> list[dict[str, Any]]:
    """What protects the member stacks' resources in every member account (`guard.member_accounts`)."""
    deployers = _role_arns("*", *config.guard.stackset_execution_role_patterns)
    return [
        {
            "Sid": "ProtectGuardrailMemberRoles",
            "Effect": "Deny",
            "Action": [*ROLE_WRITE_ACTIONS, PASS_ROLE_ACTION],
            "Resource": _role_arns(
                "*", config.member_role_name, config.deleter_role_name, config.forwarding_role_name
            ),
            "Condition": _except(deployers),
        },
        {
            "Sid": "ProtectGuardrailForwardingRules",
            "Effect": "Deny",
            "Action": list(FORWARDING_RULE_WRITE_ACTIONS),
            "Resource": f"arn:{PARTITION}:events:*:*:rule/{FORWARDING_RULE_NAME}",
            "Condition": _except(deployers),
        },
        {
            "Sid": "ProtectGuardrailForwardingDeadLetters",
            "Effect": "Deny",
            "Action": list(FORWARDING_QUEUE_WRITE_ACTIONS),
            "Resource": f"arn:{PARTITION}:sqs:*:*:{FORWARDING_DEAD_LETTER_QUEUE_NAME}",
            "Condition": _except(deployers),
        },
    ]


def guard_scp_document(config: GuardrailConfig) -> dict[str, Any] | None:
    """The protection SCP's document for the configured switches; None when both are off."""
    statements = [
        *(central_account_statements(config) if config.guard.central_account else []),
        *(member_account_statements(config) if config.guard.member_accounts else []),
    ]
    if not statements:
        return None
    document = {"Version": "2012-10-17", "Statement": statements}
    size = len(json.dumps(document, separators=(",", ":")))
    if size > MAX_SCP_SIZE:
        raise ConfigError(
            f"guard: the protection SCP would be {size} characters, over the {MAX_SCP_SIZE} Organizations "
            "allows; name fewer deployment_role_patterns or stackset_execution_role_patterns"
        )
    return document


def guard_scp_targets(config: GuardrailConfig) -> list[str]:
    """Where the protection SCP is attached: the central account, and the StackSets' targets."""
    return [
        *([config.central_account_id] if config.guard.central_account else []),
        *(config.deployment_targets if config.guard.member_accounts else []),
    ]


class GuardScp(Construct):
    """The protection SCP (from `guard_scp_document`), attached to `guard_scp_targets`.

    Deployable only by the management account (or an Organizations delegated administrator).
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: GuardrailConfig) -> None:
        super().__init__(scope, construct_id)
        document = guard_scp_document(config)
        if document is None:
            raise ValueError("GuardScp needs guard.central_account or guard.member_accounts switched on")
        self.document = document
        self.policy = organizations.CfnPolicy(
            self,
            "Policy",
            name=GUARD_SCP_NAME,
            type="SERVICE_CONTROL_POLICY",
            description="Only the deployment roles may change or remove the IAM Identity Center "
            "guardrail's roles, forwarding rules and their dead-letter queues",
            content=self.document,
            target_ids=guard_scp_targets(config),
        )
