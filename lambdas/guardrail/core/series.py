"""Repeated failed calls, grouped: a flood of refused attempts is one alert, not one per attempt.

A script retrying, or someone probing, can make hundreds of identical failed calls in minutes. Calls
that repeat one already alerted — the same caller, account, Region, call, error and findings — within
the policy's window are a *series*: the first alerts at once; the rest are counted (each in the
audit trail) and said once, by the series' next alert after the window, as "+N since". Anything
new alerts at once: another caller, account, call, error or finding, and every call that succeeded
(a successful creation is never held back).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from guardrail.core.decision import Decision
from guardrail.core.facts import Facts, Outcome


def series_key(facts: Facts, decision: Decision) -> str | None:
    """What makes a call the repeat of another, as a short digest; None for what is never grouped
    (a call that succeeded, a sweep, the end of a grace period)."""
    call = facts.call
    if call is None or call.outcome is not Outcome.FAILED:
        return None
    said = {
        "caller": call.actor.arn,
        "account": call.account_id,
        "region": call.region,
        "call": call.operation.value,
        "error": call.error_code,
        "instance": call.instance_arn,
        "findings": [[f.rule, f.severity.value, f.reason] for f in decision.findings],
        "undetermined": sorted([u.rule, u.missing_fact] for u in decision.undetermined),
    }
    return hashlib.sha256(json.dumps(said, sort_keys=True).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Admission:
    """What the series says of one call: held back, or alerted (saying the calls held before it)."""

    alert: bool
    # For an alert: the calls of the series held since its last alert, and when that alert went out.
    held_before: int = 0
    since: datetime | None = None

    def body(self, key: str) -> dict[str, object]:
        """The alert's `series` key."""
        return {
            "key": key,
            "held_before": self.held_before,
            "since": self.since.isoformat() if self.since else None,
        }
