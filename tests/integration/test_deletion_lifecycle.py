"""The deletion lifecycle end to end, one test per promise an attacker and a hostile environment
broke (issue: "Enforcement that keeps every promise"): a rule's longer grace honoured, withheld is
not dropped, the cap counts deletions AWS accepted, one DeleteInstance under racing triggers, facts
missing at the deadline postpone, a forged firing is refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from msgspec.structs import replace

from emulator.environment import PROD_INSTANCE_ARN, SANDBOX_INSTANCE_ARN
from emulator.organization import administrator_client
from emulator.scheduler import due_schedules, schedules
from emulator.wire import ACCESS_DENIED, AwsWire
from guardrail.adapters.identity_center import InstanceReader
from guardrail.core.deletion import POSTPONEMENTS_BEFORE_ALERT
from guardrail.core.policy import Enforcement, Policy, RuleSettings
from guardrail.deletion import remediator
from guardrail.handlers import detect
from tests.builders import NOW, PROD, SANDBOX, sample, tag_event
from tests.integration.enforcing import World, enforcing, enforcing_world, unapproved_instances, untag_owner

H = timedelta(hours=1)


@pytest.fixture
def policy(policy: Policy) -> Policy:
    return enforcing(policy)


@pytest.fixture
def world(tmp_path: Path, policy: Policy) -> Iterator[World]:
    with enforcing_world(tmp_path, policy) as built:
        yield built


def move(world: World, account: str, ou_name: str) -> None:
    organizations = administrator_client("111111111111", "organizations", region="us-east-1")
    [parent] = organizations.list_parents(ChildId=account)["Parents"]
    root = organizations.list_roots()["Roots"][0]["Id"]
    units = {
        u["Name"]: u["Id"]
        for u in organizations.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
    }
    organizations.move_account(
        AccountId=account, SourceParentId=parent["Id"], DestinationParentId=units[ou_name]
    )


def graces(world: World, policy: Policy, **hours: int) -> None:
    rules = {
        **policy.rules,
        **{
            rule.replace("_", "-"): RuleSettings(action="remediate", grace_period_hours=h)
            for rule, h in hours.items()
        },
    }
    world.deploy(replace(policy, rules=rules))


# -- a rule's own grace period ----------------------------------------------------------------------


def test_a_rule_fixed_during_the_grace_hands_the_deletion_to_the_longer_grace_of_the_rule_still_broken(
    world: World, policy: Policy
) -> None:
    """Scheduled for `account-not-approved` (24 h); meanwhile the account is approved and the owner
    tag removed (`missing-justification`, 72 h): the deletion waits for the 72 h, not the 24 h."""
    graces(world, policy, account_not_approved=24, missing_justification=72)
    world.deliver(sample("create-instance-console-success"))  # Prod: not approved, tags missing
    [first] = world.alerts()
    assert first["deletion"]["due"] == (NOW + 72 * H).isoformat()  # the latest of the two
    assert first["deletion"]["due"] in first["action_reason"]  # one due time, said once

    # Tags fixed: only account-not-approved (24 h from creation) is left.
    client = administrator_client(PROD, "sso-admin", region="eu-west-1")
    client.tag_resource(
        InstanceArn=PROD_INSTANCE_ARN,
        ResourceArn=PROD_INSTANCE_ARN,
        Tags=[{"Key": "purpose", "Value": "isolated-users"}, {"Key": "owner", "Value": "alice@example.com"}],
    )
    world.clock.advance(H)
    world.deliver(
        tag_event("TagResource", PROD_INSTANCE_ARN, tags={"owner": "x"}, account_id=PROD, region="eu-west-1")
    )
    [moved] = world.alerts()
    assert moved["deletion"]["state"] == "moved"
    assert moved["deletion"]["due"] == (NOW + 24 * H).isoformat()

    # Before that deadline: approved, and the owner tag removed again (72 h from now).
    world.clock.advance(10 * H)
    move(world, PROD, "Sandbox")
    client.untag_resource(InstanceArn=PROD_INSTANCE_ARN, ResourceArn=PROD_INSTANCE_ARN, TagKeys=["owner"])
    # No event says so before the 24 h firing: the firing finds a rule still within its grace.
    world.clock.advance(13 * H)
    [result] = world.fire_due()
    assert result["status"] == "alerted"
    assert world.deletions() == 0
    [at_firing] = world.alerts()
    assert at_firing["deletion"]["state"] == "moved"
    assert at_firing["deletion"]["due"] == (NOW + 24 * H + 72 * H).isoformat()
    assert "missing-justification still in its grace period" in at_firing["deletion"]["reason"]

    world.clock.advance(72 * H - timedelta(minutes=1))
    assert world.fire_due() == []
    world.clock.advance(timedelta(minutes=1))
    [result] = world.fire_due()
    assert world.deletions() == 1


# -- the cap -----------------------------------------------------------------------------------------


def test_deletions_the_cap_withholds_are_carried_out_in_the_next_hours(world: World, policy: Policy) -> None:
    world.deploy(replace(policy, enforcement=Enforcement(grace_period_hours=1, max_deletions_per_hour=1)))
    for event in unapproved_instances(world, 3):
        world.deliver(event)
    assert len(world.pending()) == 3
    world.alerts()

    world.clock.advance(H)
    world.fire_due()
    assert world.deletions() == 1
    withheld = [b for b in world.alerts() if (b.get("deletion") or {}).get("state") == "withheld"]
    assert len(withheld) == 2  # said once each; the schedules kept, for the next hour
    assert len(world.pending()) == 2
    for hour in (1, 2):
        world.clock.advance(H + timedelta(minutes=1))  # withheld until a minute past the hour
        world.fire_due()
        assert world.deletions() == 1 + hour
    assert world.pending() == []


def test_a_refused_deletion_gives_its_count_back_and_blocks_no_other_account(
    world: World, policy: Policy
) -> None:
    world.deploy(replace(policy, enforcement=Enforcement(grace_period_hours=0, max_deletions_per_hour=1)))
    hostile, other = unapproved_instances(world, 2)
    with AwsWire() as wire:
        # The hostile account changed its deleter role: every DeleteInstance there is refused.
        wire.fail("sso-admin", "DeleteInstance", error=ACCESS_DENIED, account=hostile["account"])
        world.deliver(hostile)
        world.deliver(other)
    assert world.deletions() == 1  # the other account's, in the same hour: the cap was given back
    bodies = world.alerts()
    refused = next(b for b in bodies if b["account_id"] == hostile["account"])
    assert refused["remediation"]["status"] == "failed"
    assert "deleter role" in refused["remediation"]["detail"]
    assert "blind spot" in refused["remediation"]["detail"]
    assert refused["deletion"]["state"] == "postponed"  # tried again later, never dropped
    assert world.pending() == [refused["instance_arn"]]


def test_a_deletion_that_conflicts_past_its_waits_is_counted_once_across_lambdas_retries(
    world: World, policy: Policy
) -> None:
    from emulator.wire import AwsError

    busy = AwsError("ConflictException", 409, "the instance is busy")
    world.deploy(replace(policy, enforcement=Enforcement(grace_period_hours=0, max_deletions_per_hour=1)))
    first, second = unapproved_instances(world, 2)
    with AwsWire() as wire:
        wire.fail("sso-admin", "DeleteInstance", error=busy, times=len(remediator.BACKOFF) + 1)
        result = world.deliver_as_lambda(first)  # fails once the waits are spent; Lambda's retry deletes
    assert result is not None
    assert world.deletions() == 1
    world.deliver(second)  # same hour: the cap holds one deletion, and it is the first's
    assert world.deletions() == 1
    assert world.runtime.guard is not None
    assert world.runtime.guard.taken(world.clock()) == 1


# -- one DeleteInstance under racing triggers ----------------------------------------------------------


def test_triggers_racing_for_one_due_instance_make_one_delete_instance(world: World) -> None:
    """The firing and two tag changes of the instance reach the function at once, each in an
    execution environment of its own, and all find it ACTIVE before any deletes it."""
    world.deliver(untag_owner(world))
    world.alerts()
    world.clock.advance(24 * H)
    [due] = due_schedules(world.env.scheduler_client(), world.env.deletion_schedule_group, world.clock())
    inputs: list[dict[str, Any]] = [due.input, *(untag_owner(world) for _ in range(2))]
    described = threading.Barrier(len(inputs), timeout=30)
    reader = InstanceReader

    class Racing(reader):  # type: ignore[misc, valid-type]
        def describe(self, instance_arn: str) -> Any:
            current = super().describe(instance_arn)
            if not getattr(local, "waited", False):
                local.waited = True
                described.wait()  # every trigger has looked before any goes on
            return current

    local = threading.local()
    runtimes = [detect.build_runtime(clock=world.clock, sleep=lambda s: None) for _ in inputs]
    for runtime in runtimes:
        runtime.once.register(world.runtime.once.config.lambda_context)
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def invoke(event: dict[str, Any], runtime: detect.Runtime) -> None:
        try:
            results.append(detect.process(event, runtime))
        except BaseException as error:
            errors.append(error)

    with mock.patch.object(remediator, "InstanceReader", Racing):
        threads = [
            threading.Thread(target=invoke, args=(i, r)) for i, r in zip(inputs, runtimes, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert world.deletions() == 1
    # The trigger that deleted says so; those that found it in hand leave it to that one, quietly,
    # rather than report the guardrail's own deletion as an instance that no longer exists.
    remediations = [b["remediation"] for b in world.alerts() if b.get("remediation")]
    assert [r["status"] for r in remediations] == ["deleted"]
    assert sorted(r["status"] for r in results) == ["alerted", "recorded", "recorded"]


# -- facts missing at the deadline ------------------------------------------------------------------


def test_facts_missing_at_the_deadline_postpone_the_deletion_and_the_third_time_one_alert_says_so(
    world: World,
) -> None:
    world.deliver(untag_owner(world))
    world.alerts()
    world.clock.advance(24 * H)
    with AwsWire() as wire:
        wire.fail("sso-admin", "ListTagsForResource", error=ACCESS_DENIED, account=SANDBOX)
        said = []
        for _ in range(POSTPONEMENTS_BEFORE_ALERT):
            assert len(world.fire_due()) == 1
            said += world.alerts()
            [pending] = schedules(world.env.scheduler_client(), world.env.deletion_schedule_group)
            world.clock.now = pending.at
    assert world.deletions() == 0
    [alert] = said  # quiet until the third postponement, then one high alert
    assert alert["kind"] == "deletion-postponed"
    assert alert["severity"] == "high"
    assert alert["deletion"]["state"] == "postponed"
    assert alert["deletion"]["postponements"] == POSTPONEMENTS_BEFORE_ALERT
    assert "facts are missing" in alert["deletion"]["reason"]
    assert alert["account_id"] == SANDBOX
    assert any(m["fact"] == "instance" and "AccessDenied" in m["reason"] for m in alert["missing_facts"])
    world.fire_due()  # the read works again: deleted
    assert world.deletions() == 1


# -- firings the guardrail did not schedule ---------------------------------------------------------


def test_a_deletion_due_input_the_guardrail_did_not_schedule_is_refused(world: World) -> None:
    world.deliver(untag_owner(world))
    [schedule] = schedules(world.env.scheduler_client(), world.env.deletion_schedule_group)
    early = {**schedule.input, "due": world.clock().isoformat()}  # skip the grace period
    assert world.runtime is not None
    assert detect.process(early, world.runtime)["status"] == "rejected"
    unscheduled = {
        **schedule.input,
        "instance_arn": PROD_INSTANCE_ARN,
        "account_id": PROD,
        "region": "eu-west-1",
    }
    assert detect.process(unscheduled, world.runtime)["status"] == "rejected"
    # The real firing, before its time (a clock gone wrong, a replay): refused too.
    assert detect.process(schedule.input, world.runtime)["status"] == "rejected"
    assert world.deletions() == 0
    assert len(world.env.dead_letters()) == 3
    assert SANDBOX_INSTANCE_ARN in world.pending()
