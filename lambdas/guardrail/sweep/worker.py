"""A sweep's work on a batch of accounts: list each account's instances and judge each one.

Per account, three round trips of reads at most: assume the member role (once for all its
Regions: STS throttles per calling account), list its instances (one call across Regions where
the runtime's botocore knows `RegionScope`), then the tags and applications of every instance at
once. The organization side comes from the planner's snapshot, read once for the whole run.

An account that cannot be read (no member role, access denied, throttled past the retries) is
reported with the reason, never taken for an account without instances. Each instance the
account owns is judged by the rules that judge a sweep, exactly as they judge a CreateInstance.
What to record and say about it is the `recorder`'s: the deployed worker keeps the inventory and
alerts; `guardrail sweep` passes none, and so reads only.

With a `coverage` checker, the account's forwarding is read too, beside its instances and with
the same role and deadline (`guardrail.sweep.coverage`): where its events cannot reach the
guardrail. Its reads start before the listing and overlap it, so an account still takes three
round trips of reads; four where it has enabled a watched opt-in Region, whose reads wait for
ListRegions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import msgspec

from guardrail.adapters.identity_center import InstanceReader
from guardrail.core.catalogue import RULES_BY_ID
from guardrail.core.decision import Action, Decision, Verdict, decide, exemption_for
from guardrail.core.facts import (
    AccountFacts,
    ApplicationFacts,
    Fact,
    Facts,
    InstanceFacts,
    InstanceStatus,
    Observation,
    Subject,
)
from guardrail.core.inventory import Change
from guardrail.core.ownership import is_own_instance
from guardrail.core.policy import Policy
from guardrail.core.rules import Evaluation
from guardrail.gather.assembly import Found, OrganizationRead, Wanted, assemble, cannot_assume
from guardrail.gather.deadline import Deadline, Missing, Submit
from guardrail.gather.member import MemberSide
from guardrail.gather.sessions import Sessions
from guardrail.sweep.coverage import AccountCoverage, CoverageChecker, PendingCoverage, unassumable
from guardrail.sweep.snapshot import Snapshot

_SCP_GAP = RULES_BY_ID["scp-gap"]
# The actions that end in a deletion, now or after a grace period, or would in enforce mode.
_DELETING = frozenset({Action.DELETE, Action.SCHEDULE_DELETE, Action.WOULD_DELETE})
# Reads of one account are made within this; a hung call leaves the account unreadable, not the run.
ACCOUNT_DEADLINE_SECONDS = 60.0
# Accounts read at once by one worker.
CONCURRENT_ACCOUNTS = 8
MAX_REASON = 300


class InstanceRow(msgspec.Struct, frozen=True, kw_only=True):
    """One instance found, and what was decided about it."""

    instance_arn: str
    account_id: str
    region: str
    name: str | None
    status: str | None
    verdict: str
    severity: str
    rules: tuple[str, ...] = ()
    action: str = "none"
    # `new`, `changed`, `reminder` or `resolved` when the deployed sweep alerted; None otherwise.
    change: str | None = None
    applications: tuple[str, ...] = ()
    purpose: str | None = None
    trial_expires: str | None = None
    # The instance's owner tag, and the reason of its most severe finding (None without one).
    owner: str | None = None
    reason: str | None = None
    # When the instance is to be deleted: its pending deletion (the deployed sweep), or the time the
    # decision would schedule it for (read-only runs, dry-run).
    deletion_due: datetime | None = None


class Posture(msgspec.Struct, frozen=True, kw_only=True):
    """Approved for account instances; if not, whether an SCP denies it CreateInstance (None: not known)."""

    approved: bool | None = None
    protected: bool | None = None
    exempted: bool = False


class AccountResult(msgspec.Struct, frozen=True, kw_only=True):
    account_id: str
    name: str | None = None
    readable: bool
    reason: str | None = None
    instances: tuple[InstanceRow, ...] = ()
    # Instances listed without an owner while the organization instances are unknown: not judged.
    unknown_owner: tuple[str, ...] = ()
    posture: Posture = msgspec.field(default_factory=Posture)
    resolved: tuple[str, ...] = ()
    # Where its events cannot reach the guardrail; None when coverage is not checked.
    coverage: AccountCoverage | None = None


@dataclass(frozen=True)
class Run:
    """The sweep run a worker serves: its id, when it looks, the organization and the policy."""

    run_id: str
    observed_at: datetime
    snapshot: Snapshot
    policy: Policy

    @property
    def trigger(self) -> Observation:
        return Observation(run_id=self.run_id, observed_at=self.observed_at)


class Recorder(Protocol):
    """What the deployed sweep does with a decision: keep the inventory, alert when it is news."""

    def instance(self, facts: Facts, decision: Decision, run: Run) -> tuple[Change | None, datetime | None]:
        """Record the look; what changed (when it alerted) and when its deletion is due, if pending."""
        ...

    def vanished(self, account_id: str, present: set[str], run: Run) -> tuple[str, ...]:
        """Mark the account's known instances not listed any more as gone; the ARNs resolved."""
        ...


