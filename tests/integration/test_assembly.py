"""One assembly of the facts for every source: the event gatherer reading AWS and the sweep worker
reading its run's snapshot and each account's listing give a decision the same facts about the
same instance in the same organization, fact for fact, and the same facts missing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

import boto3
import msgspec
import pytest

from emulator.environment import SANDBOX_INSTANCE_ARN, EmulatedEnvironment
from emulator.organization import SANDBOX_ACCOUNT_ID
from guardrail.adapters.clients import AwsClients
from guardrail.core.decision import Decision
from guardrail.core.facts import Facts, Operation, Outcome, Subject
from guardrail.core.inventory import Change
from guardrail.core.policy import Policy
from guardrail.gather import FactGatherer, GatherSettings
from guardrail.gather.member import MemberSide
from guardrail.gather.sessions import Sessions
from guardrail.sweep.planner import plan
from guardrail.sweep.worker import Run, SweepWorker
from tests.builders import NOW, call

T = TypeVar("T")
REGIONS = ("us-east-1", "eu-west-1")


@pytest.fixture
def world() -> Iterator[EmulatedEnvironment]:
    with EmulatedEnvironment() as env:
        yield env


class Keeping:
    """A recorder that keeps the facts each instance was judged on."""

    def __init__(self) -> None:
        self.facts: list[Facts] = []

    def instance(self, facts: Facts, decision: Decision, run: Run) -> tuple[Change | None, datetime | None]:
        self.facts.append(facts)
        return None, None

    def vanished(self, account_id: str, present: set[str], run: Run) -> tuple[str, ...]:
        return ()


def swept(world: EmulatedEnvironment, account_id: str, policy: Policy, org_region: str | None) -> Facts:
    sessions = Sessions(
        AwsClients(boto3.session.Session()),
        member_role_name=world.organization.member_role_name,
        organizations_role_arn=world.organization.organizations_reader_role_arn,
        partition="aws",
    )
    run = Run(run_id="run-1", observed_at=NOW, snapshot=plan(sessions, org_region).snapshot, policy=policy)
    kept = Keeping()
    with ThreadPoolExecutor(max_workers=8) as calls:

        def submit(work: Callable[[], T]) -> Future[T]:
            return calls.submit(work)

        member = MemberSide(submit, regions=REGIONS, settle_delays=(), sleep=lambda _: None)
        worker = SweepWorker(sessions, member, submit, near_region="us-east-1", recorder=kept)
        (result,) = worker.sweep([account_id], run)
    assert result.readable
    (facts,) = kept.facts
    return facts


def gathered(world: EmulatedEnvironment, subject: Subject, org_region: str | None) -> Facts:
    settings = GatherSettings(
        member_role_name=world.organization.member_role_name,
        regions=REGIONS,
        organizations_role_arn=world.organization.organizations_reader_role_arn,
        organization_instance_region=org_region,
    )
    created = call(
        operation=Operation.CREATE,
        outcome=Outcome.SUCCEEDED,
        account_id=subject.account_id,
        region=subject.region,
        instance_arn=subject.instance_arn,
    )
    return FactGatherer(AwsClients(boto3.session.Session()), settings).gather(created)


def compared(facts: Facts) -> dict[str, object]:
    """Every field of the facts but the trigger (an API call for one, the sweep for the other) and
    the account's tags: the sweep's snapshot reads the OU tree, not each account's tags, which
    only the alert shows (no rule reads them)."""
    fields = msgspec.structs.asdict(facts)
    del fields["trigger"]
    if facts.account is not None:
        fields["account"] = msgspec.structs.replace(facts.account, tags={})
    return fields


@pytest.mark.parametrize("org_region", ["us-east-1", None])
def test_the_event_gatherer_and_the_sweep_worker_give_the_same_facts(
    world: EmulatedEnvironment, policy: Policy, org_region: str | None
) -> None:
    by_sweep = swept(world, SANDBOX_ACCOUNT_ID, policy, org_region)
    by_event = gathered(world, by_sweep.subject, org_region)
    assert by_sweep.subject == Subject(
        account_id=SANDBOX_ACCOUNT_ID, region="us-east-1", instance_arn=SANDBOX_INSTANCE_ARN
    )
    assert compared(by_event) == compared(by_sweep)
    assert by_event.account is not None
    assert by_event.account.tags
    # Both judge the instance on its tags, the account's place and the SCPs in force on it.
    assert by_sweep.instance is not None
    assert by_sweep.instance.tags["purpose"] == "trial"
    assert by_sweep.account is not None
    assert by_sweep.account.parents
    assert by_sweep.service_control_policies
    if org_region is None:
        # The same fact is missing from both, with the same reason.
        assert [(m.fact, m.reason) for m in by_sweep.missing] == [
            ("organization_instances", "no organization_instance_region is configured")
        ]
    else:
        assert by_sweep.missing == ()
        assert by_sweep.organization_instances
