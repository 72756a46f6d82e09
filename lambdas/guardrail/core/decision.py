"""The decision: which rules fire for a call, what the verdict is, and what to do about it.

Pure and deterministic: the same facts, policy and clock always give the same decision, and no
valid input makes it raise. Remediation is proposed only when the facts prove the instance is an
account instance owned by the account the call was made in; otherwise the guardrail reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    # Enforce mode with a grace period: the deletion is scheduled, and decided again when it is due.
    SCHEDULE_DELETE = "schedule-deletion"


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
    # When a scheduled (or, in dry-run, a would-be) deletion is due; None when none is.
    delete_after: datetime | None = None


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


# Occasions on which an instance may be (scheduled to be) deleted: it exists and was judged whole.
_REMEDIABLE = frozenset(
    {
        Occasion.CREATE_SUCCEEDED,
        Occasion.TAG_SUCCEEDED,
        Occasion.UNTAG_SUCCEEDED,
        Occasion.SWEEP,
        Occasion.GRACE_ENDED,
    }
)
# Of those, the ones that never delete on the spot: a sweep (many instances at once, found rather
# than announced) only schedules, even without a grace period.
_SCHEDULE_ONLY = frozenset({Occasion.SWEEP})


def _remediation_blocker(facts: Facts, policy: Policy) -> str | None:
    """Why deleting the subject's instance would not be safe, or None when ownership is proven."""
    subject, instance = facts.subject, facts.instance
    if facts.trigger.occasion not in _REMEDIABLE or subject.instance_arn is None:
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
    if facts.applications is None:
        return "the applications attached to the instance could not be read"
    if facts.applications and not policy.enforcement.delete_instances_with_applications:
        names = ", ".join(a.name or a.application_arn for a in facts.applications[:5])
        return (
            f"the instance serves {len(facts.applications)} application(s) ({names}), which deleting it "
            "would break; the policy deletes no such instance (enforcement.delete_instances_with_applications)"
        )
    return None


def _action(
    facts: Facts, policy: Policy, findings: tuple[Finding, ...], complete: bool, now: datetime
) -> tuple[Action, str, datetime | None]:
    if not findings:
        return Action.NONE, "nothing to act on", None
    wanting = sorted(f.rule for f in findings if policy.settings(f.rule).action == "remediate")
    if not wanting:
        return Action.ALERT, "the policy asks only for an alert", None
    blocker = _remediation_blocker(facts, policy) if complete else "some rules lacked the facts they need"
    if blocker is not None:
        return Action.ALERT, f"remediation withheld: {blocker}", None
    asking = ", ".join(wanting)
    occasion = facts.trigger.occasion
    # The earliest any of them allows; when the grace period is over, the deletion is due now.
    hours = (
        0 if occasion is Occasion.GRACE_ENDED else min(policy.grace_period_hours(rule) for rule in wanting)
    )
    due = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(UTC) + timedelta(hours=hours)
    later = hours > 0 or occasion in _SCHEDULE_ONLY
    when = f" after a grace period of {hours} h, at {due.isoformat()}" if later else ""
    if policy.mode is Mode.DRY_RUN:
        return Action.WOULD_DELETE, f"dry-run: {asking} ask for remediation{when}", due
    if later:
        return (
            Action.SCHEDULE_DELETE,
            f"{asking} ask for remediation: the instance will be deleted{when}",
            due,
        )
    return Action.DELETE, f"{asking} ask for remediation", due


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
    action, reason, due = _action(facts, policy, found, not undetermined, now)
    if verdict is Verdict.INCOMPLETE:
        action, reason, due = Action.ALERT, "facts are missing: a person must check", None
    return Decision(verdict, severity, found, tuple(suppressed), tuple(undetermined), action, reason, due)
