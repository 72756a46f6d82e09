"""The audit trail: one record per decision and action, naming the event or run, instance and rules."""

from __future__ import annotations

from typing import Any

from guardrail.channels.audit import record_alert
from guardrail.core.alert import build_alert
from guardrail.core.decision import decide
from guardrail.core.facts import Observation
from guardrail.core.policy import Mode, Policy, RuleSettings
from tests.builders import INSTANCE_ARN, NOW, facts


def records(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    sink: list[tuple[str, dict[str, Any]]] = []
    record_alert(lambda action, fields: sink.append((action, fields)), body)
    return sink


def test_an_alert_is_one_record_and_a_planned_deletion_another() -> None:
    policy = Policy(mode=Mode.DRY_RUN, rules={"account-not-approved": RuleSettings(action="remediate")})
    the_facts = facts()
    alert = build_alert(the_facts, decide(the_facts, policy, NOW), mode="dry-run")
    (alerted, alerted_fields), (planned, planned_fields) = records(alert.body)
    assert (alerted, planned) == ("alerted", "planned")
    assert alerted_fields["event_id"] == "evt-1"
    assert alerted_fields["instance_arn"] == INSTANCE_ARN
    assert alerted_fields["rules"] == ["account-not-approved", "scp-gap"]
    assert planned_fields["detail"].startswith("dry-run: account-not-approved")


def test_what_remediation_did_is_a_record_of_its_own() -> None:
    the_facts = facts()
    alert = build_alert(
        the_facts,
        decide(the_facts, Policy(), NOW),
        mode="enforce",
        remediation={"status": "deleted", "detail": "DeleteInstance accepted"},
    )
    assert [action for action, _ in records(alert.body)] == ["alerted", "deleted"]


def test_a_sweeps_record_names_its_run() -> None:
    the_facts = facts(trigger=Observation(run_id="run-7", observed_at=NOW))
    alert = build_alert(the_facts, decide(the_facts, Policy(), NOW), mode="dry-run")
    ((action, fields),) = records(alert.body)
    assert (action, fields["run_id"], fields["event_id"]) == ("alerted", "run-7", None)
