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
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, TypeVar

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
    so a burst of events for a new account assumes its role once.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._items: dict[Any, tuple[float, Any]] = {}
        self._loading: dict[Any, Future[Any]] = {}
        self._lock = threading.Lock()

    def peek(self, key: Any) -> tuple[bool, Any]:
        """Whether a fresh value is cached, and the value."""
        with self._lock:
            hit = self._items.get(key)
        return (True, hit[1]) if hit is not None and hit[0] > self._clock() else (False, None)

    def get(self, key: Any, load: Callable[[], T]) -> T:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] > self._clock():
                return hit[1]  # type: ignore[no-any-return]
            pending = self._loading.get(key)
            owner = pending is None
            if pending is None:
                pending = self._loading[key] = Future()
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
            self._items[key] = (self._clock() + self._seconds, value)
            del self._loading[key]
        pending.set_result(value)
        return value


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._end = time.monotonic() + seconds

    def result(self, fact: str, future: Future[T]) -> T:
        """The future's value, or `_Missing` for `fact` when it failed or is not in by the deadline."""
        try:
            return future.result(timeout=max(0.0, self._end - time.monotonic()))
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
    ) -> None:
        self._clients = clients
        self._settings = settings
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

    def _cached(self, key: Any, load: Callable[[], T]) -> Future[T]:
        """A call's result from the cache, or a call started now to fill it."""
        hit, value = self._cache.peek(key)
        if not hit:
            return self._submit(lambda: self._cache.get(key, load))
        done: Future[T] = Future()
        done.set_result(value)
        return done

    # -- organization side -------------------------------------------------------------------
    def _scps_of(self, target: str) -> Future[tuple[ServiceControlPolicy, ...]]:
        """SCPs attached to one target; documents are cached by policy id (most are shared)."""

        def document(org: OrganizationsReader, policy_id: str) -> str:
            return self._cache.get(("policy", policy_id), lambda: org.policy_document(policy_id))

        def load() -> tuple[ServiceControlPolicy, ...]:
            org = self._org()
            return tuple(
                ServiceControlPolicy(
                    policy_id=policy_id, name=name, target_id=target, document=document(org, policy_id)
                )
                for policy_id, name in org.attached_policies(target)
            )

        return self._cached(("scp", target), load)

    def _parent_of(self, child_id: str) -> Future[tuple[str, str]]:
        return self._cached(("parent", child_id), lambda: self._org().parent_of(child_id))

    def _unit_name(self, unit_id: str) -> Future[str]:
        return self._cached(("ou-name", unit_id), lambda: self._org().unit_name(unit_id))

    def _parents(
        self, account_id: str, deadline: _Deadline, found: Callable[[str], object]
    ) -> tuple[OrganizationalUnit, ...]:
        """The chain from the root down to the account's OU: one round trip per level, at most.

        Each OU's name and parent are cached by OU id, so they are shared by every account below
        it. ``found`` is told each parent's id as soon as it is known, to start reading its SCPs.
        """
        names: list[tuple[str, Future[str]]] = []
        parent_id, parent_type = deadline.result("account", self._parent_of(account_id))
        found(parent_id)
        while parent_type != "ROOT":
            unit_id = parent_id
            names.append((unit_id, self._unit_name(unit_id)))
            parent_id, parent_type = deadline.result("account", self._parent_of(unit_id))
            found(parent_id)
        chain = [OrganizationalUnit(id=parent_id, name="Root")]
        chain += [OrganizationalUnit(id=u, name=deadline.result("account", f)) for u, f in reversed(names)]
        return tuple(chain)

    def _account_name(self, account_id: str) -> Future[str | None]:
        return self._cached(("account-name", account_id), lambda: self._org().account_name(account_id))

    def _account_tags(self, account_id: str) -> Future[dict[str, str]]:
        return self._cached(("account-tags", account_id), lambda: self._org().tags(account_id))

    def _account(
        self, account_id: str, deadline: _Deadline, found: Callable[[str], object] = lambda _: None
    ) -> AccountFacts:
        def load() -> AccountFacts:
            name = self._account_name(account_id)
            tags = self._account_tags(account_id)
            parents = self._parents(account_id, deadline, found)
            return AccountFacts(
                account_id=account_id,
                name=deadline.result("account", name),
                parents=parents,
                tags=deadline.result("account", tags),
            )

        try:
            return self._cache.get(("account", account_id), load)
        except _Missing:
            raise
        except Exception as error:
            raise _Missing("account", _reason(error)) from error

    def _organization_side(
        self, call: ApiCall, deadline: _Deadline
    ) -> tuple[dict[str, Any], list[MissingFact]]:
        found: dict[str, Any] = {}
        missing: list[MissingFact] = []
        create = call.operation is Operation.CREATE
        # Everything that needs only the call starts now; the rest once the account is known.
        organization = self._cached("org", lambda: self._org().organization())
        own_scps = self._scps_of(call.account_id) if create else None
        region = self._settings.organization_instance_region
        org_instances = (
            self._cached(("org-instances", region), lambda: self._instances_seen_by_org(region))
            if create and region
            else None
        )
        try:
            # For a CreateInstance, the SCPs of each OU are read as soon as the OU is known.
            found["account"] = self._account(
                call.account_id, deadline, self._scps_of if create else lambda _: None
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
                pending = [own_scps, *(self._scps_of(unit.id) for unit in found["account"].parents)]
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
                management = found["organization"].management_account_id
                found["organization_instances"] = tuple(
                    i
                    for i in deadline.result("organization_instances", org_instances)
                    if i.owner_account_id == management
                )
            except _Missing as gap:
                missing.append(gap.fact)
        return found, missing

    def _instances_seen_by_org(self, region: str) -> tuple[InstanceFacts, ...]:
        return tuple(InstanceReader(self._org_clients().client("sso-admin", region), region).list())

    # -- member side -------------------------------------------------------------------------
    def _member_side(self, call: ApiCall, deadline: _Deadline) -> tuple[dict[str, Any], list[MissingFact]]:
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
        self._parent_of(account)
        self._account_name(account)
        self._account_tags(account)
        if call.operation is Operation.CREATE:
            self._submit(lambda: self.member_clients(account))
            self._scps_of(account)

    def gather(self, call: ApiCall) -> Facts:
        """All facts the decision may need for this call; Delete and Update need only the account."""
        deadline = _Deadline(self._settings.deadline_seconds)
        member = (
            self._branches.submit(self._member_side, call, deadline)
            if call.operation is Operation.CREATE
            else None
        )
        found, missing = self._organization_side(call, deadline)
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
