"""The environment of each function, as one typed model.

The construct that deploys a function builds its variables from the model (`variables`), the
function reads them back with it (`from_environ`), and the local runner sets them from it too: a
variable renamed or forgotten in one place is a type error or a test failure, not a function that
fails on its first event. A variable is the field's name in capitals; a tuple is written
comma-separated, and an absent optional value as the empty string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, get_args

import msgspec


class ConfigurationError(RuntimeError):
    """A function's environment is incomplete: a deployment problem, not an event problem."""


class FunctionEnvironment(msgspec.Struct, frozen=True, kw_only=True):
    """Base of the environment models; subclasses repeat `frozen` and `kw_only` for type checkers."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        values: dict[str, Any] = {}
        for field in msgspec.structs.fields(cls):
            name = field.name.upper()
            raw = environ.get(name)
            if raw is None:
                if field.required:
                    raise ConfigurationError(f"environment variable {name} is not set")
                continue
            if _is_tuple(field.type):
                values[field.name] = tuple(part for part in raw.split(",") if part)
            elif raw == "" and _is_optional(field.type):
                values[field.name] = None
            else:
                values[field.name] = raw
        try:
            return msgspec.convert(values, cls, strict=False)  # numbers are written as text
        except msgspec.ValidationError as error:
            raise ConfigurationError(f"environment: {error}") from None

    def variables(self) -> dict[str, str]:
        """The environment variables that `from_environ` reads back into an equal model."""
        variables: dict[str, str] = {}
        for field in msgspec.structs.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, tuple):
                text = ",".join(value)
            elif value is None:
                text = ""
            else:
                text = str(value)
            variables[field.name.upper()] = text
        return variables


def _is_tuple(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is tuple


def _is_optional(annotation: Any) -> bool:
    return type(None) in get_args(annotation)


class DetectEnvironment(FunctionEnvironment, frozen=True, kw_only=True):
    """The detect function's: where it alerts and records, which roles it reads through."""

    alert_topic_arn: str
    dead_letter_queue_url: str
    idempotency_table_name: str
    inventory_table_name: str
    member_role_name: str
    instance_regions: tuple[str, ...]
    organizations_role_arn: str | None = None
    organization_instance_region: str | None = None
    # The role in each member account that deletes instances (only with remediation_enabled).
    deleter_role_name: str | None = None
    # Relative to the function's code root (LAMBDA_TASK_ROOT), where the asset ships it.
    policy_path: str = "policy.json"
    partition: str = "aws"
    # Optional channels: the topic Amazon Q Developer in chat applications subscribes to, and the
    # account whose Security Hub CSPM imports the findings (the central one, in this Region).
    chat_topic_arn: str | None = None
    security_hub_account_id: str | None = None
    # Pending deletions (enforce mode with a grace period): the Scheduler group they are kept in,
    # the function they invoke when due (this one) and the role Scheduler invokes it with.
    deletion_schedule_group: str | None = None
    deletion_target_arn: str | None = None
    deletion_scheduler_role_arn: str | None = None
    # Where Scheduler parks a due deletion it could not deliver within its retries.
    deletion_dead_letter_arn: str | None = None


class SweepPlannerEnvironment(FunctionEnvironment, frozen=True, kw_only=True):
    """The sweep planner's: where it writes the run's snapshot and accounts, how it reads the
    organization."""

    reports_bucket: str
    organizations_role_arn: str | None = None
    organization_instance_region: str | None = None
    partition: str = "aws"


class SweepWorkerEnvironment(FunctionEnvironment, frozen=True, kw_only=True):
    """The sweep worker's: the role it reads accounts through, the inventory it keeps and the topic
    it alerts on."""

    reports_bucket: str
    inventory_table_name: str
    alert_topic_arn: str
    member_role_name: str
    instance_regions: tuple[str, ...]
    policy_path: str = "policy.json"
    reminder_days: int = 7
    partition: str = "aws"
    # The idempotency table holds which channels each alert went out on (see `delivery`).
    idempotency_table_name: str | None = None
    chat_topic_arn: str | None = None
    security_hub_account_id: str | None = None
    deletion_schedule_group: str | None = None
    deletion_target_arn: str | None = None
    deletion_scheduler_role_arn: str | None = None
    # Where Scheduler parks a due deletion it could not deliver within its retries.
    deletion_dead_letter_arn: str | None = None
    # Coverage: what each member account must have in each Region it has enabled for its events to
    # reach the guardrail (the forwarding StackSet's rule, targeting the central bus, and the queue
    # its undelivered events are parked in). Unset: coverage is not checked.
    forwarding_rule_name: str | None = None
    forwarding_dead_letter_queue_name: str | None = None
    central_bus_arn: str | None = None


class SweepSummaryEnvironment(FunctionEnvironment, frozen=True, kw_only=True):
    """The sweep summary's: where the batches' reports are, and where the summary is published."""

    reports_bucket: str
    alert_topic_arn: str
    policy_path: str = "policy.json"
    ending_within_days: int = 14
