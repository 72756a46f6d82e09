"""The environment of each function, as one typed model composed of parts.

The construct that deploys a function builds its variables from the model (`variables`), the
function reads them back with it (`from_environ`), and the local runner sets them from it too: a
variable renamed or forgotten in one place is a type error or a test failure, not a function that
fails on its first event.

What several functions share is declared once, as a part (`Observability`, `Alerting`,
`Channels`, `MemberReads`, `OrganizationReads`, `PendingDeletions`, `PolicyFile`), and each
function's model holds the parts it needs as fields. Variables stay flat: a variable is a field's
name in capitals, a part's fields included (the part's own name is not in it); a tuple is written
comma-separated, and an absent optional value as the empty string. `Channels` is the one open part:
its variables are the registry's (`guardrail.channels.registry`), one per optional channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, get_args

import msgspec

from guardrail.channels.registry import ALERTS, optional_channels

# Powertools' service and metrics namespace: the dimension and namespace of every metric the
# functions record, which the alarms and the dashboard read (infra.constructs.monitoring).
SERVICE_NAME = "identity-center-guardrail"
METRICS_NAMESPACE = "IdentityCenterGuardrail"
# Outside Lambda (the local runner, the emulator): no metrics flushed, no X-Ray segment.
LOCAL_POWERTOOLS = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true"}


class ConfigurationError(RuntimeError):
    """A function's environment is incomplete: a deployment problem, not an event problem."""


class Part(msgspec.Struct, frozen=True, kw_only=True):
    """A group of variables; its fields are variables, or parts whose variables it includes.

    Subclasses repeat `frozen` and `kw_only` for type checkers.
    """

    @classmethod
    def declared(cls) -> dict[str, Any]:
        """Every variable, with its default as it is written (`msgspec.NODEFAULT`: required)."""
        declared: dict[str, Any] = {}
        for field in msgspec.structs.fields(cls):
            part = _part(field.type)
            if part is not None:
                declared.update(part.declared())
            elif field.required:
                declared[field.name.upper()] = msgspec.NODEFAULT
            else:
                default = field.default if field.default is not msgspec.NODEFAULT else field.default_factory()
                declared[field.name.upper()] = _written(default)
        return declared

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> dict[str, Any]:
        """The values `environ` gives the fields, as `msgspec.convert` takes them."""
        values: dict[str, Any] = {}
        for field in msgspec.structs.fields(cls):
            part = _part(field.type)
            if part is not None:
                values[field.name] = part.read(environ)
                continue
            name = field.name.upper()
            raw = environ.get(name)
            if raw is None:
                if field.required:
                    raise ConfigurationError(f"environment variable {name} is not set")
                continue
            if _is_tuple(field.type):
                values[field.name] = tuple(piece for piece in raw.split(",") if piece)
            elif raw == "" and _is_optional(field.type):
                values[field.name] = None
            else:
                values[field.name] = raw
        return values

    def variables(self) -> dict[str, str]:
        """The environment variables that `from_environ` reads back into an equal model."""
        variables: dict[str, str] = {}
        for field in msgspec.structs.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, Part):
                own = value.variables()
                clash = sorted(set(own) & set(variables))
                if clash:
                    raise ValueError(f"{type(self).__name__}: {', '.join(clash)} declared twice")
                variables.update(own)
            else:
                variables[field.name.upper()] = _written(value)
        return variables


class FunctionEnvironment(Part, frozen=True, kw_only=True):
    """A function's whole environment: what its construct sets and its handler reads."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        values = cls.read(environ)
        try:
            return msgspec.convert(values, cls, strict=False)  # numbers are written as text
        except msgspec.ValidationError as error:
            raise ConfigurationError(f"environment: {error}") from None


def _part(annotation: Any) -> type[Part] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, Part) else None


def _written(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(value)
    return "" if value is None else str(value)


def _is_tuple(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is tuple


def _is_optional(annotation: Any) -> bool:
    return type(None) in get_args(annotation)


# -- the parts ------------------------------------------------------------------------------------------


class Observability(Part, frozen=True, kw_only=True):
    """Powertools' variables: how every function logs and counts (its metrics' namespace and
    `service` dimension, which the alarms watch)."""

    powertools_service_name: str = SERVICE_NAME
    powertools_metrics_namespace: str = METRICS_NAMESPACE
    powertools_log_level: str = "INFO"


class Alerting(Part, frozen=True, kw_only=True):
    """The alert topic: every alert goes out on it, and the sweep's summary."""

    alert_topic_arn: str


