"""The member side of the facts, read through the member role inside the instance's account: the
account's instances, and one instance's description, tags and applications.

Nothing here is cached: every gathering, fresh or not, reads the member side anew.

The account's instances are listed with one `ListInstances(RegionScope=ALL_REGIONS)` where the
loaded service model knows the parameter, else with one `ListInstances` per Region: the watched
Regions at once, beside the account's enabled Regions (`ListRegions`), then every other Region the
account has enabled where Identity Center is available. One instance per account holds across all
Regions, so an instance outside the watched Regions must be found too: watching is about where
events are forwarded from, not where an instance can be. A listing that fails in a Region the
account has not enabled means no instance there, not a missing fact, since nobody can create an
instance in a Region the account has not enabled. When the enabled Regions cannot be read, the
listing is complete only if every Region of the partition was listed; otherwise it is a missing
fact naming the Regions that were listed, never an account read in full.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future

import msgspec

from guardrail.adapters.account import ACCOUNT_REGION, enabled_regions
from guardrail.adapters.clients import AwsClients
from guardrail.adapters.identity_center import InstanceReader, lists_all_regions
from guardrail.core.facts import ApplicationFacts, InstanceFacts, InstanceStatus
from guardrail.core.regions import IDENTITY_CENTER_REGIONS, partition_of
from guardrail.gather.deadline import Deadline, Missing, Submit

# A wait for an instance to settle is made only if this much of the deadline is left after it,
# for describing the instance once more and reading its tags.
SETTLE_MARGIN_SECONDS = 2.0


def still_being_created(waited: float) -> str:
    """Why an instance still being created after ``waited`` seconds is missing."""
    return (
        f"the instance was still being created ({InstanceStatus.CREATE_IN_PROGRESS.value}) after "
        f"{waited:g} s of waiting; its tags cannot be read before it is ACTIVE"
    )


class MemberSide:
    def __init__(
        self,
        submit: Submit,
        *,
        regions: Sequence[str],
        settle_delays: Sequence[float],
        sleep: Callable[[float], None],
    ) -> None:
        self._submit = submit
        self._regions = tuple(regions)
        self._settle_delays = tuple(settle_delays)
        self._sleep = sleep

    # -- the account's instances ----------------------------------------------------------------------
    def list_instances(self, clients: AwsClients, near: str, deadline: Deadline) -> tuple[InstanceFacts, ...]:
        """Every instance the account owns or sees, in every Region; `Missing` when a Region the
        account has enabled could not be listed, or when which Regions it has enabled is unknown
        and some Region was not listed. `near` is a Region the account has enabled, where the
        one-call listing is made."""
        client = clients.client("sso-admin", near)
        if lists_all_regions(client):
            reader = InstanceReader(client, near)
            return tuple(deadline.result(self._submit(lambda: reader.list(all_regions=True))))
        enabled = self._submit(lambda: enabled_regions(clients.client("account", ACCOUNT_REGION)))

        def listing_of(region: str) -> Future[list[InstanceFacts]]:
            return self._submit(lambda: InstanceReader(clients.client("sso-admin", region), region).list())

        listings = {region: listing_of(region) for region in dict.fromkeys((near, *self._regions))}
        usable: frozenset[str] | None
        regions_unknown = ""
        try:
            usable = deadline.result(enabled)
        except Missing as gap:
            usable, regions_unknown = None, gap.reason
        else:
            for region in sorted((usable & IDENTITY_CENTER_REGIONS) - listings.keys()):
                listings[region] = listing_of(region)
        instances: list[InstanceFacts] = []
        failures: dict[str, str] = {}
        for region, future in listings.items():
            try:
                listed: list[InstanceFacts] = deadline.result(future)
                instances.extend(listed)
            except Missing as gap:
                failures[region] = gap.reason
        unread = "; ".join(f"{r}: {why}" for r, why in failures.items() if usable is None or r in usable)
        if usable is None:
            read = set(listings) - set(failures)
            partition = {r for r in IDENTITY_CENTER_REGIONS if partition_of(r) == partition_of(near)}
            if unread or not partition <= read:
                raise Missing(
                    f"listed only in {', '.join(sorted(read)) or 'no Region'}: the Regions the account has "
                    f"enabled could not be read (ListRegions: {regions_unknown})"
                    + (f"; not listed: {unread}" if unread else "")
                    + "; an instance in another Region would be missed",
                )
        elif unread:
            raise Missing(unread)
        return tuple(instances)

    # -- one instance ---------------------------------------------------------------------------------
    def details(
        self, reader: InstanceReader, instance_arn: str
    ) -> tuple[Future[dict[str, str]], Future[tuple[ApplicationFacts, ...]]]:
        """Its tags and its applications, read concurrently (both need an ACTIVE instance)."""
        return self._submit(lambda: reader.tags(instance_arn)), self._submit(
            lambda: reader.applications(instance_arn)
        )

    def describe(
        self, reader: InstanceReader, instance_arn: str, deadline: Deadline
    ) -> tuple[InstanceFacts, Future[tuple[ApplicationFacts, ...]]]:
        """The instance with its tags, and the read of its applications; waits for one still being
        created. `Missing` for the instance when it cannot be described or tagged.

        DescribeInstance, the tags and the applications are read at once. An instance still being
        created (CREATE_IN_PROGRESS) answers DescribeInstance but not the other two: it is described
        again after a short backoff until it settles, within the deadline, and read then.
        """
        described = self._submit(lambda: reader.describe(instance_arn))
        tags, applications = self.details(reader, instance_arn)
        instance = deadline.result(described)
        if instance.status == InstanceStatus.CREATE_IN_PROGRESS:
            instance = self._settled(reader, instance_arn, deadline)
            tags, applications = self.details(reader, instance_arn)
        return msgspec.structs.replace(instance, tags=deadline.result(tags)), applications

    def _settled(self, reader: InstanceReader, arn: str, deadline: Deadline) -> InstanceFacts:
        """The instance once it is no longer CREATE_IN_PROGRESS, described again after each wait
        of the backoff that fits before the deadline; `Missing` if it is still being created."""
        waited = 0.0
        for delay in self._settle_delays:
            if deadline.remaining() < delay + SETTLE_MARGIN_SECONDS:
                break
            self._sleep(delay)
            waited += delay
            described = deadline.result(self._submit(lambda: reader.describe(arn)))
            if described.status != InstanceStatus.CREATE_IN_PROGRESS:
                return described
        raise Missing(still_being_created(waited))
