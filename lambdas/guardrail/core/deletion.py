"""The lifecycle of a pending deletion, as a pure model: its states and the transitions that a
reading of the instance, a schedule firing and a deletion attempt make.

A deletion the policy asks for with a grace period is *scheduled*: it holds, for each remediating
rule still broken, that rule's own deadline (when the rule was first seen broken, plus its grace
period), and it is *due* at the latest of them. A later complete reading keeps each rule's deadline
(the owner's clock does not restart), adds the deadlines of rules broken since and drops those
fixed, so the due time moves with what is still broken. When the schedule fires, only rules whose
own grace has run out count: if some rule still broken is in its grace, the deletion is *moved* to
the latest deadline; if none is broken, it is *cancelled*.

What keeps a due deletion from being carried out never drops it: a deletion the hourly cap
*withholds* is scheduled again for the next hour; one whose facts are missing at its deadline, or
that the member account refused, is *postponed* with a growing wait, and after
`POSTPONEMENTS_BEFORE_ALERT` postponements one high alert names the account and what fails. It
ends only *deleted* or *cancelled* (fixed, exempted, deleted by its owner, switched to dry-run, or
barred by the policy: an instance serving applications).

The effects (the schedule in EventBridge Scheduler, the deletion's claim, the cap, DeleteInstance)
are `guardrail.deletion`'s; this module only says what they should be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import msgspec

from guardrail.core.decision import Action, Decision
from guardrail.core.facts import Facts, Occasion
from guardrail.core.triggers import traits

# A deletion postponed this many times in a row raises one high alert (and keeps being postponed).
POSTPONEMENTS_BEFORE_ALERT = 3
# Postponed by 1, 2, 4, ... hours, at most a day.
_LONGEST_POSTPONEMENT = timedelta(hours=24)
# A sweep finding a deletion this long past its due time takes its firing for lost and re-arms it.
OVERDUE = timedelta(minutes=30)
# What a pending deletion withheld by the hourly cap says it is held by.
CAPPED = "the hourly cap of deletions is reached"
# A re-armed or withheld schedule fires this long after the moment it is set for, never in the past.
_SOON = timedelta(minutes=1)


class PendingDeletion(msgspec.Struct, frozen=True, kw_only=True):
    """A scheduled deletion, as its schedule holds it. Times are UTC."""

    instance_arn: str
    account_id: str
    region: str
    due: datetime
    # Each remediating rule still broken when last read, and when its own grace period ends.
    demands: dict[str, datetime]
    scheduled_at: datetime
    # Due firings in a row that could not delete (facts missing, refused), and why the last did not.
    postponements: int = 0
    held: str | None = None


class State(StrEnum):
    """What a step did to the instance's deletion (the alert's `deletion.state`)."""

    SCHEDULED = "scheduled"  # a new pending deletion
    PENDING = "pending"  # kept as it was
    MOVED = "moved"  # its due time changed (a rule fixed or broken meanwhile, or a lost firing)
    WITHHELD = "withheld"  # due, but the hourly cap is reached: scheduled for the next hour
    POSTPONED = "postponed"  # due, but facts are missing or the member account refused
    DUE = "due"  # to be deleted now
    DELETED = "deleted"
    CANCELLED = "cancelled"


class Effect(StrEnum):
    """What the schedule must become."""

    NONE = "none"  # untouched
    PUT = "put"  # created or updated to `pending`
    REMOVE = "remove"  # deleted


@dataclass(frozen=True)
class Step:
    state: State
    effect: Effect
    # The pending deletion after the step (for DUE: what to keep should the attempt not delete).
    pending: PendingDeletion | None
    reason: str
    # Whether it deserves saying: a schedule kept as it was is no news.
    news: bool = True

    @property
    def due(self) -> datetime | None:
        return self.pending.due if self.pending is not None else None

    def body(self) -> dict[str, Any]:
        """The alert's `deletion` key."""
        pending = self.pending
        return {
            "state": self.state.value,
            "due": pending.due.isoformat()
            if pending is not None and self.state is not State.DELETED
            else None,
            "reason": self.reason,
            "rules": sorted(pending.demands) if pending is not None else [],
            "postponements": pending.postponements if pending is not None else 0,
        }

    @property
    def pending_until(self) -> datetime | None:
        """When the deletion is due, if one is still pending after this step."""
        if self.state in (State.DELETED, State.CANCELLED) or self.pending is None:
            return None
        return self.pending.due


