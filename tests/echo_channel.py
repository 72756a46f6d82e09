"""A channel that exists only in the tests, registered in one place: the `echo_channel` fixture
adds its row to the registry. It proves that a channel is a module, its tests and one row: the
deliverer, the functions' environment, the stack and the CLI's `--show` take it from the row alone.

It publishes what it renders (the alert's id, subject and verdict) to an SNS topic of its own,
turned on with `chat.enabled` (a switch the configuration has).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from guardrail.channels import registry
from guardrail.channels.registry import Alarm, ChannelSpec, Permission, RenderContext, Target
from guardrail.core.alert import Alert

NAME = "echo"
VARIABLE = "ECHO_TOPIC_ARN"
TOPIC_ID = "EchoTopic"


def render(alert: Alert, context: RenderContext) -> dict[str, Any]:
    """Pure: what the channel sends for an alert."""
    return {
        "alert_id": alert.body["alert_id"],
        "subject": alert.subject,
        "verdict": alert.body.get("verdict"),
    }


class EchoPublisher:
    name = NAME

    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def deliver(self, alert: Alert) -> None:
        self._client.publish(TopicArn=self._topic_arn, Message=json.dumps(render(alert, _NOWHERE)))


_NOWHERE = RenderContext("", "", "")

ECHO = ChannelSpec(
    name=NAME,
    title="echo",
    variable=VARIABLE,
    enabled_by="chat.enabled",
    target=Target.TOPIC,
    sender=lambda clients, topic_arn, region: EchoPublisher(clients.client("sns"), topic_arn),
    forms={"echo": render},
    alarm=Alarm("EchoTopic", "its echo topic"),
    permissions=(Permission("PublishEchoes", ("sns:Publish",), "{topic}"),),
    topic_id=TOPIC_ID,
    topic_display_name="Identity Center guardrail (echo)",
    topic_output="SNS topic of the echoes",
)


@pytest.fixture
def echo_channel(monkeypatch: pytest.MonkeyPatch) -> ChannelSpec:
    """The registry with the echo channel's row added, for one test."""
    monkeypatch.setattr(registry, "CHANNELS", (*registry.CHANNELS, ECHO))
    return ECHO
