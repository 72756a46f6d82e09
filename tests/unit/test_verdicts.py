"""Every verdict any path can emit is one the alerts page defines, and the page defines no other."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given

from guardrail.core.alert import build_alert
from guardrail.core.conclusion import conclude
from guardrail.core.decision import Verdict, decide
from guardrail.core.inventory import InventoryRecord
from tests.unit.test_properties import SETTINGS, Scenario, scenarios

ALERTS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"


def page_verdicts() -> set[str]:
    """The verdicts the alert table of docs/alerts.md lists (the backticked words of the `verdict` row)."""
    [row] = [
        line
        for line in ALERTS_PAGE.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `verdict` |")
    ]
    described = row.split("|")[2]
    return set(re.findall(r"(?:^\s*|; |, |or )`([a-z-]+)` \(", described))


def test_the_alerts_page_defines_exactly_the_verdicts_of_the_code() -> None:
    # `resolved` is the notice that a violation ended (an alert's, never a decision's).
    assert page_verdicts() == {verdict.value for verdict in Verdict} | {"resolved"}


@SETTINGS
@given(scenarios())
def test_every_decision_and_alert_says_a_verdict_the_readme_defines(s: Scenario) -> None:
    defined = page_verdicts()
    decision = decide(s.facts, s.policy, s.now)
    assert decision.verdict.value in defined
    assert build_alert(s.facts, decision, mode=s.policy.mode.value).body["verdict"] in defined
    # A second look that finds a violation ended says so, in a verdict the alerts page defines too.
    arn = s.facts.subject.instance_arn or "arn:aws:sso:::instance/ssoins-0000000000000000"
    previous = InventoryRecord(
        instance_arn=arn,
        account_id=s.facts.subject.account_id,
        region=s.facts.subject.region,
        first_seen=s.now,
        last_seen=s.now,
        learnt_by="event",
        fingerprint="an open violation",
    )
    concluded = conclude(s.facts, decision, previous=previous, now=s.now, mode=s.policy.mode.value)
    if concluded.alert is not None:
        assert concluded.alert.body["verdict"] in defined
