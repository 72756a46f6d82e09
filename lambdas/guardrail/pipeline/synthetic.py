"""The test event of `guardrail doctor --send-test-event`: judged as a real event is, acting on nothing.

The doctor puts a CreateInstance of a synthetic instance (`guardrail.pipeline.events.TEST_INSTANCE_ID`) on
the central bus, in the central account and Region, with a source of its own
(`guardrail.pipeline.patterns.TEST_SOURCE`). The function gathers the facts as for any event (its roles, the
organization and the account are read for real, the instance is found missing) and decides on
them with the policy; the alert goes out on every channel, marked as a test. Unlike a real event,
nothing is acted on: no deletion, none scheduled (a deletion decided is reported as skipped), and
the inventory is neither read nor written, so the synthetic instance never joins the instances the
guardrail knows. The audit records say `test: true`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from guardrail.channels.audit import AuditSink, record_alert
from guardrail.core.alert import Alert, build_alert
from guardrail.core.decision import Action, decide
from guardrail.core.facts import ApiCall
from guardrail.core.policy import Policy
from guardrail.pipeline.service import Gatherer, Publisher

# What a test alert says instead of deleting or scheduling a deletion.
NOT_ACTED = {
    "status": "skipped",
    "detail": "a test event: the guardrail deletes and schedules nothing for it",
}


class SyntheticEvents:
    """Judges, alerts and audits test events; the handler claims each one once, as any event."""

    def __init__(
        self,
        gatherer: Gatherer,
        publisher: Publisher,
        policy: Policy,
        clock: Callable[[], datetime],
        audit: AuditSink = lambda action, fields: None,
    ) -> None:
        self._gatherer = gatherer
        self._publisher = publisher
        self._policy = policy
        self._clock = clock
        self._audit = audit

    def handle(self, call: ApiCall) -> Alert:
        """The test alert, published on every channel (raises if one did not take it, as for a
        real alert, so that the invocation is retried)."""
        facts = self._gatherer.gather(call)
        decision = decide(facts, self._policy, self._clock())
        acts = decision.action in (Action.DELETE, Action.SCHEDULE_DELETE)
        alert = build_alert(
            facts, decision, mode=self._policy.mode.value, remediation=NOT_ACTED if acts else None, test=True
        )
        self._publisher.publish(alert)
        record_alert(self._test_audit, alert.body)
        return alert

    def _test_audit(self, action: str, fields: dict[str, Any]) -> None:
        self._audit(action, {**fields, "test": True})
