"""EventBridge Scheduler's part that moto leaves out: firing one-time schedules when they are due.

moto keeps schedules (create, get, update, delete) but never runs them. `due_schedules` does what
the service does at an `at(...)` expression's time: hands the target its input, once; a schedule
kept after it ran (`ActionAfterCompletion: NONE`) fires again only once it is updated to a new
time, and one with `DELETE` is deleted once it has run. Scheduler delivers at least once: a test
plays a duplicate by handing the same input to the target again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.scheduler.models import scheduler_backends

_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")


@dataclass(frozen=True)
class DueSchedule:
    name: str
    group: str
    target_arn: str
    input: dict[str, Any]
    at: datetime


def _at(expression: str, timezone: str | None) -> datetime:
    match = _AT.match(expression)
    if match is None:
        raise ValueError(f"not a one-time schedule expression: {expression!r}")
    if timezone not in (None, "UTC"):
        raise ValueError(f"only UTC schedules are emulated, not {timezone!r}")
    return datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)


def schedules(client: Any, group: str) -> list[DueSchedule]:
    """Every schedule of the group, with its target's input and its time."""
    found: list[DueSchedule] = []
    for page in client.get_paginator("list_schedules").paginate(GroupName=group):
        for summary in page["Schedules"]:
            schedule = client.get_schedule(Name=summary["Name"], GroupName=group)
            found.append(
                DueSchedule(
                    name=schedule["Name"],
                    group=group,
                    target_arn=schedule["Target"]["Arn"],
                    input=json.loads(schedule["Target"]["Input"]),
                    at=_at(schedule["ScheduleExpression"], schedule.get("ScheduleExpressionTimezone")),
                )
            )
    return found


def _model(detail: dict[str, Any]) -> Any:
    """moto's own record of a schedule, where the emulation notes which version of it has run."""
    _, _, _, region, account, resource = detail["Arn"].split(":", 5)
    _, group, name = resource.split("/", 2)
    return scheduler_backends[account][region].get_schedule(group, name)


def due_schedules(client: Any, group: str, now: datetime) -> list[DueSchedule]:
    """The schedules whose time has come by ``now`` and that have not run at that time yet; those
    set to delete after completion are deleted, as Scheduler does once it has invoked the target."""
    due: list[DueSchedule] = []
    for schedule in schedules(client, group):
        if schedule.at > now:
            continue
        detail = client.get_schedule(Name=schedule.name, GroupName=group)
        model = _model(detail)
        version = (detail["ScheduleExpression"], detail.get("LastModificationDate"))
        if getattr(model, "emulated_run", None) == version:
            continue  # a one-time schedule runs once at each time it is set for
        model.emulated_run = version
        due.append(schedule)
        if detail.get("ActionAfterCompletion") == "DELETE":
            client.delete_schedule(Name=schedule.name, GroupName=group)
    return due
