"""Operational notices (the deletion cap reached) go through every channel as alerts do: a channel
that cannot render one would fail the invocation that withheld the deletion, again and again."""

from __future__ import annotations

import json

from guardrail.channels.chat import chat_notification
from guardrail.channels.securityhub import Importer, findings, workflow_updates
from guardrail.core.alert import cap_alert
from tests.builders import NOW, facts


def test_the_cap_alert_renders_in_every_channel() -> None:
    alert = cap_alert(facts(), 3, NOW)
    chat = chat_notification(alert.body, alert.subject, alert.text)
    assert chat["content"]["title"].endswith(alert.subject)
    assert "3 account instances" in chat["content"]["description"]
    json.dumps(chat)  # what the chat topic is sent
    assert "Deletion cap reached" in alert.email()
    # About the guardrail, not about a resource: no Security Hub finding to import or close.
    assert (
        findings(alert.body, Importer(account_id="222222222222", region="us-east-1"), NOW.isoformat()) == []
    )
    assert workflow_updates(alert.body) == []
