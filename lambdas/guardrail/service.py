"""One call in, one alert out: gather the facts, decide, publish.

Kept free of Lambda and Powertools so that the handler, the local runner and the tests drive the
very same path.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from guardrail.core.alert import Alert, build_alert
from guardrail.core.decision import decide
from guardrail.core.facts import ApiCall, Facts
from guardrail.core.policy import Policy


class Gatherer(Protocol):
    def gather(self, call: ApiCall) -> Facts: ...


class Publisher(Protocol):
    def publish(self, alert: Alert) -> str: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


class Guardrail:
    def __init__(
        self,
        gatherer: Gatherer,
        publisher: Publisher,
        policy: Policy,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._gatherer = gatherer
        self._publisher = publisher
        self._policy = policy
        self._clock = clock

    def evaluate(self, facts: Facts) -> Alert:
        decision = decide(facts, self._policy, self._clock())
        return build_alert(facts, decision, mode=self._policy.mode.value)

    def handle(self, call: ApiCall) -> Alert:
        """Raises when the alert cannot be published, so that the invocation is retried."""
        alert = self.evaluate(self._gatherer.gather(call))
        self._publisher.publish(alert)
        return alert
