"""The rule catalogue: what the guardrail checks, why, and how to fix a finding.

Each rule is a small function over an `Evaluation` that either returns the reason it fires
(stating the facts it used) or None. A rule that needs a fact the Lambda could not gather raises
`Undetermined`, which makes the decision incomplete rather than silently compliant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from guardrail.core.approval import approving_unit
from guardrail.core.dates import parse_day, utc_date
from guardrail.core.facts import (
    AccountFacts,
    Facts,
    InstanceFacts,
    Operation,
    OrganizationFacts,
    Outcome,
    ServiceControlPolicy,
)
from guardrail.core.policy import Policy, Purpose, Severity
from guardrail.core.regions import partition_of
from guardrail.core.scp import read_create_instance_denial


class Undetermined(Exception):
    """A rule cannot be evaluated because a fact it needs is missing."""

    def __init__(self, fact: str) -> None:
        super().__init__(fact)
        self.fact = fact


@dataclass(frozen=True)
class Hit:
    """A rule firing: the sentence a person reads, and the facts behind it."""

    reason: str
    facts: dict[str, Any]


@dataclass(frozen=True)
class Evaluation:
    """The facts and policy a rule reads, with accessors that refuse to guess."""

    facts: Facts
    policy: Policy
    now: datetime

    @property
    def today(self) -> date:
        """The UTC date of `now`, whatever offset it was given with."""
        return utc_date(self.now)

    def organization(self) -> OrganizationFacts:
        if self.facts.organization is None:
            raise Undetermined("organization")
        return self.facts.organization

    def account(self) -> AccountFacts:
        if self.facts.account is None:
            raise Undetermined("account")
        return self.facts.account

    def instance(self) -> InstanceFacts:
        if self.facts.instance is None:
            raise Undetermined("instance")
        return self.facts.instance

    def account_instances(self) -> tuple[InstanceFacts, ...]:
        if self.facts.account_instances is None:
            raise Undetermined("account_instances")
        return self.facts.account_instances

    def organization_instances(self) -> tuple[InstanceFacts, ...]:
        if self.facts.organization_instances is None:
            raise Undetermined("organization_instances")
        return self.facts.organization_instances

    def service_control_policies(self) -> tuple[ServiceControlPolicy, ...]:
        if self.facts.service_control_policies is None:
            raise Undetermined("service_control_policies")
        return self.facts.service_control_policies

    def approval(self) -> str | None:
        """What approves the call's account (an account id, OU id or OU path), or None."""
        account_id = self.facts.call.account_id
        approved = self.policy.approved
        if account_id in approved.accounts:
            return account_id
        if not approved.organizational_units:
            return None
        return approving_unit(self.account().parents, approved.organizational_units)

    def org_path(self) -> str | None:
        """The account's aws:PrincipalOrgPaths value, `o-…/r-…/ou-…/`, when both facts are known."""
        organization, account = self.facts.organization, self.facts.account
        if organization is None or account is None or not account.parents:
            return None
        return "/".join([organization.organization_id, *(unit.id for unit in account.parents)]) + "/"

    def tag(self, key: str) -> str | None:
        return self.instance().tags.get(key)

    def purpose(self) -> str | None:
        return self.tag(self.policy.tags.purpose_key)


RuleCheck = Callable[[Evaluation], Hit | None]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    applies_to: frozenset[tuple[Operation, Outcome]]
    summary: str
    constraint: str
    fix: str
    check: RuleCheck


CREATED = frozenset({(Operation.CREATE, Outcome.SUCCEEDED)})
ATTEMPTED = frozenset({(Operation.CREATE, Outcome.SUCCEEDED), (Operation.CREATE, Outcome.FAILED)})
FAILED = frozenset({(Operation.CREATE, Outcome.FAILED)})
DELETED = frozenset({(Operation.DELETE, Outcome.SUCCEEDED)})
ANY_CALL = frozenset((operation, outcome) for operation in Operation for outcome in Outcome)


def about_organization_instance(facts: Facts) -> bool | None:
    """Whether the call is about the organization instance; None when the facts cannot tell.

    The management account owns the organization instance and cannot hold an account instance,
    so a call there is about the organization instance; so is one naming a listed one's ARN.
    """
    call = facts.call
    listed = facts.organization_instances or ()
    if call.instance_arn is not None and any(i.instance_arn == call.instance_arn for i in listed):
        return True
    if facts.organization is None:
        return None
    return call.account_id == facts.organization.management_account_id


