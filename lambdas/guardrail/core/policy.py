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

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic.config import JsonDict

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


def _known_rule(rule_id: str) -> str:
    """Checked per value so that the error names the very key or list item that is wrong."""
    from guardrail.core.rules import RULE_IDS  # the catalogue is the one authority on rule ids

    if rule_id not in RULE_IDS:
        raise ValueError(f"unknown rule id {rule_id!r}; known: {', '.join(sorted(RULE_IDS))}")
    return rule_id


def _rule_id_enum(schema: JsonDict) -> None:
    """Lists the rule ids in the JSON Schema (resolved late: the catalogue imports this module)."""
    from guardrail.core.rules import RULES

    schema["enum"] = [rule.id for rule in RULES]


RuleId = Annotated[str, AfterValidator(_known_rule), Field(json_schema_extra=_rule_id_enum)]


class _Strict(BaseModel):
    # Attribute docstrings become descriptions in the exported JSON Schema, shown by editors.
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Approvals(_Strict):
    """Where account instances are allowed.

    `organizational_units` takes OU ids (`ou-…`, or the root `r-…`) or name paths below the root
    (`Workloads/Prod`); approving an OU approves everything nested in it.
    """

    accounts: tuple[AccountId, ...] = ()
    """Account ids (12 digits, quoted in YAML) approved for an account instance."""
    organizational_units: tuple[OrgTarget, ...] = ()
    """OU ids (`ou-…`), the root id (`r-…`) or OU name paths below the root (`Workloads/Prod`)."""


class TagRequirements(_Strict):
    """Tags an account instance must carry to justify itself."""

    purpose_key: str = "purpose"
    """Tag holding the purpose; its value must be one of `allowed_purposes`."""
    allowed_purposes: tuple[Purpose, ...] = tuple(Purpose)
    """The AWS use cases accepted as a justification."""
    owner_key: str = "owner"
    """Tag naming who answers for the instance."""
    expiry_key: str = "expires"
    """Tag holding a trial's end date (YYYY-MM-DD)."""


class Exemption(_Strict):
    """A time-boxed, ticketed exception for one account or one instance."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["account_id"]}, {"required": ["instance_arn"]}]}
    )

    account_id: AccountId | None = None
    """The account exempted (give this or `instance_arn`, not both)."""
    instance_arn: str | None = None
    """The instance exempted (give this or `account_id`, not both)."""
    expires: date
    """Last day the exemption applies (YYYY-MM-DD); afterwards `exemption-expired` reports it."""
    ticket: str = Field(min_length=1)
    """The ticket that approved the exemption."""
    reason: str = Field(min_length=1)
    """Why the exemption was granted."""
    rules: tuple[RuleId, ...] = ()
    """Rule ids the exemption suppresses; empty means every rule."""

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.account_id is None) == (self.instance_arn is None):
            raise ValueError("an exemption names exactly one of account_id or instance_arn")
        return self


class RuleSettings(_Strict):
    """Overrides for one rule of the catalogue."""

    enabled: bool = True
    """A disabled rule is not evaluated."""
    severity: Severity | None = None
    """Replaces the rule's default severity."""
    action: RuleAction = "alert"
    """`remediate` deletes the offending instance in enforce mode (dry-run only reports it)."""


class Policy(_Strict):
    """Where IAM Identity Center account instances are allowed and what an allowed one must look like."""

    version: Literal[1] = 1
    """Schema version of the policy file."""
    mode: Mode = Mode.DRY_RUN
    """`dry-run` only reports what remediation would do; `enforce` lets it delete."""
    approved: Approvals = Approvals()
    """Where account instances are allowed; anything else raises `account-not-approved`."""
    allowed_regions: tuple[Region, ...] | None = None
    """Regions where an account instance may live; leave out to allow every Region."""
    tags: TagRequirements = TagRequirements()
    """Tags an account instance must carry to justify itself."""
    max_trial_days: int = Field(default=90, ge=1, le=3650)
    """The longest a trial may run, from the instance's creation to its expiry tag."""
    exemptions: tuple[Exemption, ...] = ()
    """Time-boxed, ticketed exceptions for one account or one instance."""
    rules: dict[RuleId, RuleSettings] = Field(default_factory=dict)
    """Per-rule overrides, keyed by rule id; rules not listed keep their defaults."""

    def settings(self, rule_id: str) -> RuleSettings:
        return self.rules.get(rule_id, RuleSettings())


class PolicyError(ValueError):
    """A policy that cannot be used, with every problem named by its field."""


def describe_errors(error: ValidationError) -> str:
    """Every problem on one line, each led by the dotted path of its field."""
    return "; ".join(
        f"{'.'.join(str(part) for part in issue['loc']) or '(top level)'}: {issue['msg']}"
        for issue in error.errors()
    )


def parse_policy(data: Any, *, source: str = "policy") -> Policy:
    try:
        return Policy.model_validate(data)
    except ValidationError as error:
        raise PolicyError(f"{source} is invalid: {describe_errors(error)}") from None


def json_schema() -> dict[str, Any]:
    """The policy file's JSON Schema, for editors (validation and completion) and reviewers."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **Policy.model_json_schema()}


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
