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

    def body(self) -> dict[str, Any]:
        return {"state": self.state, "due": self.due.isoformat() if self.due else None}


# The calls that end an instance, or what is left to say of it: its deletion cannot stay pending.
_ENDING = frozenset({Occasion.DELETE_SUCCEEDED})


class PendingDeletions:
    def __init__(self, schedules: Schedules) -> None:
        self._schedules = schedules

    def settle(self, facts: Facts, decision: Decision, previous: InventoryRecord | None) -> Deletion | None:
        """Schedule, keep or cancel the instance's deletion as the decision now says."""
        arn = facts.subject.instance_arn
        if arn is None:
            return None
        was = previous.pending_deletion if previous is not None and previous.gone_at is None else None
        if decision.action is Action.SCHEDULE_DELETE and facts.trigger.occasion not in _ENDING:
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
            return Deletion("pending", self._schedules.due(arn) or was or decision.delete_after)
        if (
            was is not None
            and facts.trigger.occasion is not Occasion.GRACE_ENDED
            and self._schedules.cancel(arn)
        ):
            return Deletion("cancelled", was)
        return None


def pending_deletions(
    clients: Any,
    *,
    group: str | None,
    target_arn: str | None,
    role_arn: str | None,
    dead_letter_arn: str | None = None,
) -> PendingDeletions | None:
    """The deployment's pending deletions, when it configured them (all three are set together)."""
    if not (group and target_arn and role_arn):
        return None
    from guardrail.adapters.schedules import DeletionSchedules

    return PendingDeletions(
        DeletionSchedules(
            clients.client("scheduler"),
            group=group,
            target_arn=target_arn,
            role_arn=role_arn,
            dead_letter_arn=dead_letter_arn,
        )
    )
