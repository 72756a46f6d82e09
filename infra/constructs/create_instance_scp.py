"""The preventive layer: an SCP denying `sso:CreateInstance` outside what the policy approves.

The document is derived from the same policy file the detect function decides against, so that
prevention and detection name the same accounts. Statement semantics:

- Deny `sso:CreateInstance` on `*`, unless the caller's account is approved
  (`StringNotEquals aws:PrincipalAccount [...]`) or sits in an approved OU
  (`ForAllValues:StringNotLike aws:PrincipalOrgPaths [o-…/r-…/ou-…/*, o-…/r-…/*/ou-…/*]`, which
  matches the OU directly under the root and nested deeper). Both conditions sit in one statement,
  so the deny applies only when neither exception holds.
- Approved accounts are the policy's `approved.accounts` plus the accounts of exemptions that are
  still running at synth time and suppress `account-not-approved` (an exemption is the policy
  allowing an instance for a while). Redeploy after an exemption expires to close it again; until
  then the detector's `scp-gap` rule reports the account.
- An OU approved by name path cannot be expressed: an SCP sees only ids, and translating names
  would need AWS calls at synth. Synth fails and asks for OU ids instead.

SCPs never apply to the management account.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any, Final

from aws_cdk import aws_organizations as organizations
from constructs import Construct

from guardrail.core.policy import Policy
from infra.config import ConfigError, GuardrailConfig

SCP_NAME: Final = "DenyIdentityCenterAccountInstances"
STATEMENT_ID: Final = "DenyIdentityCenterAccountInstances"
# Organizations' quota on an SCP document, in characters.
MAX_SCP_SIZE: Final = 5120
_ACCOUNT_NOT_APPROVED = "account-not-approved"


def approved_accounts(policy: Policy, today: date) -> tuple[str, ...]:
    """Accounts the policy lets hold an account instance today, in a stable order."""
    exempted = (
        e.account_id
        for e in policy.exemptions
        if e.account_id is not None
        and e.expires >= today
        and (not e.rules or _ACCOUNT_NOT_APPROVED in e.rules)
    )
    return tuple(sorted({*policy.approved.accounts, *exempted}))


def _org_path_patterns(policy: Policy, config: GuardrailConfig) -> list[str]:
    units = policy.approved.organizational_units
    by_name = [u for u in units if not u.startswith(("ou-", "r-"))]
    if by_name:
        raise ConfigError(
            f"scp.enabled: the policy approves OUs by name path ({', '.join(by_name)}), which an SCP cannot "
            "express; approve them by id (ou-…) in the policy's approved.organizational_units, or set "
            "scp.enabled to false"
        )
    if units and config.root_id is None:
        raise ConfigError("root_id: needed for the SCP to except the OUs the policy approves by id")
    prefix = f"{config.organization_id}/{config.root_id}"
    patterns: list[str] = []
    for unit in units:
        if unit.startswith("r-"):
            if unit != config.root_id:
                raise ConfigError(
                    f"root_id: the policy approves the root {unit}, but root_id is {config.root_id}"
                )
            patterns.append(f"{prefix}/*")
        else:
            patterns += [f"{prefix}/{unit}/*", f"{prefix}/*/{unit}/*"]
    return patterns


def create_instance_scp_document(policy: Policy, config: GuardrailConfig, *, today: date) -> dict[str, Any]:
    """The SCP document for `policy`; raises `ConfigError` when the policy cannot be expressed."""
    statement: dict[str, Any] = {
        "Sid": STATEMENT_ID,
        "Effect": "Deny",
        "Action": "sso:CreateInstance",
        "Resource": "*",
    }
    condition: dict[str, Any] = {}
    accounts = approved_accounts(policy, today)
    if accounts:
        condition["StringNotEquals"] = {"aws:PrincipalAccount": list(accounts)}
    patterns = _org_path_patterns(policy, config)
    if patterns:
        condition["ForAllValues:StringNotLike"] = {"aws:PrincipalOrgPaths": patterns}
    if condition:
        statement["Condition"] = condition
    document = {"Version": "2012-10-17", "Statement": [statement]}
    size = len(json.dumps(document, separators=(",", ":")))
    if size > MAX_SCP_SIZE:
        raise ConfigError(
            f"scp.enabled: the SCP would be {size} characters, over the {MAX_SCP_SIZE} Organizations allows; "
            "approve OUs rather than many single accounts"
        )
    return document


class CreateInstanceScp(Construct):
    """The SCP (from `create_instance_scp_document`), attached to `targets`.

    Deployable only by the management account (or an Organizations delegated administrator).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, document: dict[str, Any], targets: Sequence[str]
    ) -> None:
        super().__init__(scope, construct_id)
        self.document = document
        self.policy = organizations.CfnPolicy(
            self,
            "Policy",
            name=SCP_NAME,
            type="SERVICE_CONTROL_POLICY",
            description="Only accounts the guardrail's policy approves may create IAM Identity Center "
            "account instances",
            content=self.document,
            target_ids=list(targets),
        )
