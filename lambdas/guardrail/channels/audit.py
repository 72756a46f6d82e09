"""The audit trail: one structured record per decision and action, for CloudWatch Logs Insights.

Actions: `alerted` (an alert went out, with its verdict and rules), `planned` (dry-run: a deletion
the policy asks for), `deleted`, `skipped` and `failed` (what remediation did), `resolved` (a
violation ended), `deletion` for a step of a pending deletion no alert said (a postponement, a
withholding already said), and `held` for a failed call that repeats one alerted within the
policy's window (said by its series' next alert). Each record names the event id or the sweep run id, the instance, its account
and Region, and the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from guardrail.core.decision import Decision
from guardrail.core.deletion import Step
from guardrail.core.facts import Facts

AuditSink = Callable[[str, dict[str, Any]], None]


def audit_fields(body: dict[str, Any]) -> dict[str, Any]:
    """What every audit record of an alert carries, from the alert itself."""
    trigger = body.get("trigger") or {}
    return {
        "event_id": body.get("event_id"),
        "run_id": trigger.get("run_id"),
        "instance_arn": body.get("instance_arn"),
        "account_id": body.get("account_id"),
        "region": body.get("region"),
        "verdict": body.get("verdict"),
        "severity": body.get("severity"),
        "rules": [f["rule"] for f in body.get("findings", [])]
        or (body.get("resolved") or {}).get("rules", []),
        "change": body.get("change"),
    }


def actions_of(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The audit actions an alert stands for, each with its detail."""
    actions: list[tuple[str, str | None]] = [
        ("resolved" if body.get("verdict") == "resolved" else "alerted", None)
    ]
    if body.get("action") == "would-delete-instance":
        actions.append(("planned", body.get("action_reason")))
    remediation = body.get("remediation")
    if remediation:
        actions.append((remediation["status"], remediation.get("detail")))
    return actions


def record_alert(sink: AuditSink, body: dict[str, Any]) -> None:
    fields = audit_fields(body)
    for action, detail in actions_of(body):
        sink(action, {**fields, "detail": detail})


def record_step(sink: AuditSink, facts: Facts, step: Step) -> None:
    """A pending deletion's step that no alert said."""
    trigger = facts.trigger
    sink(
        "deletion",
        {
            "event_id": facts.call.event_id if facts.call else None,
            "run_id": getattr(trigger, "run_id", None),
            "instance_arn": facts.subject.instance_arn,
            "account_id": facts.subject.account_id,
            "region": facts.subject.region,
            "detail": step.reason,
            **{f"deletion_{key}": value for key, value in step.body().items()},
        },
    )


def record_held(sink: AuditSink, facts: Facts, decision: Decision) -> None:
    """A repeated failed call held back from alerting: in the audit trail one by one all the same."""
    call = facts.call
    sink(
        "held",
        {
            "event_id": call.event_id if call else None,
            "instance_arn": facts.subject.instance_arn,
            "account_id": facts.subject.account_id,
            "region": facts.subject.region,
            "verdict": decision.verdict.value,
            "severity": decision.severity.value,
            "rules": [f.rule for f in decision.findings],
            "detail": "repeats a call alerted within the policy's window (alerting.repeat_window_minutes)",
        },
    )
