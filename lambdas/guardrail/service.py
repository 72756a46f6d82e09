"""One call in, one alert out: gather the facts, decide, remediate when decided, publish.

A deletion is never decided on cached facts alone: when the decision is to delete, every fact is
read again from AWS and the decision made again; only if it still says delete is the instance
deleted, and the alert tells what the facts read last say. With a grace period the deletion is
scheduled instead (`enforcement`), and decided again the same way when it is due (`grace_ended`).

A tag change is judged as the instance it changes, and alerted only when that is news: a new or
changed violation, one that ended, or a deletion scheduled or cancelled.

Kept free of Lambda and Powertools so that the handler, the local runner and the tests drive the
very same path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from guardrail.audit import AuditSink, record_alert
from guardrail.core.alert import Alert, History, Resolution, build_alert, cap_alert
from guardrail.core.decision import Action, Decision, decide
from guardrail.core.facts import ApiCall, Facts, GraceEnded, InstanceStatus, Occasion, Subject, Trigger
from guardrail.core.inventory import Change, InventoryRecord, change_of
from guardrail.core.policy import Policy
from guardrail.enforcement import Deletion, PendingDeletions


class Gatherer(Protocol):
    def prefetch(self, call: ApiCall) -> None:
        """Start, without waiting, the reads `gather` begins with."""
        ...

    def gather(self, call: ApiCall) -> Facts: ...


class FreshGatherer(Protocol):
    def gather_fresh(self, call: ApiCall) -> Facts:
        """Every fact read from AWS now, no cache consulted: what a deletion is confirmed on."""
        ...

    def gather_about(self, subject: Subject, trigger: Trigger) -> Facts:
        """The same for an instance, whatever the trigger (the end of a grace period)."""
        ...


class Publisher(Protocol):
    def publish(self, alert: Alert) -> str: ...


@dataclass(frozen=True)
class RemediationResult:
    status: str  # "deleted", "skipped" or "failed"
    detail: str
    # The hourly cap of deletions stopped this one; `cap_first` for the first such in its hour.
    cap_reached: bool = False
    cap_first: bool = False


class Remediator(Protocol):
    def delete(self, facts: Facts) -> RemediationResult: ...

    def made_earlier(self, facts: Facts) -> RemediationResult | None:
        """The deletion an earlier attempt of this event made (a retry finds the instance gone or
        going, and must say deleted, not withheld), or None."""
        ...


class Inventory(Protocol):
    def prefetch(self, subject: Subject) -> None:
        """Start reading the subject's record, so that `previous` finds it read."""
        ...

    def previous(self, facts: Facts) -> InventoryRecord | None: ...

    def record(
        self, facts: Facts, decision: Decision, now: datetime, *, alerted: bool, pending: datetime | None
    ) -> None:
        """Write what the event taught, possibly in the background: `flush` waits for it."""
        ...

    def flush(self) -> None: ...


# Tag changes alert only on news; an unchanged violation waits for the sweep's reminder. One that
# failed changed nothing: it alerts only when a rule faults the attempt itself (the root user).
_TAG_CHANGES = frozenset({Occasion.TAG_SUCCEEDED, Occasion.UNTAG_SUCCEEDED})
_TAG_ATTEMPTS = frozenset({Occasion.TAG_FAILED, Occasion.UNTAG_FAILED})
# Second looks at an instance already judged: their alert says what changed since (or that it ended).
_RELOOKS = _TAG_CHANGES | {Occasion.GRACE_ENDED}
_NEVER = timedelta.max


# The occasions whose instance the guardrail may have deleted in an earlier attempt of the event.
_DELETING = frozenset(
    {Occasion.CREATE_SUCCEEDED, Occasion.TAG_SUCCEEDED, Occasion.UNTAG_SUCCEEDED, Occasion.GRACE_ENDED}
)


