"""The organization's policy for account instances: its model, validated strictly.

The policy is written in YAML and reviewed like code; at synth time it is converted to JSON and
shipped with the function, which validates it again when it starts (`guardrail.core.policy_file`
reads either). Unknown keys are errors so that a typo never silently weakens the guardrail.
"""

from __future__ import annotations

import difflib
import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from guardrail.core.approval import is_id_entry, path_segments
from guardrail.core.facts import AccountId
from guardrail.core.regions import IDENTITY_CENTER_REGIONS


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
# The sso-admin service model's pattern of an instance ARN (it holds neither account nor Region):
# the only ARNs an event or a listing gives, so the only ones an exemption can match.
INSTANCE_ARN_PATTERN = r"^arn:aws(-[a-z]{1,5}){0,3}:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$"
# Rule ids are checked against the catalogue when a policy file is read (`policy_file`): the
# catalogue is built on these types, so they cannot know it.
RuleId = str


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
            # Names and ids are compared exactly: blanks around one would silently approve nothing.
            for name in (entry,) if is_id_entry(entry.strip()) else path_segments(entry):
                if name != name.strip():
                    raise ValueError(
                        f"organizational_units[{index}]: {entry!r} has blanks around {name!r}, so it would "
                        f"approve nothing: remove them, or approve an OU whose name has them by its id (ou-…)"
                    )
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
        for field, says in (("ticket", "the ticket that approved it"), ("reason", "why it was granted")):
            if not getattr(self, field).strip():
                raise ValueError(f"{field}: missing: only blanks; an exemption names {says}")
        if self.instance_arn is not None and not re.fullmatch(INSTANCE_ARN_PATTERN, self.instance_arn):
            raise ValueError(
                f"instance_arn: {self.instance_arn!r} is not an IAM Identity Center instance ARN "
                "(arn:<partition>:sso:::instance/ssoins-<16 characters>), so the exemption would never apply"
            )


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
    grace_period_hours: Annotated[
        Annotated[int, Meta(ge=0, le=2160)] | None,
        Meta(description="Replaces the policy's `enforcement.grace_period_hours` for this rule."),
    ] = None


class Enforcement(_Strict, frozen=True):
    """How deletion is carried out, when rules ask for it in enforce mode."""

    grace_period_hours: Annotated[
        int,
        Meta(
            ge=0,
            le=2160,
            description="How long the owner has to fix the instance (or obtain an exemption) before it is "
            "deleted; 0 deletes as soon as the violation is seen.",
        ),
    ] = 0
    max_deletions_per_hour: Annotated[
        int,
        Meta(
            ge=0,
            le=1000,
            description="At most this many deletions an hour across the organization; past it the guardrail "
            "stops deleting, keeps alerting and raises one critical alert.",
        ),
    ] = 3
    delete_instances_with_applications: Annotated[
        bool,
        Meta(
            description="Whether an instance with applications attached may be deleted (deleting it breaks "
            "them); by default such an instance is only reported."
        ),
    ] = False


class Alerting(_Strict, frozen=True):
    """How alerts about repeated calls are grouped."""

    repeat_window_minutes: Annotated[
        int,
        Meta(
            ge=0,
            le=1440,
            description="Failed calls that repeat (the same caller, account, call, error and findings) "
            "within this many minutes of the one that alerted are counted and said once, on the series' "
            "next alert, instead of alerting each; 0 alerts every one.",
        ),
    ] = 60


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
    trusted_providers: Annotated[
        tuple[AccountId, ...],
        Meta(
            description="Accounts of product providers trusted to make instance calls with IAM temporary "
            "delegated access (`userIdentity.invokedByDelegate`): `delegated-access` does not fire for them."
        ),
    ] = ()
    enforcement: Annotated[
        Enforcement, Meta(description="How deletion is carried out when rules ask for it in enforce mode.")
    ] = msgspec.field(default_factory=Enforcement)
    rules: Annotated[
        dict[RuleId, RuleSettings],
        Meta(description="Per-rule overrides, keyed by rule id; rules not listed keep their defaults."),
    ] = msgspec.field(default_factory=dict)
    alerting: Annotated[Alerting, Meta(description="How alerts about repeated failed calls are grouped.")] = (
        msgspec.field(default_factory=Alerting)
    )

    def __post_init__(self) -> None:
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

    def grace_period_hours(self, rule_id: str) -> int:
        override = self.settings(rule_id).grace_period_hours
        return self.enforcement.grace_period_hours if override is None else override


_DEFAULT_SETTINGS = RuleSettings()


def policy_data(policy: Policy) -> dict[str, Any]:
    """The policy as JSON-ready data, which `policy_file.parse_policy` reads back into an equal policy."""
    data: dict[str, Any] = msgspec.to_builtins(policy)
    return data
