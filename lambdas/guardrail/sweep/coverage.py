"""Where the guardrail is blind: member accounts and Regions whose instance events cannot reach it.

An event reaches the detect function only if the account's member role can be assumed (or the
function cannot read what the event is about) and, in the Region where the call is made, the
forwarding StackSet's rule exists on the default bus, is enabled and targets the central bus; an
event EventBridge could not forward waits in the forwarding dead-letter queue, unseen. A StackSet
instance that failed, a rule someone disabled or retargeted, a forwarding role someone broke: the
guardrail alerts on none of them, as nothing arrives. So the sweep looks, through the member role,
in every watched Region the account has enabled (a Region it has not cannot hold an instance).

Per account and Region: DescribeRule and ListTargetsByRule (events), GetQueueUrl then
GetQueueAttributes (sqs); per account, ListRegions when an opt-in Region is watched. The reads in
Regions enabled by default start as soon as the role is assumed, beside the instance listing; those
in opt-in Regions once ListRegions says which are enabled. A read that fails leaves its Region
unchecked, with the reason: never taken for a healthy one, nor for a blind spot.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec

from guardrail.adapters.account import ACCOUNT_REGION, enabled_regions
from guardrail.adapters.clients import AwsClients
from guardrail.adapters.forwarding import ForwardingReader
from guardrail.core.regions import REGIONS_ENABLED_BY_DEFAULT
from guardrail.gather.deadline import Deadline, Missing, Submit

# States in which a rule matches the instance calls (write management events): ENABLED matches all
# but read-only management events, the other one those too.
ENABLED_STATES = frozenset({"ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"})
MAX_DETAIL = 300
# The StackSets that deploy what is checked (infra/constructs/member_stacksets.py).
MEMBER_ROLES_STACKSET = "IdentityCenterGuardrail-MemberRoles"
FORWARDING_STACKSET = "IdentityCenterGuardrail-EventForwarding"


class BlindSpotKind(StrEnum):
    ROLE_NOT_ASSUMABLE = "role-not-assumable"
    RULE_MISSING = "rule-missing"
    RULE_DISABLED = "rule-disabled"
    RULE_NOT_TARGETING_CENTRAL_BUS = "rule-not-targeting-central-bus"
    EVENTS_UNDELIVERED = "events-undelivered"
    DEAD_LETTER_QUEUE_MISSING = "dead-letter-queue-missing"


class BlindSpot(msgspec.Struct, frozen=True, kw_only=True):
    """One place where instance events do not reach the guardrail; `region` is None for the whole
    account (its member role)."""

    account_id: str
    region: str | None
    kind: BlindSpotKind
    detail: str
    # Events waiting in the forwarding dead-letter queue (`events-undelivered`).
    count: int | None = None
    # What a person does about it.
    fix: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes it the same blind spot from one run to the next (not its detail or count)."""
        return (self.account_id, self.region or "", self.kind.value)


class Unchecked(msgspec.Struct, frozen=True, kw_only=True):
    """A Region (None: the account's opt-in Regions) whose forwarding could not be read."""

    account_id: str
    region: str | None
    reason: str


class AccountCoverage(msgspec.Struct, frozen=True, kw_only=True):
    """An account's coverage: the Regions read in full, what is wrong, what could not be read."""

    assumed: bool = True
    checked: tuple[str, ...] = ()
    blind_spots: tuple[BlindSpot, ...] = ()
    unchecked: tuple[Unchecked, ...] = ()


@dataclass(frozen=True)
class ForwardingNames:
    """What the forwarding StackSet deploys, by name; None: that part is not checked."""

    rule_name: str | None = None
    dead_letter_queue_name: str | None = None
    central_bus_arn: str | None = None

    @property
    def checked(self) -> bool:
        return self.rule_name is not None or self.dead_letter_queue_name is not None


@dataclass(frozen=True)
class Read[V]:
    """A read's value, or why it failed."""

    value: V | None = None
    failure: str | None = None


