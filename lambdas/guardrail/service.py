"""One call in, one alert out: gather the facts, decide, remediate when decided, publish.

Kept free of Lambda and Powertools so that the handler, the local runner and the tests drive the
very same path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from guardrail.core.alert import Alert, build_alert
from guardrail.core.decision import Action, decide
from guardrail.core.facts import ApiCall, Facts
from guardrail.core.policy import Policy


class Gatherer(Protocol):
    def gather(self, call: ApiCall) -> Facts: ...


class Publisher(Protocol):
    def publish(self, alert: Alert) -> str: ...


@dataclass(frozen=True)
class RemediationResult:
    status: str  # "deleted", "skipped" or "failed"
    detail: str


class Remediator(Protocol):
    def delete(self, facts: Facts) -> RemediationResult: ...


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
    ) -> None:
        self._gatherer = gatherer
        self._publisher = publisher
        self._policy = policy
        self._clock = clock
        self._remediator = remediator

    def evaluate(self, facts: Facts) -> Alert:
        """The decision as an alert, acting on nothing: what `guardrail evaluate` shows."""
        decision = decide(facts, self._policy, self._clock())
        return build_alert(facts, decision, mode=self._policy.mode.value)

    def handle(self, call: ApiCall) -> Alert:
        """Raises when the alert cannot be published (or deletion hit a transient state), so that
        the invocation is retried; a retry after a deletion finds the instance gone and says so."""
        facts = self._gatherer.gather(call)
        decision = decide(facts, self._policy, self._clock())
        remediation = None
        if decision.action is Action.DELETE:
            result = (
                self._remediator.delete(facts)
                if self._remediator is not None
                else RemediationResult("skipped", "no remediator is configured")
            )
            remediation = {"status": result.status, "detail": result.detail}
        alert = build_alert(facts, decision, mode=self._policy.mode.value, remediation=remediation)
        self._publisher.publish(alert)
        return alert
