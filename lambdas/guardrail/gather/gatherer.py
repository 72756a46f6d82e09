"""Gathering the facts about one instance API call, with as few round trips as possible.

Latency is the number of calls made one after another, so independent reads run concurrently:
the organization side (`organization.py`) on the calling thread, the member side (`member.py`)
on a thread of its own, each read in parallel once the member role is assumed.

A fact that cannot be gathered, for any reason, is recorded as missing with the reason and never
guessed: the decision turns incomplete instead. So is a fact that is not in by the deadline,
which keeps an alert going out while the Lambda still has time, even when AWS hangs.

Before a deletion, `gather_fresh` reads every fact again, the cache bypassed (and refreshed with
what it reads): cached organization facts may be minutes old, and an account moved into an
approved OU meanwhile must not lose its instance.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from guardrail.adapters.clients import AwsClients
from guardrail.adapters.identity_center import InstanceReader
from guardrail.core.facts import ApiCall, ApplicationFacts, Fact, Facts, InstanceFacts, Subject, Trigger
from guardrail.gather.assembly import Found, Wanted, assemble, cannot_assume
from guardrail.gather.cache import FreshReads, Reads, TtlCache
from guardrail.gather.deadline import Deadline, Missing
from guardrail.gather.member import MemberSide
from guardrail.gather.organization import OrganizationSide
from guardrail.gather.sessions import Sessions

T = TypeVar("T")

# What each trigger needs (`guardrail.gather.assembly.Wanted`): one that judges an instance, or an
# attempt at one, needs the SCPs, the organization instances and the member side; one that
# describes the instance, its description, tags and applications. A delete or update needs only
# the organization and the account (and a failed delete, the organization instances).


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
        self._settings = settings
        self._clock = clock
        self.sessions = Sessions(
            clients,
            member_role_name=settings.member_role_name,
            organizations_role_arn=settings.organizations_role_arn,
            partition=settings.partition,
            clock=clock,
        )
        # Branches wait for calls; calls never wait for anything but AWS, so neither pool can
        # starve the other. Threads are started on demand.
        self._branches = ThreadPoolExecutor(max_workers=4, thread_name_prefix="member")
        self._calls = ThreadPoolExecutor(max_workers=settings.max_concurrent_calls, thread_name_prefix="aws")
        self.organization = OrganizationSide(
            self.sessions,
            self.submit,
            TtlCache(settings.cache_seconds, clock),
            settings.organization_instance_region,
        )
        self.member = MemberSide(
            self.submit, regions=settings.regions, settle_delays=settings.settle_delays, sleep=sleep
        )

    def submit(self, work: Callable[[], T]) -> Future[T]:
        """Run one AWS read on the pool of calls."""
        return self._calls.submit(work)

    def member_clients(self, account_id: str) -> AwsClients:
        """Clients acting inside a member account (cached role session); remediation uses them too."""
        return self.sessions.member(account_id)

    def prefetch(self, call: ApiCall) -> None:
        """Start, without waiting, the reads an event about a new account begins with.

        The handler calls this while it claims the event in DynamoDB, so that these reads overlap
        the claim: a round trip less for an account the function has not seen yet (and for all
        of them on a cold start). A duplicate delivery wastes a few reads; a failed read is not
        cached, and `gather` makes it again.
        """
        judged = Wanted.of(call.subject, call).judged
        self.organization.prefetch(call.account_id, judged=judged)
        if judged:
            self.submit(lambda: self.member_clients(call.account_id))

    def gather(self, call: ApiCall) -> Facts:
        """All facts the decision may need for this call; Delete and Update need only the account.

        Organization facts come from the cache when it has them (up to `cache_seconds` old)."""
        return self._gather(call.subject, call, self.organization.cache, self._settings.deadline_seconds)

    def gather_fresh(self, call: ApiCall) -> Facts:
        """The same facts, every one read from AWS now: what a deletion is confirmed on.

        The cache is not consulted but refreshed with what is read, so the events that follow see
        the organization as it is now too. Role sessions are reused: they are credentials, not
        facts. Runs within `confirm_deadline_seconds`."""
        return self.gather_about(call.subject, call)

    def gather_about(self, subject: Subject, trigger: Trigger) -> Facts:
        """Every fact about an instance, read from AWS now, for any trigger (the end of a grace
        period among them): the instance is described, tagged and listed as for a CreateInstance."""
        return self._gather(
            subject, trigger, FreshReads(self.organization.cache), self._settings.confirm_deadline_seconds
        )

    def _gather(self, subject: Subject, trigger: Trigger, reads: Reads, deadline_seconds: float) -> Facts:
        deadline = Deadline(deadline_seconds, self._clock)

        def organization(found: Found, wanted: Wanted) -> None:
            self.organization.read(found, subject.account_id, deadline, reads, wanted)

        def member(wanted: Wanted) -> Callable[[], Found]:
            branch = self._branches.submit(self._member_side, subject, wanted, deadline)
            return lambda: deadline.result(branch)

        return assemble(subject, trigger, organization, member)

    def _member_side(self, subject: Subject, wanted: Wanted, deadline: Deadline) -> Found:
        try:
            clients = deadline.result(self.submit(lambda: self.member_clients(subject.account_id)))
        except Missing as gap:
            raise Missing(cannot_assume(gap.reason)) from None
        reader = InstanceReader(clients.client("sso-admin", subject.region), subject.region)
        described: Future[tuple[InstanceFacts, Future[tuple[ApplicationFacts, ...]]]] | None = None
        if wanted.describes:
            arn = subject.instance_arn
            assert arn is not None
            described = self._branches.submit(self.member.describe, reader, arn, deadline)
        found = Found()
        found.account_instances = found.read(
            Fact.ACCOUNT_INSTANCES, lambda: self.member.list_instances(clients, subject.region, deadline)
        )
        if described is not None:
            pending = described

            def instance() -> tuple[InstanceFacts, Callable[[], tuple[ApplicationFacts, ...]]]:
                instance, applications = deadline.result(pending)
                return instance, lambda: deadline.result(applications)

            found.describe(instance)
        return found