class Channels(Part, frozen=True, kw_only=True):
    """The optional channels' targets (a topic ARN, an account id) by channel name; each is the
    variable its registry row names (`CHAT_TOPIC_ARN`, `SECURITY_HUB_ACCOUNT_ID`), empty when off."""

    targets: dict[str, str] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        known = {spec.name for spec in optional_channels()}
        unknown = sorted(set(self.targets) - known)
        if unknown:
            raise ValueError(f"no optional channel is registered as {', '.join(unknown)}")

    @classmethod
    def declared(cls) -> dict[str, Any]:
        return {spec.variable: "" for spec in optional_channels()}

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> dict[str, Any]:
        return {
            "targets": {
                spec.name: environ[spec.variable]
                for spec in optional_channels()
                if environ.get(spec.variable)
            }
        }

    def variables(self) -> dict[str, str]:
        return {spec.variable: self.targets.get(spec.name, "") for spec in optional_channels()}


def delivery_targets(alerting: Alerting, channels: Channels) -> dict[str, str]:
    """Every channel's target by name, for `build_deliverer`: the alert topic and those turned on."""
    return {ALERTS.name: alerting.alert_topic_arn, **channels.targets}


class MemberReads(Part, frozen=True, kw_only=True):
    """How a function reads member accounts: the role it assumes in each, the Regions it lists."""

    member_role_name: str
    instance_regions: tuple[str, ...]
    partition: str = "aws"


class OrganizationReads(Part, frozen=True, kw_only=True):
    """How a function reads the organization: through a reader role in the management account
    (None: its own role, in a delegated administrator), and where the organization instance is."""

    organizations_role_arn: str | None = None
    organization_instance_region: str | None = None


class PendingDeletions(Part, frozen=True, kw_only=True):
    """Pending deletions (enforce mode with a grace period): the Scheduler group they are kept in,
    the function they invoke when due (the detect function), the role Scheduler invokes it with,
    and where Scheduler parks a due deletion it could not deliver. All set, or none: then the
    function never schedules a deletion."""

    deletion_schedule_group: str | None = None
    deletion_target_arn: str | None = None
    deletion_scheduler_role_arn: str | None = None
    deletion_dead_letter_arn: str | None = None


class PolicyFile(Part, frozen=True, kw_only=True):
    """The policy, relative to the function's code root (LAMBDA_TASK_ROOT), where the asset ships it."""

    policy_path: str = "policy.json"


# -- the functions' models --------------------------------------------------------------------------


class DetectEnvironment(FunctionEnvironment, frozen=True, kw_only=True):
    """The detect function's: where it alerts and records, which roles it reads through."""

    alerting: Alerting
    member_reads: MemberReads
    dead_letter_queue_url: str
    # Its claims on events, the deletion guard's items, and the record of deliveries channel by channel.
    idempotency_table_name: str
    inventory_table_name: str
    channels: Channels = msgspec.field(default_factory=Channels)
    organization_reads: OrganizationReads = msgspec.field(default_factory=OrganizationReads)
    # The role in each member account that deletes instances (only with remediation_enabled).
    deleter_role_name: str | None = None
    policy: PolicyFile = msgspec.field(default_factory=PolicyFile)
    pending_deletions: PendingDeletions = msgspec.field(default_factory=PendingDeletions)
    observability: Observability = msgspec.field(default_factory=Observability)


class SweepPlannerEnvironment(FunctionEnvironment, frozen=True, kw_only=True):
    """The sweep planner's: where it writes the run's snapshot and accounts, how it reads the
    organization."""

    reports_bucket: str
    organization_reads: OrganizationReads = msgspec.field(default_factory=OrganizationReads)
    partition: str = "aws"
    observability: Observability = msgspec.field(default_factory=Observability)


class SweepWorkerEnvironment(FunctionEnvironment, frozen=True, kw_only=True):
    """The sweep worker's: the role it reads accounts through, the inventory it keeps and the
    channels it alerts on."""

    reports_bucket: str
    inventory_table_name: str
    alerting: Alerting
    member_reads: MemberReads
    channels: Channels = msgspec.field(default_factory=Channels)
    policy: PolicyFile = msgspec.field(default_factory=PolicyFile)
    reminder_days: int = 7
    # The idempotency table holds which channels each alert went out on (see `delivery`); it is
    # set only where there are several channels.
    idempotency_table_name: str | None = None
    pending_deletions: PendingDeletions = msgspec.field(default_factory=PendingDeletions)
    # Coverage: what each member account must have in each Region it has enabled for its events to
    # reach the guardrail (the forwarding StackSet's rule, targeting the central bus, and the queue
    # its undelivered events are parked in). Unset: coverage is not checked.
    forwarding_rule_name: str | None = None
    forwarding_dead_letter_queue_name: str | None = None
    central_bus_arn: str | None = None
    observability: Observability = msgspec.field(default_factory=Observability)


class SweepSummaryEnvironment(FunctionEnvironment, frozen=True, kw_only=True):
    """The sweep summary's: where the batches' reports are, and where the summary is published."""

    reports_bucket: str
    alerting: Alerting
    policy: PolicyFile = msgspec.field(default_factory=PolicyFile)
    ending_within_days: int = 14
    observability: Observability = msgspec.field(default_factory=Observability)
