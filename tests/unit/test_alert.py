import json

from guardrail.core.alert import SUBJECT_LIMIT, build_alert
from guardrail.core.decision import decide
from guardrail.core.facts import AccountFacts
from guardrail.core.policy import Policy
from tests.builders import NOW, PROD, call, facts, instance

STABLE_KEYS = {
    "event_id", "event_name", "event_time", "account_id", "account_name", "region", "instance_arn",
    "actor", "outcome", "verdict", "severity", "findings", "action",
}


def alert_for(the_facts, policy=None):
    policy = policy or Policy()
    return build_alert(the_facts, decide(the_facts, policy, NOW), mode=policy.mode.value)


def test_body_has_the_documented_keys_and_is_json() -> None:
    alert = alert_for(facts())
    assert STABLE_KEYS <= set(alert.body)
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
    the_facts = facts(call=call(account_id=PROD), instance=instance(owner_account_id=PROD),
                      account=AccountFacts(account_id=PROD, name=name))
    subject = alert_for(the_facts).subject
    assert len(subject) <= SUBJECT_LIMIT
    assert subject.isascii() and "\n" not in subject
    assert subject.endswith("...")
