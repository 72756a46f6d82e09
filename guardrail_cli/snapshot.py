"""`guardrail snapshot`: the organization read once, with the caller's credentials and read-only,
written to one file; and the same facts served back from it, offline (`--org SNAPSHOT`).

Taking a snapshot makes the reads the sweep makes: its planner's (the organization, the OU tree,
every account with its state, every SCP with its targets, the organization instance) and, with a
member role, its worker's (each active account's instances, with the tags and applications of its
own); and those the detect function adds (each account's tags, and its e-mail address). `--redact`
leaves the account names and e-mail addresses out (an account tag whose value holds one too);
nothing a decision reads depends on them.

Judging on a snapshot is judging as `--live` would, on the organization as it was then: the
gatherer (`SnapshotGatherer`) gives the decision the facts the function's `FactGatherer` gathers,
field for field and fact for fact missing, and the sweep (`sweep_offline`) runs the deployed
worker's own judging over the accounts' listings. An account, instance or listing the snapshot
does not hold is a missing fact, with the reason, never a guess.
"""

from __future__ import annotations

import gzip
import itertools
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from guardrail.adapters.clients import AwsClients
from guardrail.adapters.identity_center import InstanceReader
from guardrail.adapters.organizations import OrganizationsReader
from guardrail.core.alert import Alert
from guardrail.core.facts import (
    AccountFacts,
    ApplicationFacts,
    Fact,
    Facts,
    InstanceFacts,
    InstanceStatus,
    Subject,
    Trigger,
)
from guardrail.core.ownership import is_own_instance
from guardrail.core.policy import Policy
from guardrail.gather.assembly import Found, Wanted, assemble, cannot_assume
from guardrail.gather.deadline import Deadline, Missing, reason
from guardrail.gather.member import MemberSide, still_being_created
from guardrail.gather.organization import ORGANIZATIONS_REGION
from guardrail.gather.sessions import Sessions
from guardrail.pipeline.events import parse_api_call
from guardrail.pipeline.service import Guardrail
from guardrail.sweep.planner import plan
from guardrail.sweep.snapshot import Snapshot
from guardrail.sweep.summary import Summary, summarize
from guardrail.sweep.worker import (
    ACCOUNT_DEADLINE_SECONDS,
    AccountResult,
    Run,
    SweepWorker,
    organization_side,
)

FORMAT = "identity-center-guardrail/organization-snapshot"
VERSION = 1
# Accounts read at once, as the sweep's worker reads them; calls in flight at most.
CONCURRENT_ACCOUNTS = 8
CONCURRENT_CALLS = 32
BATCH = 25


# What `--redact` takes for an e-mail address in an account's tag (an owner's, say).
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


class SnapshotError(ValueError):
    """A snapshot file that cannot be used, named with what is wrong."""


class InstanceDetails(msgspec.Struct, frozen=True, kw_only=True):
    """The tags and applications of one instance the account owns; each None, with the reason,
    when it could not be read."""

    tags: dict[str, str] | None = None
    tags_missing: str | None = None
    applications: tuple[ApplicationFacts, ...] | None = None
    applications_missing: str | None = None


class AccountInstances(msgspec.Struct, frozen=True, kw_only=True):
    """What the member role showed of one account: every instance listed (its own and those it
    sees), and the details of its own; or why it could not be read."""

    listed: tuple[InstanceFacts, ...] | None = None
    member_role_missing: str | None = None
    listing_missing: str | None = None
    details: dict[str, InstanceDetails] = msgspec.field(default_factory=dict)

    @property
    def reason(self) -> str | None:
        """Why the account could not be read, as the sweep says it; None when it was."""
        if self.member_role_missing is not None:
            return cannot_assume(self.member_role_missing)
        if self.listing_missing is not None:
            return f"cannot list its instances: {self.listing_missing}"
        return None


class OrganizationSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The organization, as one file holds it."""

    format: str = FORMAT
    version: int = VERSION
    taken_at: datetime
    taken_by: str | None = None
    redacted: bool = False
    # The sweep planner's snapshot: accounts (with states), OU tree, SCPs and targets, organization instance.
    organization: Snapshot
    emails: dict[str, str] = msgspec.field(default_factory=dict)
    account_tags: dict[str, dict[str, str]] = msgspec.field(default_factory=dict)
    account_tags_missing: dict[str, str] = msgspec.field(default_factory=dict)
    # By account id, every active account but the management account; None: not read (no member role).
    instances: dict[str, AccountInstances] | None = None

    def described(self) -> str:
        """One line for a person: what the snapshot holds and when it was taken."""
        org = self.organization
        listed = (
            "no account instances"
            if self.instances is None
            else f"the instances of {len(self.instances):,} accounts"
        )
        return (
            f"organization {org.organization.organization_id} as of {self.taken_at.isoformat()}: "
            f"{len(org.accounts):,} accounts, {len(org.units):,} OUs, {len(org.policies):,} SCPs, {listed}"
        )


# -- the file -----------------------------------------------------------------------------------------


class _Header(msgspec.Struct):
    format: str | None = None
    version: int | None = None


def write_snapshot(snapshot: OrganizationSnapshot, path: Path) -> None:
    """JSON, indented for a person to read and diff; gzipped when the name ends in `.gz`."""
    data = msgspec.json.format(msgspec.json.encode(snapshot), indent=1) + b"\n"
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)


def load_snapshot(path: str | Path) -> OrganizationSnapshot:
    """The snapshot in ``path`` (plain or gzipped JSON); `SnapshotError` naming the file and what
    is wrong with it. `guardrail report` and every `--org` read it with this."""
    path = Path(path)
    try:
        data = path.read_bytes()
        if data.startswith(b"\x1f\x8b"):
            data = gzip.decompress(data)
    except OSError as error:
        raise SnapshotError(f"cannot read {path}: {error.strerror or error}") from None
    except (EOFError, gzip.BadGzipFile) as error:
        raise SnapshotError(f"{path}: corrupt gzip data ({error})") from None
    try:
        header = msgspec.json.decode(data, type=_Header)
    except msgspec.DecodeError as error:
        raise SnapshotError(f"{path} is not an organization snapshot: {error}") from None
    if header.format != FORMAT:
        raise SnapshotError(
            f"{path} is not an organization snapshot (format {header.format!r}); take one with guardrail snapshot"
        )
    if header.version != VERSION:
        raise SnapshotError(
            f"{path} is a snapshot of version {header.version}; this guardrail reads version {VERSION}: take it again"
        )
    try:
        return msgspec.json.decode(data, type=OrganizationSnapshot)
    except msgspec.DecodeError as error:
        raise SnapshotError(f"{path}: {error}") from None


# -- taking one ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotSettings:
    organizations_role_arn: str | None
    organization_instance_region: str | None
    # The role to read each account's instances with; None leaves the instances out.
    member_role_name: str | None
    regions: tuple[str, ...]
    near_region: str
    partition: str = "aws"


def _lenient[T](read: Callable[[], T]) -> tuple[T | None, str | None]:
    try:
        return read(), None
    except Exception as error:  # a missing fact, said in the file, never a failed snapshot
        return None, reason(error)


def take_snapshot(
    clients: AwsClients,
    settings: SnapshotSettings,
    *,
    redact: bool = False,
    progress: Callable[[int, int], None] = lambda done, total: None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> OrganizationSnapshot:
    """Read the organization (and, with a member role, its accounts' instances); read-only."""
    taken_at = now()
    caller, _ = _lenient(lambda: str(clients.client("sts").get_caller_identity()["Arn"]))
    sessions = Sessions(
        clients,
        member_role_name=settings.member_role_name,
        organizations_role_arn=settings.organizations_role_arn,
        partition=settings.partition,
    )
    the_plan = plan(sessions, settings.organization_instance_region)
    organization = the_plan.snapshot
    org = OrganizationsReader(sessions.organizations().client("organizations", ORGANIZATIONS_REGION))
    emails: dict[str, str] = {}
    if not redact:
        emails = {str(a["Id"]): str(a["Email"]) for a in org.accounts() if a.get("Email")}
    else:
        organization = msgspec.structs.replace(
            organization,
            accounts={i: msgspec.structs.replace(a, name=None) for i, a in organization.accounts.items()},
        )
    tags: dict[str, dict[str, str]] = {}
    tags_missing: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=CONCURRENT_ACCOUNTS, thread_name_prefix="tags") as pool:
        for account_id, (found, why) in zip(
            organization.accounts,
            pool.map(lambda a: _lenient(lambda: org.tags(a)), organization.accounts),
            strict=True,
        ):
            if found is not None:
                tags[account_id] = {k: v for k, v in found.items() if not (redact and _EMAIL.search(v))}
            else:
                tags_missing[account_id] = why or "not read"
    instances = None
    if settings.member_role_name is not None:
        instances = _account_instances(sessions, settings, the_plan.to_sweep, organization, progress)
    return OrganizationSnapshot(
        taken_at=taken_at,
        taken_by=caller,
        redacted=redact,
        organization=organization,
        emails=emails,
        account_tags=tags,
        account_tags_missing=tags_missing,
        instances=instances,
    )


