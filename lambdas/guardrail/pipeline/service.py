"""One look at an instance in, at most one alert out: gather the facts, decide, settle the
instance's deletion, conclude, publish.

Two triggers come through here: an instance API call (`handle`) and the end of a pending
deletion's grace period (`grace_ended`). Both go through the same three steps: the decision
(`guardrail.core.decision`), the deletion lifecycle (`guardrail.deletion.lifecycle`, which
deletes only on facts read again for the purpose) and the conclusion (`guardrail.core.conclusion`:
what changed, whether it is news, the alert, the inventory record), which the sweep shares.

Kept free of Lambda and Powertools so that the handler, the local runner and the tests drive the
very same path.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from guardrail.channels.audit import AuditSink, record_alert, record_held, record_step
from guardrail.core.alert import Alert, build_alert, cap_alert
from guardrail.core.conclusion import conclude
from guardrail.core.decision import decide
from guardrail.core.deletion import PendingDeletion
from guardrail.core.facts import ApiCall, Facts, GraceEnded, Subject, Trigger
from guardrail.core.inventory import InventoryRecord
from guardrail.core.policy import Policy
from guardrail.core.series import Admission, series_key
from guardrail.deletion.lifecycle import Deletions, Settled


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


class Inventory(Protocol):
    def prefetch(self, subject: Subject) -> None:
        """Start reading the subject's record, so that `previous` finds it read."""
        ...

    def previous(self, subject: Subject) -> InventoryRecord | None: ...

    def write(self, record: InventoryRecord) -> None:
        """Write the record, possibly in the background: `flush` waits for it."""
        ...

    def flush(self) -> None: ...


class Series(Protocol):
    def admit(self, key: str, now: datetime, window: timedelta) -> Admission:
        """Whether a call of the series alerts now, or is held back in its open window."""
        ...


class FiringRefused(RuntimeError):
    """A deletion-due input that matches no schedule the guardrail made, or came early."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Guardrail:
    def __init__(
        self,
        gatherer: Gatherer,
        publisher: Publisher,
        policy: Policy,
        clock: Callable[[], datetime] = utc_now,
        confirmer: FreshGatherer | None = None,
        inventory: Inventory | None = None,
        deletions: Deletions | None = None,
        on_unrecorded: Callable[[Exception], None] = lambda error: None,
        audit: AuditSink = lambda action, fields: None,
        series: Series | None = None,
    ) -> None:
        """``deletions`` schedules and carries out deletions (without it, a deletion the policy asks
        for is reported as skipped); ``confirmer`` reads the facts fresh before one. The
        ``inventory`` is read before and told after each look; a failure of it is handed to
        ``on_unrecorded`` and never fails the event (a retry would alert again)."""
        self._gatherer = gatherer
        self._publisher = publisher
        self._policy = policy
        self._clock = clock
        self._confirmer = confirmer
        self._inventory = inventory
        self._deletions = deletions or Deletions(policy, None)
        self._on_unrecorded = on_unrecorded
        self._audit = audit
        self._series = series

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
        """The alert published for the call, or None for a look that is no news (a tag change that
        changes nothing). Raises when the alert cannot be published (or deletion hit a transient
        state), so that the invocation is retried; a retry after a deletion says it was made."""
        facts = self._gatherer.gather(call)
        confirmer = self._confirmer
        now = self._clock()
        settled = self._deletions.settle(
            facts,
            decide(facts, self._policy, now),
            previous=(previous := self._previous(call.subject)),
            now=now,
            holder=call.event_id,
            fresh=lambda: confirmer.gather_fresh(call) if confirmer is not None else None,
        )
        admission = self._admit(settled)
        if admission is not None and not admission[1].alert:
            record_held(self._audit, settled.facts, settled.decision)
            return None
        return self._conclude(settled, previous, admission)

    def _admit(self, settled: Settled) -> tuple[str, Admission] | None:
        """A failed call that repeats one alerted within the policy's window is held back (counted,
        and said by the series' next alert); anything else alerts."""
        window = timedelta(minutes=self._policy.alerting.repeat_window_minutes)
        key = series_key(settled.facts, settled.decision)
        if self._series is None or key is None or not window:
            return None
        return key, self._series.admit(key, self._clock(), window)

    def grace_ended(self, fired: PendingDeletion) -> Alert | None:
        """A pending deletion's schedule fired: acted on only if it is the schedule the guardrail
        made for the instance and its time has come (`FiringRefused` otherwise). Every fact is read
        now, the decision made again; the deletion is carried out, moved, postponed or cancelled."""
        if self._confirmer is None:
            raise RuntimeError("deciding a due deletion needs a fresh reading of the facts")
        now = self._clock()
        stored, refusal = self._deletions.refusal(fired, now)
        if refusal is not None or stored is None:
            raise FiringRefused(refusal or "no deletion of the instance is pending")
        subject = Subject(
            account_id=stored.account_id, region=stored.region, instance_arn=stored.instance_arn
        )
        trigger = GraceEnded(
            scheduled_at=stored.scheduled_at, deadline=stored.due, rules=tuple(sorted(stored.demands))
        )
        facts = self._confirmer.gather_about(subject, trigger)
        settled = self._deletions.settle(
            facts,
            decide(facts, self._policy, now),
            previous=(previous := self._previous(subject)),
            now=now,
            holder=f"deletion-due:{stored.instance_arn}:{stored.due.isoformat()}",
            fresh=lambda: facts,  # read fresh already
            stored=stored,
            read=False,
        )
        return self._conclude(settled, previous)

    def _previous(self, subject: Subject) -> InventoryRecord | None:
        if self._inventory is None or subject.instance_arn is None:
            return None
        try:
            return self._inventory.previous(subject)
        except Exception as error:  # the alert matters more than what the inventory adds to it
            self._on_unrecorded(error)
            return None

    def _conclude(
        self,
        settled: Settled,
        previous: InventoryRecord | None,
        admission: tuple[str, Admission] | None = None,
    ) -> Alert | None:
        now = self._clock()
        conclusion = conclude(
            settled.facts,
            settled.decision,
            previous=previous,
            now=now,
            mode=self._policy.mode.value,
            step=settled.step,
            result=settled.result,
            series=admission[1].body(admission[0]) if admission is not None else None,
        )
        result = settled.result
        if result is not None and result.cap_first:
            # Before the instance's own alert: should this one fail, the retry (which no longer
            # finds itself first over the cap) does not send the instance's alert twice.
            cap = cap_alert(settled.facts, self._policy.enforcement.max_deletions_per_hour, now)
            try:
                self._publisher.publish(cap)
            except BaseException:
                self._deletions.cap_unsaid(now)  # never dropped: the retry is first over the cap again
                raise
            record_alert(self._audit, cap.body)
        if conclusion.alert is not None:
            self._publisher.publish(conclusion.alert)
            record_alert(self._audit, conclusion.alert.body)
        elif settled.step is not None:  # a quiet step (a postponement) is in the audit trail still
            record_step(self._audit, settled.facts, settled.step)
        if conclusion.record is not None and self._inventory is not None:
            try:
                self._inventory.write(conclusion.record)
            except Exception as error:
                self._on_unrecorded(error)
        return conclusion.alert