def _utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _whole(moment: datetime) -> datetime:
    """In UTC and whole seconds, rounded up (Scheduler's `at()` takes seconds): never early."""
    moment = _utc(moment)
    return moment.replace(microsecond=0) + timedelta(seconds=1 if moment.microsecond else 0)


def _kept(pending: PendingDeletion | None, reason: str) -> Step | None:
    return None if pending is None else Step(State.PENDING, Effect.NONE, pending, reason, news=False)


def _cancelled(pending: PendingDeletion | None, reason: str) -> Step | None:
    return None if pending is None else Step(State.CANCELLED, Effect.REMOVE, pending, reason)


def _demanded(
    facts: Facts, decision: Decision, pending: PendingDeletion | None, now: datetime
) -> dict[str, datetime]:
    """Each demanding rule's deadline: kept from the pending deletion, else from now."""
    known = pending.demands if pending is not None else {}
    return {d.rule: known.get(d.rule) or now + timedelta(hours=d.grace_hours) for d in decision.demands}


def _complete(facts: Facts, decision: Decision) -> bool:
    return not facts.missing and not decision.undetermined


def settle(pending: PendingDeletion | None, facts: Facts, decision: Decision, now: datetime) -> Step | None:
    """What a reading of the instance (an event, a sweep, a schedule firing) does to its deletion.

    None when there is no deletion to speak of (none pending, none asked for). A DUE step is a
    deletion to attempt now, on facts read fresh; `attempted` then says what the attempt did.
    """
    now = _utc(now)
    occasion = facts.trigger.occasion
    kind = traits(occasion)
    arn = facts.subject.instance_arn
    if arn is None:
        return None
    if occasion is Occasion.DELETE_SUCCEEDED:
        return _cancelled(pending, "the instance was deleted by its owner")
    if facts.instance_gone:
        return _cancelled(pending, "the instance no longer exists")
    if not kind.judges_state:
        # A rename or a failed call changes nothing about what the instance is.
        return _kept(pending, "nothing judged the instance anew")
    firing = occasion is Occasion.GRACE_ENDED
    if decision.demands and decision.action in (Action.DELETE, Action.SCHEDULE_DELETE):
        demands = _demanded(facts, decision, pending, now)
        latest = max(demands.values())
        due = _whole(latest)
        base = pending or PendingDeletion(
            instance_arn=arn,
            account_id=facts.subject.account_id,
            region=facts.subject.region,
            due=due,
            demands=demands,
            scheduled_at=now,
        )
        updated = msgspec.structs.replace(base, due=due, demands=demands, held=None)
        rules = ", ".join(sorted(demands))
        if latest <= now:
            if kind.deletes_on_spot:
                return Step(State.DUE, Effect.NONE, updated, f"the grace period of {rules} is over")
            # Found by a sweep, which never deletes: the schedule fires at once, or fires again if
            # its firing was lost (it is long overdue).
            if pending is not None and now - pending.due < OVERDUE:
                return _kept(pending, "the deletion is due and about to be carried out")
            armed = msgspec.structs.replace(updated, due=_whole(now + _SOON))
            state = State.SCHEDULED if pending is None else State.MOVED
            return Step(state, Effect.PUT, armed, f"the grace period of {rules} is over")
        if pending is None:
            return Step(State.SCHEDULED, Effect.PUT, updated, f"{rules} ask for remediation")
        if due != pending.due or set(demands) != set(pending.demands) or firing:
            later = [rule for rule, deadline in demands.items() if deadline > now]
            why = (
                f"{', '.join(sorted(later))} still in its grace period"
                if firing
                else f"{rules} ask for remediation"
            )
            return Step(State.MOVED, Effect.PUT, updated, why, news=due != pending.due)
        return _kept(pending, f"{rules} ask for remediation")
    if decision.withheld is not None and not decision.barred:
        # Not known well enough to delete, or not deletable right now: kept, or at its deadline
        # postponed; never dropped.
        return postponed(pending, decision.withheld, now) if firing else _kept(pending, decision.withheld)
    if _complete(facts, decision):
        if decision.barred:
            return _cancelled(pending, decision.withheld or "the policy deletes no such instance")
        if decision.action is Action.WOULD_DELETE:
            return _cancelled(pending, "the policy is in dry-run: it deletes nothing")
        why = "the instance is exempted" if decision.suppressed and not decision.findings else "fixed"
        return _cancelled(pending, "no rule asks for its deletion any more: " + why)
    # Incomplete: nothing said against the deletion; at its deadline, postponed.
    missing = ", ".join(
        sorted({m.fact for m in facts.missing} | {u.missing_fact for u in decision.undetermined})
    )
    return (
        postponed(pending, f"facts are missing ({missing})", now)
        if firing
        else _kept(pending, "facts are missing")
    )