def _account_instances(
    sessions: Sessions,
    settings: SnapshotSettings,
    accounts: Sequence[str],
    organization: Snapshot,
    progress: Callable[[int, int], None],
) -> dict[str, AccountInstances]:
    """Each account read as the sweep's worker reads it: the member role, the listing (one call
    across Regions where botocore knows `RegionScope`), the tags and applications of its own."""
    known = organization.organization_instances
    organization_arns = None if known is None else {i.instance_arn for i in known}
    done: list[str] = []
    lock = threading.Lock()
    progress(0, len(accounts))
    with ThreadPoolExecutor(max_workers=CONCURRENT_CALLS, thread_name_prefix="aws") as calls:

        def submit[T](work: Callable[[], T]) -> Future[T]:
            return calls.submit(work)

        member = MemberSide(submit, regions=settings.regions, settle_delays=(), sleep=lambda _: None)

        def read(account_id: str) -> AccountInstances:
            deadline = Deadline(ACCOUNT_DEADLINE_SECONDS)
            try:
                account = deadline.result(submit(lambda: sessions.member(account_id)))
            except Missing as gap:
                result = AccountInstances(member_role_missing=gap.reason)
            else:
                result = _listing(
                    account, account_id, member, settings.near_region, deadline, organization_arns
                )
            with lock:
                done.append(account_id)
                progress(len(done), len(accounts))
            return result

        with ThreadPoolExecutor(max_workers=CONCURRENT_ACCOUNTS, thread_name_prefix="account") as pool:
            return dict(zip(accounts, pool.map(read, accounts), strict=True))


def _listing(
    account: AwsClients,
    account_id: str,
    member: MemberSide,
    near: str,
    deadline: Deadline,
    organization_arns: set[str] | None,
) -> AccountInstances:
    try:
        listed = member.list_instances(account, near, deadline)
    except Missing as gap:
        return AccountInstances(listing_missing=gap.reason)
    pending = {
        i.instance_arn: member.details(
            InstanceReader(account.client("sso-admin", i.region), i.region), i.instance_arn
        )
        for i in listed
        if is_own_instance(i, account_id, organization_arns) is not False
        and i.status == InstanceStatus.ACTIVE
    }
    details = {}
    for arn, (tags, applications) in pending.items():
        details[arn] = InstanceDetails(
            tags=_resolved(deadline, tags),
            tags_missing=_why(deadline, tags),
            applications=_resolved(deadline, applications),
            applications_missing=_why(deadline, applications),
        )
    return AccountInstances(listed=tuple(listed), details=details)


def _resolved[T](deadline: Deadline, future: Future[T]) -> T | None:
    """The read's value, or None when it is missing (`_why` says why)."""
    try:
        return deadline.result(future)
    except Missing:
        return None


def _why(deadline: Deadline, future: Future[Any]) -> str | None:
    try:
        deadline.result(future)
    except Missing as gap:
        return gap.reason
    return None


# -- judging on one -----------------------------------------------------------------------------------


def _not_held(what: str, snapshot: OrganizationSnapshot) -> str:
    return f"{what} is not in the organization snapshot of {snapshot.taken_at.isoformat()}"


