"""The one step that concludes a look at an instance, whatever triggered it (an event, a sweep, the
end of a grace period): what changed since the last look, whether that is worth an alert, the
alert, and what the inventory should now hold.

Pure: the callers carry it out (the event path publishes and writes in the background; the
sweep claims each alert on the inventory item for its run first). Written once, so the two paths
cannot drift apart in what they say or record.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import msgspec

from guardrail.core.alert import Alert, History, Resolution, build_alert, postponed_alert
from guardrail.core.decision import Action, Decision
from guardrail.core.deletion import RemediationResult, State, Step
from guardrail.core.facts import Facts, Occasion
from guardrail.core.inventory import Change, InventoryRecord, LearntBy, change_of, gone, observed
from guardrail.core.triggers import Alerting, traits

# A second look at an instance (a tag change, a grace end) alerts on what changed, never as a reminder.
_NEVER = timedelta.max


@dataclass(frozen=True)
class Conclusion:
    # The alert to publish, or None when the look is no news.
    alert: Alert | None
    # The inventory record after the look, or None to leave the inventory as it is.
    record: InventoryRecord | None
    change: Change | None


def conclude(
    facts: Facts,
    decision: Decision,
    *,
    previous: InventoryRecord | None,
    now: datetime,
    mode: str,
    step: Step | None = None,
    result: RemediationResult | None = None,
    reminder: timedelta = _NEVER,
    test: bool = False,
    series: dict[str, object] | None = None,
) -> Conclusion:
    """`previous` is what the inventory knew before; `step` what the look did to the instance's
    deletion and `result` what a deletion attempt did; `reminder` when an unchanged violation is
    said again (the sweep's); `series` what the alert says of the calls of its series held back
    before it (`guardrail.core.series`)."""
    kind = traits(facts.trigger.occasion)
    known = previous if previous is not None and previous.gone_at is None else None
    change = (
        change_of(previous, decision, now, reminder if kind.alerting is Alerting.NEWS_OR_REMINDER else _NEVER)
        if kind.relook
        else None
    )
    if kind.alerting is Alerting.ALWAYS:
        news = True
    elif kind.alerting is Alerting.FINDINGS:
        news = bool(decision.findings)
    elif kind.alerting is Alerting.DELETION:
        news = step is not None and step.news
    else:
        news = change is not None or (step is not None and step.news)
    alert = None
    if news and step is not None and step.state is State.POSTPONED and result is None:
        # Facts missing at the deadline, again: one high alert names what fails (a refusal is
        # said by the attempt's own alert, its remediation `failed`).
        alert = postponed_alert(facts, step.body())
    elif news:
        alert = build_alert(
            facts,
            _acted(decision, step, result),
            mode=mode,
            remediation={"status": result.status, "detail": result.detail} if result is not None else None,
            history=_history(known, change, kind.relook, now),
            resolution=_resolution(change, decision, known),
            deletion=step.body() if step is not None else None,
            test=test,
            series=series,
        )
    return Conclusion(alert, _record(facts, decision, previous, now, step, result, alerted=news), change)


def _history(
    known: InventoryRecord | None, change: Change | None, relook: bool, now: datetime
) -> History | None:
    if known is not None:
        return History(
            first_seen=known.first_seen.isoformat(),
            learnt_by=known.learnt_by,
            announced=known.announced,
            change=change.value if change else None,
            previous_rules=known.rules,
        )
    if relook and change is not None:
        return History(first_seen=now.isoformat(), learnt_by="sweep", announced=False, change=change.value)
    return None


def _resolution(
    change: Change | None, decision: Decision, known: InventoryRecord | None
) -> Resolution | None:
    if change is not Change.RESOLVED or known is None:
        return None
    return Resolution("exempted" if decision.suppressed else "in-policy", known.rules)


def _acted(decision: Decision, step: Step | None, result: RemediationResult | None) -> Decision:
    """The decision's action as the deletion lifecycle carried it out: one due time, the
    lifecycle's, in the action's reason and in the alert's `deletion`."""
    if step is None or decision.action is Action.WOULD_DELETE:
        return decision
    rules = ", ".join(sorted(step.pending.demands)) if step.pending is not None else ""
    due = step.due.isoformat() if step.due is not None else None
    match step.state:
        case State.SCHEDULED | State.PENDING | State.MOVED:
            action, reason = (
                Action.SCHEDULE_DELETE,
                f"{rules} ask for remediation: the instance will be deleted at {due}",
            )
        case State.WITHHELD:
            action, reason = (
                Action.DELETE,
                f"{rules} ask for remediation; the hourly cap is reached: tried again at {due}",
            )
        case State.POSTPONED:
            action, reason = Action.SCHEDULE_DELETE, f"the deletion is postponed to {due}: {step.reason}"
        case State.DUE | State.DELETED:
            action, reason = Action.DELETE, f"{rules} ask for remediation, and their grace period is over"
        case State.CANCELLED:
            action = Action.ALERT if decision.findings else Action.NONE
            reason = f"the pending deletion is cancelled: {step.reason}"
    if result is not None and step.state is not State.WITHHELD and result.status != "deleted":
        reason = f"{reason}; {result.detail}"
    return replace(decision, action=action, action_reason=reason)


def _record(
    facts: Facts,
    decision: Decision,
    previous: InventoryRecord | None,
    now: datetime,
    step: Step | None,
    result: RemediationResult | None,
    *,
    alerted: bool,
) -> InventoryRecord | None:
    """What the inventory holds after the look: the instance as judged; gone once deleted."""
    kind = traits(facts.trigger.occasion)
    call = facts.call
    occasion = facts.trigger.occasion
    known = previous if previous is not None and previous.gone_at is None else None
    if result is not None and result.status == "deleted" and known is not None:
        return gone(known, now)
    if facts.subject.instance_arn is None:
        return None
    if kind.describes_instance and facts.instance is not None:
        created = occasion is Occasion.CREATE_SUCCEEDED
        record = observed(
            previous,
            facts,
            decision,
            now,
            learnt_by=_learnt_by(facts),
            alerted=alerted,
            announced=created,
            pending_deletion=step.pending_until if step is not None else None,
        )
        if created and call is not None and known is None:
            record = msgspec.structs.replace(record, first_seen=min(call.event_time, now))
        return record
    if known is None:
        return None  # not known yet: the next sweep learns it
    if facts.instance_gone or (occasion is Occasion.DELETE_SUCCEEDED and call is not None):
        return gone(known, call.event_time if call is not None else now)
    if occasion is Occasion.UPDATE_SUCCEEDED and call is not None:
        # The call succeeded, so the name requested is the name now.
        return msgspec.structs.replace(known, name=call.requested_name or known.name, last_seen=now)
    if step is not None and step.pending_until != known.pending_deletion:
        return msgspec.structs.replace(known, pending_deletion=step.pending_until)
    return None


def _learnt_by(facts: Facts) -> LearntBy:
    return "event" if facts.call is not None else "sweep"
