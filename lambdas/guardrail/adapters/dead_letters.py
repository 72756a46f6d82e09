"""Rejected events to the dead-letter queue, with the reason, for a person to replay."""

from __future__ import annotations

import json
import reprlib
from typing import Any

# SQS takes 256 KiB per message, attributes included, and only these characters.
MAX_BODY_CHARS = 240_000
_REPR = reprlib.Repr(maxlevel=6, maxstring=2000, maxother=2000)


def _sqs_char(char: str) -> str:
    code = ord(char)
    allowed = code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000
    return char if allowed else "?"


def _attribute(text: str | None, limit: int) -> str:
    cleaned = "".join(map(_sqs_char, (text or "")[:limit]))
    return cleaned or "unknown"


def _body(event: Any) -> tuple[str, bool]:
    """The event as ASCII JSON (so SQS takes any content), clipped to fit; and whether it was."""
    try:
        text = json.dumps(event, default=repr)
    except Exception:  # circular, too deep, keys JSON cannot hold: keep a bounded description
        text = json.dumps({"unserializable_event": _REPR.repr(event)})
    if len(text) > MAX_BODY_CHARS:
        return text[:MAX_BODY_CHARS], True
    return text, False


class SqsDeadLetters:
    """Where events the guardrail cannot process end, with the reason, for a person to replay.

    Whatever the event holds, the message is sendable: the body is the event as JSON, clipped to
    SQS's size limit (attribute ``truncated``), and the attributes are cleaned of characters SQS
    refuses. A failure to send raises, so that the invocation fails and Lambda retries it.
    """

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, event: Any, *, reason: str, event_id: str | None) -> None:
        body, truncated = _body(event)
        attributes = {
            "reason": {"DataType": "String", "StringValue": _attribute(reason, 1000)},
            "event_id": {"DataType": "String", "StringValue": _attribute(event_id, 256)},
        }
        if truncated:
            attributes["truncated"] = {"DataType": "String", "StringValue": "true"}
        self._client.send_message(QueueUrl=self._queue_url, MessageBody=body, MessageAttributes=attributes)
