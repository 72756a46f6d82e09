"""Pending deletions as EventBridge Scheduler one-time schedules, one per instance.

AWS keeps the time, not a sleeping function: at the deadline the schedule invokes the remediate
function with the instance, and deletes itself (`ActionAfterCompletion: DELETE`). A schedule's
name is derived from the instance ARN, so scheduling the same instance twice finds the first
schedule (`ConflictException`) rather than making a second one, and cancelling needs nothing but
the ARN.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

NAME_PREFIX = "guardrail-delete-"
# What the function the schedule invokes recognizes the input by.
DELETION_DUE = "deletion-due"


def schedule_name(instance_arn: str) -> str:
    """At most 64 characters of [0-9A-Za-z_.-], one per instance."""
    return NAME_PREFIX + hashlib.sha256(instance_arn.encode()).hexdigest()[:40]


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


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

    def schedule(
        self, *, instance_arn: str, account_id: str, region: str, due: datetime, rules: tuple[str, ...]
    ) -> bool:
        """Schedule the instance's deletion at `due`; False when one is pending already (kept as it is)."""
        due = due.astimezone(UTC)
        target: dict[str, Any] = {
            "Arn": self._target_arn,
            "RoleArn": self._role_arn,
            "Input": json.dumps(
                {
                    "kind": DELETION_DUE,
                    "instance_arn": instance_arn,
                    "account_id": account_id,
                    "region": region,
                    "scheduled_at": datetime.now(UTC).isoformat(),
                    "due": due.isoformat(),
                    "rules": list(rules),
                }
            ),
            "RetryPolicy": {"MaximumEventAgeInSeconds": 86_400, "MaximumRetryAttempts": 185},
        }
        if self._dead_letter_arn:
            target["DeadLetterConfig"] = {"Arn": self._dead_letter_arn}
        try:
            self._client.create_schedule(
                Name=schedule_name(instance_arn),
                GroupName=self._group,
                ScheduleExpression=f"at({due:%Y-%m-%dT%H:%M:%S})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Description=f"Delete {instance_arn} in {account_id} ({region}) unless it is fixed or exempted",
                Target=target,
            )
        except ClientError as error:
            if _code(error) == "ConflictException":
                return False
            raise
        return True

    def due(self, instance_arn: str) -> datetime | None:
        """When the instance's pending deletion is due, or None when none is pending."""
        try:
            schedule = self._client.get_schedule(Name=schedule_name(instance_arn), GroupName=self._group)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return None
            raise
        return datetime.fromisoformat(json.loads(schedule["Target"]["Input"])["due"])

    def cancel(self, instance_arn: str) -> bool:
        """Remove the pending deletion; False when there was none."""
        try:
            self._client.delete_schedule(Name=schedule_name(instance_arn), GroupName=self._group)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return False
            raise
        return True
