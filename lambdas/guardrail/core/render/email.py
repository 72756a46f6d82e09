"""An alert as an email subscriber reads it: plain text that answers, at a glance and in order,
what happened, where, who did it, why it matters, what happens next and what to do."""

from __future__ import annotations

from typing import Any

from guardrail.core.catalogue import RULES_BY_ID
from guardrail.core.render.context import (
    STACK_FIX,
    actor_facts,
    stack_deletion_note,
    stack_owned,
    state_findings,
)
from guardrail.core.render.links import cloudtrail_event, identity_center_console
from guardrail.core.render.neutral import EMAIL_TEXT, neutral, one_line, plain

POLICY_FILE = "policy/policy.yaml"
_WHY_RESOLVED = {
    "gone": "the instance no longer exists",
    "in-policy": "the instance is back within the policy",
    "exempted": "an exemption of the policy now covers the instance",
}
# Texts a creator controls are shown to this many characters (a layout choice: `email_text`
# has made them neutral already).
_TEXT = 300


def _clip(value: Any, limit: int = _TEXT) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def summary_line(body: dict[str, Any]) -> str:
    verdict = body["verdict"]
    findings = body["findings"]
    if verdict == "resolved":
        why = _WHY_RESOLVED.get((body.get("resolved") or {}).get("why", ""), "it has ended")
        return f"A violation of the policy has ended: {why}."
    if verdict == "violation":
        count = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}"
        return f"This breaks the organization's policy for IAM Identity Center account instances ({count})."
    if verdict == "incomplete":
        return "Some facts could not be read, so some rules could not be evaluated: a person must check."
    if verdict == "compliant":
        return "This account instance is within the organization's policy."
    return "Recorded for the audit trail; no rule objects to it."


# The first lines of a test alert's email (`guardrail doctor --send-test-event`).
TEST_NOTE = (
    "TEST ALERT: sent by `guardrail doctor --send-test-event` to check the path from the event bus "
    "to every channel. The instance is synthetic; nothing was deleted, scheduled or recorded in "
    "the inventory."
)


def email_text(body: dict[str, Any], subject: str) -> str:
    """The email, rendered from the body made neutral first (`neutral`): no text a creator
    controls can break a line, so every line is the renderer's own."""
    body = neutral(body, plain(EMAIL_TEXT))
    subject = one_line(subject, EMAIL_TEXT)
    lines = [subject, "", summary_line(body), ""]
    if body.get("test"):
        lines[1:1] = ["", TEST_NOTE]
    lines += [*_where(body), "", *_instance(body), "", *_how_seen(body), ""]
    lines += _series(body)
    lines += _findings(body)
    lines += _action(body)
    lines += _exemption(body)
    lines += _links(body)
    trigger = body.get("trigger") or {}
    reference = body.get("alert_id") or body.get("event_id") or f"sweep {trigger.get('run_id')}"
    lines += [
        "--",
        f"Sent by the IAM Identity Center account-instance guardrail ({reference}; alert schema {body['schema_version']}).",
    ]
    return "\n".join(lines) + "\n"


def _series(body: dict[str, Any]) -> list[str]:
    """For a repeated failed call: the calls of its series held back from alerting since the last."""
    series = body.get("series") or {}
    held = series.get("held_before") or 0
    if not held:
        return []
    return [
        "Repeated",
        f"  {held} more call(s) like this one since {series.get('since')} were counted, not alerted",
        "  (the policy's alerting.repeat_window_minutes); each is in the audit trail (`held`).",
        "",
    ]


def _where(body: dict[str, Any]) -> list[str]:
    name = body.get("account_name")
    account = f"{_clip(name, 80)} ({body['account_id']})" if name else body["account_id"]
    ou = body.get("ou_path")
    return [
        "Where",
        f"  Account:   {account}"
        + (f", OU {_clip(ou, 200)}" if ou else (", at the root" if ou == "" else "")),
        f"  Region:    {body['region']}",
    ]


def _instance(body: dict[str, Any]) -> list[str]:
    instance = body.get("instance")
    if body.get("instance_arn") is None:
        return ["Instance", "  None was created."]
    lines = ["Instance", f"  ARN:       {body['instance_arn']}"]
    if instance:
        lines += [
            f"  Name:      {_clip(instance.get('name') or '-', 80)}",
            f"  Status:    {instance.get('status') or '-'}",
        ]
    applications = body.get("applications")
    if applications is None:
        lines.append("  Applications: not read")
    elif not applications:
        lines.append("  Applications: none attached")
    else:
        names = ", ".join(_clip(a.get("name") or a.get("arn"), 80) for a in applications[:10])
        more = f" and {len(applications) - 10} more" if len(applications) > 10 else ""
        lines.append(f"  Applications: {names}{more} (deleting the instance breaks them)")
    return lines


