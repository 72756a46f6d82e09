"""The organization's policy for account instances, validated strictly.

The policy is written in YAML and reviewed like code; at synth time it is converted to JSON and
shipped with the function, which validates it again when it starts. Unknown keys are errors so
that a typo never silently weakens the guardrail.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from guardrail.core.approval import is_id_entry, path_segments
from guardrail.core.facts import AccountId
from guardrail.core.regions import IDENTITY_CENTER_REGIONS
from guardrail.core.strict import ConversionError, convert, read_yaml


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
Region = Annotated[str, Meta(min_length=1)]  # checked against IDENTITY_CENTER_REGIONS
OrgTarget = Annotated[str, Meta(min_length=1)]
# Organizations allows OU names of 1 to 128 characters.
MAX_OU_NAME = 128
# Rule ids are checked against the catalogue after conversion (the catalogue imports this module).
RuleId = str


def check_rule_ids(fields: Mapping[str, str]) -> None:
    """Raise if a rule id is not in the catalogue; `fields` maps where each id was found to the id."""
    from guardrail.core.rules import RULE_IDS  # the catalogue is the one authority on rule ids

    for field, rule_id in fields.items():
        if rule_id not in RULE_IDS:
            raise ValueError(f"{field}: unknown rule id {rule_id!r}; known: {', '.join(sorted(RULE_IDS))}")


class _Strict(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Unknown keys are errors, so that a typo never silently weakens the guardrail."""


class Approvals(_Strict, frozen=True):
    """Where account instances are allowed.

    `organizational_units` takes OU ids (`ou-…`, or the root `r-…`) or name paths below the root
    (`Workloads/Prod`); approving an OU approves everything nested in it. An entry starting with
    `ou-` or `r-` is an id and matches ids only; any other is a path of OU names, compared name by
    name (`guardrail.core.approval`): an OU whose name holds `/` can be approved by id only.
    """

    accounts: Annotated[
        tuple[AccountId, ...],
        Meta(description="Account ids (12 digits, quoted in YAML) approved for an account instance."),
    ] = ()
    organizational_units: Annotated[
        tuple[OrgTarget, ...],
        Meta(
            description="OU ids (`ou-…`), the root id (`r-…`) or OU name paths below the root (`Workloads/Prod`)."
        ),
    ] = ()

    def __post_init__(self) -> None:
        for index, entry in enumerate(self.organizational_units):
            if is_id_entry(entry):
                continue
            segments = path_segments(entry)
            if "" in segments:
                raise ValueError(
                    f"organizational_units[{index}]: {entry!r} has an empty OU name; write a path of OU "
                    "names below the root such as 'Workloads/Prod', or an OU id (ou-…)"
                )
            if any(len(name) > MAX_OU_NAME for name in segments):
                raise ValueError(
                    f"organizational_units[{index}]: an OU name is at most {MAX_OU_NAME} characters"
                )


class TagRequirements(_Strict, frozen=True):
    """Tags an account instance must carry to justify itself."""

    purpose_key: Annotated[
        str, Meta(description="Tag holding the purpose; its value must be one of `allowed_purposes`.")
    ] = "purpose"
    allowed_purposes: Annotated[
        tuple[Purpose, ...], Meta(description="The AWS use cases accepted as a justification.")
    ] = tuple(Purpose)
    owner_key: Annotated[str, Meta(description="Tag naming who answers for the instance.")] = "owner"
    expiry_key: Annotated[
        str,
        Meta(
            description="Tag holding a trial's end date: YYYY-MM-DD, or an RFC 3339 timestamp (its UTC date)."
        ),
    ] = "expires"


class Exemption(_Strict, frozen=True):
    """A time-boxed, ticketed exception for one account or one instance."""

    expires: Annotated[
        date,
        Meta(
            description="Last day the exemption applies (YYYY-MM-DD); afterwards `exemption-expired` reports it."
        ),
    ]
    ticket: Annotated[str, Meta(min_length=1, description="The ticket that approved the exemption.")]
    reason: Annotated[str, Meta(min_length=1, description="Why the exemption was granted.")]
    account_id: Annotated[
        AccountId | None, Meta(description="The account exempted (give this or `instance_arn`, not both).")
    ] = None
    instance_arn: Annotated[
        str | None, Meta(description="The instance exempted (give this or `account_id`, not both).")
    ] = None
    rules: Annotated[
        tuple[RuleId, ...], Meta(description="Rule ids the exemption suppresses; empty means every rule.")
    ] = ()

    def __post_init__(self) -> None:
        if (self.account_id is None) == (self.instance_arn is None):
            raise ValueError("an exemption names exactly one of account_id or instance_arn")
        check_rule_ids({f"rules[{i}]": rule_id for i, rule_id in enumerate(self.rules)})


