"""One call in, one alert out: gather the facts, decide, remediate when decided, publish.

A deletion is never decided on cached facts alone: when the decision is to delete, every fact is
read again from AWS and the decision made again; only if it still says delete is the instance
deleted, and the alert tells what the facts read last say.

Kept free of Lambda and Powertools so that the handler, the local runner and the tests drive the
very same path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from guardrail.core.alert import Alert, build_alert
from guardrail.core.decision import Action, Decision, decide
from guardrail.core.facts import ApiCall, Facts
from guardrail.core.policy import Policy


class Gatherer(Protocol):
    def gather(self, call: ApiCall) -> Facts: ...


class FreshGatherer(Protocol):
    def gather_fresh(self, call: ApiCall) -> Facts:
        """Every fact read from AWS now, no cache consulted: what a deletion is confirmed on."""
        ...


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
        confirmer: FreshGatherer | None = None,
    ) -> None:
        """Deleting needs both a ``remediator`` and a ``confirmer`` to read the facts fresh."""
        self._gatherer = gatherer
        self._publisher = publisher
        self._policy = policy
        self._clock = clock
        self._remediator = remediator
        self._confirmer = confirmer

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
            facts, decision, result = self._delete(call, facts, decision)
            if result is not None:
                remediation = {"status": result.status, "detail": result.detail}
        alert = build_alert(facts, decision, mode=self._policy.mode.value, remediation=remediation)
        self._publisher.publish(alert)
        return alert

    def _delete(
        self, call: ApiCall, facts: Facts, decision: Decision
    ) -> tuple[Facts, Decision, RemediationResult | None]:
        """Delete the instance if facts read now still call for it: the facts and decision the
        alert is to tell, and what remediation did (None when the fresh decision is not to delete).

        Organization facts may come from a cache minutes old, and the account may have been moved
        into an approved OU since: a deletion decided on them is decided again on facts read now.
        """
        if self._remediator is None:
            return facts, decision, RemediationResult("skipped", "no remediator is configured")
        if self._confirmer is None:
            return (
                facts,
                decision,
                RemediationResult("skipped", "no fresh reading of the facts is configured"),
            )
        fresh = self._confirmer.gather_fresh(call)
        confirmed = decide(fresh, self._policy, self._clock())
        if confirmed.action is not Action.DELETE:
            return fresh, confirmed, None
        return fresh, confirmed, self._remediator.delete(fresh)
