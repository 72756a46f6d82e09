"""An alert as a custom notification of Amazon Q Developer in chat applications (AWS Chatbot).

The service renders a message sent to an SNS topic it subscribes to when the message is a custom
notification: `version`, `source: custom`, `content` (title, description in client markdown, next
steps, keywords) and `metadata`. Other messages on that topic are not rendered, so chat has a topic
of its own. `metadata.threadId` is the instance (or, for an attempt that made none, its account and
Region), so that every later alert about it lands in the same thread.

The client reads markdown and Slack's markup: the body, and the subject, are made neutral first
(`neutral.chat_text`), so that no text a creator controls breaks a line, mentions anyone, makes
a link or emphasis; every line, mention-free, is the renderer's own.
"""

from __future__ import annotations

import json
from typing import Any

from guardrail.core.alert import TEST_PREFIX, Alert
from guardrail.core.catalogue import RULES_BY_ID
from guardrail.core.render.context import STACK_FIX, actor_facts, stack_deletion_note, stack_owned
from guardrail.core.render.email import TEST_NOTE, summary_line
from guardrail.core.render.links import cloudtrail_event, identity_center_console
from guardrail.core.render.neutral import chat_text, neutral

# Chat clients show little: keep the description short.
_DESCRIPTION = 1_500
_ICONS = {
    "CRITICAL": ":rotating_light:",
    "HIGH": ":red_circle:",
    "MEDIUM": ":large_orange_circle:",
    "LOW": ":large_yellow_circle:",
}


def _cut(text: str, limit: int) -> str:
    """`text` in `limit` characters; a cut never leaves an `_` at a word's edge (emphasis)."""
    return text if len(text) <= limit else text[: max(limit - 3, 0)].rstrip("_") + "..."


def _fitted(head: str, closing: str) -> str:
    """The description within `_DESCRIPTION` characters: `head` is cut, `closing` kept whole."""
    return f"{_cut(head, _DESCRIPTION - len(closing) - 1)}\n{closing}"


def thread_id(body: dict[str, Any]) -> str:
    return body.get("instance_arn") or f"{body['account_id']}/{body['region']}"


def notice_notification(body: dict[str, Any], subject: str, text: str) -> dict[str, Any]:
    """An operational notice (`kind`: the deletion cap reached), not an instance's alert: its
    subject and text, in the same custom-notification form."""
    tag = subject.split("]", 1)[0].lstrip("[")
    return {
        "version": "1.0",
        "source": "custom",
        "id": str(body.get("alert_id") or subject),
        "content": {
            "textType": "client-markdown",
            "title": f"{_ICONS.get(tag, ':information_source:')} {chat_text(subject)}",
            "description": _cut(chat_text(text.removeprefix(subject).strip()) or subject, _DESCRIPTION),
            "keywords": [tag, str(body.get("kind"))],
        },
        "metadata": {
            "threadId": f"guardrail/{body.get('kind')}",
            "summary": chat_text(subject),
            "eventType": str(body.get("kind")),
        },
    }


def chat_notification(body: dict[str, Any], subject: str, text: str | None = None) -> dict[str, Any]:
    """The chat form of an alert; of an operational notice (`kind`), its subject and `text`."""
    if body.get("kind"):
        return notice_notification(body, subject, text or "")
    test = bool(body.get("test"))
    # The same severity word as the subject and the email (after a test alert's `[TEST] `).
    tag = subject.removeprefix(TEST_PREFIX).split("]", 1)[0].lstrip("[")
    body, subject = neutral(body, chat_text), chat_text(subject)
    lines = [summary_line(body)]
    if test:
        lines.insert(0, f"*Test alert* ({TEST_NOTE.removeprefix('TEST ALERT: ')})")
    account = f"{body.get('account_name') or ''} `{body['account_id']}`".strip()
    lines.append(
        f"*Account* {account}{' · ' + body['ou_path'] if body.get('ou_path') else ''} · *Region* `{body['region']}`"
    )
    if body.get("instance_arn"):
        lines.append(f"*Instance* `{body['instance_arn']}`")
    # Who made the call (the provider of delegated access first); where from is the email's detail.
    lines += [f"*{fact.label}* {_cut(fact.text, 200)}" for fact in actor_facts(body) if fact.label != "From"]
    for finding in body["findings"]:
        lines.append(f"• *{finding['rule']}* ({finding['severity']}): {finding['reason']}")
    resolved = body.get("resolved")
    if resolved:
        lines.append(f"Rules no longer broken: {', '.join(resolved['rules'])}")
    # What the guardrail does closes the description, and is never cut.
    closing = [f"*Action* {body['action']}: {body['action_reason']} (mode {body['mode']})"]
    stack = stack_deletion_note(body)
    if stack:
        closing.append(stack)
    deletion = body.get("deletion")
    if deletion:
        closing.append(f"*Deletion* {deletion['state']}, due {deletion['due'] or '-'} UTC")
    remediation = body.get("remediation")
    if remediation:
        closing.append(f"*Deleted?* {remediation['status']}: {remediation['detail']}")
    description = _fitted("\n".join(lines), "\n".join(closing))
    next_steps = [RULES_BY_ID[f["rule"]].fix for f in body["findings"] if f["rule"] in RULES_BY_ID]
    if next_steps and stack_owned(body):
        next_steps.insert(0, STACK_FIX)
    next_steps.append(f"IAM Identity Center console: {identity_center_console(body['region'])}")
    if body.get("event_id"):
        next_steps.append(f"CloudTrail event: {cloudtrail_event(body['region'], body['event_id'])}")
    return {
        "version": "1.0",
        "source": "custom",
        "id": body.get("event_id") or f"{(body.get('trigger') or {}).get('run_id')}:{thread_id(body)}",
        "content": {
            "textType": "client-markdown",
            "title": f"{_ICONS.get(tag, ':information_source:')} {subject}",
            "description": description,
            "nextSteps": next_steps[:5],
            "keywords": [
                *(["TEST"] if test else []),
                tag,
                body["verdict"],
                body["account_id"],
                body["region"],
                *(f["rule"] for f in body["findings"]),
            ],
        },
        "metadata": {
            "threadId": thread_id(body),
            "summary": subject,
            "eventType": body.get("event_name") or "Sweep",
            "relatedResources": [r for r in (body.get("instance_arn"),) if r],
            "additionalContext": {
                "verdict": body["verdict"],
                "severity": body["severity"],
                "account_id": body["account_id"],
                "region": body["region"],
                **({"test": "true"} if test else {}),
            },
        },
    }


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
