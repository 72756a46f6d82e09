"""Each recorded call, decided by the IAM simulator on what the templates grant.

For a call, the principal is the role that made it (the function's execution role, or the role it
had assumed), with its identity policies; the resource policy is the acted-on resource's (for
`sts:AssumeRole`, the assumed role's trust policy); the SCPs are the management stack's, at the
root (none for the management account). A call the simulator denies fails the check, unless the
emulation refused it too (a role missing from an account, a denial a test injected, a resource a
test made the function look for in vain): the code met that refusal on purpose.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from tests.iam.deployment import (
    CENTRAL_STACK,
    FULL_AWS_ACCESS,
    MANAGEMENT_STACK,
    Deployment,
    ResourcePolicy,
    Role,
    Translation,
)
from tests.iam.recording import Recorded
from tests.iam.simulator import Decision, OrgLevel, Request, SimulationError, Simulator

StatementKey = tuple[str, str, str, str, int]


@dataclass(frozen=True)
class Checked:
    """One recorded call and what the simulator said of it."""

    recorded: Recorded
    role: Role | None
    resource: str
    decision: Decision | None
    problem: str | None = None
    # The statements that allowed it (identity, resource or trust policy), as `Statement.key`.
    used: tuple[StatementKey, ...] = ()
    # Whether the templates deploy the resource (a test may point a function at one they do not).
    owned: bool = True

    @property
    def allowed(self) -> bool:
        return self.decision is not None and self.decision.allowed

    @property
    def failed(self) -> bool:
        """Denied where the code needed it to pass, or not evaluable at all."""
        if self.problem is not None:
            return True
        if self.allowed:
            return False
        # Refused by the emulation too, on purpose: a role missing, a denial a test injected, or a
        # resource the templates do not deploy, which a test made the function look for in vain.
        refused = self.recorded.denied_by_emulation or (self.recorded.missing_in_emulation and not self.owned)
        return not refused

    def describe(self) -> str:
        r = self.recorded
        who = self.role.label if self.role else (r.role or f"the {r.function} function's role")
        why = self.problem or (self.decision.reason() if self.decision else "no decision")
        implied = f" (implied: {r.implied})" if r.implied else ""
        return (
            f"{who} [{self.role.arn if self.role else '?'}] may not {r.action} on {self.resource}{implied}: "
            f"{why}; call {r.call} by the {r.function} function in {r.account} {r.region}, "
            f"first made by {r.test or 'a fixture'}"
        )


@dataclass
class Evaluation:
    checked: list[Checked] = field(default_factory=list)

    @property
    def failures(self) -> list[Checked]:
        return [c for c in self.checked if c.failed]

    @property
    def expected_denials(self) -> list[Checked]:
        return [c for c in self.checked if not c.failed and not c.allowed]

    def uses(self) -> dict[StatementKey, list[Checked]]:
        """The calls each statement allowed."""
        found: dict[StatementKey, list[Checked]] = defaultdict(list)
        for checked in self.checked:
            for key in checked.used:
                found[key].append(checked)
        return found


def _central_key(deployment: Deployment) -> str | None:
    keys = [
        logical_id
        for logical_id, resource in deployment.templates[CENTRAL_STACK]["Resources"].items()
        if resource["Type"] == "AWS::KMS::Key"
    ]
    if len(keys) != 1:
        return None
    central = deployment.central
    return f"arn:aws:kms:{central.region}:{central.account}:key/{keys[0]}"


def _session(role: Role, name: str) -> str:
    account = role.arn.split(":")[4]
    return f"arn:aws:sts::{account}:assumed-role/{role.name}/{name}"


def _prepare(deployment: Deployment, recorded: Recorded) -> tuple[Checked, Request | None]:
    """The simulator request for one recorded call, or the reason there can be none."""
    config = deployment.config
    translate = Translation(recorded.organization_id, recorded.root_id, config)
    resource = translate(recorded.resource)
    if recorded.action.startswith("kms:") and resource.split(":")[4:5] == [config.central_account_id]:
        resource = _central_key(deployment) or resource  # the emulation's key is the alert topic's key
    if recorded.role is None:
        role: Role | None = deployment.function_role(recorded.function)
    else:
        role = deployment.role(translate(recorded.role))
    if role is None:
        problem = f"it acts as {recorded.role}, a role the templates do not create"
        return Checked(recorded, None, resource, None, problem), None
    account = role.arn.split(":")[4]
    context: dict[str, str | list[str]] = {
        key: ([translate(v) for v in value] if isinstance(value, list) else translate(str(value)))
        for key, value in recorded.context
    }
    context.update(
        {
            "aws:SecureTransport": "true",
            "aws:RequestedRegion": recorded.region,
            "aws:PrincipalArn": role.arn,
            "aws:PrincipalAccount": account,
        }
    )
    if recorded.principal_in_organization:
        context["aws:PrincipalOrgID"] = config.organization_id
    resource_policy: ResourcePolicy | None = None
    trust: dict[str, object] | None = None
    if recorded.action == "sts:AssumeRole":
        target = deployment.role(resource)
        if target is None:
            problem = f"it assumes {resource}, a role the templates do not create"
            return Checked(recorded, role, resource, None, problem), None
        trust = dict(target.trust)
    else:
        owner = recorded.resource_account or account
        region = (
            resource.split(":")[3]
            if resource.startswith("arn:") and resource.split(":")[3]
            else recorded.region
        )
        resource_policy = deployment.resource_policy(resource, owner, region)
    scps = (
        []
        if account == config.management_account_id
        else [
            OrgLevel(config.root_id or "r-root", {"FullAWSAccess": FULL_AWS_ACCESS, **deployment.scps()}),
            OrgLevel(account, {"FullAWSAccess": FULL_AWS_ACCESS}),
        ]
    )
    request = Request(
        action=recorded.action,
        resource=resource,
        principal=_session(role, recorded.function),
        context=context,
        identity_policies=role.policies,
        resource_policy=trust
        if trust is not None
        else (resource_policy.document if resource_policy else None),
        scps=scps,
        resource_account=recorded.resource_account,
        unvalidated=recorded.unvalidated is not None,
    )
    owned = deployment.owns(resource, recorded.resource_account or account, recorded.region)
    return Checked(recorded, role, resource, None, owned=owned), request


def _used(deployment: Deployment, checked: Checked, decision: Decision) -> tuple[StatementKey, ...]:
    role = checked.role
    assert role is not None
    keys: list[StatementKey] = []
    for grant in decision.grants:
        if grant.policy_type == "identity" and grant.policy is not None:
            keys.append((role.where.template, role.owner, "identity", grant.policy, grant.statement_index))
        elif grant.policy_type == "resource" and checked.recorded.action == "sts:AssumeRole":
            target = deployment.role(checked.resource)
            if target is not None:
                keys.append(
                    (target.where.template, target.owner, "trust", "trust policy", grant.statement_index)
                )
        elif grant.policy_type == "resource":
            account = checked.recorded.resource_account or role.arn.split(":")[4]
            policy = deployment.resource_policy(checked.resource, account, checked.recorded.region)
            if policy is not None:
                template = policy.where.template
                if template.startswith(f"{MANAGEMENT_STACK}-"):  # one Region's stack stands for all
                    template = f"{MANAGEMENT_STACK}-{deployment.config.central_region}"
                keys.append((template, policy.logical_id, "resource", policy.label, grant.statement_index))
    return tuple(keys)


def evaluate(deployment: Deployment, records: list[Recorded], simulator: Simulator) -> Evaluation:
    """Every recorded call, decided on the templates of `deployment`."""
    evaluation = Evaluation()
    pending: list[tuple[Checked, Request]] = []
    for recorded in sorted(records, key=lambda r: r.key()):
        checked, request = _prepare(deployment, recorded)
        if request is None:
            evaluation.checked.append(checked)
        else:
            pending.append((checked, request))
    outcomes = simulator.evaluate_all([request for _, request in pending])
    for (checked, _), outcome in zip(pending, outcomes, strict=True):
        if isinstance(outcome, SimulationError):
            evaluation.checked.append(
                Checked(
                    checked.recorded,
                    checked.role,
                    checked.resource,
                    None,
                    f"the simulator refused it: {outcome}",
                )
            )
            continue
        used = _used(deployment, checked, outcome) if outcome.allowed else ()
        evaluation.checked.append(
            Checked(checked.recorded, checked.role, checked.resource, outcome, None, used, checked.owned)
        )
    return evaluation