class SnapshotGatherer:
    """The facts `FactGatherer` gathers for a call, read from a snapshot instead of AWS.

    The same facts in the same shape, with the same facts missing where the snapshot lacks what
    AWS would have lacked (an account not read, an instance not listed), and the reason."""

    def __init__(self, snapshot: OrganizationSnapshot) -> None:
        self.snapshot = snapshot

    def prefetch(self, call: Any) -> None:
        return None

    def gather(self, call: Any) -> Facts:
        return self.gather_about(call.subject, call)

    def gather_fresh(self, call: Any) -> Facts:
        return self.gather_about(call.subject, call)

    def gather_about(self, subject: Subject, trigger: Trigger) -> Facts:
        snapshot = self.snapshot

        def account() -> AccountFacts:
            placed = snapshot.organization.account_facts(subject.account_id)
            if placed is None:
                raise Missing(_not_held(f"account {subject.account_id}", snapshot))
            if subject.account_id in snapshot.account_tags_missing:
                raise Missing(snapshot.account_tags_missing[subject.account_id])
            return msgspec.structs.replace(
                placed, tags=dict(snapshot.account_tags.get(subject.account_id, {}))
            )

        return assemble(
            subject,
            trigger,
            organization_side(snapshot.organization, account),
            lambda wanted: lambda: self._member_side(subject, wanted),
        )

    def _member_side(self, subject: Subject, wanted: Wanted) -> Found:
        """What the member role showed of the account, as the function reads it: `Missing` for
        the whole side when the account was not read."""
        held = None if self.snapshot.instances is None else self.snapshot.instances.get(subject.account_id)
        if held is not None and held.member_role_missing is not None:
            raise Missing(cannot_assume(held.member_role_missing))
        if held is None:
            if self.snapshot.instances is None:
                raise Missing(
                    "the snapshot was taken without the accounts' instances (guardrail snapshot --member-role)"
                )
            raise Missing(_not_held(f"the instances of account {subject.account_id}", self.snapshot))
        found = Found()
        found.account_instances = found.read(Fact.ACCOUNT_INSTANCES, lambda: _listed(held))
        if wanted.describes:
            found.describe(lambda: self._described(held, subject.instance_arn or ""))
        return found

    def _described(
        self, held: AccountInstances, arn: str
    ) -> tuple[InstanceFacts, Callable[[], tuple[ApplicationFacts, ...]]]:
        """The instance as listed, with the tags read for it, and its applications; `Missing` when
        the function could not have described or tagged it."""
        instance = next((i for i in held.listed or () if i.instance_arn == arn), None)
        details = held.details.get(arn)
        if instance is not None and instance.status == InstanceStatus.CREATE_IN_PROGRESS:
            raise Missing(still_being_created(0))
        if instance is None:
            raise Missing(_not_held(f"instance {arn}", self.snapshot))
        if details is None or details.tags is None:
            raise Missing(
                (details.tags_missing if details else None)
                or f"its tags were not read: the instance was {instance.status}"
            )
        applications = details.applications
        missing = details.applications_missing or "not read"

        def read_applications() -> tuple[ApplicationFacts, ...]:
            if applications is None:
                raise Missing(missing)
            return applications

        return msgspec.structs.replace(instance, tags=dict(details.tags)), read_applications


def _listed(held: AccountInstances) -> tuple[InstanceFacts, ...]:
    if held.listing_missing is not None or held.listed is None:
        raise Missing(held.listing_missing or "not read")
    return held.listed


# -- a sweep on one -----------------------------------------------------------------------------------


class _AccountClients(AwsClients):
    """Stands for the member role's clients of one account: the snapshot answers, not AWS."""

    def __init__(self, account_id: str) -> None:  # no session: nothing here calls AWS
        self.account_id = account_id

    def client(self, service: str, region: str | None = None) -> Any:
        return self


class _SnapshotSessions(Sessions):
    def __init__(self, snapshot: OrganizationSnapshot) -> None:  # no credentials: nothing is assumed
        self._snapshot = snapshot

    def member(self, account_id: str) -> AwsClients:
        held = (self._snapshot.instances or {}).get(account_id)
        if held is None:
            raise Missing(_not_held(f"the instances of account {account_id}", self._snapshot))
        if held.member_role_missing is not None:
            raise Missing(held.member_role_missing)  # the reason as it was recorded
        return _AccountClients(account_id)


