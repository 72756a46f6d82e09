"""The inventory as an event sees it: the record of the event's instance read before the event is
judged, and what the conclusion says it now is (`guardrail.core.conclusion`) written after.

The record is read and written once per event, both off the event's chain of round trips:
`prefetch` starts the read while the handler claims the event, `previous` takes it, `write`
starts the write, which overlaps the claim's completion, and `flush` waits for it before the
invocation ends.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol

from guardrail.core.facts import Subject
from guardrail.core.inventory import InventoryRecord
from guardrail.inventory.table import InventoryTable


class Submit(Protocol):
    def __call__[T](self, work: Callable[[], T]) -> Future[T]: ...


class EventInventory:
    def __init__(self, table: InventoryTable, submit: Submit | None = None) -> None:
        """``submit`` runs a call in the background (the gatherer's pool of calls); without it
        every read and write is made in line."""
        self._table = table
        self._submit = submit
        # One event at a time: the read started for it, and the write started.
        self._reading: tuple[str, Future[InventoryRecord | None]] | None = None
        self._writing: Future[None] | None = None

    def prefetch(self, subject: Subject) -> None:
        """Start reading what the inventory knows of the event's instance, without waiting."""
        arn = subject.instance_arn
        if self._submit is not None and arn is not None:
            self._reading = (arn, self._submit(lambda: self._table.get(arn)))

    def previous(self, subject: Subject) -> InventoryRecord | None:
        """What the inventory knew of the instance before this event."""
        arn = subject.instance_arn
        reading, self._reading = self._reading, None
        if arn is None:
            return None
        return reading[1].result() if reading is not None and reading[0] == arn else self._table.get(arn)

    def write(self, record: InventoryRecord) -> None:
        self.flush()  # one write at a time: a second event's never overtakes the first's
        if self._submit is None:
            self._table.put(record)
        else:
            self._writing = self._submit(lambda: self._table.put(record))

    def flush(self) -> None:
        """Wait for the write `write` started; raise what made it fail."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()
