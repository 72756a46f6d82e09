"""The organization's policy for account instances, validated strictly.

The policy is written in YAML and reviewed like code; at synth time it is converted to JSON and
shipped with the function, which validates it again when it starts. Unknown keys are errors so
that a typo never silently weakens the guardrail.
"""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from guardrail.core.facts import AccountId


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class Mode(StrEnum):
    DRY_RUN = "dry-run"
    ENFORCE = "enforce"


class Purpose(StrEnum):
    """The three cases AWS gives for using an account instance instead of the organization one."""

    TRIAL = "trial"
    NO_ORG_ADOPTION = "no-org-adoption"
    ISOLATED_USERS = "isolated-users"


RuleAction = Literal["alert", "remediate"]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")]
OrgTarget = Annotated[str, StringConstraints(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Approvals(_Strict):
    """Where account instances are allowed.

    `organizational_units` takes OU ids (`ou-…`, or the root `r-…`) or name paths below the root
    (`Workloads/Prod`); approving an OU approves everything nested in it.
    """

    accounts: tuple[AccountId, ...] = ()
    organizational_units: tuple[OrgTarget, ...] = ()


class TagRequirements(_Strict):
    """Tags an account instance must carry to justify itself."""

    purpose_key: str = "purpose"
    allowed_purposes: tuple[Purpose, ...] = tuple(Purpose)
    owner_key: str = "owner"
    expiry_key: str = "expires"


class Exemption(_Strict):
    """A time-boxed, ticketed exception for one account or one instance."""

    account_id: AccountId | None = None
    instance_arn: str | None = None
    expires: date
    ticket: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    # Rule ids the exemption suppresses; empty means every rule.
    rules: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.account_id is None) == (self.instance_arn is None):
            raise ValueError("an exemption names exactly one of account_id or instance_arn")
        return self


class RuleSettings(_Strict):
    enabled: bool = True
    severity: Severity | None = None
    action: RuleAction = "alert"


class Policy(_Strict):
    """The whole policy file."""

    version: Literal[1] = 1
    mode: Mode = Mode.DRY_RUN
    approved: Approvals = Approvals()
    # None allows every Region; a list restricts account instances to those Regions.
    allowed_regions: tuple[Region, ...] | None = None
    tags: TagRequirements = TagRequirements()
    max_trial_days: int = Field(default=90, ge=1, le=3650)
    exemptions: tuple[Exemption, ...] = ()
    rules: dict[str, RuleSettings] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_rules(self) -> Self:
        from guardrail.core.rules import RULE_IDS  # the catalogue is the one authority on rule ids

        unknown = sorted(
            {*self.rules, *(rule for exemption in self.exemptions for rule in exemption.rules)} - RULE_IDS
        )
        if unknown:
            raise ValueError(f"unknown rule id(s) {unknown}; known: {sorted(RULE_IDS)}")
        return self

    def settings(self, rule_id: str) -> RuleSettings:
        return self.rules.get(rule_id, RuleSettings())


class PolicyError(ValueError):
    """A policy that cannot be used, with every problem named by its field."""


def parse_policy(data: Any, *, source: str = "policy") -> Policy:
    try:
        return Policy.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or '(top level)'}: {issue['msg']}"
            for issue in error.errors()
        )
        raise PolicyError(f"{source} is invalid: {problems}") from None


def load_policy(path: str | Path) -> Policy:
    """Read a policy from YAML (for people) or JSON (as shipped to the function)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(f"cannot read policy {path}: {error.strerror}") from None
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise PolicyError(f"{path} is not valid JSON: {error}") from None
    else:
        import yaml  # only people's tooling reads YAML; the function reads the JSON it is shipped

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise PolicyError(f"{path} is not valid YAML: {error}") from None
    return parse_policy(data if data is not None else {}, source=str(path))