def _account_not_approved(e: Evaluation) -> Hit | None:
    if e.approval() is not None:
        return None
    account = e.facts.account
    where = f" in OU path '{account.ou_path or '(root)'}'" if account else ""
    return Hit(
        f"Account {e.facts.call.account_id}{where} is not approved for account instances by the policy",
        {"account_id": e.facts.call.account_id, "ou_path": account.ou_path if account else None},
    )


def _management_account_attempt(e: Evaluation) -> Hit | None:
    management = e.organization().management_account_id
    if e.facts.call.account_id != management:
        return None
    return Hit(
        f"CreateInstance was called in the organization management account {management}",
        {"management_account_id": management, "error_code": e.facts.call.error_code},
    )


def _organization_instance_deleted(e: Evaluation) -> Hit | None:
    about = about_organization_instance(e.facts)
    if about is None:
        raise Undetermined("organization")
    if not about:
        return None
    call = e.facts.call
    return Hit(
        f"DeleteInstance removed the organization instance {call.instance_arn or '(ARN not recorded)'} "
        f"in the management account {call.account_id}: Identity Center access ends for the whole "
        "organization",
        {"account_id": call.account_id, "instance_arn": call.instance_arn},
    )


def _region_not_allowed(e: Evaluation) -> Hit | None:
    allowed = e.policy.allowed_regions
    region = e.facts.call.region
    if allowed is None or region in allowed:
        return None
    return Hit(
        f"The instance is in {region}; the policy allows {', '.join(allowed) or 'no Region'}",
        {"region": region, "allowed_regions": list(allowed)},
    )


def _missing_justification(e: Evaluation) -> Hit | None:
    req = e.policy.tags
    purpose, owner = e.purpose(), e.tag(req.owner_key)
    problems = []
    if purpose is None:
        problems.append(f"no '{req.purpose_key}' tag")
    elif purpose not in req.allowed_purposes:
        allowed = ", ".join(req.allowed_purposes)
        problems.append(f"'{req.purpose_key}' is '{purpose}', not one of {allowed}")
    if not owner:
        problems.append(f"no '{req.owner_key}' tag")
    if not problems:
        return None
    # Only the tags this rule read: the instance's other tags are in the alert once, not here.
    looked_at = {key: value for key in (req.purpose_key, req.owner_key) if (value := e.tag(key)) is not None}
    absent = ((req.purpose_key, purpose is None), (req.owner_key, not owner))
    missing = [key for key, is_absent in absent if is_absent]
    return Hit(
        f"The instance does not justify itself: {'; '.join(problems)}",
        {"tags": looked_at, "missing_tags": missing, "allowed_purposes": list(req.allowed_purposes)},
    )


@dataclass(frozen=True)
class _Expiry:
    """A trial's expiry tag as written, and the date it names (None when it names none, and why)."""

    raw: str | None
    day: date | None = None
    problem: str | None = None


def _trial_expiry(e: Evaluation) -> _Expiry:
    raw = e.tag(e.policy.tags.expiry_key)
    if raw is None:
        return _Expiry(None)
    try:
        return _Expiry(raw, parse_day(raw))
    except ValueError as error:
        return _Expiry(raw, problem=str(error))


def _trial_expiry_rule(e: Evaluation) -> Hit | None:
    if e.purpose() != Purpose.TRIAL:
        return None
    key, longest = e.policy.tags.expiry_key, e.policy.max_trial_days
    expiry = _trial_expiry(e)
    created = utc_date(e.instance().created_date or e.facts.call.event_time)
    facts = {"expires": expiry.raw, "created": created.isoformat(), "max_trial_days": longest}
    if expiry.raw is None:
        return Hit(f"The trial has no '{key}' tag", facts)
    if expiry.day is None:
        return Hit(f"The trial's '{key}' tag is unreadable: {expiry.problem}", facts)
    days = (expiry.day - created).days
    if days > longest:
        return Hit(
            f"The trial runs {days} days (to {expiry.day}), longer than the {longest} days the policy allows",
            facts,
        )
    return None


def _trial_expired(e: Evaluation) -> Hit | None:
    if e.purpose() != Purpose.TRIAL:
        return None
    expiry = _trial_expiry(e).day
    if expiry is None or expiry >= e.today:
        return None
    return Hit(
        f"The trial expired on {expiry} and the instance still exists",
        {"expires": expiry.isoformat(), "today": e.today.isoformat()},
    )


