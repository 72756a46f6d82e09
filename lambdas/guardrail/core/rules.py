"""What a rule is: a check over an `Evaluation`, with its documentation beside it.

A rule is a small function that either returns the reason it fires (stating the facts it used) or
None. A rule that needs a fact that could not be gathered raises `Undetermined`, which makes the
decision incomplete rather than silently compliant. Each rule declares the occasions it judges:
the instance-state rules judge an instance whenever it is looked at (its creation, a sweep), the
rules about a call judge only that call.

The rules themselves are in `guardrail.core.catalogue`, each declared with `Catalogue.rule` above
its check, so that adding a rule touches one place (plus its tests and policy cases).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from guardrail.core.approval import approving_unit
from guardrail.core.dates import utc_date
from guardrail.core.facts import (
    AccountFacts,
    ApiCall,
    ApplicationFacts,
    Fact,
    Facts,
    InstanceFacts,
    InstanceStatus,
    Occasion,
    OrganizationFacts,
    ServiceControlPolicy,
    Subject,
)
from guardrail.core.policy import Policy, Severity
from guardrail.core.triggers import occasions


class Undetermined(Exception):
    """A rule cannot be evaluated because a fact it needs is missing."""

    def __init__(self, fact: Fact) -> None:
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
    def subject(self) -> Subject:
        return self.facts.subject

    @property
    def today(self) -> date:
        """The UTC date of `now`, whatever offset it was given with."""
        return utc_date(self.now)

    def call(self) -> ApiCall:
        """The triggering call, for the rules that judge only calls (their occasions say so)."""
        call = self.facts.call
        if call is None:
            raise TypeError("this rule judges API calls; its occasions must not include sweeps")
        return call

    def organization(self) -> OrganizationFacts:
        if self.facts.organization is None:
            raise Undetermined(Fact.ORGANIZATION)
        return self.facts.organization

    def account(self) -> AccountFacts:
        if self.facts.account is None:
            raise Undetermined(Fact.ACCOUNT)
        return self.facts.account

    def instance(self) -> InstanceFacts:
        """The instance as it is. One not ACTIVE (still being created, failed, being deleted) is
        judged once it is: its tags cannot be read before, and what it will be is not known."""
        instance = self.facts.instance
        if instance is None or (instance.status is not None and instance.status != InstanceStatus.ACTIVE):
            raise Undetermined(Fact.INSTANCE)
        return instance

    def account_instances(self) -> tuple[InstanceFacts, ...]:
        if self.facts.account_instances is None:
            raise Undetermined(Fact.ACCOUNT_INSTANCES)
        return self.facts.account_instances

    def organization_instances(self) -> tuple[InstanceFacts, ...]:
        if self.facts.organization_instances is None:
            raise Undetermined(Fact.ORGANIZATION_INSTANCES)
        return self.facts.organization_instances

    def applications(self) -> tuple[ApplicationFacts, ...]:
        if self.facts.applications is None:
            raise Undetermined(Fact.APPLICATIONS)
        return self.facts.applications

    def service_control_policies(self) -> tuple[ServiceControlPolicy, ...]:
        if self.facts.service_control_policies is None:
            raise Undetermined(Fact.SERVICE_CONTROL_POLICIES)
        return self.facts.service_control_policies

    def approval(self) -> str | None:
        """What approves the subject's account (an account id, OU id or OU path), or None."""
        account_id = self.subject.account_id
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
    applies_to: frozenset[Occasion]
    summary: str
    constraint: str
    fix: str
    check: RuleCheck

    @property
    def judges_instance_state(self) -> bool:
        """Whether it judges what an account instance is (it judges sweeps and grace ends, not
        only calls): such rules never judge the organization instance."""
        return bool(self.applies_to & occasions(judges_state=True, api_call=False))


# What an instance is, judged whenever it is looked at: created, retagged, listed by a sweep, or
# when the grace period of its deletion ends (`guardrail.core.triggers` says which triggers do).
INSTANCE_STATE = occasions(judges_state=True)
# The same, and a CreateInstance that failed (its account and Region are still the subject's).
INSTANCE_STATE_AND_ATTEMPTS = INSTANCE_STATE | occasions(judges_attempt=True)
# Calls only.
CREATE_CALLS = frozenset({Occasion.CREATE_SUCCEEDED, Occasion.CREATE_FAILED})
FAILED_CREATE = frozenset({Occasion.CREATE_FAILED})
SUCCEEDED_DELETE = frozenset({Occasion.DELETE_SUCCEEDED})
FAILED_DELETE = frozenset({Occasion.DELETE_FAILED})
ANY_CALL = occasions(api_call=True)


class Catalogue:
    """The rules, in the order they are declared: the order of findings and of the documentation."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []

    def rule(
        self,
        id: str,
        *,
        severity: Severity,
        applies_to: frozenset[Occasion],
        summary: str,
        constraint: str,
        fix: str,
    ) -> Callable[[RuleCheck], RuleCheck]:
        """Declare the check below as a rule; `summary`, `constraint` (why) and `fix` end in '.'."""

        def declare(check: RuleCheck) -> RuleCheck:
            if any(existing.id == id for existing in self.rules):
                raise ValueError(f"rule {id} is declared twice")
            self.rules.append(Rule(id, severity, applies_to, summary, constraint, fix, check))
            return check

        return declare


def about_organization_instance(facts: Facts) -> bool | None:
    """Whether the subject is the organization instance; None when the facts cannot tell.

    The management account owns the organization instance and cannot hold an account instance,
    so a subject there is the organization instance; so is one whose ARN is a listed one's.
    """
    subject = facts.subject
    listed = facts.organization_instances or ()
    if subject.instance_arn is not None and any(i.instance_arn == subject.instance_arn for i in listed):
        return True
    if facts.organization is None:
        return None
    return subject.account_id == facts.organization.management_account_id
