from __future__ import annotations

import json

import pytest

from guardrail.core.alert import SUBJECT_LIMIT, Alert, build_alert
from guardrail.core.decision import decide
from guardrail.core.facts import AccountFacts, Facts, Operation, Outcome
from guardrail.core.policy import Approvals, Policy
from tests.builders import NOW, PROD, SANDBOX, call, facts, instance

STABLE_KEYS = {
    "event_id",
    "event_name",
    "event_time",
    "account_id",
    "account_name",
    "region",
    "instance_arn",
    "actor",
    "outcome",
    "verdict",
    "severity",
    "findings",
    "action",
}


def alert_for(the_facts: Facts, policy: Policy | None = None) -> Alert:
    policy = policy or Policy()
    return build_alert(the_facts, decide(the_facts, policy, NOW), mode=policy.mode.value)


def test_body_has_the_documented_keys_and_is_json() -> None:
    alert = alert_for(facts())
    assert set(alert.body) >= STABLE_KEYS
    assert set(alert.body["actor"]) == {"arn", "type", "source_ip", "user_agent"}
    assert json.loads(alert.message())["event_id"] == "evt-1"
    assert alert.body["findings"][0]["rule"] == "account-not-approved"
    assert alert.body["findings"][0]["reason"]


def test_attributes_let_subscribers_filter() -> None:
    alert = alert_for(facts())
    assert alert.attributes["verdict"] == "violation"
    assert alert.attributes["severity"] == "high"
    assert alert.attributes["account_id"] == "333333333333"
    assert "account-not-approved" in alert.attributes["rules"]


def test_subject_reads_at_a_glance() -> None:
    alert = alert_for(facts())
    assert alert.subject.startswith("[HIGH] Account instance created in 333333333333 Sandbox Bob (us-east-1)")
    assert "account-not-approved" in alert.subject


def test_subject_is_short_ascii_single_line_whatever_the_account_name() -> None:
    name = "Équipe données\n" + "x" * 200
    the_facts = facts(
        call=call(account_id=PROD),
        instance=instance(owner_account_id=PROD),
        account=AccountFacts(account_id=PROD, name=name),
    )
    subject = alert_for(the_facts).subject
    assert len(subject) <= SUBJECT_LIMIT
    assert subject.isascii()
    assert "\n" not in subject
    assert subject.endswith("...")


@pytest.mark.parametrize(
    ("operation", "outcome", "headline"),
    [
        (Operation.CREATE, Outcome.SUCCEEDED, "Account instance created"),
        (Operation.CREATE, Outcome.FAILED, "Blocked CreateInstance"),
        (Operation.DELETE, Outcome.SUCCEEDED, "Account instance deleted"),
        (Operation.UPDATE, Outcome.SUCCEEDED, "Account instance updated"),
        (Operation.DELETE, Outcome.FAILED, "Failed DeleteInstance"),
        (Operation.UPDATE, Outcome.FAILED, "Failed UpdateInstance"),
    ],
)
def test_subject_headline_per_call(operation: Operation, outcome: Outcome, headline: str) -> None:
    the_call = call(
        operation=operation, outcome=outcome, error_code="X" if outcome is Outcome.FAILED else None
    )
    assert f"] {headline} in 333333333333 Sandbox Bob (us-east-1)" in alert_for(facts(call=the_call)).subject


def test_subject_tail_per_verdict() -> None:
    approved = Policy(approved=Approvals(accounts=(SANDBOX,)))
    assert alert_for(facts(), approved).subject.endswith(": compliant")
    assert alert_for(facts(), approved).subject.startswith("[OK] ")
    incomplete = alert_for(facts(account_instances=None), approved).subject
    assert incomplete.startswith("[CHECK] ")
    assert incomplete.endswith(": facts missing")
    info = alert_for(facts(call=call(operation=Operation.DELETE))).subject
    assert info.startswith("[INFO] ")
    assert info.endswith("(us-east-1)")
    two = alert_for(facts()).subject  # account-not-approved and scp-gap
    assert two.endswith(": account-not-approved +1")


def test_subject_without_account_name() -> None:
    subject = alert_for(facts(account=None), Policy()).subject
    assert "in 333333333333 (us-east-1)" in subject


def test_body_of_a_failed_attempt_has_no_instance() -> None:
    attempt = facts(
        call=call(outcome=Outcome.FAILED, instance_arn=None, error_code="AccessDenied"), instance=None
    )
    body = alert_for(attempt).body
    assert body["instance"] is None
    assert body["instance_arn"] is None
    assert body["error_code"] == "AccessDenied"
    assert body["outcome"] == "failed"


def test_remediation_outcome_is_reported_in_the_body() -> None:
    the_facts = facts()
    decision = decide(the_facts, Policy(), NOW)
    assert build_alert(the_facts, decision, mode="enforce").body["remediation"] is None
    outcome = {"status": "deleted", "detail": "DeleteInstance accepted"}
    assert (
        build_alert(the_facts, decision, mode="enforce", remediation=outcome).body["remediation"] == outcome
    )
