"""One alert out on every configured channel, each channel's delivery on its own.

Every channel is tried, at once, whatever the others do: one broken channel never blocks the rest.
When one fails, the channels that did get the alert are recorded, and the failure is reported to
`on_failure` (logged and counted, which an alarm watches) and raised, so that the invocation (or
the sweep's batch) is retried and the retry sends the alert to the failed channels only; nothing
is dropped silently: the retry sends it, or the event ends in the dead-letter queue. With a single
channel there is nothing to record: the retry sends it again, as it must.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from guardrail.core.alert import Alert


class Channel(Protocol):
    name: str

    def deliver(self, alert: Alert) -> None: ...


class DeliveryRecords(Protocol):
    def delivered(self, notice: str, channels: Sequence[str]) -> set[str]: ...

    def record(self, notice: str, channels: Sequence[str]) -> None: ...


class UndeliveredAlert(RuntimeError):
    """Some channels did not get the alert; the retry sends it to them alone."""

    def __init__(self, failures: Sequence[tuple[str, BaseException]]) -> None:
        super().__init__("; ".join(f"{name}: {type(error).__name__}: {error}" for name, error in failures))
        self.channels = tuple(name for name, _ in failures)


def notice_id(body: dict[str, Any]) -> str:
    """What identifies one alert across retries: its `alert_id`, which every alert carries (the
    event's id, the sweep run and instance, a deletion's firing, the cap's hour, a run's summary)."""
    identifier = body.get("alert_id")
    if not identifier:
        raise ValueError("an alert without an alert_id cannot be delivered exactly once")
    return str(identifier)


class Deliverer:
    def __init__(
        self,
        channels: Sequence[Channel],
        records: DeliveryRecords | None = None,
        *,
        on_failure: Callable[[str, BaseException], None] = lambda channel, error: None,
    ) -> None:
        """Without `records` (the local tools), a retry sends on every channel again."""
        if not channels:
            raise ValueError("an alert needs at least one channel")
        self._channels = tuple(channels)
        self._records = records if len(self._channels) > 1 else None
        self._on_failure = on_failure
        self._pool = ThreadPoolExecutor(max_workers=len(self._channels), thread_name_prefix="deliver")

    def publish(self, alert: Alert) -> str:
        notice = notice_id(alert.body)
        pending = self._channels
        if self._records is not None:
            done = self._records.delivered(notice, [c.name for c in pending])
            pending = tuple(c for c in pending if c.name not in done)
        outcomes = list(self._pool.map(lambda channel: _try(channel, alert), pending))
        failures = [(channel.name, error) for channel, error in zip(pending, outcomes, strict=True) if error]
        if failures:
            for name, error in failures:
                self._on_failure(name, error)
            if self._records is not None:
                sent = [c.name for c, error in zip(pending, outcomes, strict=True) if error is None]
                if sent:
                    self._records.record(notice, sent)
            raise UndeliveredAlert(failures)
        return notice


def _try(channel: Channel, alert: Alert) -> BaseException | None:
    try:
        channel.deliver(alert)
    except Exception as error:
        return error
    return None
