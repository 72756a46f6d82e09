"""Delivering an alert to chat: a custom notification on the topic Amazon Q Developer in chat
applications subscribes to (a topic of its own: other messages on it are not rendered)."""

from __future__ import annotations

import json
from typing import Any

from guardrail.core.alert import Alert
from guardrail.core.channels.chat import chat_notification


class ChatPublisher:
    name = "chat"

    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def deliver(self, alert: Alert) -> None:
        self._client.publish(
            TopicArn=self._topic_arn,
            Message=json.dumps(chat_notification(alert.body, alert.subject, alert.text), ensure_ascii=False),
        )
