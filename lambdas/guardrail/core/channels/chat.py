"""An alert as a custom notification of Amazon Q Developer in chat applications (AWS Chatbot).

The service renders a message sent to an SNS topic it subscribes to when the message is a custom
notification: `version`, `source: custom`, `content` (title, description in client markdown, next
steps, keywords) and `metadata`. Other messages on that topic are not rendered, so chat has a topic
of its own. `metadata.threadId` is the instance (or, for an attempt that made none, its account and
Region), so that every later alert about it lands in the same thread.
"""

from __future__ import annotations

from typing import Any

from guardrail.core.catalogue import RULES_BY_ID
from guardrail.core.channels.email import summary_line
from guardrail.core.channels.links import cloudtrail_event, identity_center_console

# Chat clients show little: keep the description short.
_DESCRIPTION = 1_500
_ICONS = {
    "CRITICAL": ":rotating_light:",
    "HIGH": ":red_circle:",
    "MEDIUM": ":large_orange_circle:",
    "LOW": ":large_yellow_circle:",
}


def thread_id(body: dict[str, Any]) -> str:
    return body.get("instance_arn") or f"{body['account_id']}/{body['region']}"


def chat_notification(body: dict[str, Any], subject: str) -> dict[str, Any]:
    tag = subject.split("]", 1)[0].lstrip("[")  # the same severity word as the subject and the email
    lines = [summary_line(body)]
    account = f"{body.get('account_name') or ''} `{body['account_id']}`".strip()
    lines.append(
        f"*Account* {account}{' · ' + body['ou_path'] if body.get('ou_path') else ''} · *Region* `{body['region']}`"
    )
    if body.get("instance_arn"):
        lines.append(f"*Instance* `{body['instance_arn']}`")
    for finding in body["findings"]:
        lines.append(f"• *{finding['rule']}* ({finding['severity']}): {finding['reason']}")
    resolved = body.get("resolved")
    if resolved:
        lines.append(f"Rules no longer broken: {', '.join(resolved['rules'])}")
    lines.append(f"*Action* {body['action']}: {body['action_reason']} (mode {body['mode']})")
    deletion = body.get("deletion")
    if deletion:
        lines.append(f"*Deletion* {deletion['state']}, due {deletion['due'] or '-'} UTC")
    remediation = body.get("remediation")
    if remediation:
        lines.append(f"*Deleted?* {remediation['status']}: {remediation['detail']}")
    description = "\n".join(lines)
    if len(description) > _DESCRIPTION:
        description = description[: _DESCRIPTION - 3] + "..."
    next_steps = [RULES_BY_ID[f["rule"]].fix for f in body["findings"] if f["rule"] in RULES_BY_ID]
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
            },
        },
    }
