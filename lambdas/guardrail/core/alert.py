"""What subscribers receive: a subject a person grasps at a glance and a JSON body with stable keys.

The body's keys are a contract (documented in the README, versioned by `schema_version`): add
keys freely, never rename or remove one without raising the version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from guardrail.core.decision import Decision, Verdict
from guardrail.core.facts import Facts, Operation, Outcome

SCHEMA_VERSION = 1
SUBJECT_LIMIT = 99  # SNS allows 100 characters; stay below it


@dataclass(frozen=True)
class Alert:
    subject: str
    body: dict[str, Any]
    attributes: dict[str, str | list[str]]

    def message(self) -> str:
        return json.dumps(self.body, sort_keys=True, default=str)


def _ascii(text: str) -> str:
    """SNS subjects take printable ASCII only, on one line."""
    cleaned = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)
    return " ".join(cleaned.split())


def _headline(facts: Facts) -> str:
    call = facts.call
    if call.operation is Operation.CREATE:
        return "Account instance created" if call.outcome is Outcome.SUCCEEDED else "Blocked CreateInstance"
    verb = "deleted" if call.operation is Operation.DELETE else "updated"
    if call.outcome is Outcome.FAILED:
        return f"Failed {call.operation.value}"
    return f"Account instance {verb}"


def subject(facts: Facts, decision: Decision) -> str:
    call = facts.call
    tag = {
        Verdict.VIOLATION: decision.severity.value.upper(),
        Verdict.COMPLIANT: "OK",
        Verdict.INFO: "INFO",
        Verdict.INCOMPLETE: "CHECK",
    }[decision.verdict]
    name = f" {facts.account.name}" if facts.account and facts.account.name else ""
    tail = ""
    if decision.findings:
        tail = f": {decision.findings[0].rule}"
        if len(decision.findings) > 1:
            tail += f" +{len(decision.findings) - 1}"
    elif decision.verdict is Verdict.INCOMPLETE:
        tail = ": facts missing"
    elif decision.verdict is Verdict.COMPLIANT:
        tail = ": compliant"
    text = _ascii(f"[{tag}] {_headline(facts)} in {call.account_id}{name} ({call.region}){tail}")
    if len(text) > SUBJECT_LIMIT:
        text = text[: SUBJECT_LIMIT - 3].rstrip() + "..."
    return text


def build_alert(
    facts: Facts, decision: Decision, *, mode: str, remediation: dict[str, str] | None = None
) -> Alert:
    """`remediation` is what happened when the action was `delete-instance`: status and detail."""
    call, account, instance = facts.call, facts.account, facts.instance
    body: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "event_id": call.event_id,
        "event_name": call.operation.value,
        "event_time": call.event_time.isoformat(),
        "account_id": call.account_id,
        "account_name": account.name if account else None,
        "ou_path": account.ou_path if account else None,
        "region": call.region,
        "instance_arn": call.instance_arn,
        "instance": (
            {
                "name": instance.name,
                "status": instance.status,
                "owner_account_id": instance.owner_account_id,
                "tags": dict(instance.tags),
            }
            if instance
            else None
        ),
        "actor": {
            "arn": call.actor.arn,
            "type": call.actor.type,
            "source_ip": call.actor.source_ip,
            "user_agent": call.actor.user_agent,
        },
        "outcome": call.outcome.value,
        "error_code": call.error_code,
        "verdict": decision.verdict.value,
        "severity": decision.severity.value,
        "findings": [
            {"rule": f.rule, "severity": f.severity.value, "reason": f.reason, "facts": f.facts}
            for f in decision.findings
        ],
        "suppressed": [
            {"rule": s.rule, "ticket": s.ticket, "expires": s.expires, "reason": s.reason}
            for s in decision.suppressed
        ],
        "undetermined": [{"rule": u.rule, "missing_fact": u.missing_fact} for u in decision.undetermined],
        "missing_facts": [{"fact": m.fact, "reason": m.reason} for m in facts.missing],
        "action": decision.action.value,
        "action_reason": decision.action_reason,
        "mode": mode,
        "remediation": remediation,
    }
    attributes: dict[str, str | list[str]] = {
        "severity": decision.severity.value,
        "verdict": decision.verdict.value,
        "account_id": call.account_id,
        "event_name": call.operation.value,
        "rules": sorted({f.rule for f in decision.findings}),
    }
    return Alert(subject(facts, decision), body, attributes)