def postponed(pending: PendingDeletion | None, why: str, now: datetime) -> Step | None:
    """A due deletion that cannot be carried out now: tried again later, after a growing wait."""
    if pending is None:
        return None
    count = pending.postponements + 1
    wait = min(timedelta(hours=2 ** (count - 1)), _LONGEST_POSTPONEMENT)
    later = msgspec.structs.replace(pending, due=_whole(now + wait), postponements=count, held=why)
    return Step(State.POSTPONED, Effect.PUT, later, why, news=count == POSTPONEMENTS_BEFORE_ALERT)


class Attempt(StrEnum):
    """What a deletion attempt came to."""

    DELETED = "deleted"  # AWS accepted DeleteInstance (now or in an earlier attempt of the holder)
    CAPPED = "capped"  # the hourly cap is reached: withheld until the next hour
    ELSEWHERE = "elsewhere"  # another trigger holds the deletion's claim and is carrying it out
    GONE = "gone"  # the instance no longer exists, and the guardrail did not delete it
    REFUSED = "refused"  # AWS refused DeleteInstance (the member account's role, a policy): postponed
    HELD_BACK = "held-back"  # the instance is not as read (not ACTIVE, another owner): postponed


@dataclass(frozen=True)
class RemediationResult:
    """What a deletion attempt did, as the alert's `remediation` says it."""

    attempt: Attempt
    detail: str
    # The first deletion withheld by the cap in its hour: one critical alert says so.
    cap_first: bool = False

    @property
    def status(self) -> str:
        """`deleted`, `failed` (AWS refused) or `skipped` (nothing was asked of AWS)."""
        if self.attempt is Attempt.DELETED:
            return "deleted"
        return "failed" if self.attempt is Attempt.REFUSED else "skipped"


def attempted(step: Step, result: RemediationResult, now: datetime) -> Step:
    """The deletion after a due step's attempt: done, left to the trigger carrying it out, or kept
    for later (the cap's next hour, a postponement). Each is news but a race lost to another
    trigger, a withholding already said, and postponements before the alerting one."""
    pending, detail = step.pending, result.detail
    match result.attempt:
        case Attempt.DELETED:
            return Step(State.DELETED, Effect.REMOVE, pending, detail)
        case Attempt.ELSEWHERE:
            # Left to the trigger holding it; kept for later should that one fail for good.
            kept = postponed(pending, detail, now)
            if kept is None:
                return Step(State.DUE, Effect.NONE, None, detail, news=False)
            return Step(kept.state, kept.effect, kept.pending, detail, news=False)
        case Attempt.GONE:
            return Step(State.CANCELLED, Effect.REMOVE, pending, detail)
        case Attempt.CAPPED if pending is not None:
            next_hour = _utc(now).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            withheld = msgspec.structs.replace(pending, due=next_hour + _SOON, held=CAPPED)
            return Step(State.WITHHELD, Effect.PUT, withheld, detail, news=pending.held != CAPPED)
    later = postponed(pending, detail, now)
    if later is None:
        return Step(State.CANCELLED, Effect.NONE, None, detail)
    refused = result.attempt is Attempt.REFUSED  # a changed member role: said every time
    return Step(later.state, later.effect, later.pending, detail, news=later.news or refused)


def firing_refused(stored: PendingDeletion | None, fired_due: datetime, now: datetime) -> str | None:
    """Why a deletion-due invocation must not be acted on, or None when it matches the schedule the
    guardrail made for the instance and its time has come."""
    if stored is None:
        return "no deletion of the instance is pending"
    if _utc(stored.due) != _utc(fired_due):
        return f"the pending deletion is due at {stored.due.isoformat()}, not at {fired_due.isoformat()}"
    if _utc(now) < _utc(stored.due):
        return f"the deletion is not due before {stored.due.isoformat()}"
    return None