def _purpose_conflicts(e: Evaluation) -> Hit | None:
    if e.purpose() != Purpose.NO_ORG_ADOPTION:
        return None
    org_instances = e.organization_instances()
    if not org_instances:
        return None
    return Hit(
        "The purpose is 'no-org-adoption', yet the organization has an organization instance "
        f"({org_instances[0].instance_arn})",
        {"organization_instance_arn": org_instances[0].instance_arn},
    )


def _second_instance(e: Evaluation) -> Hit | None:
    """Another instance of the account's own, besides the call's.

    A member account's ListInstances shows the organization instance too, and older responses
    carry no `OwnerAccountId`: an instance is the account's own only when its owner says so, or,
    with no owner given, when it is not one of the organization instances, which must then be known.
    """
    call = e.facts.call
    organization = e.facts.organization
    if organization is not None and call.account_id == organization.management_account_id:
        return None  # its instance is the organization instance; management-account-attempt speaks
    known = {i.instance_arn for i in e.facts.organization_instances or ()}

    def own(instance: InstanceFacts) -> bool:
        if instance.instance_arn == call.instance_arn or instance.instance_arn in known:
            return False
        if instance.owner_account_id is not None:
            return instance.owner_account_id == call.account_id
        # No owner given: the account's own unless it is an organization instance, which must be known.
        return instance.instance_arn not in {i.instance_arn for i in e.organization_instances()}

    others = [instance for instance in e.account_instances() if own(instance)]
    if not others:
        return None
    listed = ", ".join(f"{i.instance_arn} ({i.region})" for i in others)
    return Hit(
        f"Account {call.account_id} already has another instance: {listed}",
        {"other_instances": [{"instance_arn": i.instance_arn, "region": i.region} for i in others]},
    )


def _scp_gap(e: Evaluation) -> Hit | None:
    if e.approval() is not None:
        return None
    account_id = e.facts.call.account_id
    if account_id == e.organization().management_account_id:
        return None  # SCPs never apply to the management account: nothing to close there
    policies = e.service_control_policies()
    reading = read_create_instance_denial(
        ((p.policy_id, p.document) for p in policies),
        account_id,
        e.org_path(),
        partition_of(e.facts.call.region),
    )
    if reading.denied:
        return None
    # A statement that might deny but could not be read is not counted: the finding says which.
    doubts = (
        f"; not counted, as they could not be evaluated: {' | '.join(reading.doubts)}"
        if reading.doubts
        else ""
    )
    return Hit(
        f"Account {account_id} is not approved, yet none of the {len(policies)} SCPs in force on it "
        f"certainly denies sso:CreateInstance{doubts}",
        {"scps_checked": [p.policy_id for p in policies], "doubts": list(reading.doubts)},
    )


def _attempt_denied(e: Evaluation) -> Hit | None:
    call = e.facts.call
    return Hit(
        f"CreateInstance failed with {call.error_code or 'an error'}: {call.error_message or 'no message'}",
        {"error_code": call.error_code, "error_message": call.error_message},
    )


def _root_user(e: Evaluation) -> Hit | None:
    call = e.facts.call
    if call.actor.type != "Root":
        return None
    outcome = "" if call.outcome is Outcome.SUCCEEDED else f" (it failed: {call.error_code or 'an error'})"
    return Hit(
        f"{call.operation.value} was called by the root user of account {call.account_id}{outcome}",
        {"actor_arn": call.actor.arn, "source_ip": call.actor.source_ip, "user_agent": call.actor.user_agent},
    )


def _exemption_expired(e: Evaluation) -> Hit | None:
    call = e.facts.call
    expired = [
        x
        for x in e.policy.exemptions
        if x.expires < e.today
        and (x.account_id == call.account_id or (x.instance_arn and x.instance_arn == call.instance_arn))
    ]
    if not expired:
        return None
    tickets = ", ".join(f"{x.ticket} (expired {x.expires})" for x in expired)
    return Hit(
        f"An exemption covering this account or instance has expired: {tickets}",
        {"exemptions": [{"ticket": x.ticket, "expires": x.expires.isoformat()} for x in expired]},
    )


