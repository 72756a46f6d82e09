"""The inventory of instances, and when a look at one deserves an alert.

Events and sweeps keep one record per instance ARN: where it lives, what it is, what was decided
about it and what was last said about it. A sweep alerts on a violation that is new or changed
(other rules, severities or reasons: the reasons state the facts used), repeats an unchanged one
only after the reminder interval, and says once that a violation ended (the instance is gone,
back in policy, or exempted). An alert from an instance event counts as said: the next sweep
repeats it only as a reminder.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

import msgspec

from guardrail.core.decision import Decision, Verdict
from guardrail.core.facts import Facts

LearntBy = Literal["event", "sweep"]


class Change(StrEnum):
    """What a look at an instance has to say, if anything."""

    NEW = "new"
    CHANGED = "changed"
    REMINDER = "reminder"
    RESOLVED = "resolved"


class InventoryRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One instance as the guardrail knows it. Times are UTC."""

    instance_arn: str
    account_id: str
    region: str
    first_seen: datetime
    last_seen: datetime
    learnt_by: LearntBy
    # Whether an instance event (CreateInstance) announced it; a sweep finding it first says so.
    announced: bool = False
    name: str | None = None
    status: str | None = None
    owner_account_id: str | None = None
    tags: dict[str, str] = msgspec.field(default_factory=dict)
    applications: tuple[str, ...] = ()
    verdict: str | None = None
    severity: str | None = None
    rules: tuple[str, ...] = ()
    # What the last alert said of an open violation (or incomplete decision); None when none is open.
    fingerprint: str | None = None
    last_alerted: datetime | None = None
    gone_at: datetime | None = None
    # When its deletion is scheduled for (enforce mode, a grace period); None when none is pending.
    pending_deletion: datetime | None = None


# Verdicts that keep a person's attention until they end: a violation, or facts a person must check.
OPEN = frozenset({Verdict.VIOLATION, Verdict.INCOMPLETE})


def fingerprint(decision: Decision) -> str | None:
    """What an alert says, as a short digest; None when the decision leaves nothing open.

    Made of the verdict and each finding's rule, severity and reason (and each undetermined rule
    and the fact it lacks), not of the findings' raw facts, some of which (today's date) change
    every day without anything changing.
    """
    if decision.verdict not in OPEN:
        return None
    said = {
        "verdict": decision.verdict.value,
        "findings": sorted([f.rule, f.severity.value, f.reason] for f in decision.findings),
        "undetermined": sorted([u.rule, u.missing_fact] for u in decision.undetermined),
    }
    return hashlib.sha256(json.dumps(said, sort_keys=True).encode()).hexdigest()[:32]


def change_of(
    previous: InventoryRecord | None, decision: Decision, now: datetime, reminder: timedelta
) -> Change | None:
    """What a sweep's decision about an instance has to say, given what was said before."""
    current = fingerprint(decision)
    said = previous.fingerprint if previous is not None and previous.gone_at is None else None
    if current is None:
        return Change.RESOLVED if said is not None else None
    if said is None:
        return Change.NEW
    if current != said:
        return Change.CHANGED
    last = previous.last_alerted if previous is not None else None
    if last is None or now - last >= reminder:
        return Change.REMINDER
    return None


def observed(
    previous: InventoryRecord | None,
    facts: Facts,
    decision: Decision,
    now: datetime,
    *,
    learnt_by: LearntBy,
    alerted: bool,
    announced: bool = False,
    pending_deletion: datetime | None = None,
) -> InventoryRecord:
    """The record after a look at the instance of `facts` (which must name one)."""
    subject, instance = facts.subject, facts.instance
    assert subject.instance_arn is not None
    base = previous if previous is not None and previous.gone_at is None else None
    return InventoryRecord(
        instance_arn=subject.instance_arn,
        account_id=subject.account_id,
        region=subject.region,
        first_seen=base.first_seen if base else now,
        last_seen=now,
        learnt_by=base.learnt_by if base else learnt_by,
        announced=announced or (base.announced if base else False),
        name=instance.name if instance else (base.name if base else None),
        status=instance.status if instance else (base.status if base else None),
        owner_account_id=instance.owner_account_id if instance else (base.owner_account_id if base else None),
        tags=dict(instance.tags) if instance else (dict(base.tags) if base else {}),
        applications=tuple(a.name or a.application_arn for a in facts.applications or ())
        if facts.applications is not None
        else (base.applications if base else ()),
        verdict=decision.verdict.value,
        severity=decision.severity.value,
        rules=tuple(f.rule for f in decision.findings),
        fingerprint=fingerprint(decision) if alerted else (base.fingerprint if base else None),
        last_alerted=now if alerted else (base.last_alerted if base else None),
        pending_deletion=pending_deletion,
    )


def gone(record: InventoryRecord, now: datetime) -> InventoryRecord:
    """The record of an instance that no longer exists: nothing about it is open any more."""
    return msgspec.structs.replace(
        record, gone_at=now, status="DELETED", fingerprint=None, pending_deletion=None
    )