def _maybe_deleted_by_us(facts: Facts) -> bool:
    """An instance that is gone or going where a deletion could have been decided: worth asking
    whether an earlier attempt made it (one read), rather than reporting it as merely withheld."""
    if facts.subject.instance_arn is None or facts.trigger.occasion not in _DELETING:
        return False
    return facts.instance is None or facts.instance.status == InstanceStatus.DELETE_IN_PROGRESS


def utc_now() -> datetime:
    return datetime.now(UTC)


class Guardrail:
    def __init__(
        self,
        gatherer: Gatherer,
        publisher: Publisher,
        policy: Policy,
        clock: Callable[[], datetime] = utc_now,
        remediator: Remediator | None = None,
        confirmer: FreshGatherer | None = None,
        inventory: Inventory | None = None,
        deletions: PendingDeletions | None = None,
        on_unrecorded: Callable[[Exception], None] = lambda error: None,
        audit: AuditSink = lambda action, fields: None,
    ) -> None:
        """Deleting needs both a ``remediator`` and a ``confirmer`` to read the facts fresh;
        scheduling one, ``deletions``. The ``inventory`` is read before and told after each alert;
        a failure of it is handed to ``on_unrecorded`` and never fails the event (a retry would
        alert again)."""
        self._gatherer = gatherer
        self._publisher = publisher
        self._policy = policy
        self._clock = clock
        self._remediator = remediator
        self._confirmer = confirmer
        self._inventory = inventory
        self._deletions = deletions
        self._on_unrecorded = on_unrecorded
        self._audit = audit

    def prefetch(self, call: ApiCall) -> None:
        """Start the reads the call begins with, without waiting: the handler calls this while it
        claims the event, so that they overlap the claim. A failure is met again where it is read."""
        self._gatherer.prefetch(call)
        if self._inventory is not None:
            try:
                self._inventory.prefetch(call.subject)
            except Exception as error:  # as a failed read: the alert matters more
                self._on_unrecorded(error)

    def finish(self) -> None:
        """Wait for what the event left running (the inventory's write); the handler calls this
        before the invocation ends, whatever happened."""
        if self._inventory is None:
            return
        try:
            self._inventory.flush()
        except Exception as error:
            self._on_unrecorded(error)

    def evaluate(self, facts: Facts) -> Alert:
        """The decision as an alert, acting on nothing: what `guardrail evaluate` shows."""
        decision = decide(facts, self._policy, self._clock())
        return build_alert(facts, decision, mode=self._policy.mode.value)

    def handle(self, call: ApiCall) -> Alert | None:
        """The alert published for the call, or None for a tag change that is no news.

        Raises when the alert cannot be published (or deletion hit a transient state), so that the
        invocation is retried; a retry after a deletion finds the instance gone and says so."""
        facts = self._gatherer.gather(call)
        decision = decide(facts, self._policy, self._clock())
        result = None
        if decision.action is Action.DELETE:
            facts, decision, result = self._delete(facts, decision, lambda: self._fresh_for_call(call))
        elif self._remediator is not None and _maybe_deleted_by_us(facts):
            result = self._remediator.made_earlier(facts)
        return self._conclude(facts, decision, result)

    def grace_ended(self, subject: Subject, trigger: GraceEnded) -> Alert:
        """A pending deletion is due: every fact read now, the decision made again, and the
        instance deleted only if it still says so; the alert says what was done."""
        if self._confirmer is None:
            raise RuntimeError("deciding a due deletion needs a fresh reading of the facts")
        confirmer = self._confirmer
        facts = confirmer.gather_about(subject, trigger)
        decision = decide(facts, self._policy, self._clock())
        result = None
        if decision.action is Action.DELETE:
            # Already read fresh: delete on these facts.
            facts, decision, result = self._delete(facts, decision, lambda: facts)
        elif self._remediator is not None and _maybe_deleted_by_us(facts):
            result = self._remediator.made_earlier(facts)
        alert = self._conclude(facts, decision, result, always=True)
        assert alert is not None
        return alert

    def _fresh_for_call(self, call: ApiCall) -> Facts | None:
        return None if self._confirmer is None else self._confirmer.gather_fresh(call)

    def _conclude(
        self, facts: Facts, decision: Decision, result: RemediationResult | None, *, always: bool = False
    ) -> Alert | None:
        now = self._clock()
        previous = self._read_inventory(facts)
        deletion = self._settle_deletion(facts, decision, previous)
        occasion = facts.trigger.occasion
        change = change_of(previous, decision, now, _NEVER) if occasion in _RELOOKS else None
        if occasion in _TAG_ATTEMPTS:
            news = bool(decision.findings)
        else:
            news = change is not None or (deletion is not None and deletion.news)
        if occasion in _TAG_CHANGES | _TAG_ATTEMPTS and not news and not always:
            self._record(facts, decision, now, alerted=False, previous=previous, deletion=deletion)
            return None
        history = None
        if previous is not None and previous.gone_at is None:
            history = History(
                first_seen=previous.first_seen.isoformat(),
                learnt_by=previous.learnt_by,
                announced=previous.announced,
                change=change.value if change else None,
                previous_rules=previous.rules,
            )
        resolution = None
        if change is Change.RESOLVED and previous is not None:
            resolution = Resolution("exempted" if decision.suppressed else "in-policy", previous.rules)
        remediation = {"status": result.status, "detail": result.detail} if result is not None else None
        alert = build_alert(
            facts,
            decision,
            mode=self._policy.mode.value,
            remediation=remediation,
            history=history,
            resolution=resolution,
            deletion=deletion.body() if deletion else None,
        )
        self._publisher.publish(alert)
        record_alert(self._audit, alert.body)
        if result is not None and result.cap_first:
            cap = cap_alert(facts, self._policy.enforcement.max_deletions_per_hour, now)
            self._publisher.publish(cap)
            record_alert(self._audit, cap.body)
        self._record(facts, decision, now, alerted=True, previous=previous, deletion=deletion)
        return alert

    def _delete(
        self, facts: Facts, decision: Decision, fresh: Callable[[], Facts | None]
    ) -> tuple[Facts, Decision, RemediationResult | None]:
        """Delete the instance if facts read now still call for it: the facts and decision the
        alert is to tell, and what remediation did (None when the fresh decision is not to delete).

        Organization facts may come from a cache minutes old, and the account may have been moved
        into an approved OU since: a deletion decided on them is decided again on facts read now.
        """
        if self._remediator is None:
            return facts, decision, RemediationResult("skipped", "no remediator is configured")
        confirmed_facts = fresh()
        if confirmed_facts is None:
            return (
                facts,
                decision,
                RemediationResult("skipped", "no fresh reading of the facts is configured"),
            )
        confirmed = decide(confirmed_facts, self._policy, self._clock())
        if confirmed.action is not Action.DELETE:
            return confirmed_facts, confirmed, None
        return confirmed_facts, confirmed, self._remediator.delete(confirmed_facts)

    def _read_inventory(self, facts: Facts) -> InventoryRecord | None:
        if self._inventory is None:
            return None
        try:
            return self._inventory.previous(facts)
        except Exception as error:  # the alert matters more than what the inventory adds to it
            self._on_unrecorded(error)
            return None

    def _settle_deletion(
        self, facts: Facts, decision: Decision, previous: InventoryRecord | None
    ) -> Deletion | None:
        return None if self._deletions is None else self._deletions.settle(facts, decision, previous)

    def _record(
        self,
        facts: Facts,
        decision: Decision,
        now: datetime,
        *,
        alerted: bool,
        previous: InventoryRecord | None,
        deletion: Deletion | None,
    ) -> None:
        if self._inventory is None:
            return
        if deletion is not None:
            pending = deletion.pending_until
        elif deletion is None and decision.action is Action.SCHEDULE_DELETE and previous is not None:
            pending = previous.pending_deletion  # no scheduler here: keep what is known
        else:
            pending = None
        try:
            self._inventory.record(facts, decision, now, alerted=alerted, pending=pending)
        except Exception as error:
            self._on_unrecorded(error)
