"""Pending deletions kept by EventBridge Scheduler: one one-time schedule per instance.

AWS keeps the time, not a sleeping function: at the due time the schedule invokes the detect
function with the instance's pending deletion. The schedule *is* the pending deletion: its input
holds it whole (`PendingDeletion`: the due time, each demanding rule's deadline, the
postponements), so there is one place to read it from, and a firing can be checked against it.
Its name is derived from the instance ARN, so scheduling the same instance twice finds the first
schedule, and reading or cancelling needs nothing but the ARN.

A schedule is kept after it fires (`ActionAfterCompletion: NONE`): the function removes it once
the deletion is carried out or cancelled, or moves it to a new time (withheld by the cap,
postponed); so a firing can always be matched with the schedule that made it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC
from typing import Any

import msgspec
from botocore.exceptions import ClientError

from guardrail.core.deletion import PendingDeletion

NAME_PREFIX = "guardrail-delete-"
# What the function the schedule invokes recognizes the input by.
DELETION_DUE = "deletion-due"


class DeletionDue(PendingDeletion, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A schedule's input: the pending deletion, marked for the function that receives it."""

    kind: str = DELETION_DUE


def schedule_name(instance_arn: str) -> str:
    """At most 64 characters of [0-9A-Za-z_.-], one per instance."""
    return NAME_PREFIX + hashlib.sha256(instance_arn.encode()).hexdigest()[:40]


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


_DECODER = msgspec.json.Decoder(DeletionDue)


class DeletionSchedules:
    def __init__(
        self, client: Any, *, group: str, target_arn: str, role_arn: str, dead_letter_arn: str | None = None
    ) -> None:
        """`target_arn` is the function that decides and deletes (the detect function); `role_arn` the
        role Scheduler invokes it with, which may invoke nothing else."""
        self._client = client
        self._group = group
        self._target_arn = target_arn
        self._role_arn = role_arn
        self._dead_letter_arn = dead_letter_arn

    def get(self, instance_arn: str) -> PendingDeletion | None:
        """The instance's pending deletion, or None when none is pending."""
        try:
            schedule = self._client.get_schedule(Name=schedule_name(instance_arn), GroupName=self._group)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return None
            raise
        due = _DECODER.decode(schedule["Target"]["Input"])
        return PendingDeletion(**{f: getattr(due, f) for f in PendingDeletion.__struct_fields__})

    def put(self, pending: PendingDeletion) -> None:
        """Create the instance's schedule, or move it, to fire at `pending.due` with `pending` as input."""
        due = pending.due.astimezone(UTC)
        payload = DeletionDue(**{f: getattr(pending, f) for f in PendingDeletion.__struct_fields__})
        target: dict[str, Any] = {
            "Arn": self._target_arn,
            "RoleArn": self._role_arn,
            "Input": msgspec.json.encode(payload).decode(),
            "RetryPolicy": {"MaximumEventAgeInSeconds": 86_400, "MaximumRetryAttempts": 185},
        }
        if self._dead_letter_arn:
            target["DeadLetterConfig"] = {"Arn": self._dead_letter_arn}
        request: dict[str, Any] = {
            "Name": schedule_name(pending.instance_arn),
            "GroupName": self._group,
            # The lifecycle keeps due times in whole seconds (`guardrail.core.deletion`).
            "ScheduleExpression": f"at({due:%Y-%m-%dT%H:%M:%S})",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "NONE",
            "Description": (
                f"Delete {pending.instance_arn} in {pending.account_id} ({pending.region}) unless it is "
                "fixed or exempted"
            ),
            "Target": target,
        }
        # Another invocation may create or remove the schedule meanwhile (racing triggers for one
        # instance): create, else update, else create again.
        for _ in range(3):
            try:
                self._client.create_schedule(**request)
                return
            except ClientError as error:
                if _code(error) != "ConflictException":
                    raise
            try:
                self._client.update_schedule(**request)
                return
            except ClientError as error:
                if _code(error) != "ResourceNotFoundException":
                    raise
        raise RuntimeError(f"the schedule of {pending.instance_arn} kept changing under the guardrail")

    def remove(self, instance_arn: str) -> bool:
        """Remove the pending deletion; False when there was none."""
        try:
            self._client.delete_schedule(Name=schedule_name(instance_arn), GroupName=self._group)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return False
            raise
        return True
