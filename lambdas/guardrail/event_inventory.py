"""What an instance event tells the inventory: a created or retagged instance is what it was judged
to be (and what its alert said), an updated one has its new name, a deleted one is gone. Sweeps
keep the rest of it current.

The record is read and written once per event, both off the event's chain of round trips:
`prefetch` starts the read while the handler claims the event, `previous` takes it, `record`
starts the write on top of it, which overlaps the claim's completion, and `flush` waits for it
before the invocation ends.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Protocol

import msgspec

from guardrail.adapters.inventory import InventoryTable
from guardrail.core.decision import Decision
from guardrail.core.facts import Facts, Occasion, Subject
from guardrail.core.inventory import InventoryRecord, gone, observed

# The occasions on which the instance was described, tagged and judged whole.
_JUDGED = frozenset(
    {Occasion.CREATE_SUCCEEDED, Occasion.TAG_SUCCEEDED, Occasion.UNTAG_SUCCEEDED, Occasion.GRACE_ENDED}
)


class Submit(Protocol):
    def __call__[T](self, work: Callable[[], T]) -> Future[T]: ...


class EventInventory:
    def __init__(self, table: InventoryTable, submit: Submit | None = None) -> None:
        """``submit`` runs a call in the background (the gatherer's pool of calls); without it
        every read and write is made in line."""
        self._table = table
        self._submit = submit
        # One event at a time: the read started for it, the record it read, the write started.
        self._reading: tuple[str, Future[InventoryRecord | None]] | None = None
        self._read: tuple[str, InventoryRecord | None] | None = None
        self._writing: Future[None] | None = None

    def prefetch(self, subject: Subject) -> None:
        """Start reading what the inventory knows of the event's instance, without waiting."""
        arn = subject.instance_arn
        if self._submit is not None and arn is not None:
            self._reading = (arn, self._submit(lambda: self._table.get(arn)))

    def previous(self, facts: Facts) -> InventoryRecord | None:
        """What the inventory knew of the instance before this event."""
        arn = facts.subject.instance_arn
        reading, self._reading, self._read = self._reading, None, None
        if arn is None:
            return None
        known = reading[1].result() if reading is not None and reading[0] == arn else self._table.get(arn)
        self._read = (arn, known)
        return known

    def record(
        self, facts: Facts, decision: Decision, now: datetime, *, alerted: bool, pending: datetime | None
    ) -> None:
        """After the event's alert went out (at `now`), or its judgement if it was no news."""
        arn = facts.subject.instance_arn
        occasion = facts.trigger.occasion
        if arn is None:
            return
        read, self._read = self._read, None
        previous = read[1] if read is not None and read[0] == arn else self._table.get(arn)
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
            self._put(record)
            return
        if previous is None or previous.gone_at is not None:
            return  # not known yet: the next sweep learns it
        call = facts.call
        if occasion is Occasion.DELETE_SUCCEEDED and call is not None:
            self._put(gone(previous, call.event_time))
        elif occasion is Occasion.UPDATE_SUCCEEDED and call is not None:
            # The call succeeded, so the name requested is the name now.
            self._put(
                msgspec.structs.replace(previous, name=call.requested_name or previous.name, last_seen=now)
            )

    def flush(self) -> None:
        """Wait for the write `record` started; raise what made it fail."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()

    def _put(self, record: InventoryRecord) -> None:
        self.flush()  # one write at a time: a second event's never overtakes the first's
        if self._submit is None:
            self._table.put(record)
        else:
            self._writing = self._submit(lambda: self._table.put(record))