def judge_region(
    account_id: str,
    region: str,
    names: ForwardingNames,
    *,
    state: Read[str] | None,
    targets: Read[tuple[str, ...]] | None,
    depth: Read[int] | None,
) -> tuple[list[BlindSpot], list[Unchecked]]:
    """What is wrong with one Region's forwarding, from its reads (None: not read, as its name is
    not configured); and what could not be read. A value of None in a read means "does not exist"."""
    spots: list[BlindSpot] = []
    unread: list[Unchecked] = []

    def spot(kind: BlindSpotKind, detail: str, count: int | None = None) -> None:
        found = BlindSpot(account_id=account_id, region=region, kind=kind, detail=_clip(detail), count=count)
        spots.append(msgspec.structs.replace(found, fix=fix_for(found, names.rule_name)))

    def failed(what: str, read: Read[Any]) -> bool:
        if read.failure is None:
            return False
        unread.append(
            Unchecked(account_id=account_id, region=region, reason=_clip(f"{what}: {read.failure}"))
        )
        return True

    rule_missing = False
    if state is not None and not failed("DescribeRule", state):
        if state.value is None:
            rule_missing = True
        elif state.value not in ENABLED_STATES:
            spot(BlindSpotKind.RULE_DISABLED, f"the forwarding rule {names.rule_name} is {state.value}")
    if targets is not None and not rule_missing and not failed("ListTargetsByRule", targets):
        bus = names.central_bus_arn
        if targets.value is None:
            rule_missing = True
        elif bus not in targets.value:
            sent_to = ", ".join(targets.value) or "nothing"
            spot(
                BlindSpotKind.RULE_NOT_TARGETING_CENTRAL_BUS,
                f"the forwarding rule {names.rule_name} sends to {sent_to}, not to the central bus {bus}",
            )
    queue_missing = False
    if depth is not None and not failed("the dead-letter queue", depth):
        if depth.value is None:
            queue_missing = True
        elif depth.value > 0:
            spot(
                BlindSpotKind.EVENTS_UNDELIVERED,
                f"{depth.value} events could not be forwarded and wait in {names.dead_letter_queue_name}",
                count=depth.value,
            )
    if rule_missing:
        # Both gone is one cause: the forwarding stack instance is not there.
        also = f" (nor its dead-letter queue {names.dead_letter_queue_name})" if queue_missing else ""
        spot(BlindSpotKind.RULE_MISSING, f"no forwarding rule {names.rule_name} on the default bus{also}")
    elif queue_missing:
        spot(
            BlindSpotKind.DEAD_LETTER_QUEUE_MISSING,
            f"no dead-letter queue {names.dead_letter_queue_name}: undelivered events would be lost unseen",
        )
    return spots, unread


def unassumable(account_id: str, reason: str) -> AccountCoverage:
    """The coverage of an account whose member role cannot be assumed: blind in every Region."""
    spot = BlindSpot(
        account_id=account_id,
        region=None,
        kind=BlindSpotKind.ROLE_NOT_ASSUMABLE,
        detail=_clip(f"the member role cannot be assumed: {reason}"),
    )
    return AccountCoverage(assumed=False, blind_spots=(msgspec.structs.replace(spot, fix=fix_for(spot)),))


def fix_for(spot: BlindSpot, rule_name: str | None = None) -> str:
    """What a person does about a blind spot."""
    account, region = spot.account_id, spot.region or ""
    rule = rule_name or "<forwarding rule>"
    recreate = (
        f"re-create the forwarding stack instance: aws cloudformation create-stack-instances --stack-set-name "
        f"{FORWARDING_STACKSET} --regions {region} --deployment-targets OrganizationalUnitIds=<its OU>,"
        f"Accounts={account},AccountFilterType=INTERSECTION (with --call-as DELEGATED_ADMIN from the "
        "central account); its failed instances and why: Verify, step 4"
    )
    match spot.kind:
        case BlindSpotKind.ROLE_NOT_ASSUMABLE:
            return (
                f"the member role is missing or no longer trusts the guardrail in {account}: check the "
                f"{MEMBER_ROLES_STACKSET} StackSet's instance for it (Verify, step 4) and re-create it"
            )
        case BlindSpotKind.RULE_MISSING | BlindSpotKind.DEAD_LETTER_QUEUE_MISSING:
            return recreate
        case BlindSpotKind.RULE_DISABLED:
            return f"in account {account}: aws events enable-rule --name {rule} --region {region}"
        case BlindSpotKind.RULE_NOT_TARGETING_CENTRAL_BUS:
            return (
                f"restore its target: aws cloudformation update-stack-instances --stack-set-name "
                f"{FORWARDING_STACKSET} --regions {region} --deployment-targets "
                f"OrganizationalUnitIds=<its OU>,Accounts={account},AccountFilterType=INTERSECTION"
            )
        case BlindSpotKind.EVENTS_UNDELIVERED:
            return (
                "EventBridge could not put these events on the central bus: check the forwarding role "
                f"in {account} and the central bus's policy, then hand each waiting event to the detect "
                "function (Operations: dead-letter queue) and delete it from the queue"
            )
    return "see the README's Operations"  # pragma: no cover - every kind is matched above