class RuleSettings(_Strict, frozen=True):
    """Overrides for one rule of the catalogue."""

    enabled: Annotated[bool, Meta(description="A disabled rule is not evaluated.")] = True
    severity: Annotated[Severity | None, Meta(description="Replaces the rule's default severity.")] = None
    action: Annotated[
        RuleAction,
        Meta(
            description="`remediate` deletes the offending instance in enforce mode (dry-run only reports it)."
        ),
    ] = "alert"


class Policy(_Strict, frozen=True):
    """Where IAM Identity Center account instances are allowed and what an allowed one must look like."""

    version: Annotated[Literal[1], Meta(description="Schema version of the policy file.")] = 1
    mode: Annotated[
        Mode, Meta(description="`dry-run` only reports what remediation would do; `enforce` lets it delete.")
    ] = Mode.DRY_RUN
    approved: Annotated[
        Approvals,
        Meta(description="Where account instances are allowed; anything else raises `account-not-approved`."),
    ] = msgspec.field(default_factory=Approvals)
    allowed_regions: Annotated[
        tuple[Region, ...] | None,
        Meta(description="Regions where an account instance may live; leave out to allow every Region."),
    ] = None
    tags: Annotated[
        TagRequirements, Meta(description="Tags an account instance must carry to justify itself.")
    ] = msgspec.field(default_factory=TagRequirements)
    max_trial_days: Annotated[
        int,
        Meta(
            ge=1,
            le=3650,
            description="The longest a trial may run, from the instance's creation to its expiry tag.",
        ),
    ] = 90
    exemptions: Annotated[
        tuple[Exemption, ...],
        Meta(description="Time-boxed, ticketed exceptions for one account or one instance."),
    ] = ()
    rules: Annotated[
        dict[RuleId, RuleSettings],
        Meta(description="Per-rule overrides, keyed by rule id; rules not listed keep their defaults."),
    ] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        check_rule_ids({f"rules.{rule_id}": rule_id for rule_id in self.rules})
        for index, region in enumerate(self.allowed_regions or ()):
            if region not in IDENTITY_CENTER_REGIONS:
                close = difflib.get_close_matches(region, sorted(IDENTITY_CENTER_REGIONS), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise ValueError(
                    f"allowed_regions[{index}]: {region!r} is not a Region where IAM Identity Center "
                    f"is available{hint}"
                )

    def settings(self, rule_id: str) -> RuleSettings:
        return self.rules.get(rule_id, _DEFAULT_SETTINGS)


_DEFAULT_SETTINGS = RuleSettings()


class PolicyError(ValueError):
    """A policy that cannot be used, with every problem named by its field."""


def parse_policy(data: Any, *, source: str = "policy") -> Policy:
    """Strict conversion: wrong types, unknown keys and broken constraints name their field."""
    try:
        _check_rule_settings(data)
        return convert(data, Policy)
    except ConversionError as error:
        raise PolicyError(f"{source} is invalid: {error}") from None


def _check_rule_settings(data: Any) -> None:
    """Each rule's settings on their own first: an error inside a dict would not name its key."""
    rules = data.get("rules") if isinstance(data, dict) else None
    for rule_id, settings in rules.items() if isinstance(rules, dict) else ():
        try:
            convert(settings, RuleSettings)
        except ConversionError as error:
            raise error.within(f"rules.{rule_id}") from None


def policy_data(policy: Policy) -> dict[str, Any]:
    """The policy as JSON-ready data, which `parse_policy` reads back into an equal policy."""
    data: dict[str, Any] = msgspec.to_builtins(policy)
    return data


def json_schema() -> dict[str, Any]:
    """The policy file's JSON Schema, for editors (validation and completion) and reviewers."""
    from guardrail.core.rules import RULES

    # Through JSON and back, so that defaults are plain JSON values (lists, not tuples).
    definitions = msgspec.json.decode(msgspec.json.encode(msgspec.json.schema(Policy)))["$defs"]
    rule_ids = {"enum": [rule.id for rule in RULES]}
    definitions["Exemption"]["properties"]["rules"]["items"] |= rule_ids
    definitions["Exemption"]["oneOf"] = [{"required": ["account_id"]}, {"required": ["instance_arn"]}]
    policy = definitions.pop("Policy")  # at the top, where editors look for the document's keys
    policy["properties"]["rules"]["propertyNames"] = rule_ids
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **policy, "$defs": definitions}


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
        import yaml

        try:
            data = read_yaml(text)
        except yaml.YAMLError as error:
            raise PolicyError(f"{path} is not valid YAML: {error}") from None
    if data is None or data == {}:
        # Every key has a default, but an empty file is a mistake, not a policy of defaults.
        raise PolicyError(f"{path} is empty: a policy states at least its `version: 1`")
    return parse_policy(data, source=str(path))
