"""The deletion lifecycle carried out: what a look at an instance does to its deletion, with the
effects the pure model (`guardrail.core.deletion`) asks for.

`Deletions.settle` is the one place a decision meets the instance's pending deletion, for every
trigger: it reads the schedule where there may be one, settles the step, and when a deletion is
due confirms it on facts read now (a cached fact may be minutes old: an account moved into an
approved OU meanwhile keeps its instance), attempts it and settles what the attempt did; then
it puts, moves or removes the schedule. The event path, the end of a grace period and the sweep
all go through it; only the event path and the grace end may delete (the sweep's has no
remediator, and its trigger never deletes on the spot).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from guardrail.core.decision import Action, Decision, decide
from guardrail.core.deletion import (
    Attempt,
    Effect,
    PendingDeletion,
    RemediationResult,
    State,
    Step,
    attempted,
    firing_refused,
    settle,
)
from guardrail.core.facts import Facts, InstanceStatus
from guardrail.core.inventory import InventoryRecord
from guardrail.core.policy import Policy
from guardrail.core.triggers import traits
from guardrail.deletion.schedules import DeletionSchedules


class Schedules(Protocol):
    """Where pending deletions are kept (`guardrail.deletion.schedules.DeletionSchedules`)."""

    def get(self, instance_arn: str) -> PendingDeletion | None: ...
    def put(self, pending: PendingDeletion) -> None: ...
    def remove(self, instance_arn: str) -> bool: ...


class Remediator(Protocol):
    """What deletes (`guardrail.deletion.remediator.InstanceRemediator`)."""

    def delete(self, facts: Facts, holder: str) -> RemediationResult: ...
    def made_earlier(self, facts: Facts, holder: str | None = None) -> RemediationResult | None: ...
    def cap_unsaid(self, now: datetime) -> None: ...


@dataclass(frozen=True)
class Settled:
    """A look at an instance once its deletion is settled: the facts and decision the alert is to
    tell (read again when a deletion was due), the step, and what a deletion attempt did."""

    facts: Facts
    decision: Decision
    step: Step | None
    result: RemediationResult | None


class Deletions:
    def __init__(
        self,
        policy: Policy,
        schedules: Schedules | None,
        remediator: Remediator | None = None,
    ) -> None:
        """Without `schedules` there is no lifecycle: nothing is scheduled or deleted (the local
        tools); without a `remediator` nothing is deleted (the sweep)."""
        self._policy = policy
        self._schedules = schedules
        self._remediator = remediator

    def cap_unsaid(self, now: datetime) -> None:
        """The hour's cap alert could not be published: the retry says it."""
        if self._remediator is not None:
            self._remediator.cap_unsaid(now)

    def forget(self, instance_arn: str) -> None:
        """The instance is gone: its pending deletion, if any, has nothing left to do."""
        if self._schedules is not None:
            self._schedules.remove(instance_arn)

    def pending(self, instance_arn: str) -> PendingDeletion | None:
        return self._schedules.get(instance_arn) if self._schedules is not None else None

    def refusal(self, fired: PendingDeletion, now: datetime) -> tuple[PendingDeletion | None, str | None]:
        """The pending deletion a schedule's firing stands for, and why it must not be acted on
        (None when it matches the schedule the guardrail made, and is due)."""
        stored = self.pending(fired.instance_arn)
        return stored, firing_refused(stored, fired.due, now)

    def settle(
        self,
        facts: Facts,
        decision: Decision,
        *,
        previous: InventoryRecord | None,
        now: datetime,
        holder: str,
        fresh: Callable[[], Facts | None],
        stored: PendingDeletion | None = None,
        read: bool = True,
    ) -> Settled:
        """What the look does to the instance's deletion, carried out. `holder` names the trigger
        (for the deletion's claim); `fresh` reads every fact again, the cache bypassed; `stored`
        is the pending deletion when the caller read it already (`read=False`)."""
        schedules = self._schedules
        if schedules is None:
            # Nothing is kept: the decision stands as made, and a deletion due is reported skipped.
            skipped = RemediationResult(Attempt.HELD_BACK, "no remediator is configured")
            return Settled(facts, decision, None, skipped if decision.action is Action.DELETE else None)
        if read and _worth_reading(facts, decision, previous):
            stored = schedules.get(facts.subject.instance_arn or "")
        step = _announced(settle(stored, facts, decision, now), previous)
        result = None
        if step is not None and step.state is State.DUE:
            facts, decision, step, result = self._due(facts, decision, stored, holder, fresh, now)
        elif self._remediator is not None and _maybe_deleted_by_us(facts):
            result = self._remediator.made_earlier(facts, holder)
        if step is not None:
            if step.effect is Effect.PUT and step.pending is not None:
                schedules.put(step.pending)
            elif step.effect is Effect.REMOVE and stored is not None:
                schedules.remove(stored.instance_arn)
        return Settled(facts, decision, step, result)

    def _due(
        self,
        facts: Facts,
        decision: Decision,
        stored: PendingDeletion | None,
        holder: str,
        fresh: Callable[[], Facts | None],
        now: datetime,
    ) -> tuple[Facts, Decision, Step | None, RemediationResult | None]:
        """A deletion due now: decided again on facts read now, and attempted if it still is."""
        if self._remediator is None:
            return facts, decision, None, RemediationResult(Attempt.HELD_BACK, "no remediator is configured")
        confirmed = fresh()
        if confirmed is None:
            return (
                facts,
                decision,
                None,
                RemediationResult(Attempt.HELD_BACK, "no fresh reading of the facts is configured"),
            )
        if confirmed is not facts:
            facts, decision = confirmed, decide(confirmed, self._policy, now)
        step = settle(stored, facts, decision, now)
        if step is None or step.state is not State.DUE:
            return facts, decision, step, None
        result = self._remediator.delete(facts, holder)
        return facts, decision, attempted(step, result, now), result


