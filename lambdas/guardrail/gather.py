"""Gathering the facts about one call from AWS, in one place, with as few round trips as possible.

Latency is the number of calls made one after another, so independent reads run concurrently:

* the organization side (organization, account, OU chain, SCPs, organization instance) reads
  what it can at once and caches it across warm invocations, because it changes rarely. OUs and
  SCP documents are cached by id, so a new account in a known OU costs a single round trip;
* the member side (the instance, its tags and every Region's instances, read through a role in
  the member account) runs on its own thread, each read in parallel once the role is assumed.

A fact that cannot be gathered, for any reason, is recorded as missing with the reason and never
guessed: the decision turns incomplete instead. So is a fact that is not in by the deadline,
which keeps an alert going out while the Lambda still has time, even when AWS hangs.

Two cases cost more round trips than that, and only they do:

* an instance still being created (CREATE_IN_PROGRESS) answers DescribeInstance but not
  ListTagsForResource: it is described again after a short backoff until it settles, within the
  deadline, and its tags are read then (`GatherSettings.settle_delays`);
* before a deletion, `gather_fresh` reads every fact again, the cache bypassed (and refreshed with
  what it reads): cached organization facts may be minutes old, and an account moved into an
  approved OU meanwhile must not lose its instance.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import msgspec
from botocore.exceptions import ClientError

from guardrail.adapters.clients import AwsClients
from guardrail.adapters.identity_center import InstanceReader
from guardrail.adapters.organizations import OrganizationsReader
from guardrail.core.facts import (
    AccountFacts,
    ApiCall,
    Facts,
    InstanceFacts,
    InstanceStatus,
    MissingFact,
    Operation,
    OrganizationalUnit,
    Outcome,
    ServiceControlPolicy,
)

T = TypeVar("T")
SESSION_NAME = "identity-center-guardrail"
ORGANIZATIONS_REGION = "us-east-1"


@dataclass(frozen=True)
class GatherSettings:
    member_role_name: str
    regions: tuple[str, ...]
    organizations_role_arn: str | None = None
    organization_instance_region: str | None = None
    cache_seconds: float = 300.0
    partition: str = "aws"
    # Facts not in after this long are reported missing; the function (60 s) still has time to
    # publish. A hung call keeps its thread, so the pool leaves room for a few of them.
    deadline_seconds: float = 30.0
    max_concurrent_calls: int = 32
    # A new instance is CREATE_IN_PROGRESS for a while, and its tags cannot be read before it is
    # ACTIVE: it is described again after each of these waits (while the deadline allows) until
    # it is not. Fifteen seconds in all, well inside the deadline.
    settle_delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
    # The fresh re-reading that confirms a deletion (`gather_fresh`) has a deadline of its own:
    # with the first gathering's 30 s it leaves the function (60 s) time to delete and publish.
    confirm_deadline_seconds: float = 10.0


# A wait for an instance to settle is made only if this much of the deadline is left after it,
# for describing the instance once more and reading its tags.
SETTLE_MARGIN_SECONDS = 2.0


class _Missing(Exception):
    """Carries a missing fact out of a branch."""

    def __init__(self, fact: str, reason: str) -> None:
        super().__init__(reason)
        self.fact = MissingFact(fact=fact, reason=reason)


def _reason(error: BaseException) -> str:
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"{err.get('Code', 'ClientError')}: {err.get('Message', '')}".strip()
    return f"{type(error).__name__}: {error}"


class TtlCache:
    """A small thread-safe cache: Organizations data and role sessions outlive one invocation.

    Concurrent requests for a missing key share one load (and its failure, which is not cached),
    so a burst of events for a new account assumes its role once. `refresh` loads a key whatever
    the cache holds. A value is stored only if its load started after that of the value it would
    replace, so a slow load never overwrites a fresher one.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._items: dict[Any, tuple[float, int, Any]] = {}  # key -> (expiry, load ticket, value)
        self._loading: dict[Any, Future[Any]] = {}
        self._tickets = itertools.count()
        self._lock = threading.Lock()

    def peek(self, key: Any) -> tuple[bool, Any]:
        """Whether a fresh value is cached, and the value."""
        with self._lock:
            hit = self._items.get(key)
        return (True, hit[2]) if hit is not None and hit[0] > self._clock() else (False, None)

    def _store(self, key: Any, ticket: int, value: Any) -> None:
        """Under the lock."""
        current = self._items.get(key)
        if current is None or current[1] < ticket:
            self._items[key] = (self._clock() + self._seconds, ticket, value)

    def get(self, key: Any, load: Callable[[], T]) -> T:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] > self._clock():
                return hit[2]  # type: ignore[no-any-return]
            pending = self._loading.get(key)
            owner = pending is None
            if pending is None:
                pending = self._loading[key] = Future()
            ticket = next(self._tickets)
        if not owner:
            return pending.result()  # type: ignore[no-any-return]
        try:
            value = load()  # outside the lock: loads are network calls
        except BaseException as error:
            with self._lock:
                del self._loading[key]
            pending.set_exception(error)
            raise
        with self._lock:
            self._store(key, ticket, value)
            del self._loading[key]
        pending.set_result(value)
        return value

    def refresh(self, key: Any, load: Callable[[], T]) -> T:
        """Load the key now, whatever is cached or being loaded, and cache what was loaded."""
        with self._lock:
            ticket = next(self._tickets)
        value = load()  # a failure leaves the cache as it was
        with self._lock:
            self._store(key, ticket, value)
        return value


