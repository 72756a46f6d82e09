"""The decision: which rules fire for a call, what the verdict is, and what to do about it.

Pure and deterministic: the same facts, policy and clock always give the same decision, and no
valid input makes it raise. Remediation is proposed only when the facts prove the instance is an
account instance owned by the account the call was made in; otherwise the guardrail reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from guardrail.core.catalogue import RULES
from guardrail.core.dates import utc_date
from guardrail.core.facts import Facts, InstanceStatus, Occasion, Subject
from guardrail.core.policy import Exemption, Mode, Policy, Severity
from guardrail.core.rules import Evaluation, Undetermined


class Verdict(StrEnum):
    VIOLATION = "violation"
    COMPLIANT = "compliant"
    INFO = "info"
    INCOMPLETE = "incomplete"


class Action(StrEnum):
    NONE = "none"
    ALERT = "alert"
    WOULD_DELETE = "would-delete-instance"
    DELETE = "delete-instance"


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    reason: str
    facts: dict[str, Any]


@dataclass(frozen=True)
class Suppression:
    rule: str
    ticket: str
    expires: str
    reason: str


@dataclass(frozen=True)
class UndeterminedRule:
    rule: str
    missing_fact: str


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    severity: Severity
    findings: tuple[Finding, ...]
    suppressed: tuple[Suppression, ...]
    undetermined: tuple[UndeterminedRule, ...]
    action: Action
    action_reason: str


# Occasions whose clean result is `compliant`: an instance, or an attempt at one, was judged.
_JUDGING_AN_INSTANCE = frozenset({Occasion.CREATE_SUCCEEDED, Occasion.CREATE_FAILED, Occasion.SWEEP})


def exemption_for(rule_id: str, subject: Subject, policy: Policy, now: datetime) -> Exemption | None:
    """The exemption of the policy that suppresses `rule_id` for the subject today, if any."""
    for exemption in policy.exemptions:
        covers_target = exemption.account_id == subject.account_id or (
            exemption.instance_arn is not None and exemption.instance_arn == subject.instance_arn
        )
        if (
            covers_target
            and exemption.expires >= utc_date(now)
            and (not exemption.rules or rule_id in exemption.rules)
        ):
            return exemption
    return None


def _remediation_blocker(facts: Facts) -> str | None:
    """Why deleting the subject's instance would not be safe, or None when ownership is proven."""
    subject, instance = facts.subject, facts.instance
    if facts.trigger.occasion is Occasion.SWEEP:
        # Deleting what a sweep finds waits for a grace period with its own fresh checks.
        return "a sweep reports; it deletes nothing"
    if facts.trigger.occasion is not Occasion.CREATE_SUCCEEDED or subject.instance_arn is None:
        return "no instance was created"
    if facts.missing:
        # Even when no enabled rule needed them, a failed look-up means the picture is partial.
        return f"facts are missing ({', '.join(sorted({m.fact for m in facts.missing}))})"
    if instance is None:
        return "the instance could not be described"
    if instance.instance_arn != subject.instance_arn:
        return f"the instance described is {instance.instance_arn}, not {subject.instance_arn}"
    if instance.owner_account_id != subject.account_id:
        return f"the instance is owned by {instance.owner_account_id}, not by {subject.account_id}"
    if facts.organization is None:
        return "the organization could not be described"
    if instance.owner_account_id == facts.organization.management_account_id:
        return "the instance belongs to the management account (the organization instance)"
    if instance.status != InstanceStatus.ACTIVE:
        return f"the instance is {instance.status}, not ACTIVE"
    return None


def _action(
    facts: Facts, policy: Policy, findings: tuple[Finding, ...], complete: bool
) -> tuple[Action, str]:
    if not findings:
        return Action.NONE, "nothing to act on"
    wanting = sorted(f.rule for f in findings if policy.settings(f.rule).action == "remediate")
    if not wanting:
        return Action.ALERT, "the policy asks only for an alert"
    blocker = _remediation_blocker(facts) if complete else "some rules lacked the facts they need"
    if blocker is not None:
        return Action.ALERT, f"remediation withheld: {blocker}"
    if policy.mode is Mode.DRY_RUN:
        return Action.WOULD_DELETE, f"dry-run: {', '.join(wanting)} ask for remediation"
    return Action.DELETE, f"{', '.join(wanting)} ask for remediation"


def decide(facts: Facts, policy: Policy, now: datetime) -> Decision:
    """Evaluate every rule that judges the trigger's occasion against the facts.

    A DeleteInstance or UpdateInstance that no rule faults is `info`, recorded for the audit trail;
    one a rule does fault (deleting the organization instance) is decided like a CreateInstance.
    """
    occasion = facts.trigger.occasion
    evaluation = Evaluation(facts, policy, now)
    findings: list[Finding] = []
    suppressed: list[Suppression] = []
    undetermined: list[UndeterminedRule] = []
    for rule in RULES:
        settings = policy.settings(rule.id)
        if not settings.enabled or occasion not in rule.applies_to:
            continue
        try:
            hit = rule.check(evaluation)
        except Undetermined as missing:
            undetermined.append(UndeterminedRule(rule.id, missing.fact))
            continue
        if hit is None:
            continue
        exemption = exemption_for(rule.id, facts.subject, policy, now)
        if exemption is not None:
            suppressed.append(
                Suppression(rule.id, exemption.ticket, exemption.expires.isoformat(), exemption.reason)
            )
            continue
        findings.append(Finding(rule.id, settings.severity or rule.severity, hit.reason, hit.facts))

    found = tuple(findings)
    if found:
        verdict = Verdict.VIOLATION
        severity = max((f.severity for f in found), key=lambda s: s.rank)
    elif undetermined:
        verdict, severity = Verdict.INCOMPLETE, Severity.MEDIUM
    elif occasion not in _JUDGING_AN_INSTANCE:
        return Decision(
            Verdict.INFO,
            Severity.INFO,
            (),
            tuple(suppressed),
            (),
            Action.NONE,
            f"{facts.call.operation.value if facts.call else occasion.value} is recorded for the audit trail",
        )
    else:
        verdict, severity = Verdict.COMPLIANT, Severity.INFO
    action, reason = _action(facts, policy, found, complete=not undetermined)
    if verdict is Verdict.INCOMPLETE:
        action, reason = Action.ALERT, "facts are missing: a person must check"
    return Decision(verdict, severity, found, tuple(suppressed), tuple(undetermined), action, reason)