def _announced(step: Step | None, previous: InventoryRecord | None) -> Step | None:
    """News is measured against the inventory, written only once an alert went out: a pending
    deletion the record does not know of was made by an attempt whose alert failed, and is still
    to be announced."""
    if step is None or step.state is not State.PENDING:
        return step
    if previous is not None and previous.gone_at is None and previous.pending_deletion is not None:
        return step
    return Step(State.SCHEDULED, step.effect, step.pending, step.reason)


def _worth_reading(facts: Facts, decision: Decision, previous: InventoryRecord | None) -> bool:
    """Whether the instance may have a pending deletion this look changes: one is asked for (its
    rules' deadlines are kept), or the inventory knows of one. Other looks cost no read."""
    if facts.subject.instance_arn is None:
        return False
    if decision.action in (Action.DELETE, Action.SCHEDULE_DELETE):
        return True
    return previous is not None and previous.gone_at is None and previous.pending_deletion is not None


def _maybe_deleted_by_us(facts: Facts) -> bool:
    """An instance gone or going where a deletion could have been decided: worth asking whether the
    guardrail made it (one read), rather than reporting it as merely withheld."""
    if facts.subject.instance_arn is None or not traits(facts.trigger.occasion).deletes_on_spot:
        return False
    return facts.instance_gone or (
        facts.instance is not None and facts.instance.status == InstanceStatus.DELETE_IN_PROGRESS
    )


class PendingDeletionSettings(Protocol):
    """Where pending deletions are kept, as a function's environment names them (all four set
    together, by a deployment with remediation enabled)."""

    @property
    def deletion_schedule_group(self) -> str | None: ...
    @property
    def deletion_target_arn(self) -> str | None: ...
    @property
    def deletion_scheduler_role_arn(self) -> str | None: ...
    @property
    def deletion_dead_letter_arn(self) -> str | None: ...


def deletion_schedules(clients: Any, settings: PendingDeletionSettings) -> DeletionSchedules | None:
    """The deployment's schedules of pending deletions, when it configured them."""
    group, target_arn = settings.deletion_schedule_group, settings.deletion_target_arn
    role_arn = settings.deletion_scheduler_role_arn
    if not (group and target_arn and role_arn):
        return None
    return DeletionSchedules(
        clients.client("scheduler"),
        group=group,
        target_arn=target_arn,
        role_arn=role_arn,
        dead_letter_arn=settings.deletion_dead_letter_arn,
    )
