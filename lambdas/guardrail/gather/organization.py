"""The organization side of the facts: the organization, the account's place in it, its SCPs and
the organization instance, read through the Organizations reader role.

It changes rarely, so it is cached across warm invocations (and across the accounts of a sweep):
OUs and SCP documents are cached by id, so a new account in a known OU costs a single round trip.
Independent reads start at once; the OU chain is read one level per round trip at most.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from guardrail.adapters.identity_center import InstanceReader
from guardrail.adapters.organizations import OrganizationsReader
from guardrail.core.facts import AccountFacts, Fact, InstanceFacts, OrganizationalUnit, ServiceControlPolicy
from guardrail.gather.assembly import Found, Wanted
from guardrail.gather.cache import FreshReads, Reads, TtlCache
from guardrail.gather.deadline import Deadline, Missing, Submit, reason
from guardrail.gather.sessions import Sessions

T = TypeVar("T")
ORGANIZATIONS_REGION = "us-east-1"


class OrganizationSide:
    def __init__(
        self,
        sessions: Sessions,
        submit: Submit,
        cache: TtlCache,
        organization_instance_region: str | None,
    ) -> None:
        self._sessions = sessions
        self._submit = submit
        self.cache = cache
        self._organization_instance_region = organization_instance_region

    def _org(self) -> OrganizationsReader:
        return OrganizationsReader(
            self._sessions.organizations().client("organizations", ORGANIZATIONS_REGION)
        )

    def _cached(self, key: Any, load: Callable[[], T], reads: Reads) -> Future[T]:
        """A call's result from the cache, or a call started now to fill it."""
        hit, value = reads.peek(key)
        if not hit:
            return self._submit(lambda: reads.get(key, load))
        done: Future[T] = Future()
        done.set_result(value)
        return done

    # -- one read each ---------------------------------------------------------------------------
    def _scps_of(self, target: str, reads: Reads) -> Future[tuple[ServiceControlPolicy, ...]]:
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

    def _policy_document(self, policy_id: str, reads: Reads) -> Future[str]:
        return self._cached(("policy", policy_id), lambda: self._org().policy_document(policy_id), reads)

    def _parent_of(self, child_id: str, reads: Reads) -> Future[tuple[str, str]]:
        return self._cached(("parent", child_id), lambda: self._org().parent_of(child_id), reads)

    def _unit_name(self, unit_id: str, reads: Reads) -> Future[str]:
        return self._cached(("ou-name", unit_id), lambda: self._org().unit_name(unit_id), reads)

    def _account_name(self, account_id: str, reads: Reads) -> Future[str | None]:
        return self._cached(("account-name", account_id), lambda: self._org().account_name(account_id), reads)

    def _account_tags(self, account_id: str, reads: Reads) -> Future[dict[str, str]]:
        return self._cached(("account-tags", account_id), lambda: self._org().tags(account_id), reads)

    def _instances_seen_by_org(self, region: str) -> tuple[InstanceFacts, ...]:
        return tuple(
            InstanceReader(self._sessions.organizations().client("sso-admin", region), region).list()
        )

    # -- composed ----------------------------------------------------------------------------------
    def _parents(
        self, account_id: str, deadline: Deadline, found: Callable[[str], object], reads: Reads
    ) -> tuple[OrganizationalUnit, ...]:
        """The chain from the root down to the account's OU: one round trip per level, at most.

        Each OU's name and parent are cached by OU id, so they are shared by every account below
        it. ``found`` is told each parent's id as soon as it is known, to start reading its SCPs.
        """
        names: list[tuple[str, Future[str]]] = []
        parent_id, parent_type = deadline.result(self._parent_of(account_id, reads))
        found(parent_id)
        while parent_type != "ROOT":
            unit_id = parent_id
            names.append((unit_id, self._unit_name(unit_id, reads)))
            parent_id, parent_type = deadline.result(self._parent_of(unit_id, reads))
            found(parent_id)
        chain = [OrganizationalUnit(id=parent_id, name="Root")]
        chain += [OrganizationalUnit(id=u, name=deadline.result(f)) for u, f in reversed(names)]
        return tuple(chain)

    def _account(
        self, account_id: str, deadline: Deadline, reads: Reads, found: Callable[[str], object]
    ) -> AccountFacts:
        def load() -> AccountFacts:
            name = self._account_name(account_id, reads)
            tags = self._account_tags(account_id, reads)
            parents = self._parents(account_id, deadline, found, reads)
            return AccountFacts(
                account_id=account_id,
                name=deadline.result(name),
                parents=parents,
                tags=deadline.result(tags),
            )

        try:
            return reads.get(("account", account_id), load)
        except Missing:
            raise
        except Exception as error:
            raise Missing(reason(error)) from error

    def _read_again_what_was_cached(self, account_id: str, reads: Reads) -> None:
        """Start, all at once, the fresh reads of what the cache knew about the account.

        Read one after another, the OU chain costs a round trip per level, and each SCP document
        one more after its listing. Most often the account has not moved and no SCP has changed:
        then, with the parent of every OU the cache placed it under, their names, SCP listings
        and documents all being read concurrently, the walk up the chain finds each fresh value
        already read or in flight. Whatever has changed is still read when the walk gets there;
        what the cache suggested in vain costs a few calls, never a stale fact.
        """
        hit, account = self.cache.peek(("account", account_id))
        if not hit:
            return
        targets = [account_id]
        for unit in account.parents:
            targets.append(unit.id)
            if not unit.id.startswith("r-"):
                self._parent_of(unit.id, reads)
                self._unit_name(unit.id, reads)
        for target in targets:
            self._scps_of(target, reads)
            known, policies = self.cache.peek(("scp", target))
            for policy in policies if known else ():
                self._policy_document(policy.policy_id, reads)

    def prefetch(self, account_id: str, *, judged: bool) -> None:
        """Start, without waiting, the reads an event about a new account begins with."""
        self._submit(self._sessions.organizations)
        self._parent_of(account_id, self.cache)
        self._account_name(account_id, self.cache)
        self._account_tags(account_id, self.cache)
        if judged:
            self._scps_of(account_id, self.cache)

    def read(self, found: Found, account_id: str, deadline: Deadline, reads: Reads, wanted: Wanted) -> None:
        """The organization and the account; when the subject is judged (an instance or an attempt
        at one), also the SCPs in force on the account; and the organization instances when the
        trigger `wanted` them (a failed DeleteInstance: was it the organization instance?)."""
        judged = wanted.judged
        # Everything that needs only the account id starts now; the rest once the chain is known.
        organization = self._cached("org", lambda: self._org().organization(), reads)
        own_scps = self._scps_of(account_id, reads) if judged else None
        region = self._organization_instance_region
        org_instances = (
            self._cached(("org-instances", region), lambda: self._instances_seen_by_org(region), reads)
            if wanted.organization_instances and region
            else None
        )
        if judged and isinstance(reads, FreshReads):
            self._read_again_what_was_cached(account_id, reads)

        def scps_of(target: str) -> object:
            return self._scps_of(target, reads)

        # The SCPs of each OU are read as soon as the OU is known.
        found.account = found.read(
            Fact.ACCOUNT,
            lambda: self._account(account_id, deadline, reads, scps_of if judged else lambda _: None),
        )
        found.organization = found.read(Fact.ORGANIZATION, lambda: deadline.result(organization))
        if wanted.organization_instances:
            if org_instances is None:
                found.lack(Fact.ORGANIZATION_INSTANCES, "no organization_instance_region is configured")
            else:
                listing = org_instances
                found.organization_instances_listed(lambda: deadline.result(listing))
        if judged:

            def in_force(account: AccountFacts) -> tuple[ServiceControlPolicy, ...]:
                pending = [own_scps, *(self._scps_of(unit.id, reads) for unit in account.parents)]
                return tuple(p for f in pending if f is not None for p in deadline.result(f))

            found.service_control_policies_of(in_force)