class _Reads(Protocol):
    """Where one gathering takes the facts worth caching from: `TtlCache` or `_FreshReads`."""

    def peek(self, key: Any) -> tuple[bool, Any]: ...

    def get(self, key: Any, load: Callable[[], T]) -> T: ...


class _FreshReads:
    """The reads of one fresh gathering: each key is read from AWS once, after the gathering
    started, whatever the cache holds; what is read refreshes the cache for later gatherings."""

    def __init__(self, cache: TtlCache) -> None:
        self._cache = cache
        self._read = TtlCache(math.inf)  # what this gathering has read (or is reading), by key

    def peek(self, key: Any) -> tuple[bool, Any]:
        return self._read.peek(key)

    def get(self, key: Any, load: Callable[[], T]) -> T:
        return self._read.get(key, lambda: self._cache.refresh(key, load))


class _Deadline:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - self._clock())

    def result(self, fact: str, future: Future[T]) -> T:
        """The future's value, or `_Missing` for `fact` when it failed or is not in by the deadline."""
        try:
            return future.result(timeout=self.remaining())
        except FutureTimeout:
            raise _Missing(fact, f"not gathered within {self._seconds:g} s") from None
        except _Missing as gap:
            raise _Missing(fact, gap.fact.reason) from None
        except Exception as error:  # any failure of a read is a missing fact, not a crash
            raise _Missing(fact, _reason(error)) from error


