"""What an instance event tells the inventory: a created or retagged instance is what it was judged
to be (and what its alert said), an updated one has its new name, a deleted one is gone. Sweeps
keep the rest of it current."""

from __future__ import annotations

from datetime import datetime

import msgspec

from guardrail.adapters.inventory import InventoryTable
from guardrail.core.decision import Decision
from guardrail.core.facts import Facts, Occasion
from guardrail.core.inventory import InventoryRecord, gone, observed

# The occasions on which the instance was described, tagged and judged whole.
_JUDGED = frozenset(
    {Occasion.CREATE_SUCCEEDED, Occasion.TAG_SUCCEEDED, Occasion.UNTAG_SUCCEEDED, Occasion.GRACE_ENDED}
)


class EventInventory:
    def __init__(self, table: InventoryTable) -> None:
        self._table = table

    def previous(self, facts: Facts) -> InventoryRecord | None:
        """What the inventory knew of the instance before this event."""
        arn = facts.subject.instance_arn
        return None if arn is None else self._table.get(arn)

    def record(
        self, facts: Facts, decision: Decision, now: datetime, *, alerted: bool, pending: datetime | None
    ) -> None:
        """After the event's alert went out (at `now`), or its judgement if it was no news."""
        arn = facts.subject.instance_arn
        occasion = facts.trigger.occasion
        if arn is None:
            return
        previous = self._table.get(arn)
        if occasion in _JUDGED and facts.instance is not None:
            created = occasion is Occasion.CREATE_SUCCEEDED
            record = observed(
                previous,
                facts,
                decision,
                now,
                learnt_by="event",
                alerted=alerted,
                announced=created,
                pending_deletion=pending,
            )
            call = facts.call
            if created and call is not None and (previous is None or previous.gone_at is not None):
                record = msgspec.structs.replace(record, first_seen=min(call.event_time, now))
            self._table.put(record)
            return
        if previous is None or previous.gone_at is not None:
            return  # not known yet: the next sweep learns it
        call = facts.call
        if occasion is Occasion.DELETE_SUCCEEDED and call is not None:
            self._table.put(gone(previous, call.event_time))
        elif occasion is Occasion.UPDATE_SUCCEEDED and call is not None:
            # The call succeeded, so the name requested is the name now.
            self._table.put(
                msgspec.structs.replace(previous, name=call.requested_name or previous.name, last_seen=now)
            )