def _how_seen(body: dict[str, Any]) -> list[str]:
    trigger = body.get("trigger") or {"kind": "api-call"}
    if trigger["kind"] == "sweep":
        lines = ["How it was seen", f"  Found by the sweep {trigger['run_id']} at {trigger['observed_at']}."]
        if body.get("first_seen"):
            lines.append(
                f"  Known since {body['first_seen']} (found first by {'an instance event' if body.get('learnt_by') == 'event' else 'a sweep'})."
            )
        if body.get("announced") is False:
            lines.append(
                "  No instance event announced it: the event was missed, or the instance predates the guardrail."
            )
        return lines
    outcome = body.get("outcome")
    error = f" with {body['error_code']}" if body.get("error_code") else ""
    return [
        "Who and when",
        f"  Call:      {body['event_name']} {outcome}{error} at {body['event_time']}",
        *(f"  {f.label + ':':<10} {f.text}" for f in actor_facts(body)),
    ]


def _findings(body: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if body["findings"]:
        lines.append("Findings")
        for number, finding in enumerate(body["findings"], 1):
            rule = RULES_BY_ID.get(finding["rule"])
            lines.append(f"  {number}. {finding['rule']} [{finding['severity']}]")
            lines.append(f"     Why:  {_clip(finding['reason'], 600)}")
            if rule is not None:
                lines.append(f"     Fix:  {rule.fix}")
        if stack_owned(body):
            lines.append(f"  {STACK_FIX}")
        lines.append("")
    resolved = body.get("resolved")
    if resolved:
        lines += ["Ended", f"  Rules no longer broken: {', '.join(resolved['rules']) or '-'}", ""]
    if body["suppressed"]:
        lines.append("Exempted")
        lines += [
            f"  {s['rule']}: exemption {_clip(s['ticket'], 80)} until {s['expires']} ({_clip(s['reason'], 200)})"
            for s in body["suppressed"]
        ]
        lines.append("")
    if body["undetermined"]:
        lines.append("Not evaluated")
        lines += [f"  {u['rule']}: needs {u['missing_fact']}" for u in body["undetermined"]]
        lines += [f"  {m['fact']} could not be read: {_clip(m['reason'])}" for m in body["missing_facts"]]
        lines.append("")
    return lines


def _action(body: dict[str, Any]) -> list[str]:
    action = body["action"]
    what = {
        "none": "Nothing to do.",
        "alert": "This alert is all the guardrail does.",
        "would-delete-instance": "Dry-run: the guardrail would delete the instance in enforce mode; nothing was deleted.",
        "delete-instance": "The guardrail decided to delete the instance.",
        "schedule-deletion": "The guardrail will delete the instance unless it is fixed or exempted first.",
    }.get(action, action)
    lines = ["What happens next", f"  {what} {body['action_reason'][:1].upper()}{body['action_reason'][1:]}."]
    lines.append(f"  Policy mode: {body['mode']}.")
    deletion = body.get("deletion")
    if deletion:
        lines.append(
            f"  {_DELETION.get(deletion['state'], deletion['state'])} {deletion['due'] or '-'} (UTC)."
        )
    remediation = body.get("remediation")
    if remediation:
        lines.append(f"  Deletion: {remediation['status']}: {_clip(remediation['detail'])}.")
    stack = stack_deletion_note(body)
    if stack:
        lines.append(f"  {stack}")
    return [*lines, ""]


_DELETION = {
    "scheduled": "Deletion scheduled for",
    "pending": "Deletion still scheduled for",
    "cancelled": "Deletion cancelled; it was due",
}


def _exemption(body: dict[str, Any]) -> list[str]:
    """How to keep an instance that breaks the policy: only for one that exists, and only for the
    rules about what it is (an attempt made nothing to keep; a call happened, whatever the policy)."""
    keepable = state_findings(body)
    if not keepable:
        return []
    target = f"instance_arn: {body['instance_arn']}"
    rules = ", ".join(f["rule"] for f in keepable)
    return [
        "To keep it",
        "  Fix what the findings say, or ask for an exemption: a change to the guardrail's policy",
        f"  ({POLICY_FILE} in its repository), reviewed like code, such as:",
        "    exemptions:",
        f"      - {target}",
        "        expires: YYYY-MM-DD",
        "        ticket: <your ticket>",
        "        reason: <why the instance is needed>",
        f"        rules: [{rules}]",
        "",
    ]


def _links(body: dict[str, Any]) -> list[str]:
    region = body["region"]
    lines = ["Links", f"  IAM Identity Center console ({region}): {identity_center_console(region)}"]
    if body.get("event_id"):
        lines.append(
            f"  CloudTrail event (in account {body['account_id']}): {cloudtrail_event(region, body['event_id'])}"
        )
    return [*lines, ""]