class FactGatherer:
    def __init__(
        self,
        clients: AwsClients,
        settings: GatherSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``clock`` (monotonic seconds) and ``sleep`` measure and spend the cache's lifetime, the
        deadline and the waits for an instance to settle; tests hand in their own."""
        self._clients = clients
        self._settings = settings
        self._clock = clock
        self._sleep = sleep
        self._cache = TtlCache(settings.cache_seconds, clock)
        # Assumed-role credentials last an hour; keep them well inside that.
        self._sessions = TtlCache(min(settings.cache_seconds * 6, 2700.0), clock)
        # Branches wait for calls; calls never wait for anything but AWS, so neither pool can
        # starve the other. Threads are started on demand.
        self._branches = ThreadPoolExecutor(max_workers=4, thread_name_prefix="member")
        self._calls = ThreadPoolExecutor(max_workers=settings.max_concurrent_calls, thread_name_prefix="aws")

    # -- credentials -------------------------------------------------------------------------
    def _org_clients(self) -> AwsClients:
        role = self._settings.organizations_role_arn
        if not role:
            return self._clients
        return self._sessions.get(("role", role), lambda: self._clients.assume(role, SESSION_NAME))

    def member_clients(self, account_id: str) -> AwsClients:
        """Clients acting inside a member account (cached role session); remediation uses them too."""
        role = f"arn:{self._settings.partition}:iam::{account_id}:role/{self._settings.member_role_name}"
        return self._sessions.get(("role", role), lambda: self._clients.assume(role, SESSION_NAME))

    def _org(self) -> OrganizationsReader:
        return OrganizationsReader(self._org_clients().client("organizations", ORGANIZATIONS_REGION))

    def _submit(self, work: Callable[[], T]) -> Future[T]:
        return self._calls.submit(work)

    def _cached(self, key: Any, load: Callable[[], T], reads: _Reads) -> Future[T]:
        """A call's result from the cache, or a call started now to fill it."""
        hit, value = reads.peek(key)
        if not hit:
            return self._submit(lambda: reads.get(key, load))
        done: Future[T] = Future()
        done.set_result(value)
        return done

    # -- organization side -------------------------------------------------------------------
    def _scps_of(self, target: str, reads: _Reads) -> Future[tuple[ServiceControlPolicy, ...]]:
        """SCPs attached to one target; documents are cached by policy id (most are shared)."""

        def document(org: OrganizationsReader, policy_id: str) -> str:
            return reads.get(("policy", policy_id), lambda: org.policy_document(policy_id))

        def load() -> tuple[ServiceControlPolicy, ...]:
            org = self._org()
            return tuple(
                ServiceControlPolicy(
                    policy_id=policy_id, name=name, target_id=target, document=document(org, policy_id)
                )
                for policy_id, name in org.attached_policies(target)
            )

        return self._cached(("scp", target), load, reads)

    def _policy_document(self, policy_id: str, reads: _Reads) -> Future[str]:
        return self._cached(("policy", policy_id), lambda: self._org().policy_document(policy_id), reads)

    def _parent_of(self, child_id: str, reads: _Reads) -> Future[tuple[str, str]]:
        return self._cached(("parent", child_id), lambda: self._org().parent_of(child_id), reads)

    def _unit_name(self, unit_id: str, reads: _Reads) -> Future[str]:
        return self._cached(("ou-name", unit_id), lambda: self._org().unit_name(unit_id), reads)

    def _parents(
        self, account_id: str, deadline: _Deadline, found: Callable[[str], object], reads: _Reads
    ) -> tuple[OrganizationalUnit, ...]:
        """The chain from the root down to the account's OU: one round trip per level, at most.

        Each OU's name and parent are cached by OU id, so they are shared by every account below
        it. ``found`` is told each parent's id as soon as it is known, to start reading its SCPs.
        """
        names: list[tuple[str, Future[str]]] = []
        parent_id, parent_type = deadline.result("account", self._parent_of(account_id, reads))
        found(parent_id)
        while parent_type != "ROOT":
            unit_id = parent_id
            names.append((unit_id, self._unit_name(unit_id, reads)))
            parent_id, parent_type = deadline.result("account", self._parent_of(unit_id, reads))
            found(parent_id)
        chain = [OrganizationalUnit(id=parent_id, name="Root")]
        chain += [OrganizationalUnit(id=u, name=deadline.result("account", f)) for u, f in reversed(names)]
        return tuple(chain)

    def _account_name(self, account_id: str, reads: _Reads) -> Future[str | None]:
        return self._cached(("account-name", account_id), lambda: self._org().account_name(account_id), reads)

    def _account_tags(self, account_id: str, reads: _Reads) -> Future[dict[str, str]]:
        return self._cached(("account-tags", account_id), lambda: self._org().tags(account_id), reads)

    def _account(
        self,
        account_id: str,
        deadline: _Deadline,
        reads: _Reads,
        found: Callable[[str], object] = lambda _: None,
    ) -> AccountFacts:
        def load() -> AccountFacts:
            name = self._account_name(account_id, reads)
            tags = self._account_tags(account_id, reads)
            parents = self._parents(account_id, deadline, found, reads)
            return AccountFacts(
                account_id=account_id,
                name=deadline.result("account", name),
                parents=parents,
                tags=deadline.result("account", tags),
            )

        try:
            return reads.get(("account", account_id), load)
        except _Missing:
            raise
        except Exception as error:
            raise _Missing("account", _reason(error)) from error

    def _read_again_what_was_cached(self, call: ApiCall, reads: _Reads) -> None:
        """Start, all at once, the fresh reads of what the cache knew about the call's account.

        Read one after another, the OU chain costs a round trip per level, and each SCP document
        one more after its listing. Most often the account has not moved and no SCP has changed:
        then, with the parent of every OU the cache placed it under, their names, SCP listings
        and documents all being read concurrently, the walk up the chain finds each fresh value
        already read or in flight. Whatever has changed is still read when the walk gets there;
        what the cache suggested in vain costs a few calls, never a stale fact.
        """
        hit, account = self._cache.peek(("account", call.account_id))
        if not hit:
            return
        targets = [call.account_id]
        for unit in account.parents:
            targets.append(unit.id)
            if not unit.id.startswith("r-"):
                self._parent_of(unit.id, reads)
                self._unit_name(unit.id, reads)
        for target in targets:
            self._scps_of(target, reads)
            known, policies = self._cache.peek(("scp", target))
            for policy in policies if known else ():
                self._policy_document(policy.policy_id, reads)

    def _organization_side(
        self, call: ApiCall, deadline: _Deadline, reads: _Reads
    ) -> tuple[dict[str, Any], list[MissingFact]]:
        found: dict[str, Any] = {}
        missing: list[MissingFact] = []
        create = call.operation is Operation.CREATE
        # Everything that needs only the call starts now; the rest once the account is known.
        organization = self._cached("org", lambda: self._org().organization(), reads)
        own_scps = self._scps_of(call.account_id, reads) if create else None
        region = self._settings.organization_instance_region
        org_instances = (
            self._cached(("org-instances", region), lambda: self._instances_seen_by_org(region), reads)
            if create and region
            else None
        )
        if create and isinstance(reads, _FreshReads):
            self._read_again_what_was_cached(call, reads)

        def scps_of(target: str) -> object:
            return self._scps_of(target, reads)

        try:
            # For a CreateInstance, the SCPs of each OU are read as soon as the OU is known.
            found["account"] = self._account(
                call.account_id, deadline, reads, scps_of if create else lambda _: None
            )
        except _Missing as gap:
            missing.append(gap.fact)
        try:
            found["organization"] = deadline.result("organization", organization)
        except _Missing as gap:
            missing.append(gap.fact)
        if not create:
            return found, missing

        if "account" in found:
            try:
                pending = [own_scps, *(self._scps_of(unit.id, reads) for unit in found["account"].parents)]
                scps = [deadline.result("service_control_policies", f) for f in pending if f is not None]
                found["service_control_policies"] = tuple(p for target in scps for p in target)
            except _Missing as gap:
                missing.append(gap.fact)
        else:
            missing.append(
                MissingFact(fact="service_control_policies", reason="needs account, which is missing")
            )

        if org_instances is None:
            missing.append(
                MissingFact(
                    fact="organization_instances", reason="no organization_instance_region is configured"
                )
            )
        elif "organization" not in found:
            missing.append(
                MissingFact(fact="organization_instances", reason="needs organization, which is missing")
            )
        else:
            try:
                # The management account cannot hold an account instance: what it lists is the
                # organization instance, with its owner, or without one in older responses.
                management = found["organization"].management_account_id
                found["organization_instances"] = tuple(
                    i
                    for i in deadline.result("organization_instances", org_instances)
                    if i.owner_account_id in (None, management)
                )
            except _Missing as gap:
                missing.append(gap.fact)
        return found, missing

    def _instances_seen_by_org(self, region: str) -> tuple[InstanceFacts, ...]:
        return tuple(InstanceReader(self._org_clients().client("sso-admin", region), region).list())

    # -- member side -------------------------------------------------------------------------
    def _member_side(self, call: ApiCall, deadline: _Deadline) -> tuple[dict[str, Any], list[MissingFact]]:
        """Nothing here is cached: every gathering, fresh or not, reads the member side anew."""
        found: dict[str, Any] = {}
        missing: list[MissingFact] = []
        describes = self._describes(call)
        try:
            clients = deadline.result(
                "member_role", self._submit(lambda: self.member_clients(call.account_id))
            )
        except _Missing as gap:
            wanted = ["account_instances"] + (["instance"] if describes else [])
            reason = f"cannot assume the member role: {gap.fact.reason}"
            return found, [MissingFact(fact=f, reason=reason) for f in wanted]

        def reader(region: str) -> InstanceReader:
            return InstanceReader(clients.client("sso-admin", region), region)

        def listing_of(region: str) -> Future[list[InstanceFacts]]:
            return self._submit(lambda: reader(region).list())

        regions = tuple(dict.fromkeys((call.region, *self._settings.regions)))
        listing = {region: listing_of(region) for region in regions}
        if describes:
            arn = call.instance_arn
            assert arn is not None
            instance = self._submit(lambda: reader(call.region).describe(arn))
            tags = self._submit(lambda: reader(call.region).tags(arn))
            try:
                described = deadline.result("instance", instance)
                if described.status == InstanceStatus.CREATE_IN_PROGRESS:
                    # Its tags could not be read (the call above failed): once it has settled.
                    described = self._settled(reader(call.region), arn, deadline)
                    tags = self._submit(lambda: reader(call.region).tags(arn))
                found["instance"] = msgspec.structs.replace(described, tags=deadline.result("instance", tags))
            except _Missing as gap:
                missing.append(gap.fact)
        instances: list[InstanceFacts] = []
        failures: list[str] = []
        for region, future in listing.items():
            try:
                listed: list[InstanceFacts] = deadline.result("account_instances", future)
                instances.extend(listed)
            except _Missing as gap:
                failures.append(f"{region}: {gap.fact.reason}")
        if failures:
            missing.append(MissingFact(fact="account_instances", reason="; ".join(failures)))
        else:
            found["account_instances"] = tuple(instances)
        return found, missing

    def _settled(self, reader: InstanceReader, arn: str, deadline: _Deadline) -> InstanceFacts:
        """The instance once it is no longer CREATE_IN_PROGRESS, described again after each wait
        of the backoff that fits before the deadline; `_Missing` if it is still being created."""
        waited = 0.0
        for delay in self._settings.settle_delays:
            if deadline.remaining() < delay + SETTLE_MARGIN_SECONDS:
                break
            self._sleep(delay)
            waited += delay
            described = deadline.result("instance", self._submit(lambda: reader.describe(arn)))
            if described.status != InstanceStatus.CREATE_IN_PROGRESS:
                return described
        raise _Missing(
            "instance",
            f"the instance was still being created ({InstanceStatus.CREATE_IN_PROGRESS.value}) after "
            f"{waited:g} s of waiting; its tags cannot be read before it is ACTIVE",
        )

    @staticmethod
    def _describes(call: ApiCall) -> bool:
        return (
            call.operation is Operation.CREATE
            and call.outcome is Outcome.SUCCEEDED
            and call.instance_arn is not None
        )

    # -- together ----------------------------------------------------------------------------
    def prefetch(self, call: ApiCall) -> None:
        """Start, without waiting, the reads an event about a new account begins with.

        The handler calls this while it claims the event in DynamoDB, so that these reads overlap
        the claim: a round trip less for an account the function has not seen yet (and for all
        of them on a cold start). A duplicate delivery wastes a few reads; a failed read is not
        cached, and `gather` makes it again.
        """
        account = call.account_id
        self._submit(self._org_clients)
        self._parent_of(account, self._cache)
        self._account_name(account, self._cache)
        self._account_tags(account, self._cache)
        if call.operation is Operation.CREATE:
            self._submit(lambda: self.member_clients(account))
            self._scps_of(account, self._cache)

    def gather(self, call: ApiCall) -> Facts:
        """All facts the decision may need for this call; Delete and Update need only the account.

        Organization facts come from the cache when it has them (up to `cache_seconds` old)."""
        return self._gather(call, self._cache, self._settings.deadline_seconds)

    def gather_fresh(self, call: ApiCall) -> Facts:
        """The same facts, every one read from AWS now: what a deletion is confirmed on.

        The cache is not consulted but refreshed with what is read, so the events that follow see
        the organization as it is now too. Role sessions are reused: they are credentials, not
        facts. Runs within `confirm_deadline_seconds`."""
        return self._gather(call, _FreshReads(self._cache), self._settings.confirm_deadline_seconds)

    def _gather(self, call: ApiCall, reads: _Reads, deadline_seconds: float) -> Facts:
        deadline = _Deadline(deadline_seconds, self._clock)
        member = (
            self._branches.submit(self._member_side, call, deadline)
            if call.operation is Operation.CREATE
            else None
        )
        found, missing = self._organization_side(call, deadline, reads)
        if member is not None:
            try:
                member_found, member_missing = deadline.result("account_instances", member)
            except _Missing as gap:
                wanted = ["account_instances"] + (["instance"] if self._describes(call) else [])
                member_found, member_missing = (
                    {},
                    [MissingFact(fact=f, reason=gap.fact.reason) for f in wanted],
                )
            found.update(member_found)
            missing += member_missing
        if call.operation is Operation.CREATE and call.outcome is Outcome.SUCCEEDED and not call.instance_arn:
            missing.append(MissingFact(fact="instance", reason="the event carries no instance ARN"))
        return Facts(call=call, missing=tuple(missing), **found)
