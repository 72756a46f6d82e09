"""When a look at an instance deserves an alert: new, changed, reminder, resolved; and the record kept."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from guardrail.core.decision import Action, Decision, Finding, UndeterminedRule, Verdict
from guardrail.core.facts import Fact, Observation
from guardrail.core.inventory import Change, InventoryRecord, change_of, fingerprint, gone, observed
from guardrail.core.policy import Severity
from tests.builders import INSTANCE_ARN, facts

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def decision(*findings: Finding, verdict: Verdict = Verdict.VIOLATION) -> Decision:
    severity = max((f.severity for f in findings), key=lambda s: s.rank) if findings else Severity.INFO
    return Decision(verdict, severity, findings, (), (), Action.ALERT, "why")


EXPIRED = Finding("trial-expired", Severity.HIGH, "The trial expired on 2026-11-20", {"today": "2026-12-01"})
COMPLIANT = decision(verdict=Verdict.COMPLIANT)
SWEPT = facts(trigger=Observation(run_id="run-1", observed_at=NOW))


def first_record() -> InventoryRecord:
    return observed(None, SWEPT, decision(EXPIRED), NOW, learnt_by="sweep", alerted=True)


def test_the_fingerprint_is_what_the_alert_says_not_the_facts_of_the_day() -> None:
    tomorrow = dataclasses.replace(EXPIRED, facts={"today": "2026-12-02"})
    assert fingerprint(decision(EXPIRED)) == fingerprint(decision(tomorrow))
    assert fingerprint(decision(EXPIRED)) != fingerprint(
        decision(dataclasses.replace(EXPIRED, reason="other"))
    )
    assert fingerprint(decision(EXPIRED)) != fingerprint(
        decision(dataclasses.replace(EXPIRED, severity=Severity.LOW))
    )
    assert fingerprint(COMPLIANT) is None
    incomplete = Decision(
        Verdict.INCOMPLETE,
        Severity.MEDIUM,
        (),
        (),
        (UndeterminedRule("scp-gap", Fact.ACCOUNT),),
        Action.ALERT,
        "x",
    )
    assert fingerprint(incomplete) is not None


def test_a_violation_is_new_then_silent_then_a_reminder_then_changed_then_resolved() -> None:
    assert change_of(None, decision(EXPIRED), NOW, WEEK) is Change.NEW
    record = first_record()
    assert change_of(record, decision(EXPIRED), NOW + timedelta(days=6), WEEK) is None
    assert change_of(record, decision(EXPIRED), NOW + WEEK, WEEK) is Change.REMINDER
    other = Finding("region-not-allowed", Severity.MEDIUM, "The instance is in ap-east-1", {})
    assert change_of(record, decision(EXPIRED, other), NOW + timedelta(days=1), WEEK) is Change.CHANGED
    assert change_of(record, COMPLIANT, NOW + timedelta(days=1), WEEK) is Change.RESOLVED


def test_a_compliant_instance_says_nothing_and_a_gone_one_starts_afresh() -> None:
    assert change_of(None, COMPLIANT, NOW, WEEK) is None
    record = gone(first_record(), NOW)
    assert (record.gone_at, record.fingerprint, record.status) == (NOW, None, "DELETED")
    assert change_of(record, decision(EXPIRED), NOW + timedelta(days=1), WEEK) is Change.NEW


def test_the_record_keeps_what_was_first_known_and_what_was_last_said() -> None:
    record = first_record()
    later = NOW + timedelta(days=3)
    unchanged = observed(record, SWEPT, decision(EXPIRED), later, learnt_by="event", alerted=False)
    assert (unchanged.first_seen, unchanged.last_seen, unchanged.learnt_by) == (NOW, later, "sweep")
    assert (unchanged.fingerprint, unchanged.last_alerted) == (record.fingerprint, NOW)
    assert unchanged.instance_arn == INSTANCE_ARN
    assert unchanged.rules == ("trial-expired",)
    resolved = observed(record, SWEPT, COMPLIANT, later, learnt_by="sweep", alerted=True)
    assert (resolved.fingerprint, resolved.last_alerted, resolved.verdict) == (None, later, "compliant")