RULES: tuple[Rule, ...] = (
    Rule(
        "account-not-approved",
        Severity.HIGH,
        CREATED,
        "The account, or an OU above it, is not approved for account instances.",
        "AWS recommends the organization instance; account instances are for the few cases the "
        "policy approves.",
        "Delete the instance, or approve the account or its OU in the policy.",
        _account_not_approved,
    ),
    Rule(
        "management-account-attempt",
        Severity.HIGH,
        ATTEMPTED,
        "CreateInstance was called in the organization management account.",
        "Account instances cannot be created in the management account; an attempt there is "
        "unusual activity in the most privileged account.",
        "Find out who made the call and why; the management account should hold only the "
        "organization instance.",
        _management_account_attempt,
    ),
    Rule(
        "org-instance-deleted",
        Severity.HIGH,
        DELETED,
        "DeleteInstance removed the organization instance (a call in the management account).",
        "The organization instance is the organization's workforce access: deleting it removes its "
        "users, groups, permission sets and assignments in every account, and cannot be undone.",
        "Find out who made the call and why; rebuild the instance, its identity source, permission "
        "sets and assignments, and limit who may call sso:DeleteInstance in the management account.",
        _organization_instance_deleted,
    ),
    Rule(
        "region-not-allowed",
        Severity.MEDIUM,
        CREATED,
        "The instance is in a Region the policy does not allow.",
        "An account instance serves one account and Region only; data residency follows the Region.",
        "Delete the instance and create it in an allowed Region, or allow the Region.",
        _region_not_allowed,
    ),
    Rule(
        "missing-justification",
        Severity.MEDIUM,
        CREATED,
        "Required tags (purpose among the AWS use cases, owner) are missing or not allowed.",
        "AWS names three cases for account instances: a trial, no org-wide adoption, isolated users.",
        "Tag the instance with its purpose and owner (sso-admin tag-resource).",
        _missing_justification,
    ),
    Rule(
        "trial-expiry",
        Severity.MEDIUM,
        CREATED,
        "A trial has no expiry date, or one beyond the longest trial allowed.",
        "AWS recommends account instances for temporary trials of managed applications.",
        "Tag the instance with an expiry date within the allowed trial length.",
        _trial_expiry_rule,
    ),
    Rule(
        "trial-expired",
        Severity.HIGH,
        CREATED,
        "A trial's expiry date has passed and the instance still exists.",
        "A trial is temporary by definition.",
        "Delete the instance, or extend the trial with a new expiry tag within policy.",
        _trial_expired,
    ),
    Rule(
        "purpose-conflicts-with-org-instance",
        Severity.MEDIUM,
        CREATED,
        "The purpose is 'no-org-adoption' although the organization has an organization instance.",
        "'No org-wide adoption' is only a reason when there is no organization instance.",
        "Use the organization instance, or tag the real purpose ('isolated-users').",
        _purpose_conflicts,
    ),
    Rule(
        "second-instance",
        Severity.MEDIUM,
        ATTEMPTED,
        "Another instance exists in the same account, in any Region.",
        "An account can hold only one instance of Identity Center across all Regions.",
        "Keep one instance per account; remove the one that is not needed.",
        _second_instance,
    ),
    Rule(
        "scp-gap",
        Severity.MEDIUM,
        ATTEMPTED,
        "The account is not approved, yet no SCP on it or its ancestors denies sso:CreateInstance.",
        "AWS's preventive control for account instances is an SCP denying sso:CreateInstance.",
        "Attach the guardrail's SCP (or your own) to the account's OU or the root.",
        _scp_gap,
    ),
    Rule(
        "attempt-denied",
        Severity.LOW,
        FAILED,
        "The CreateInstance call failed: an SCP or AWS refused it, or it was throttled.",
        "A failed attempt means someone wanted an account instance; worth a conversation.",
        "Nothing was created; talk to the caller about what they needed.",
        _attempt_denied,
    ),
    Rule(
        "root-user",
        Severity.HIGH,
        ANY_CALL,
        "An instance call was made by an account's root user.",
        "The root user is for the few tasks that need it; using it for an identity change bypasses "
        "every IAM control and audit trail built on roles.",
        "Find out who used the root credentials and why; secure them (MFA, no access keys) and use a "
        "role for Identity Center changes.",
        _root_user,
    ),
    Rule(
        "exemption-expired",
        Severity.MEDIUM,
        ATTEMPTED,
        "An exemption covering this account or instance has passed its date.",
        "Exemptions are time-boxed so that exceptions are reviewed.",
        "Renew the exemption with a new ticket, or bring the instance into policy.",
        _exemption_expired,
    ),
)

RULE_IDS: frozenset[str] = frozenset(rule.id for rule in RULES)
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
