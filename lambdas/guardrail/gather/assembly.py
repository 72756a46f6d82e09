"""The facts about one subject, assembled the same way for every trigger and every source.

Three sources read the facts: the event gatherer from AWS (`gatherer`), the sweep worker from the
run's snapshot of the organization and each account's listing (`guardrail.sweep.worker`), and
`guardrail evaluate --org` from a snapshot file. Each says how it reads the organization side and
the member side; what a trigger needs, in which order the facts come, and what is recorded missing
with which reason (a fact that needs one missing, a member side that could not be read, an event
without an instance ARN) are decided here, once, so that the three cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from guardrail.core.facts import (
    AccountFacts,
    ApplicationFacts,
    Fact,
    Facts,
    InstanceFacts,
    MissingFact,
    OrganizationFacts,
    ServiceControlPolicy,
    Subject,
    Trigger,
)
from guardrail.core.triggers import traits
from guardrail.gather.deadline import Missing

# The facts read inside the member account, through its member role.
MEMBER_FACTS = (Fact.ACCOUNT_INSTANCES, Fact.INSTANCE, Fact.APPLICATIONS)
NO_INSTANCE_ARN = "the event carries no instance ARN"


def needs(fact: Fact) -> str:
    """The reason of a fact not read because the one it is read from is missing."""
    return f"needs {fact}, which is missing"


def cannot_assume(reason: str) -> str:
    """Why an account's member side is missing when its member role could not be assumed (the
    sweep says it of the whole account)."""
    return f"cannot assume the member role: {reason}"


@dataclass(frozen=True)
class Wanted:
    """What one trigger needs read about its subject (`guardrail.core.triggers` says why)."""

    # The subject is judged (an instance or an attempt at one): its SCPs and its member side.
    judged: bool
    organization_instances: bool
    # The instance is described, tagged and its applications listed (it has an ARN to do it with).
    describes: bool
    # The trigger describes an instance, but names none.
    no_instance_arn: bool

    @classmethod
    def of(cls, subject: Subject, trigger: Trigger) -> Wanted:
        kind = traits(trigger.occasion)
        return cls(
            judged=kind.judges,
            organization_instances=kind.reads_organization_instances,
            describes=kind.describes_instance and subject.instance_arn is not None,
            no_instance_arn=kind.describes_instance and not subject.instance_arn,
        )

    @property
    def member_facts(self) -> tuple[Fact, ...]:
        """The facts the member side reads for this trigger."""
        return MEMBER_FACTS if self.describes else MEMBER_FACTS[:1]


@dataclass
class Found:
    """What one gathering, or one branch of it, has read, fact by fact, and what it could not.

    Each field is the `Fact` of the same name; missing facts keep the order they were found
    missing in, which is the order alerts list them in."""

    organization: OrganizationFacts | None = None
    account: AccountFacts | None = None
    instance: InstanceFacts | None = None
    account_instances: tuple[InstanceFacts, ...] | None = None
    applications: tuple[ApplicationFacts, ...] | None = None
    organization_instances: tuple[InstanceFacts, ...] | None = None
    service_control_policies: tuple[ServiceControlPolicy, ...] | None = None
    missing: list[MissingFact] = field(default_factory=list)

    def lack(self, fact: Fact, reason: str, code: str | None = None) -> None:
        self.missing.append(MissingFact(fact=fact, reason=reason, code=code))

    def lack_all(self, facts: Iterable[Fact], reason: str) -> None:
        self.missing += [MissingFact(fact=fact, reason=reason) for fact in facts]

    def read[T](self, fact: Fact, read: Callable[[], T]) -> T | None:
        """What ``read`` returns, or None with ``fact`` recorded missing when it raises `Missing`."""
        try:
            return read()
        except Missing as gap:
            self.lack(fact, gap.reason, gap.code)
            return None

    def update(self, branch: Found) -> None:
        """Take in what a branch of the gathering found, after what this one found."""
        for fact in Fact:
            value = getattr(branch, fact)
            if value is not None:
                setattr(self, fact, value)
        self.missing += branch.missing

    # -- the facts read from another one ---------------------------------------------------------
    def organization_instances_listed(self, listed: Callable[[], Iterable[InstanceFacts]]) -> None:
        """The organization instances, from what the management account lists: it cannot hold an
        account instance, so what it lists is the organization instance, with its owner (the
        management account) or without one in older responses."""
        if self.organization is None:
            self.lack(Fact.ORGANIZATION_INSTANCES, needs(Fact.ORGANIZATION))
            return
        management = self.organization.management_account_id
        self.organization_instances = self.read(
            Fact.ORGANIZATION_INSTANCES,
            lambda: tuple(i for i in listed() if i.owner_account_id in (None, management)),
        )

    def service_control_policies_of(
        self, in_force: Callable[[AccountFacts], tuple[ServiceControlPolicy, ...]]
    ) -> None:
        """The SCPs in force on the account: attached to it, to each OU above it and to the root."""
        account = self.account
        if account is None:
            self.lack(Fact.SERVICE_CONTROL_POLICIES, needs(Fact.ACCOUNT))
            return
        self.service_control_policies = self.read(Fact.SERVICE_CONTROL_POLICIES, lambda: in_force(account))

    def describe(
        self, described: Callable[[], tuple[InstanceFacts, Callable[[], tuple[ApplicationFacts, ...]]]]
    ) -> None:
        """The instance with its tags, then its applications, which are read only for an instance
        that could be: ``described`` gives the instance, and how to read its applications."""
        found = self.read(Fact.INSTANCE, described)
        if found is None:
            self.lack(Fact.APPLICATIONS, needs(Fact.INSTANCE))
            return
        self.instance, applications = found
        self.applications = self.read(Fact.APPLICATIONS, applications)

    def facts(self, subject: Subject, trigger: Trigger) -> Facts:
        return Facts(
            subject=subject,
            trigger=trigger,
            organization=self.organization,
            account=self.account,
            instance=self.instance,
            account_instances=self.account_instances,
            applications=self.applications,
            organization_instances=self.organization_instances,
            service_control_policies=self.service_control_policies,
            missing=tuple(self.missing),
        )


# Reads the organization side into what is found, on the calling thread.
OrganizationRead = Callable[[Found, Wanted], None]
# Starts reading the member side, and gives what waits for it: `Missing` when it cannot be read
# at all (its member role, its deadline), which makes every fact it reads missing with the reason.
MemberRead = Callable[[Wanted], Callable[[], Found]]


def assemble(
    subject: Subject, trigger: Trigger, organization: OrganizationRead, member: MemberRead | None = None
) -> Facts:
    """The facts about ``subject`` for ``trigger``: the organization side, then the member side
    (started first, so that the two are read at the same time), then the event's own gaps.

    Without ``member``, only the organization side is read: what an account is, whatever its
    instances (the sweep's posture of an account, whose subject names no instance)."""
    wanted = Wanted.of(subject, trigger)
    joining = member(wanted) if member is not None and wanted.judged else None
    found = Found()
    organization(found, wanted)
    if joining is not None:
        try:
            found.update(joining())
        except Missing as gap:
            found.lack_all(wanted.member_facts, gap.reason)
    if member is not None and wanted.no_instance_arn:
        found.lack(Fact.INSTANCE, NO_INSTANCE_ARN)
    return found.facts(subject, trigger)
