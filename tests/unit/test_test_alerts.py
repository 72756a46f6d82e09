"""A test alert (`guardrail doctor --send-test-event`) says it is one on every channel, and a real
alert says nothing of the kind."""

from __future__ import annotations

import json

import pytest
from msgspec.structs import replace

from guardrail.channels.chat import chat_notification
from guardrail.channels.securityhub import Importer, findings
from guardrail.core.alert import SUBJECT_LIMIT, TEST_PREFIX, Alert, build_alert
from guardrail.core.decision import decide
from guardrail.core.policy import Approvals, Policy
from guardrail.core.render.email import TEST_NOTE
from tests.builders import NOW, PROD, SECURITY, call, facts, prod_account

IMPORTER = Importer(SECURITY, "us-east-1")


def violation(*, test: bool, name: str = "Prod") -> Alert:
    """A CreateInstance in an account the policy does not approve: a violation with findings."""
    the_facts = facts(call=call(account_id=PROD), account=replace(prod_account(), name=name))
    policy = Policy(approved=Approvals(organizational_units=("Sandbox",)))
    return build_alert(the_facts, decide(the_facts, policy, NOW), mode="dry-run", test=test)


def test_the_test_alert_is_marked_in_subject_body_and_attributes() -> None:
    real, test = violation(test=False), violation(test=True)
    assert test.subject == TEST_PREFIX + real.subject
    assert test.body == {**real.body, "test": True}
    assert test.attributes == {**real.attributes, "test": "true"}
    assert "test" not in real.body
    assert "test" not in real.attributes


def test_the_test_marker_keeps_the_subject_under_snss_limit_and_its_kept_parts() -> None:
    real = violation(test=False, name="An account name long enough to need shortening " * 3)
    test = violation(test=True, name="An account name long enough to need shortening " * 3)
    assert len(test.subject) <= SUBJECT_LIMIT
    assert test.subject.startswith("[TEST] [HIGH] ")
    assert test.subject.endswith(real.subject.split(")", 1)[1])  # the lead rule and the count of others
    assert f"in {PROD}" in test.subject


def test_the_email_of_a_test_alert_says_so_first() -> None:
    lines = violation(test=True).email().splitlines()
    assert lines[0].startswith(TEST_PREFIX)
    assert lines[2] == TEST_NOTE
    assert TEST_NOTE not in violation(test=False).email()
    variants = json.loads(violation(test=True).sns_message())
    assert TEST_NOTE in variants["email"]
    assert json.loads(variants["default"])["test"] is True


@pytest.mark.parametrize("test", [False, True])
def test_the_chat_notification_keeps_the_severity_and_marks_a_test(test: bool) -> None:
    alert = violation(test=test)
    notice = chat_notification(alert.body, alert.subject)
    content = notice["content"]
    assert content["title"] == f":red_circle: {alert.subject}"  # the icon of HIGH, whatever the prefix
    assert "HIGH" in content["keywords"]
    assert ("TEST" in content["keywords"]) is test
    assert content["description"].startswith("*Test alert*") is test
    assert (notice["metadata"]["additionalContext"].get("test") == "true") is test


def test_security_hub_findings_of_a_test_are_marked_and_archived_from_the_start() -> None:
    real = findings(violation(test=False).body, IMPORTER, "2026-11-10T12:00:00Z")
    test = findings(violation(test=True).body, IMPORTER, "2026-11-10T12:00:00Z")
    assert [f["Id"] for f in test] == [f["Id"] for f in real]
    assert any(f["RecordState"] == "ACTIVE" for f in real)
    for marked, plain in zip(test, real, strict=True):
        assert marked["Title"] == TEST_PREFIX + plain["Title"]
        assert marked["Description"].startswith(TEST_PREFIX)
        assert marked["ProductFields"]["guardrail/test"] == "true"
        assert marked["RecordState"] == "ARCHIVED"
        assert "guardrail/test" not in plain["ProductFields"]
