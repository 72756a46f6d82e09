"""The deployment configuration of the guardrail, validated before anything is synthesized.

A typo in an account id or a Region would otherwise surface only at deploy time, or never (a
guardrail that watches the wrong Regions fails silently), so every field is checked strictly and
unknown keys are errors. No AWS call is made: the list of Regions comes from botocore's bundled
endpoint data.
"""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import yaml
from msgspec import Meta

from guardrail.core.policy import Mode, Policy
from guardrail.core.policy_file import load_policy
from guardrail.core.regions import REGIONS_ENABLED_BY_DEFAULT
from guardrail.core.strict import ConversionError, convert, read_utf8
from guardrail.sweep.worker import ACCOUNT_DEADLINE_SECONDS, CONCURRENT_ACCOUNTS

AccountId = Annotated[str, Meta(pattern=r"^\d{12}$")]
OrganizationId = Annotated[str, Meta(pattern=r"^o-[a-z0-9]{10,32}$")]
Email = Annotated[str, Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
RoleName = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_+=,.@-]+$", max_length=64)]
RoleArn = Annotated[
    str, Meta(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9_+=,.@/-]+$", max_length=2048)
]
# An IAM role or user ARN, with IAM's wildcards (`*`, `?`) as an aws:PrincipalArn condition matches it.
PrincipalArnPattern = Annotated[
    str, Meta(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[A-Za-z0-9_+=,.@/*?-]+$", max_length=2048)
]
BusName = Annotated[str, Meta(pattern=r"^[A-Za-z0-9._-]+$", max_length=256)]
# Organizations ids, as the Organizations API documents their patterns.
ROOT_ID_PATTERN = r"r-[0-9a-z]{4,32}"
OU_ID_PATTERN = r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}"
RootId = Annotated[str, Meta(pattern=rf"^{ROOT_ID_PATTERN}$")]
OrgUnitOrRootId = Annotated[str, Meta(pattern=rf"^(?:{ROOT_ID_PATTERN}|{OU_ID_PATTERN})$")]
PolicyTargetId = Annotated[str, Meta(pattern=rf"^(?:{ROOT_ID_PATTERN}|{OU_ID_PATTERN}|\d{{12}})$")]
StackSetCallAs = Literal["DELEGATED_ADMIN", "SELF"]
# A role name with IAM's wildcards (`*`, `?`), as an SCP's aws:PrincipalArn condition matches it.
RoleNamePattern = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_+=,.@*?-]+$", max_length=64)]

DEFAULT_MEMBER_ROLE_NAME = "IdentityCenterGuardrailMemberRole"
DEFAULT_DELETER_ROLE_NAME = "IdentityCenterGuardrailDeleterRole"
DEFAULT_CENTRAL_BUS_NAME = "identity-center-guardrail"
DEFAULT_DETECT_ROLE_NAME = "IdentityCenterGuardrailDetectFunction"
DEFAULT_FORWARDING_ROLE_NAME = "IdentityCenterGuardrailEventForwarder"
DEFAULT_SWEEP_PLANNER_ROLE_NAME = "IdentityCenterGuardrailSweepPlanner"
DEFAULT_SWEEP_WORKER_ROLE_NAME = "IdentityCenterGuardrailSweepWorker"
# The sweep worker's Lambda timeout (infra/constructs/sweep_functions.py deploys it with this).
SWEEP_WORKER_TIMEOUT_SECONDS = 600
# What a batch may not spend on reading accounts: the cold start, the snapshot, the report.
SWEEP_WORKER_MARGIN_SECONDS = 60
# Lambda's default concurrency quota per account and Region; it keeps 100 of it unreserved. New
# accounts may start with a lower quota, where any reservation can fail the deployment, so the
# detect function reserves none unless `detect_reserved_concurrency` asks for it.
LAMBDA_DEFAULT_CONCURRENCY = 1000
LAMBDA_UNRESERVED_MINIMUM = 100
# The execution roles that deploy the guardrail's stacks: CDK's CloudFormation execution role (the
# central stack, `cdk bootstrap`'s default name) and the role service-managed StackSets create in
# each target account (the member stacks).
DEFAULT_DEPLOYMENT_ROLE_PATTERNS = ("cdk-*-cfn-exec-role-*",)
DEFAULT_STACKSET_EXECUTION_ROLE_PATTERNS = ("stacksets-exec-*",)
# The most accounts a batch may hold: the worker reads CONCURRENT_ACCOUNTS at a time, each within
# ACCOUNT_DEADLINE_SECONDS, so a batch of unresponsive accounts must still end within the timeout.
MAX_SWEEP_BATCH_SIZE = CONCURRENT_ACCOUNTS * math.floor(
    (SWEEP_WORKER_TIMEOUT_SECONDS - SWEEP_WORKER_MARGIN_SECONDS) / ACCOUNT_DEADLINE_SECONDS
)
# A Distributed Map runs at most this many child executions at once.
MAX_MAP_CONCURRENCY = 10_000
# EventBridge Scheduler's expressions: cron with six fields, rate with a value and a unit, at a time.
_CRON = re.compile(r"^cron\((\S+ ){5}\S+\)$")
_RATE = re.compile(r"^rate\((?P<value>[1-9]\d*) (?P<unit>minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$")
PROJECT_MARKER = "cdk.json"


class ConfigError(ValueError):
    """A configuration that cannot be deployed, the problem named by its field first."""


@cache
def known_regions(service: str = "sso") -> tuple[str, ...]:
    """Regions of the `aws` partition where botocore's endpoint data lists `service` (offline)."""
    import boto3  # imported late: only config validation needs it

    return tuple(boto3.session.Session().get_available_regions(service, partition_name="aws"))


def _check_region(field: str, region: str, service: str = "sso") -> None:
    if region not in known_regions(service):
        raise ValueError(f"{field}: '{region}' is not a Region where {service} is available")


class _Strict(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Unknown keys are errors, so that a misspelt setting is never silently ignored.

    Keyword-only, as the settings are named in the file: a field with a default may come before
    one without. Subclasses repeat `frozen` and `kw_only` for mypy.
    """


class ScpConfig(_Strict, frozen=True, kw_only=True):
    """The preventive layer: an SCP denying `sso:CreateInstance` outside what the policy approves.

    Off by default, because attaching an SCP changes what every account below its targets may do:
    switch it on once the alerts show that no approved team is caught by it. `targets` are the
    root (`r-…`), OUs (`ou-…`) or accounts (12 digits) the SCP is attached to.
    """

    enabled: bool = False
    targets: tuple[PolicyTargetId, ...] = ()


class GuardConfig(_Strict, frozen=True, kw_only=True):
    """The guardrail's own protection: a second SCP, deployed by the management stack. Off by default.

    - `central_account`: in the central account, nobody but `deployment_role_patterns` (CDK's
      CloudFormation execution role) may create, change, delete or pass the guardrail's roles;
    - `member_accounts`: in the member accounts, nobody but `stackset_execution_role_patterns` (the
      role service-managed StackSets deploy with) may change or delete the member role, the
      forwarding role, the forwarding rules or their dead-letter queues.

    The patterns are role names with IAM's wildcards, in the account the statement protects.
    """

    central_account: bool = False
    member_accounts: bool = False
    deployment_role_patterns: Annotated[tuple[RoleNamePattern, ...], Meta(min_length=1)] = (
        DEFAULT_DEPLOYMENT_ROLE_PATTERNS
    )
    stackset_execution_role_patterns: Annotated[tuple[RoleNamePattern, ...], Meta(min_length=1)] = (
        DEFAULT_STACKSET_EXECUTION_ROLE_PATTERNS
    )

    @property
    def enabled(self) -> bool:
        return self.central_account or self.member_accounts

    def __post_init__(self) -> None:
        for field in ("deployment_role_patterns", "stackset_execution_role_patterns"):
            patterns: tuple[str, ...] = getattr(self, field)
            wildcards_only = [p for p in patterns if not p.strip("*?")]
            if wildcards_only:
                raise ValueError(f"{field}: {wildcards_only} would except every role, and protect nothing")
            duplicates = sorted({p for p in patterns if patterns.count(p) > 1})
            if duplicates:
                raise ValueError(f"{field}: listed more than once: {duplicates}")


class SweepConfig(_Strict, frozen=True, kw_only=True):
    """The organization-wide sweep: a Step Functions run over every account, on a schedule.

    `enabled: false` turns the schedule off; the state machine stays deployed, for on-demand runs.
    `schedule` and `time_zone` are an EventBridge Scheduler expression and an IANA time zone.
    """

    enabled: bool = True
    schedule: str = "cron(0 6 * * ? *)"
    time_zone: str = "UTC"
    # Days after which an unchanged violation is alerted again.
    reminder_days: int = 7
    # The summary lists the trials whose expiry date is within this many days.
    ending_within_days: int = 14
    # Accounts per worker invocation (the Distributed Map's ItemBatcher).
    batch_size: int = 25
    # Worker invocations running at once.
    max_concurrency: int = 40
    # Share of batches that may fail before the run fails, a whole percentage (as the ASL schema
    # that asl-validator checks against has it).
    tolerated_failure_percentage: int = 10
    # Days the run files (snapshot, accounts, batch reports, map results, summary) are kept.
    report_retention_days: int = 90

    def __post_init__(self) -> None:
        if not self.schedule.startswith(("cron(", "rate(", "at(")):
            raise ValueError(
                f"schedule: '{self.schedule}' must start with cron(, rate( or at(, an EventBridge "
                "Scheduler expression such as cron(0 6 * * ? *)"
            )
        if not (_CRON.match(self.schedule) or _RATE.match(self.schedule) or _AT.match(self.schedule)):
            raise ValueError(
                f"schedule: '{self.schedule}' is not a Scheduler expression: cron(minutes hours "
                "day-of-month month day-of-week year), rate(value unit) or at(yyyy-mm-ddThh:mm:ss)"
            )
        rate = _RATE.match(self.schedule)
        if rate and (rate["value"] == "1") == rate["unit"].endswith("s"):
            raise ValueError(
                f"schedule: '{self.schedule}': the unit is singular for 1 and plural otherwise, as in "
                "rate(1 day) or rate(12 hours)"
            )
        _check_time_zone(self.time_zone)
        if self.reminder_days < 1:
            raise ValueError(f"reminder_days: must be at least 1, got {self.reminder_days}")
        if self.ending_within_days < 0:
            raise ValueError(f"ending_within_days: must be 0 or more, got {self.ending_within_days}")
        if not 1 <= self.batch_size <= MAX_SWEEP_BATCH_SIZE:
            raise ValueError(
                f"batch_size: must be between 1 and {MAX_SWEEP_BATCH_SIZE}, got {self.batch_size}: a "
                f"worker reads {CONCURRENT_ACCOUNTS} accounts at a time, each within "
                f"{ACCOUNT_DEADLINE_SECONDS:g} s, and must finish within its {SWEEP_WORKER_TIMEOUT_SECONDS} s "
                "timeout"
            )
        if not 1 <= self.max_concurrency <= MAX_MAP_CONCURRENCY:
            raise ValueError(
                f"max_concurrency: must be between 1 and {MAX_MAP_CONCURRENCY}, got {self.max_concurrency}"
            )
        if not 0 <= self.tolerated_failure_percentage <= 100:
            raise ValueError(
                "tolerated_failure_percentage: must be a percentage from 0 to 100, got "
                f"{self.tolerated_failure_percentage}"
            )
        if self.report_retention_days < 1:
            raise ValueError(f"report_retention_days: must be at least 1, got {self.report_retention_days}")


class ChatConfig(_Strict, frozen=True, kw_only=True):
    """Alerts in chat: a second SNS topic, which Amazon Q Developer in chat applications (formerly
    AWS Chatbot) subscribes to.

    The central stack creates the topic without subscriptions and outputs its ARN (`ChatTopicArn`):
    connect a Slack channel or Microsoft Teams channel configuration to it. Off by default.
    """

    enabled: bool = False


class SecurityHubConfig(_Strict, frozen=True, kw_only=True):
    """Alerts as AWS Security Hub CSPM findings, imported into the central account's Security Hub
    CSPM in the central Region (which must have it enabled). Off by default."""

    enabled: bool = False


def _check_time_zone(name: str) -> None:
    if name == "UTC":
        return
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"time_zone: '{name}' is not an IANA time zone such as UTC or Europe/Paris"
        ) from None


class GuardrailConfig(_Strict, frozen=True, kw_only=True):
    """Where the guardrail runs, what it watches and whom it tells.

    `policy_file` may be absolute. A relative path is resolved against the project root: the
    nearest folder at or above the configuration file that holds `cdk.json` (so the example's
    `policy/policy.yaml` works from `config/guardrail.yaml`); a configuration file outside any
    project resolves it against its own folder. `load_config` stores the resolved absolute path.
    """

    organization_id: OrganizationId
    management_account_id: AccountId
    # The security tooling account that receives events and runs the function.
    central_account_id: AccountId
    central_region: str
    # Regions where account instances are looked for; every Region with Identity Center by default,
    # opt-in Regions included: an account that has not enabled one cannot create an instance there.
    regions: Annotated[tuple[str, ...], Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: known_regions("sso")
    )
    # Regions the management account has enabled; `management_account_regions` gives the default.
    management_enabled_regions: tuple[str, ...] | None = None
    alert_emails: Annotated[tuple[Email, ...], Meta(min_length=1)]
    policy_file: Path
    member_role_name: RoleName = DEFAULT_MEMBER_ROLE_NAME
    # The role that deletes instances, in every member account, created only with
    # `remediation_enabled` and trusted only by the detect function's role; the member role reads.
    deleter_role_name: RoleName = DEFAULT_DELETER_ROLE_NAME
    # A read-only role in the management account for Organizations reads. Without it the function's
    # own role gets the read actions, which only work in a delegated-administrator account.
    organizations_role_arn: RoleArn | None = None
    # Region of the organization instance of Identity Center, if the organization has one.
    organization_instance_region: str | None = None
    central_bus_name: BusName = DEFAULT_CENTRAL_BUS_NAME
    # Names the central stack gives the detect function's role and the member stacks give the role
    # EventBridge forwards with: other accounts' trust and rule policies name them, so they are fixed.
    detect_role_name: RoleName = DEFAULT_DETECT_ROLE_NAME
    forwarding_role_name: RoleName = DEFAULT_FORWARDING_ROLE_NAME
    # The sweep's planner reads Organizations through the reader role, its worker reads accounts
    # through the member role: both roles' trust policies name these.
    sweep_planner_role_name: RoleName = DEFAULT_SWEEP_PLANNER_ROLE_NAME
    sweep_worker_role_name: RoleName = DEFAULT_SWEEP_WORKER_ROLE_NAME
    # The organization's root; needed when the StackSets target the root (no stackset_targets) or
    # when the SCP excepts OUs the policy approves by id (aws:PrincipalOrgPaths starts at the root).
    root_id: RootId | None = None
    # OUs (or the root) whose accounts, present and future, get the member stacks; the root if empty.
    stackset_targets: tuple[OrgUnitOrRootId, ...] = ()
    # DELEGATED_ADMIN: the central account is a StackSets delegated administrator and the StackSets
    # live in the central stack. SELF: they live in the management stack, deployed by the management
    # account itself (the only other account allowed to create service-managed StackSets).
    stackset_call_as: StackSetCallAs = "DELEGATED_ADMIN"
    # Creates the deleter role (sso:DeleteInstance) in member accounts, so that `enforce` mode can
    # delete instances.
    remediation_enabled: bool = False
    # The most detect functions that run at once (Lambda reserved concurrency): what a flood of
    # events (failed CreateInstance calls cost nothing to make) can cost, and the most Organizations
    # and member-account reads it makes at once. Events beyond it wait: Lambda retries a throttled
    # asynchronous invocation for up to the function's six-hour maximum event age. None (the
    # default) reserves nothing: a reservation must leave 100 unreserved executions in the account
    # and Region, which a new account's quota may not have, and the deployment would fail.
    detect_reserved_concurrency: int | None = None
    # Who besides the sweep's own roles may read the reports bucket (run files list account ids and
    # the inventory): IAM roles or users of the central account, by ARN with * and ? wildcards.
    reports_readers: tuple[PrincipalArnPattern, ...] = ()
    scp: ScpConfig = msgspec.field(default_factory=ScpConfig)
    guard: GuardConfig = msgspec.field(default_factory=GuardConfig)
    sweep: SweepConfig = msgspec.field(default_factory=SweepConfig)
    # Channels besides the alert topic, which always gets every alert.
    chat: ChatConfig = msgspec.field(default_factory=ChatConfig)
    security_hub: SecurityHubConfig = msgspec.field(default_factory=SecurityHubConfig)

    @property
    def organizations_role(self) -> tuple[str, str] | None:
        """The path and name of the Organizations reader role, when one is configured."""
        if self.organizations_role_arn is None:
            return None
        path, _, name = self.organizations_role_arn.split(":role", 1)[1].rpartition("/")
        return f"{path}/", name

    @property
    def management_account_regions(self) -> tuple[str, ...]:
        """The Regions the management account has enabled, as configured or as known without asking.

        Known without asking: the Regions enabled by default in every account, the central Region
        (the management stack is deployed there) and the organization instance's Region (it exists
        there). An opt-in Region beyond those must be listed in `management_enabled_regions`.
        """
        if self.management_enabled_regions is not None:
            return self.management_enabled_regions
        in_use = {self.central_region, self.organization_instance_region}
        return tuple(r for r in known_regions("sso") if r in REGIONS_ENABLED_BY_DEFAULT or r in in_use)

    @property
    def management_forwarding_regions(self) -> tuple[str, ...]:
        """The watched Regions the management account has enabled, in the order of `regions`.

        `cdk deploy` fails in a Region the account has not enabled, and nothing is lost without a
        rule there: the management account cannot create account instances (CreateInstance is
        refused there), and no call at all can be made in a Region it has not enabled.
        """
        enabled = set(self.management_account_regions)
        return tuple(r for r in self.regions if r in enabled)

    @property
    def deployment_targets(self) -> tuple[str, ...]:
        """The OU ids (or root id) the StackSets deploy to."""
        if self.stackset_targets:
            return self.stackset_targets
        assert self.root_id is not None  # checked by __post_init__
        return (self.root_id,)

    def __post_init__(self) -> None:
        """The checks across fields, once every field has its type; each message starts with its field."""
        if self.central_account_id == self.management_account_id:
            raise ValueError(
                "central_account_id: must differ from management_account_id; run the guardrail in a "
                "security tooling account, not in the management account"
            )
        _check_region("central_region", self.central_region, "lambda")
        for region in self.regions:
            _check_region("regions", region)
        duplicates = sorted({r for r in self.regions if self.regions.count(r) > 1})
        if duplicates:
            raise ValueError(f"regions: listed more than once: {duplicates}")
        if self.organization_instance_region is not None:
            _check_region("organization_instance_region", self.organization_instance_region)
            if self.organizations_role_arn is None:
                # The organization instance belongs to the management account; ListInstances shows it
                # there, and no other account is known to see it.
                raise ValueError(
                    "organization_instance_region: reading the organization instance needs "
                    "organizations_role_arn, a role in the management account (the management stack "
                    "creates it); without it the check against the organization instance never runs"
                )
        if self.organizations_role_arn is not None:
            role_account = self.organizations_role_arn.split(":")[4]
            if role_account != self.management_account_id:
                raise ValueError(
                    f"organizations_role_arn: the role is in account {role_account}, not in the "
                    f"management account {self.management_account_id}"
                )
        maximum = LAMBDA_DEFAULT_CONCURRENCY - LAMBDA_UNRESERVED_MINIMUM
        reserved = self.detect_reserved_concurrency
        if reserved is not None and not 1 <= reserved <= maximum:
            raise ValueError(
                f"detect_reserved_concurrency: must be between 1 and {maximum}, got "
                f"{reserved}: 0 would stop the function, and Lambda keeps "
                f"{LAMBDA_UNRESERVED_MINIMUM} of an account's concurrency ({LAMBDA_DEFAULT_CONCURRENCY} by "
                "default) unreserved; leave it out to reserve nothing"
            )
        foreign = [arn for arn in self.reports_readers if arn.split(":")[4] != self.central_account_id]
        if foreign:
            raise ValueError(
                f"reports_readers: {foreign} are not in the central account {self.central_account_id}, "
                "where the reports bucket is"
            )
        if self.central_bus_name == "default" or self.central_bus_name.startswith("aws."):
            raise ValueError("central_bus_name: 'default' and names starting with 'aws.' are reserved")
        if self.security_hub.enabled and self.central_region not in known_regions("securityhub"):
            raise ValueError(
                f"security_hub.enabled: Security Hub CSPM is not available in central_region "
                f"'{self.central_region}', where the findings would be imported"
            )
        self._check_management_regions()
        self._check_organization_targets()

    def _check_management_regions(self) -> None:
        org_region = self.organization_instance_region
        if org_region is not None and org_region not in self.regions:
            raise ValueError(
                f"organization_instance_region: '{org_region}' is not in regions; a DeleteInstance of "
                "the organization instance there would never be seen"
            )
        listed = self.management_enabled_regions
        if listed is None:
            return
        for region in listed:
            if region != self.central_region:
                _check_region("management_enabled_regions", region)
        duplicates = sorted({r for r in listed if listed.count(r) > 1})
        if duplicates:
            raise ValueError(f"management_enabled_regions: listed more than once: {duplicates}")
        if self.central_region not in listed:
            raise ValueError(
                f"management_enabled_regions: must include central_region '{self.central_region}', "
                "where the management stack is deployed"
            )
        if org_region is not None and org_region not in listed:
            raise ValueError(
                f"management_enabled_regions: must include organization_instance_region '{org_region}', "
                "where the organization instance is and its DeleteInstance is called"
            )

    def _check_organization_targets(self) -> None:
        if not self.stackset_targets and self.root_id is None:
            raise ValueError(
                "root_id: needed to deploy the member stacks to the whole organization; give the root "
                "id (r-…) or list the OUs in stackset_targets"
            )
        if self.scp.enabled and not self.scp.targets:
            raise ValueError("scp.targets: name the root, OUs or accounts to attach the enabled SCP to")
        for field, ids in (("stackset_targets", self.stackset_targets), ("scp.targets", self.scp.targets)):
            duplicates = sorted({t for t in ids if ids.count(t) > 1})
            if duplicates:
                raise ValueError(f"{field}: listed more than once: {duplicates}")
        for field, ids in (("stackset_targets", self.stackset_targets), ("scp.targets", self.scp.targets)):
            if self.root_id is None:
                continue
            # An OU id embeds its root's suffix (ou-<root>-…): a mismatch is a typo or another organization.
            foreign = [i for i in ids if i.startswith(("r-", "ou-")) and i.split("-")[1] != self.root_id[2:]]
            if foreign:
                raise ValueError(f"{field}: {foreign} do not belong to the root {self.root_id}")
        if self.management_account_id in self.scp.targets:
            raise ValueError(
                f"scp.targets: {self.management_account_id} is the management account, where SCPs never apply"
            )
        self._check_role_names()

    def _check_role_names(self) -> None:
        """Each role other accounts name in their policies has a name of its own."""
        named: dict[str, str] = {}
        for field in (
            "member_role_name",
            "deleter_role_name",
            "forwarding_role_name",
            "detect_role_name",
            "sweep_planner_role_name",
            "sweep_worker_role_name",
        ):
            name = getattr(self, field)
            if name in named:
                raise ValueError(
                    f"{field}: '{name}' is also {named[name]}; member_role_name, deleter_role_name, "
                    "forwarding_role_name, detect_role_name, sweep_planner_role_name and "
                    "sweep_worker_role_name must differ"
                )
            named[name] = field

    def load_policy(self) -> Policy:
        """Validate the policy file, and that this deployment can do what it asks.

        A policy in enforce mode with rules set to `remediate` needs `remediation_enabled`, which
        creates the deleter role in member accounts; failing here keeps the two from drifting apart.
        Raises `guardrail.core.policy.PolicyError` or `ConfigError`.
        """
        policy = load_policy(self.policy_file)
        remediating = sorted(
            rule for rule, settings in policy.rules.items() if settings.action == "remediate"
        )
        if policy.mode is Mode.ENFORCE and remediating and not self.remediation_enabled:
            raise ConfigError(
                f"remediation_enabled: the policy {self.policy_file} is in enforce mode and asks to "
                f"remediate ({', '.join(remediating)}), but remediation_enabled is false; enable it, "
                "or set the policy's mode to dry-run"
            )
        return policy


def project_root(config_path: Path) -> Path:
    """The folder that relative paths in a configuration file are resolved against."""
    start = config_path.resolve().parent
    for folder in (start, *start.parents):
        if (folder / PROJECT_MARKER).is_file():
            return folder
    return start


def parse_config(data: Any, *, source: str = "configuration", root: Path | None = None) -> GuardrailConfig:
    """Validate configuration data; a relative `policy_file` is resolved against `root`.

    msgspec stops at the first problem, so the message names one field, first: `regions: ...`.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source} is invalid: expected a mapping of settings at the top level")
    try:
        config = convert(data, GuardrailConfig)
    except ConversionError as error:
        raise ConfigError(f"{source} is invalid: {error}") from None
    policy_file = config.policy_file
    if root is not None and not policy_file.is_absolute():
        policy_file = root / policy_file
    if not policy_file.is_file():
        raise ConfigError(f"{source} is invalid: policy_file: no such file {config.policy_file}")
    return msgspec.structs.replace(config, policy_file=policy_file.resolve())


def load_config(path: str | Path) -> GuardrailConfig:
    """Read and validate a YAML configuration file; raises `ConfigError` naming the bad field."""
    path = Path(path)
    try:
        text = read_utf8(path)
    except OSError as error:
        raise ConfigError(f"cannot read configuration {path}: {error.strerror}") from None
    except ValueError as error:  # not UTF-8: the message names the file
        raise ConfigError(str(error)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    return parse_config(data if data is not None else {}, source=str(path), root=project_root(path))
