"""The alert topic, the channel every alert goes out on: SNS per-protocol messages, email
subscribers getting the text written for a person (`guardrail.core.render.email`) and every other
protocol the JSON alert."""

from __future__ import annotations

import json
from typing import Any

from guardrail.core.alert import Alert


class SnsAlertPublisher:
    """The alert topic: email subscribers get the text, every other protocol the JSON alert."""

    name = "alerts"

    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def deliver(self, alert: Alert) -> None:
        self.publish(alert)

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
            Message=alert.sns_message(),
            MessageStructure="json",
            MessageAttributes=attributes,
        )
        return str(response["MessageId"])
