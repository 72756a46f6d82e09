"""Enforcement a cautious organization switches on, end to end on the emulated organization: a
grace period kept by EventBridge Scheduler, decided again when due; applications; exactly one
deletion; the hourly cap; tag changes of instances (and of nothing else); dry-run.

Scheduler's firing is played by `emulator.scheduler.due_schedules` (moto keeps schedules but never
runs them); events reach the handler only if the deployed rule pattern would deliver them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, timedelta
from pathlib import Path

import pytest
from msgspec.structs import replace

from emulator.environment import PROD_INSTANCE_ARN, SANDBOX_INSTANCE_ARN
from emulator.organization import administrator_client
from emulator.scheduler import due_schedules, schedules
from guardrail.core.policy import Enforcement, Exemption, Mode, Policy, RuleSettings
from guardrail.core.render.email import email_text
from guardrail.handlers import detect
from tests.builders import NOW, PROD, SANDBOX, sample, tag_event
from tests.integration.enforcing import (
    DUE,
    GRACE,
    World,
    enforcing,
    enforcing_world,
    tag_owner,
    unapproved_instances,
    untag_owner,
)


@pytest.fixture
def policy(policy: Policy) -> Policy:
    return enforcing(policy)


@pytest.fixture
def world(tmp_path: Path, policy: Policy) -> Iterator[World]:
    with enforcing_world(tmp_path, policy) as built:
        yield built


# -- the grace period -----------------------------------------------------------------------------


def test_a_violation_is_deleted_only_after_its_grace_period_and_both_alerts_say_so(world: World) -> None:
    world.deliver(sample("create-instance-console-success"))

    [first] = world.env.received_alerts()
    body = first["body"]
    assert body["action"] == "schedule-deletion"
    assert {k: body["deletion"][k] for k in ("state", "due")} == {
        "state": "scheduled",
        "due": DUE.isoformat(),
    }
    assert {f["rule"] for f in body["findings"]} >= {"account-not-approved"}
    email = email_text(body, first["subject"])
    assert f"Deletion scheduled for {DUE.isoformat()} (UTC)" in email
    assert "ask for an exemption" in email  # how to avoid it
    assert world.pending() == [PROD_INSTANCE_ARN]

    world.clock.advance(GRACE - timedelta(minutes=1))
    assert world.fire_due() == []
    assert world.instances(PROD) == [PROD_INSTANCE_ARN]
    assert world.deletions() == 0

    world.clock.advance(timedelta(minutes=1))
    [result] = world.fire_due()
    assert result["status"] == "alerted"
    [second] = world.alerts()
    assert second["trigger"]["kind"] == "grace-ended"
    assert second["action"] == "delete-instance"
    assert second["remediation"]["status"] == "deleted"
    assert world.instances(PROD) == []
    assert world.pending() == []


def test_a_per_rule_grace_period_replaces_the_policys(world: World, policy: Policy) -> None:
    rules = {
        **policy.rules,
        "account-not-approved": RuleSettings(action="remediate", grace_period_hours=2),
        "missing-justification": RuleSettings(action="alert"),
    }
    world.deploy(replace(policy, rules=rules))
    world.deliver(sample("create-instance-console-success"))
    [body] = world.alerts()
    assert body["deletion"]["due"] == (NOW + timedelta(hours=2)).isoformat()


def test_with_several_rules_asking_the_deletion_is_due_at_the_latest_of_their_deadlines(
    world: World, policy: Policy
) -> None:
    rules = {
        **policy.rules,
        "account-not-approved": RuleSettings(action="remediate", grace_period_hours=2),
        "missing-justification": RuleSettings(action="remediate", grace_period_hours=48),
    }
    world.deploy(replace(policy, rules=rules))
    world.deliver(sample("create-instance-console-success"))
    [body] = world.alerts()
    due = (NOW + timedelta(hours=48)).isoformat()
    assert body["deletion"]["due"] == due
    assert due in body["action_reason"]
    world.clock.advance(timedelta(hours=2))
    assert world.fire_due() == []
    assert world.deletions() == 0


def test_an_exemption_granted_during_the_grace_period_saves_the_instance(
    world: World, policy: Policy
) -> None:
    world.deliver(sample("create-instance-console-success"))
    assert world.alerts()[0]["action"] == "schedule-deletion"

    exemption = Exemption(
        instance_arn=PROD_INSTANCE_ARN, expires=date(2027, 1, 31), ticket="SEC-9", reason="kept for audit"
    )
    world.deploy(replace(policy, exemptions=(*policy.exemptions, exemption)))
    world.clock.advance(GRACE)
    [result] = world.fire_due()

    assert result["status"] == "alerted"
    [notice] = world.alerts()
    assert notice["verdict"] == "resolved"
    assert notice["resolved"]["why"] == "exempted"
    assert notice["remediation"] is None
    assert world.instances(PROD) == [PROD_INSTANCE_ARN]
    assert world.deletions() == 0
    assert world.pending() == []


def test_tags_fixed_during_the_grace_period_cancel_the_deletion_at_once(world: World) -> None:
    world.deliver(untag_owner(world))
    [violation] = world.alerts()
    assert violation["action"] == "schedule-deletion"
    assert [f["rule"] for f in violation["findings"]] == ["missing-justification"]
    assert world.pending() == [SANDBOX_INSTANCE_ARN]

    world.clock.advance(timedelta(hours=3))
    world.deliver(tag_owner(world))
    [notice] = world.alerts()
    assert notice["verdict"] == "resolved"
    assert {k: notice["deletion"][k] for k in ("state", "due")} == {
        "state": "cancelled",
        "due": DUE.isoformat(),
    }
    assert world.pending() == []

    world.clock.advance(GRACE)
    assert world.fire_due() == []
    assert world.instances(SANDBOX) == [SANDBOX_INSTANCE_ARN]
    assert world.deletions() == 0


def test_a_rename_during_the_grace_period_does_not_cancel_the_deletion(world: World) -> None:
    world.deliver(untag_owner(world))
    world.alerts()
    update = sample("update-instance")
    assert update["detail"]["requestParameters"]["instanceArn"] == SANDBOX_INSTANCE_ARN
    world.deliver(update)
    world.alerts()
    assert world.pending() == [SANDBOX_INSTANCE_ARN]


def test_an_instance_its_owner_deletes_during_the_grace_period_loses_its_schedule(world: World) -> None:
    world.deliver(untag_owner(world))
    world.alerts()
    administrator_client(SANDBOX, "sso-admin", region="us-east-1").delete_instance(
        InstanceArn=SANDBOX_INSTANCE_ARN
    )
    delete = sample("delete-instance")
    assert delete["detail"]["requestParameters"]["instanceArn"] == SANDBOX_INSTANCE_ARN
    world.deliver(delete)
    assert world.pending() == []


def test_facts_that_cannot_be_read_at_a_tag_change_keep_the_deletion_pending(world: World) -> None:
    from emulator.wire import ACCESS_DENIED, AwsWire

    world.deliver(untag_owner(world))
    world.alerts()
    with AwsWire() as wire:
        wire.fail("sso-admin", "ListTagsForResource", error=ACCESS_DENIED)
        world.deliver(tag_event("TagResource", SANDBOX_INSTANCE_ARN, tags={"team": "data"}))
    assert world.pending() == [SANDBOX_INSTANCE_ARN]


# -- applications ---------------------------------------------------------------------------------


def test_an_instance_serving_applications_is_not_deleted_by_default_and_they_are_named(
    world: World,
) -> None:
    world.env.identity_center.attach_application(PROD_INSTANCE_ARN, name="Q Business pilot")
    world.deliver(sample("create-instance-console-success"))

    [body] = world.alerts()
    assert body["action"] == "alert"
    assert "Q Business pilot" in body["action_reason"]
    assert [a["name"] for a in body["applications"]] == ["Q Business pilot"]
    assert world.pending() == []
    world.clock.advance(GRACE * 2)
    assert world.fire_due() == []
    assert world.instances(PROD) == [PROD_INSTANCE_ARN]


def test_an_application_attached_during_the_grace_period_stops_the_deletion(world: World) -> None:
    world.deliver(sample("create-instance-console-success"))
    world.alerts()
    world.env.identity_center.attach_application(PROD_INSTANCE_ARN, name="Q Business pilot")
    world.clock.advance(GRACE)
    world.fire_due()
    [body] = world.alerts()
    assert body["remediation"] is None
    assert "Q Business pilot" in body["action_reason"]
    assert world.instances(PROD) == [PROD_INSTANCE_ARN]


def test_the_policy_may_delete_instances_with_applications_and_the_alert_names_them(
    world: World, policy: Policy
) -> None:
    world.deploy(
        replace(
            policy, enforcement=Enforcement(grace_period_hours=24, delete_instances_with_applications=True)
        )
    )
    world.env.identity_center.attach_application(PROD_INSTANCE_ARN, name="Q Business pilot")
    world.deliver(sample("create-instance-console-success"))
    world.alerts()
    world.clock.advance(GRACE)
    world.fire_due()
    [body] = world.alerts()
    assert body["remediation"]["status"] == "deleted"
    assert [a["name"] for a in body["applications"]] == ["Q Business pilot"]


# -- exactly once ---------------------------------------------------------------------------------


def test_five_deliveries_and_two_firings_make_one_deletion(world: World) -> None:
    event = sample("create-instance-console-success")
    results = [world.deliver(event) for _ in range(5)]
    assert [r["status"] for r in results if r] == ["alerted"] + ["duplicate"] * 4
    assert len(world.alerts()) == 1
    assert world.pending() == [PROD_INSTANCE_ARN]

    world.clock.advance(GRACE)
    due = due_schedules(world.env.scheduler_client(), world.env.deletion_schedule_group, world.clock())
    [schedule] = due
    first = detect.process(schedule.input, world.runtime)
    again = detect.process(schedule.input, world.runtime)  # Scheduler delivers at least once

    assert (first["status"], again["status"]) == ("alerted", "duplicate")
    assert world.deletions() == 1
    assert len(world.alerts()) == 1


def test_a_second_event_for_a_pending_deletion_keeps_the_one_schedule(world: World) -> None:
    world.deliver(untag_owner(world))
    world.alerts()
    world.clock.advance(timedelta(hours=1))
    world.deliver(untag_owner(world))  # nothing new: no alert, the first deadline stands
    assert world.alerts() == []
    assert world.pending() == [SANDBOX_INSTANCE_ARN]
    [schedule] = schedules(world.env.scheduler_client(), world.env.deletion_schedule_group)
    assert schedule.at == DUE


# -- the hourly cap -------------------------------------------------------------------------------


def test_past_the_hourly_cap_nothing_more_is_deleted_and_one_critical_alert_says_so(
    world: World, policy: Policy
) -> None:
    world.deploy(replace(policy, enforcement=Enforcement(grace_period_hours=0, max_deletions_per_hour=2)))
    for event in unapproved_instances(world, 4):
        world.deliver(event)

    bodies = world.alerts()
    assert world.deletions() == 2
    cap = [b for b in bodies if b.get("kind") == "deletion-cap"]
    assert len(cap) == 1
    assert cap[0]["severity"] == "critical"
    outcomes = sorted(b["remediation"]["status"] for b in bodies if b.get("remediation"))
    assert outcomes == ["deleted", "deleted", "skipped", "skipped"]

    world.clock.advance(timedelta(hours=1))  # a new hour: deletions resume
    [event] = unapproved_instances(world, 1)
    world.deliver(event)
    assert world.deletions() == 3


# -- tag changes ----------------------------------------------------------------------------------


def test_tags_removed_after_a_compliant_creation_raise_one_violation(world: World, policy: Policy) -> None:
    world.deploy(replace(policy, mode=Mode.DRY_RUN))
    world.deliver(sample("create-instance-cli-trial-tagged"))
    [created] = world.alerts()
    assert created["verdict"] == "compliant"

    event = untag_owner(world)
    world.deliver(event)
    world.deliver(event)  # a redelivery
    world.deliver(tag_event("TagResource", SANDBOX_INSTANCE_ARN, tags={"team": "data"}))  # no news
    [violation] = world.alerts()
    assert violation["verdict"] == "violation"
    assert [f["rule"] for f in violation["findings"]] == ["missing-justification"]
    assert violation["trigger"]["kind"] == "api-call"
    assert violation["event_name"] == "UntagResource"


def test_an_expiry_pushed_past_the_policy_is_a_violation(world: World, policy: Policy) -> None:
    world.deploy(replace(policy, mode=Mode.DRY_RUN))
    administrator_client(SANDBOX, "sso-admin", region="us-east-1").tag_resource(
        InstanceArn=SANDBOX_INSTANCE_ARN,
        ResourceArn=SANDBOX_INSTANCE_ARN,
        Tags=[{"Key": "expires", "Value": "2027-06-30"}],
    )
    world.deliver(tag_event("TagResource", SANDBOX_INSTANCE_ARN, tags={"expires": "2027-06-30"}))
    [violation] = world.alerts()
    assert [f["rule"] for f in violation["findings"]] == ["trial-expiry"]


def test_a_permission_sets_tag_change_is_nothing_to_the_guardrail(world: World) -> None:
    permission_set = (
        f"arn:aws:sso:::permissionSet/{SANDBOX_INSTANCE_ARN.rsplit('/', 1)[-1]}/ps-0123456789abcdef"
    )
    event = tag_event("UntagResource", permission_set, instance_arn=SANDBOX_INSTANCE_ARN, tag_keys=("owner",))
    assert world.deliver(event) is None
    assert world.alerts() == []
    assert world.env.dead_letters() == []


def test_a_failed_tag_change_alerts_nothing(world: World) -> None:
    event = untag_owner(world)
    event["detail"]["errorCode"] = "AccessDeniedException"
    event["detail"]["errorMessage"] = "User is not authorized to perform: sso:UntagResource"
    result = world.deliver(event)
    assert result is not None
    assert result["status"] == "recorded"
    assert world.alerts() == []
    assert world.pending() == []


# -- dry-run --------------------------------------------------------------------------------------


def test_dry_run_states_the_plan_and_schedules_and_deletes_nothing(world: World, policy: Policy) -> None:
    world.deploy(replace(policy, mode=Mode.DRY_RUN))
    world.deliver(sample("create-instance-console-success"))
    [body] = world.alerts()
    assert body["action"] == "would-delete-instance"
    assert f"after a grace period of 24 h, at {DUE.isoformat()}" in body["action_reason"]
    assert world.pending() == []
    world.clock.advance(GRACE * 2)
    assert world.fire_due() == []
    assert world.deletions() == 0
    assert world.instances(PROD) == [PROD_INSTANCE_ARN]


def test_due_input_that_is_malformed_lands_in_the_dead_letter_queue(world: World) -> None:
    result = detect.process({"kind": "deletion-due", "instance_arn": "not-an-arn"}, world.runtime)
    assert result["status"] == "rejected"
    [letter] = world.env.dead_letters()
    assert "deletion-due" in json.dumps(letter)


def test_the_schedule_is_a_one_time_utc_schedule_kept_until_the_function_removes_it(world: World) -> None:
    world.deliver(sample("create-instance-console-success"))
    client = world.env.scheduler_client()
    [summary] = client.list_schedules(GroupName=world.env.deletion_schedule_group)["Schedules"]
    schedule = client.get_schedule(Name=summary["Name"], GroupName=world.env.deletion_schedule_group)
    assert schedule["ScheduleExpression"] == f"at({DUE.astimezone(UTC):%Y-%m-%dT%H:%M:%S})"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    # Kept after it fires, so that the firing can be matched with it; the function removes it.
    assert schedule["ActionAfterCompletion"] == "NONE"
    assert schedule["Target"]["Arn"] == world.env.detect_function_arn
    assert schedule["Target"]["RoleArn"] == world.env.deletion_scheduler_role_arn