class SweepWorker:
    def __init__(
        self,
        sessions: Sessions,
        member: MemberSide,
        submit: Submit,
        *,
        near_region: str,
        recorder: Recorder | None = None,
        coverage: CoverageChecker | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """`near_region` is where the one-call listing is made: the central Region, which every
        account has (the member roles StackSet is deployed there)."""
        self._sessions = sessions
        self._member = member
        self._submit = submit
        self._near = near_region
        self._recorder = recorder
        self._coverage = coverage
        self._deadline: Callable[[], Deadline] = (
            (lambda: Deadline(ACCOUNT_DEADLINE_SECONDS, clock))
            if clock
            else (lambda: Deadline(ACCOUNT_DEADLINE_SECONDS))
        )
        self._accounts = ThreadPoolExecutor(max_workers=CONCURRENT_ACCOUNTS, thread_name_prefix="account")

    def sweep(self, account_ids: Sequence[str], run: Run) -> tuple[AccountResult, ...]:
        futures = [self._accounts.submit(self.account, account_id, run) for account_id in account_ids]
        return tuple(future.result() for future in futures)

    def account(self, account_id: str, run: Run) -> AccountResult:
        snapshot, deadline = run.snapshot, self._deadline()
        entry = snapshot.account(account_id)
        name = entry.name if entry else None
        posture = _posture(account_id, run)
        try:
            clients = deadline.result(self._submit(lambda: self._sessions.member(account_id)))
        except Missing as gap:
            return AccountResult(
                account_id=account_id,
                name=name,
                readable=False,
                reason=_clip(cannot_assume(gap.reason)),
                posture=posture,
                coverage=unassumable(account_id, gap.reason) if self._coverage else None,
            )
        # Started before the listing, so that its reads overlap the listing's.
        pending = self._coverage.start(account_id, clients, deadline) if self._coverage else None
        try:
            listed = self._member.list_instances(clients, self._near, deadline)
        except Missing as gap:
            return AccountResult(
                account_id=account_id,
                name=name,
                readable=False,
                reason=_clip(f"cannot list its instances: {gap.reason}"),
                posture=posture,
                coverage=_finished(pending),
            )
        known = snapshot.organization_instances
        organization_arns = None if known is None else {i.instance_arn for i in known}
        owned = [i for i in listed if is_own_instance(i, account_id, organization_arns)]
        unknown = tuple(
            i.instance_arn for i in listed if is_own_instance(i, account_id, organization_arns) is None
        )
        details = {
            i.instance_arn: self._member.details(
                InstanceReader(clients.client("sso-admin", i.region), i.region), i.instance_arn
            )
            for i in owned
            if i.status == InstanceStatus.ACTIVE
        }
        rows = tuple(
            self._judge(account_id, instance, listed, details.get(instance.instance_arn), deadline, run)
            for instance in owned
        )
        resolved: tuple[str, ...] = ()
        if self._recorder is not None:
            present = {i.instance_arn for i in owned} | set(unknown)
            resolved = self._recorder.vanished(account_id, present, run)
        return AccountResult(
            account_id=account_id,
            name=name,
            readable=True,
            instances=rows,
            unknown_owner=unknown,
            resolved=resolved,
            posture=posture,
            coverage=_finished(pending),
        )

    def _judge(
        self,
        account_id: str,
        instance: InstanceFacts,
        listed: tuple[InstanceFacts, ...],
        details: tuple[Future[dict[str, str]], Future[tuple[ApplicationFacts, ...]]] | None,
        deadline: Deadline,
        run: Run,
    ) -> InstanceRow:
        facts = _facts(account_id, instance, listed, details, deadline, run)
        decision = decide(facts, run.policy, run.observed_at)
        if self._recorder is not None:
            change, deletion_due = self._recorder.instance(facts, decision, run)
        else:
            change, deletion_due = None, decision.delete_after if decision.action in _DELETING else None
        judged = facts.instance or instance
        return InstanceRow(
            instance_arn=judged.instance_arn,
            account_id=account_id,
            region=judged.region,
            name=judged.name,
            status=judged.status,
            verdict=decision.verdict.value,
            severity=decision.severity.value,
            rules=tuple(f.rule for f in decision.findings),
            action=decision.action.value,
            change=change.value if change else None,
            applications=tuple(a.name or a.application_arn for a in facts.applications or ()),
            purpose=judged.tags.get(run.policy.tags.purpose_key),
            trial_expires=judged.tags.get(run.policy.tags.expiry_key),
            owner=judged.tags.get(run.policy.tags.owner_key),
            reason=_lead_reason(decision, facts),
            deletion_due=deletion_due,
        )


def _facts(
    account_id: str,
    instance: InstanceFacts,
    listed: tuple[InstanceFacts, ...],
    details: tuple[Future[dict[str, str]], Future[tuple[ApplicationFacts, ...]]] | None,
    deadline: Deadline,
    run: Run,
) -> Facts:
    """What the decision about one listed instance reads: the listing gives status, owner, name
    and dates; the tags and applications were read for it; the rest is the run's snapshot.

    An instance that is not ACTIVE (being created or deleted, or failed) has no tags to read: it
    is recorded as it is listed and judged once it is ACTIVE (its state rules are undetermined)."""
    subject = Subject(account_id=account_id, region=instance.region, instance_arn=instance.instance_arn)

    def member_side() -> Found:
        found = Found(account_instances=listed)
        if details is None:
            found.instance = instance
            found.lack_all(
                (Fact.INSTANCE, Fact.APPLICATIONS),
                f"the instance is {instance.status}: its tags and applications cannot be read before it "
                "is ACTIVE; a later sweep judges it",
            )
            return found
        tags, applications = details
        found.instance = found.read(
            Fact.INSTANCE, lambda: msgspec.structs.replace(instance, tags=deadline.result(tags))
        )
        found.applications = found.read(Fact.APPLICATIONS, lambda: deadline.result(applications))
        return found

    return assemble(
        subject,
        run.trigger,
        organization_side(run.snapshot, _placed(run.snapshot, account_id)),
        lambda _: member_side,
    )


def _placed(snapshot: Snapshot, account_id: str) -> Callable[[], AccountFacts]:
    def placed() -> AccountFacts:
        account = snapshot.account_facts(account_id)
        if account is None:
            raise Missing("the account is not placed in the organization's tree")
        return account

    return placed


def organization_side(snapshot: Snapshot, account: Callable[[], AccountFacts]) -> OrganizationRead:
    """The organization side of the facts, read from a snapshot of the organization rather than
    from AWS: ``account`` gives the account's facts, or `Missing` with the reason."""

    def read(found: Found, wanted: Wanted) -> None:
        found.account = found.read(Fact.ACCOUNT, account)
        found.organization = snapshot.organization
        if wanted.organization_instances:
            listed = snapshot.organization_instances
            if listed is None:
                found.lack(Fact.ORGANIZATION_INSTANCES, snapshot.organization_instances_missing or "not read")
            else:
                found.organization_instances_listed(lambda: listed)
        if wanted.judged:
            found.service_control_policies_of(snapshot.policies_for)

    return read


def _posture(account_id: str, run: Run) -> Posture:
    """Approved, protected by an SCP, exempted: read with the `scp-gap` rule itself, so that the
    posture and the alerts never disagree."""
    policy = run.policy
    subject = Subject(account_id=account_id, region="")
    facts = assemble(subject, run.trigger, organization_side(run.snapshot, _placed(run.snapshot, account_id)))
    evaluation = Evaluation(facts, policy, run.observed_at)
    if facts.account is None:
        return Posture()
    approved = evaluation.approval() is not None
    gap = None if approved else _SCP_GAP.check(evaluation)
    exempted = exemption_for("account-not-approved", subject, policy, run.observed_at) is not None
    return Posture(approved=approved, protected=None if approved else gap is None, exempted=exempted)


def _finished(pending: PendingCoverage | None) -> AccountCoverage | None:
    return pending.result() if pending is not None else None


def _lead_reason(decision: Decision, facts: Facts) -> str | None:
    """The most severe finding's reason (the first of those in catalogue order); without a finding,
    what could not be read; None when there is nothing to say."""
    if decision.findings:
        return max(decision.findings, key=lambda f: f.severity.rank).reason
    if decision.verdict is Verdict.INCOMPLETE and facts.missing:
        gap = facts.missing[0]
        return f"{gap.fact} not known: {gap.reason}"
    return None


def _clip(text: str) -> str:
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."