def where(spot: BlindSpot | Unchecked) -> str:
    """`333333333333 eu-west-1`, or the account alone for the whole account."""
    return f"{spot.account_id} {spot.region}" if spot.region else spot.account_id


@dataclass
class _RegionReads:
    state: Future[str | None] | None
    targets: Future[tuple[str, ...] | None] | None
    depth: Future[int | None] | None


class CoverageChecker:
    """Reads one account's forwarding in every watched Region it has enabled, concurrently."""

    def __init__(self, names: ForwardingNames, regions: Sequence[str], submit: Submit) -> None:
        self._names = names
        self._regions = tuple(dict.fromkeys(regions))
        self._submit = submit

    @property
    def names(self) -> ForwardingNames:
        return self._names

    def start(self, account_id: str, clients: AwsClients, deadline: Deadline) -> PendingCoverage:
        """Start the reads: at once in the Regions every account has; in the opt-in ones as soon as
        ListRegions answers which the account enabled (a callback, so that no pool thread waits)."""
        opt_in = tuple(r for r in self._regions if r not in REGIONS_ENABLED_BY_DEFAULT)
        later: Future[dict[str, _RegionReads]] | None = None
        if opt_in:
            later = Future()
            enabled = self._submit(lambda: enabled_regions(clients.client("account", ACCOUNT_REGION)))

            def when_known(done: Future[frozenset[str]]) -> None:
                assert later is not None
                try:
                    usable = done.result()
                    later.set_result({r: self._reads(clients, r) for r in opt_in if r in usable})
                except Exception as error:  # the future carries it to `result`
                    later.set_exception(error)

            enabled.add_done_callback(when_known)
        reads = {r: self._reads(clients, r) for r in self._regions if r in REGIONS_ENABLED_BY_DEFAULT}
        return PendingCoverage(account_id, self._names, deadline, reads, later)

    def _reads(self, clients: AwsClients, region: str) -> _RegionReads:
        """The Region's reads, submitted; each makes its clients itself (a few milliseconds of CPU
        each), so that the account's thread goes on to list the instances at once."""
        names, submit = self._names, self._submit
        rule, queue = names.rule_name, names.dead_letter_queue_name

        def reader() -> ForwardingReader:
            return ForwardingReader(clients.client("events", region), clients.client("sqs", region))

        return _RegionReads(
            state=submit(lambda: reader().rule_state(rule)) if rule else None,
            targets=submit(lambda: reader().target_arns(rule)) if rule and names.central_bus_arn else None,
            depth=submit(lambda: reader().queue_depth(queue)) if queue else None,
        )


class PendingCoverage:
    """An account's coverage reads in flight; `result` waits for them within the account's deadline."""

    def __init__(
        self,
        account_id: str,
        names: ForwardingNames,
        deadline: Deadline,
        reads: dict[str, _RegionReads],
        opt_in: Future[dict[str, _RegionReads]] | None,
    ) -> None:
        self._account_id = account_id
        self._names = names
        self._deadline = deadline
        self._reads = reads
        self._opt_in = opt_in

    def result(self) -> AccountCoverage:
        unchecked: list[Unchecked] = []
        if self._opt_in is not None:
            try:
                opt_in: dict[str, _RegionReads] = self._deadline.result(self._opt_in)
                self._reads.update(opt_in)
            except Missing as gap:
                reason = f"its opt-in Regions: cannot read the enabled Regions: {gap.reason}"
                unchecked.append(Unchecked(account_id=self._account_id, region=None, reason=_clip(reason)))
        spots: list[BlindSpot] = []
        checked: list[str] = []
        for region, reads in self._reads.items():
            found, unread = judge_region(
                self._account_id,
                region,
                self._names,
                state=self._read(reads.state),
                targets=self._read(reads.targets),
                depth=self._read(reads.depth),
            )
            spots += found
            unchecked += unread
            if not unread:
                checked.append(region)
        return AccountCoverage(checked=tuple(checked), blind_spots=tuple(spots), unchecked=tuple(unchecked))

    def _read[V](self, future: Future[V | None] | None) -> Read[V] | None:
        if future is None:
            return None
        try:
            return Read(value=self._deadline.result(future))
        except Missing as gap:
            return Read(failure=gap.reason)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 3] + "..."
