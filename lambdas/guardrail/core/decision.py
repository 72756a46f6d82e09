"""The decision: which rules fire for a call, what the verdict is, and what to do about it.

Pure and deterministic: the same facts, policy and clock always give the same decision, and no
valid input makes it raise. Remediation is proposed only when the facts prove the instance is an
account instance owned by the account the call was made in; otherwise the guardrail reports.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from guardrail.core.catalogue import RULES
from guardrail.core.dates import utc_date
from guardrail.core.facts import Fact, Facts, InstanceStatus, Occasion, Subject
from guardrail.core.policy import Exemption, Mode, Policy, Severity
from guardrail.core.rules import Evaluation, Undetermined, about_organization_instance
from guardrail.core.triggers import traits


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
    missing_fact: Fact


@dataclass(frozen=True)
class Demand:
    """A rule that asks for the instance's deletion, and the grace period its policy gives."""

    rule: str
    grace_hours: int


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    severity: Severity
    findings: tuple[Finding, ...]
    suppressed: tuple[Suppression, ...]
    undetermined: tuple[UndeterminedRule, ...]
    action: Action
    action_reason: str
    # When a deletion would be due if none were pending yet (the latest grace period among the
    # demands); None when none is asked for. The pending deletion's own due time, which may be
    # earlier (kept deadlines), is the deletion lifecycle's (`guardrail.core.deletion`).
    delete_after: datetime | None = None
    # The rules that ask for a deletion the facts allow, in enforce or dry-run mode; empty when
    # none is asked for, or it is withheld.
    demands: tuple[Demand, ...] = ()
    # Why a deletion asked for is withheld, and whether that is the policy's own choice (an
    # instance serving applications: nothing will delete it) rather than something not known.
    withheld: str | None = None
    barred: bool = False


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


def _remediation_blocker(facts: Facts, policy: Policy) -> tuple[str, bool] | None:
    """Why deleting the subject's instance would not be safe, or None when ownership is proven;
    with whether it is the policy's own choice (nothing will delete it) rather than a gap."""
    reason = _unproven(facts)
    if reason is not None:
        return reason, False
    applications = facts.applications or ()
    if applications and not policy.enforcement.delete_instances_with_applications:
        names = ", ".join(a.name or a.application_arn for a in applications[:5])
        return (
            f"the instance serves {len(applications)} application(s) ({names}), which deleting it "
            "would break; the policy deletes no such instance (enforcement.delete_instances_with_applications)",
            True,
        )
    return None


def _unproven(facts: Facts) -> str | None:
    """What keeps the guardrail from proving the instance is an account instance it may delete."""
    subject, instance = facts.subject, facts.instance
    if not traits(facts.trigger.occasion).judges_state or subject.instance_arn is None:
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
    return None


def _action(
    facts: Facts, policy: Policy, findings: tuple[Finding, ...], complete: bool, now: datetime
) -> Decision:
    """The action part of the decision (its verdict fields are filled in by `decide`)."""

    def action(kind: Action, reason: str, **more: Any) -> Decision:
        return Decision(Verdict.VIOLATION, Severity.INFO, (), (), (), kind, reason, **more)

    if not findings:
        return action(Action.NONE, "nothing to act on")
    wanting = sorted(f.rule for f in findings if policy.settings(f.rule).action == "remediate")
    if not wanting:
        return action(Action.ALERT, "the policy asks only for an alert")
    if not complete:
        return action(
            Action.ALERT, "remediation withheld: some rules lacked the facts they need", withheld="facts"
        )
    blocked = _remediation_blocker(facts, policy)
    if blocked is not None:
        blocker, barred = blocked
        return action(Action.ALERT, f"remediation withheld: {blocker}", withheld=blocker, barred=barred)
    demands = tuple(Demand(rule, policy.grace_period_hours(rule)) for rule in wanting)
    asking = ", ".join(wanting)
    kind = traits(facts.trigger.occasion)
    # The latest deadline among them; at the end of a grace period the lifecycle knows the deadlines.
    hours = 0 if facts.trigger.occasion is Occasion.GRACE_ENDED else max(d.grace_hours for d in demands)
    due = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(UTC) + timedelta(hours=hours)
    later = hours > 0 or not kind.deletes_on_spot
    when = f" after a grace period of {hours} h, at {due.isoformat()}" if later else ""
    if policy.mode is Mode.DRY_RUN:
        return action(
            Action.WOULD_DELETE,
            f"dry-run: {asking} ask for remediation{when}",
            delete_after=due,
            demands=demands,
        )
    if later:
        return action(
            Action.SCHEDULE_DELETE,
            f"{asking} ask for remediation: the instance will be deleted{when}",
            delete_after=due,
            demands=demands,
        )
    return action(Action.DELETE, f"{asking} ask for remediation", delete_after=due, demands=demands)


def decide(facts: Facts, policy: Policy, now: datetime) -> Decision:
    """Evaluate every rule that judges the trigger's occasion against the facts.

    A trigger that judges nothing (a DeleteInstance or UpdateInstance, a failed tag change) and
    that no rule faults is `info`, recorded for the audit trail; one a rule does fault (deleting
    the organization instance) is decided like a CreateInstance. The organization instance is
    never judged by the rules about account instances: looked at as an instance, it is `info`.
    """
    occasion = facts.trigger.occasion
    kind = traits(occasion)
    organization_instance = kind.judges_state and about_organization_instance(facts) is True
    evaluation = Evaluation(facts, policy, now)
    findings: list[Finding] = []
    suppressed: list[Suppression] = []
    undetermined: list[UndeterminedRule] = []
    for rule in RULES:
        settings = policy.settings(rule.id)
        if not settings.enabled or occasion not in rule.applies_to:
            continue
        if organization_instance and rule.judges_instance_state:
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

    # The most severe first; among equals, catalogue order (the sort is stable): every channel keeps it.
    found = tuple(sorted(findings, key=lambda f: f.severity.rank, reverse=True))
    if found:
        verdict = Verdict.VIOLATION
        severity = max((f.severity for f in found), key=lambda s: s.rank)
    elif undetermined:
        verdict, severity = Verdict.INCOMPLETE, Severity.MEDIUM
    elif kind.judges and not organization_instance:
        verdict, severity = Verdict.COMPLIANT, Severity.INFO
    else:
        what = facts.call.operation.value if facts.call else occasion.value
        reason = (
            "the organization instance: the rules about account instances do not judge it"
            if organization_instance
            else f"{what} is recorded for the audit trail"
        )
        return Decision(Verdict.INFO, Severity.INFO, (), tuple(suppressed), (), Action.NONE, reason)
    planned = _action(facts, policy, found, not undetermined, now)
    if verdict is Verdict.INCOMPLETE:
        planned = replace(
            planned, action=Action.ALERT, action_reason="facts are missing: a person must check"
        )
    return replace(
        planned,
        verdict=verdict,
        severity=severity,
        findings=found,
        suppressed=tuple(suppressed),
        undetermined=tuple(undetermined),
    )
