"""Publishing alerts to SNS and rejected events to the dead-letter queue."""

from __future__ import annotations

import json
from typing import Any

from guardrail.core.alert import Alert


class SnsAlertPublisher:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def publish(self, alert: Alert) -> str:
        """Publish or raise: a failed publish must fail the invocation so that it is retried."""
        attributes = {
            name: (
                {"DataType": "String.Array", "StringValue": json.dumps(value)}
                if isinstance(value, list)
                else {"DataType": "String", "StringValue": value}
            )
            for name, value in alert.attributes.items()
        }
        response = self._client.publish(
            TopicArn=self._topic_arn,
            Subject=alert.subject,
            Message=alert.message(),
            MessageAttributes=attributes,
        )
        return str(response["MessageId"])


class SqsDeadLetters:
    """Where events the guardrail cannot process end, with the reason, for a person to replay."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, event: Any, *, reason: str, event_id: str | None) -> None:
        body = json.dumps(event, default=repr) if not isinstance(event, str) else event
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=body or "(empty event)",
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": reason[:1000] or "unknown"},
                "event_id": {"DataType": "String", "StringValue": event_id or "unknown"},
            },
        )