def _failed(error: Exception) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(error)
    return future


def _done[T](value: T) -> Future[T]:
    future: Future[T] = Future()
    future.set_result(value)
    return future


def _at_once[T](work: Callable[[], T]) -> Future[T]:
    try:
        return _done(work())
    except Exception as error:
        return _failed(error)


class _SnapshotMember(MemberSide):
    def __init__(self, snapshot: OrganizationSnapshot) -> None:
        super().__init__(_at_once, regions=(), settle_delays=(), sleep=lambda _: None)
        self._snapshot = snapshot
        self._details = {
            arn: details
            for held in (snapshot.instances or {}).values()
            for arn, details in held.details.items()
        }

    def list_instances(self, clients: AwsClients, near: str, deadline: Deadline) -> tuple[InstanceFacts, ...]:
        assert isinstance(clients, _AccountClients)
        held = (self._snapshot.instances or {})[clients.account_id]
        return _listed(held)

    def details(
        self, reader: InstanceReader, instance_arn: str
    ) -> tuple[Future[dict[str, str]], Future[tuple[ApplicationFacts, ...]]]:
        details = self._details.get(instance_arn) or InstanceDetails(
            tags_missing=_not_held(f"instance {instance_arn}", self._snapshot),
            applications_missing=_not_held(f"instance {instance_arn}", self._snapshot),
        )
        tags = (
            _done(details.tags)
            if details.tags is not None
            else _failed(Missing(details.tags_missing or "not read"))
        )
        applications = (
            _done(details.applications)
            if details.applications is not None
            else _failed(Missing(details.applications_missing or "not read"))
        )
        return tags, applications


def sweep_offline(
    snapshot: OrganizationSnapshot,
    policy: Policy,
    *,
    ending_within_days: int,
    progress: Callable[[int, int], None] = lambda done, total: None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Summary:
    """The sweep `guardrail sweep --config` makes, on the snapshot: the planner's accounts to sweep
    and counts, the deployed worker's judging of each account's listing, the same summary."""
    if snapshot.instances is None:
        raise SnapshotError(
            "the snapshot holds no account instances: take it with a member role to sweep it "
            "(guardrail snapshot --config FILE --member-role NAME)"
        )
    org = snapshot.organization
    management = org.organization.management_account_id
    counts = Counter(account.state for account in org.accounts.values())
    to_sweep = sorted(
        a.account_id for a in org.accounts.values() if a.state == "ACTIVE" and a.account_id != management
    )
    started = now()
    run = Run(run_id=f"snapshot-{uuid.uuid4()}", observed_at=started, snapshot=org, policy=policy)
    results: list[AccountResult] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot") as calls:

        def submit[T](work: Callable[[], T]) -> Future[T]:
            return calls.submit(work)

        worker = SweepWorker(_SnapshotSessions(snapshot), _SnapshotMember(snapshot), submit, near_region="")
        progress(0, len(to_sweep))
        for batch in itertools.batched(to_sweep, BATCH):
            results.extend(worker.sweep(batch, run))
            progress(len(results), len(to_sweep))
    return summarize(
        run.run_id,
        {"listed": len(org.accounts), **counts},
        results,
        policy,
        started_at=started,
        finished_at=now(),
        ending_within_days=ending_within_days,
        snapshot=org,
    )


def evaluate_on_snapshot(
    policy: Policy, event: Any, snapshot: OrganizationSnapshot, now: datetime | None
) -> Alert:
    """`guardrail evaluate --org`: the decision on the facts the snapshot gives for the event, as of
    ``now`` (default: the event's time); acting on nothing."""
    call = parse_api_call(event)
    facts = SnapshotGatherer(snapshot).gather(call)
    moment = now or call.event_time
    return Guardrail(SnapshotGatherer(snapshot), _Keeping(), policy, clock=lambda: moment).evaluate(facts)


class _Keeping:
    def publish(self, alert: Alert) -> str:
        raise NotImplementedError("evaluating publishes nothing")
