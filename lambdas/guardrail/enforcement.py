"""Pending deletions: scheduled when a decision asks for a deletion after a grace period,
cancelled when the instance is fixed, exempted or deleted by its owner meanwhile.

The deletion itself is decided again when it is due, on every fact read fresh
(`Guardrail.grace_ended`): a fix or an exemption made during the grace period cancels it even if
no event or sweep came by to cancel the schedule first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from guardrail.core.decision import Action, Decision
from guardrail.core.facts import Facts, Occasion
from guardrail.core.inventory import InventoryRecord
from guardrail.core.policy import Policy


class Schedules(Protocol):
    def schedule(
        self, *, instance_arn: str, account_id: str, region: str, due: datetime, rules: tuple[str, ...]
    ) -> bool: ...

    def due(self, instance_arn: str) -> datetime | None: ...

    def cancel(self, instance_arn: str) -> bool: ...


@dataclass(frozen=True)
class Deletion:
    """What happened to the instance's pending deletion with this look at it."""

    state: str  # "scheduled" (now), "pending" (already), "cancelled"
    due: datetime | None

    @property
    def news(self) -> bool:
        """Whether this look changed the deletion (one that stays pending is no news)."""
        return self.state != "pending"

    @property
    def pending_until(self) -> datetime | None:
        """When the deletion is due, if it is still pending after this look."""
        return self.due if self.state in ("scheduled", "pending") else None

    def body(self) -> dict[str, Any]:
        return {"state": self.state, "due": self.due.isoformat() if self.due else None}


# The occasions that judge the instance's state whole: they may schedule its deletion, or cancel
# it when the instance is now in policy. Others (UpdateInstance, a failed call) leave it as it is:
# renaming an instance must not cancel its deletion.
_JUDGING = frozenset(
    {Occasion.CREATE_SUCCEEDED, Occasion.TAG_SUCCEEDED, Occasion.UNTAG_SUCCEEDED, Occasion.SWEEP}
)


class PendingDeletions:
    def __init__(self, schedules: Schedules, policy: Policy) -> None:
        self._schedules = schedules
        self._policy = policy

    def settle(self, facts: Facts, decision: Decision, previous: InventoryRecord | None) -> Deletion | None:
        """Schedule, keep or cancel the instance's deletion as the decision now says."""
        arn = facts.subject.instance_arn
        if arn is None:
            return None
        was = previous.pending_deletion if previous is not None and previous.gone_at is None else None
        occasion = facts.trigger.occasion
        if occasion is Occasion.DELETE_SUCCEEDED:
            # Deleted by its owner (or by the guardrail, whose schedule is gone already).
            return Deletion("cancelled", was) if self._schedules.cancel(arn) else None
        if occasion not in _JUDGING:
            return None
        if decision.action is Action.SCHEDULE_DELETE:
            assert decision.delete_after is not None
            created = self._schedules.schedule(
                instance_arn=arn,
                account_id=facts.subject.account_id,
                region=facts.subject.region,
                due=decision.delete_after,
                rules=tuple(f.rule for f in decision.findings),
            )
            if created:
                return Deletion("scheduled", decision.delete_after)
            due = self._schedules.due(arn) or was or decision.delete_after
            # News is measured against the inventory, written only once the alert went out: a
            # schedule the record does not know of was made by an attempt whose alert failed.
            return Deletion("pending" if was is not None else "scheduled", due)
        if was is not None and self._in_policy(facts, decision):
            self._schedules.cancel(arn)  # gone already when an earlier attempt cancelled it
            return Deletion("cancelled", was)
        return None

    def _in_policy(self, facts: Facts, decision: Decision) -> bool:
        """Fixed or exempted, on a complete reading: no rule that remediates finds anything. A
        reading with facts missing, or a deletion merely withheld, keeps the deletion pending (it
        is decided again, on facts read then, when it is due)."""
        if facts.missing or decision.undetermined:
            return False
        return not any(self._policy.settings(f.rule).action == "remediate" for f in decision.findings)

    def forget(self, instance_arn: str) -> bool:
        """The instance is gone: its deletion, if one was pending, has nothing left to do."""
        return self._schedules.cancel(instance_arn)


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


def pending_deletions(
    clients: Any, policy: Policy, settings: PendingDeletionSettings
) -> PendingDeletions | None:
    """The deployment's pending deletions, when it configured them."""
    group, target_arn = settings.deletion_schedule_group, settings.deletion_target_arn
    role_arn = settings.deletion_scheduler_role_arn
    if not (group and target_arn and role_arn):
        return None
    from guardrail.adapters.schedules import DeletionSchedules

    return PendingDeletions(
        DeletionSchedules(
            clients.client("scheduler"),
            group=group,
            target_arn=target_arn,
            role_arn=role_arn,
            dead_letter_arn=settings.deletion_dead_letter_arn,
        ),
        policy,
    )
