"""The sweep on the emulated organization: the deployed steps (planner, worker, summary) around an
in-process Distributed Map, and `guardrail sweep`, read-only."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from msgspec.structs import replace

from emulator.environment import PROD_INSTANCE_ARN, SANDBOX_INSTANCE_ARN, EmulatedEnvironment
from emulator.function_environment import sweep_environment
from emulator.organization import administrator_client
from emulator.scheduler import DueSchedule, schedules
from emulator.sweep_example import (
    CAROL_ACCOUNT_ID,
    CAROL_INSTANCE_ARN,
    DATA_SCIENCE_INSTANCE_ARN,
    DAVE_INSTANCE_ARNS,
    LEGACY_ACCOUNT_ID,
    add_sweep_example,
)
from guardrail.adapters.clients import AwsClients
from guardrail.channels.alert_topic import SnsAlertPublisher
from guardrail.channels.delivery import UndeliveredAlert
from guardrail.core.policy import Enforcement, Exemption, Mode, Policy, RuleSettings, policy_data
from guardrail.handlers import detect
from guardrail.handlers import sweep as handlers
from guardrail.inventory.table import InventoryTable
from guardrail.sweep.summary import summary_text
from guardrail_cli.emulated import LambdaContextStub
from guardrail_cli.sweep import SweepSettings, sweep
from tests.builders import sample
from tests.integration.sweeping import deployed_sweep as run_sweep

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2")


@pytest.fixture
def world(tmp_path: Path, policy: Policy) -> Iterator[EmulatedEnvironment]:
    """The sweep's example organization, with every function's environment pointed at it."""
    with EmulatedEnvironment() as env:
        add_sweep_example(env, today=NOW)
        policy_path = tmp_path / "policy.json"
        policy_path.write_text(json.dumps(policy_data(policy)))
        variables = sweep_environment(env, policy_path, REGIONS)
        with mock.patch.dict(os.environ, variables):
            detect.runtime.cache_clear()
            handlers.worker_runtime.cache_clear()
            yield env
            handlers.worker_runtime.cache_clear()
            detect.runtime.cache_clear()


def deployed_sweep(world: EmulatedEnvironment, when: datetime = NOW) -> dict[str, Any]:
    return run_sweep(world, when)


def instance_alerts(world: EmulatedEnvironment) -> dict[str, dict[str, Any]]:
    """The alerts published since the last call, by instance ARN (the summary message left out)."""
    alerts = [a["body"] for a in world.received_alerts()]
    summaries = [a for a in alerts if a.get("kind") == "sweep-summary"]
    assert len(summaries) <= 1
    by_arn: dict[str, dict[str, Any]] = {}
    for alert in alerts:
        if alert.get("kind") != "sweep-summary":
            assert alert["instance_arn"] not in by_arn, f"two alerts about {alert['instance_arn']}"
            by_arn[alert["instance_arn"]] = alert
    return by_arn


VIOLATING = {PROD_INSTANCE_ARN, CAROL_INSTANCE_ARN, *DAVE_INSTANCE_ARNS}


def test_a_sweep_finds_every_instance_and_alerts_each_violation_once(world: EmulatedEnvironment) -> None:
    summary = deployed_sweep(world)
    assert summary["unreadable"] == 1
    alerts = instance_alerts(world)
    assert set(alerts) == VIOLATING
    prod = alerts[PROD_INSTANCE_ARN]
    assert [f["rule"] for f in prod["findings"]] == ["account-not-approved", "missing-justification"]
    assert (prod["trigger"]["kind"], prod["change"], prod["learnt_by"], prod["announced"]) == (
        "sweep",
        "new",
        "sweep",
        False,
    )
    assert prod["event_id"] is None
    assert [f["rule"] for f in alerts[CAROL_INSTANCE_ARN]["findings"]] == ["region-not-allowed"]
    assert alerts[CAROL_INSTANCE_ARN]["region"] == "ap-southeast-2"
    assert {f["rule"] for a in DAVE_INSTANCE_ARNS for f in alerts[a]["findings"]} == {"second-instance"}
    # Nothing is deleted by a sweep, even where a rule asks to remediate.
    assert all(a["action"] in {"alert", "none"} for a in alerts.values())

    # The second sweep finds the same: it says nothing new.
    deployed_sweep(world, NOW + timedelta(days=1))
    assert instance_alerts(world) == {}

    inventory = InventoryTable(boto3.client("dynamodb", region_name=world.region), world.inventory_table_name)
    record = inventory.get(DATA_SCIENCE_INSTANCE_ARN)
    assert record is not None
    assert (record.verdict, record.learnt_by, record.applications) == (
        "compliant",
        "sweep",
        ("Q Business PoC",),
    )


def test_a_changed_violation_alerts_once_and_a_deleted_instance_once_more(world: EmulatedEnvironment) -> None:
    deployed_sweep(world)
    world.received_alerts()
    # Prod tags its instance: still not approved, but justified now.
    administrator_client("444444444444", "sso-admin", region="eu-west-1").tag_resource(
        InstanceArn=PROD_INSTANCE_ARN,
        ResourceArn=PROD_INSTANCE_ARN,
        Tags=[{"Key": "purpose", "Value": "isolated-users"}, {"Key": "owner", "Value": "alice@example.com"}],
    )
    deployed_sweep(world, NOW + timedelta(days=1))
    alerts = instance_alerts(world)
    assert set(alerts) == {PROD_INSTANCE_ARN}
    assert alerts[PROD_INSTANCE_ARN]["change"] == "changed"
    assert [f["rule"] for f in alerts[PROD_INSTANCE_ARN]["findings"]] == ["account-not-approved"]

    # Carol deletes her instance: one resolved notice, and the inventory marks it gone.
    administrator_client(CAROL_ACCOUNT_ID, "sso-admin", region="ap-southeast-2").delete_instance(
        InstanceArn=CAROL_INSTANCE_ARN
    )
    deployed_sweep(world, NOW + timedelta(days=2))
    alerts = instance_alerts(world)
    assert set(alerts) == {CAROL_INSTANCE_ARN}
    notice = alerts[CAROL_INSTANCE_ARN]
    assert (notice["verdict"], notice["change"], notice["resolved"]) == (
        "resolved",
        "resolved",
        {"why": "gone", "rules": ["region-not-allowed"]},
    )
    inventory = InventoryTable(boto3.client("dynamodb", region_name=world.region), world.inventory_table_name)
    record = inventory.get(CAROL_INSTANCE_ARN)
    assert record is not None
    assert record.gone_at is not None
    deployed_sweep(world, NOW + timedelta(days=3))
    assert instance_alerts(world) == {}


def test_an_unchanged_violation_is_repeated_after_the_reminder_interval(world: EmulatedEnvironment) -> None:
    deployed_sweep(world)
    world.received_alerts()
    deployed_sweep(world, NOW + timedelta(days=6))
    assert instance_alerts(world) == {}
    deployed_sweep(world, NOW + timedelta(days=7))
    alerts = instance_alerts(world)
    assert set(alerts) == VIOLATING
    assert {a["change"] for a in alerts.values()} == {"reminder"}


def test_what_an_event_alerted_the_sweep_does_not_alert_again(world: EmulatedEnvironment) -> None:
    runtime = detect.build_runtime(clock=lambda: NOW)
    runtime.once.register(LambdaContextStub())  # type: ignore[arg-type]
    detect.process(sample("create-instance-console-success"), runtime)  # Prod, in violation
    detect.process(sample("create-instance-cli-trial-tagged"), runtime)  # Sandbox, compliant
    world.received_alerts()
    deployed_sweep(world)
    alerts = instance_alerts(world)
    assert PROD_INSTANCE_ARN not in alerts
    assert SANDBOX_INSTANCE_ARN not in alerts
    inventory = InventoryTable(boto3.client("dynamodb", region_name=world.region), world.inventory_table_name)
    record = inventory.get(PROD_INSTANCE_ARN)
    assert record is not None
    assert (record.learnt_by, record.announced) == ("event", True)


def test_the_summary_is_written_and_published_once(world: EmulatedEnvironment) -> None:
    summary = deployed_sweep(world)
    s3 = boto3.client("s3", region_name=world.region)
    written = json.loads(
        s3.get_object(Bucket=world.reports_bucket, Key=summary["summary_key"])["Body"].read()
    )
    assert written["accounts_by_state"] == {"ACTIVE": 28, "SUSPENDED": 1}
    assert written["accounts_swept"] == 27
    assert [u["account_id"] for u in written["unreadable"]] == [LEGACY_ACCOUNT_ID]
    assert written["posture"]["unprotected_accounts"] == ["222222222222"]
    assert written["api_calls"] > 27
    published = [a for a in world.received_alerts() if a["body"].get("kind") == "sweep-summary"]
    assert len(published) == 1
    assert published[0]["subject"].startswith("[SWEEP] 26 of 27 accounts read: 6 account instances")


def test_guardrail_sweep_reads_only(world: EmulatedEnvironment, policy: Policy) -> None:
    settings = SweepSettings(
        member_role_name=world.organization.member_role_name,
        regions=REGIONS,
        near_region="us-east-1",
        organizations_role_arn=world.organization.organizations_reader_role_arn,
        organization_instance_region="us-east-1",
    )
    summary = sweep(AwsClients(boto3.session.Session()), settings, policy, now=lambda: NOW)
    verdicts = {row.instance_arn: row.verdict for row in summary.rows}
    assert verdicts == {
        PROD_INSTANCE_ARN: "violation",
        CAROL_INSTANCE_ARN: "violation",
        **dict.fromkeys(DAVE_INSTANCE_ARNS, "violation"),
        SANDBOX_INSTANCE_ARN: "compliant",
        DATA_SCIENCE_INSTANCE_ARN: "compliant",
    }
    assert world.received_alerts() == []
    assert (
        boto3.client("dynamodb", region_name=world.region).scan(TableName=world.inventory_table_name)["Items"]
        == []
    )


def test_events_keep_the_inventory_current(world: EmulatedEnvironment) -> None:
    runtime = detect.build_runtime(clock=lambda: NOW)
    runtime.once.register(LambdaContextStub())  # type: ignore[arg-type]
    inventory = InventoryTable(boto3.client("dynamodb", region_name=world.region), world.inventory_table_name)
    detect.process(sample("create-instance-cli-trial-tagged"), runtime)
    created = inventory.get(SANDBOX_INSTANCE_ARN)
    assert created is not None
    assert (created.learnt_by, created.announced, created.verdict, created.gone_at) == (
        "event",
        True,
        "compliant",
        None,
    )
    detect.process(sample("update-instance"), runtime)
    updated = inventory.get(SANDBOX_INSTANCE_ARN)
    assert updated is not None
    assert updated.name == sample("update-instance")["detail"]["requestParameters"]["name"]
    detect.process(sample("delete-instance"), runtime)
    deleted = inventory.get(SANDBOX_INSTANCE_ARN)
    assert deleted is not None
    assert deleted.gone_at is not None


def test_an_alert_that_cannot_be_published_fails_the_batch_and_is_published_by_its_retry(
    world: EmulatedEnvironment,
) -> None:
    run_id = f"sweep-{uuid.uuid4()}"
    planned = handlers.plan({"run_id": run_id, "started_at": NOW.isoformat()})
    runtime = handlers.worker_runtime()
    batch = {
        "Items": [{"account_id": CAROL_ACCOUNT_ID}],
        "BatchInput": {k: planned[k] for k in ("run_id", "started_at", "bucket", "snapshot_key")},
    }
    with (
        mock.patch.object(SnsAlertPublisher, "deliver", side_effect=RuntimeError("SNS is down")),
        pytest.raises(UndeliveredAlert),
    ):
        handlers.work(batch, runtime)
    assert instance_alerts(world) == {}
    handlers.work(batch, runtime)  # Step Functions retries the batch
    assert set(instance_alerts(world)) == {CAROL_INSTANCE_ARN}
    handlers.work(batch, runtime)  # and a retry after a success says nothing twice
    assert instance_alerts(world) == {}


def enforcing_after(policy: Policy, hours: int) -> Policy:
    """The policy in enforce mode, unapproved accounts deleted after a grace period of ``hours``."""
    rules = {**policy.rules, "account-not-approved": RuleSettings(action="remediate")}
    return replace(policy, mode=Mode.ENFORCE, rules=rules, enforcement=Enforcement(grace_period_hours=hours))


def redeploy(tmp_path: Path, policy: Policy) -> None:
    (tmp_path / "policy.json").write_text(json.dumps(policy_data(policy)))
    handlers.worker_runtime.cache_clear()


def test_a_sweep_schedules_deletions_and_cancels_them_when_exempted(
    world: EmulatedEnvironment, policy: Policy, tmp_path: Path
) -> None:
    enforcing = enforcing_after(policy, 48)
    redeploy(tmp_path, enforcing)
    due = NOW + timedelta(hours=48)
    summary = deployed_sweep(world)

    alerts = instance_alerts(world)
    prod = alerts[PROD_INSTANCE_ARN]
    assert prod["action"] == "schedule-deletion"
    assert {k: prod["deletion"][k] for k in ("state", "due")} == {
        "state": "scheduled",
        "due": due.isoformat(),
    }
    assert [s.input["instance_arn"] for s in pending(world)] == [PROD_INSTANCE_ARN]
    assert world.identity_center.instances("444444444444")  # a sweep never deletes on the spot
    inventory = InventoryTable(boto3.client("dynamodb", region_name=world.region), world.inventory_table_name)
    record = inventory.get(PROD_INSTANCE_ARN)
    assert record is not None
    assert record.pending_deletion == due
    written = json.loads(
        boto3.client("s3", region_name=world.region)
        .get_object(Bucket=world.reports_bucket, Key=summary["summary_key"])["Body"]
        .read()
    )
    [row] = [r for r in written["rows"] if r["instance_arn"] == PROD_INSTANCE_ARN]
    assert datetime.fromisoformat(row["deletion_due"]) == due

    # The next sweep finds it pending: no news, the same deadline.
    deployed_sweep(world, NOW + timedelta(hours=24))
    assert PROD_INSTANCE_ARN not in instance_alerts(world)
    [schedule] = pending(world)
    assert schedule.at == due

    exemption = Exemption(
        instance_arn=PROD_INSTANCE_ARN, expires=date(2027, 1, 31), ticket="SEC-9", reason="kept for audit"
    )
    redeploy(tmp_path, replace(enforcing, exemptions=(*enforcing.exemptions, exemption)))
    deployed_sweep(world, NOW + timedelta(hours=30))
    notice = instance_alerts(world)[PROD_INSTANCE_ARN]
    assert notice["verdict"] == "resolved"
    assert {k: notice["deletion"][k] for k in ("state", "due")} == {
        "state": "cancelled",
        "due": due.isoformat(),
    }
    assert pending(world) == []
    record = inventory.get(PROD_INSTANCE_ARN)
    assert record is not None
    assert record.pending_deletion is None


def test_a_deletion_scheduled_by_a_batch_whose_alert_failed_is_announced_by_its_retry(
    world: EmulatedEnvironment, policy: Policy, tmp_path: Path
) -> None:
    """The violation was alerted already; enforcement is switched on, so the next sweep's only news
    is the deletion it schedules. Its alert fails after the schedule was made: the retried batch
    finds the schedule there, and still says so, once."""
    deployed_sweep(world)
    assert PROD_INSTANCE_ARN in instance_alerts(world)
    redeploy(tmp_path, enforcing_after(policy, 48))
    when = NOW + timedelta(hours=1)
    planned = handlers.plan({"run_id": f"sweep-{uuid.uuid4()}", "started_at": when.isoformat()})
    runtime = handlers.worker_runtime()
    batch = {
        "Items": [{"account_id": "444444444444"}],
        "BatchInput": {k: planned[k] for k in ("run_id", "started_at", "bucket", "snapshot_key")},
    }
    with (
        mock.patch.object(SnsAlertPublisher, "deliver", side_effect=RuntimeError("SNS is down")),
        pytest.raises(UndeliveredAlert),
    ):
        handlers.work(batch, runtime)
    assert [s.input["instance_arn"] for s in pending(world)] == [PROD_INSTANCE_ARN]
    handlers.work(batch, runtime)  # Step Functions retries the batch
    alert = instance_alerts(world)[PROD_INSTANCE_ARN]
    assert {k: alert["deletion"][k] for k in ("state", "due")} == {
        "state": "scheduled",
        "due": (when + timedelta(hours=48)).isoformat(),
    }
    handlers.work(batch, runtime)
    assert instance_alerts(world) == {}


def test_guardrail_sweep_states_when_deletions_would_fall_due(
    world: EmulatedEnvironment, policy: Policy
) -> None:
    settings = SweepSettings(
        member_role_name=world.organization.member_role_name,
        regions=REGIONS,
        near_region="us-east-1",
        organizations_role_arn=world.organization.organizations_reader_role_arn,
        organization_instance_region="us-east-1",
    )
    summary = sweep(
        AwsClients(boto3.session.Session()), settings, enforcing_after(policy, 48), now=lambda: NOW
    )
    [row] = [r for r in summary.rows if r.instance_arn == PROD_INSTANCE_ARN]
    assert (row.action, row.deletion_due) == ("schedule-deletion", NOW + timedelta(hours=48))
    assert "due 2026-12-03 06:00Z" in summary_text(summary)
    assert pending(world) == []  # read-only: nothing scheduled


def summary_rows(world: EmulatedEnvironment, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of the summary the run wrote to the reports bucket."""
    written = boto3.client("s3", region_name=world.region).get_object(
        Bucket=world.reports_bucket, Key=summary["summary_key"]
    )
    rows: list[dict[str, Any]] = json.loads(written["Body"].read())["rows"]
    return rows


def pending(world: EmulatedEnvironment) -> list[DueSchedule]:
    return schedules(world.scheduler_client(), world.deletion_schedule_group)


def test_an_instance_still_being_created_is_recorded_incomplete_and_judged_once_active(
    world: EmulatedEnvironment, policy: Policy, tmp_path: Path
) -> None:
    """Its tags cannot be read before it is ACTIVE: the sweep records it as it is listed, says
    the rules that read it wait (`incomplete`, not a label of its own), and deletes nothing."""
    redeploy(
        tmp_path,
        replace(
            enforcing_after(policy, 0),
            rules={
                **policy.rules,
                "missing-justification": RuleSettings(action="remediate"),
            },
        ),
    )
    [account] = world.add_member_accounts(1, ou_path="Sandbox")
    arn = world.identity_center.seed_instance(
        account, "us-east-1", name="new-one", status="CREATE_IN_PROGRESS"
    )
    summary = deployed_sweep(world)
    [row] = [r for r in summary_rows(world, summary) if r["instance_arn"] == arn]
    assert (row["verdict"], row["status"]) == ("incomplete", "CREATE_IN_PROGRESS")
    record = InventoryTable(
        boto3.client("dynamodb", region_name=world.region), world.inventory_table_name
    ).get(arn)
    assert record is not None
    assert (record.status, record.verdict, record.pending_deletion) == (
        "CREATE_IN_PROGRESS",
        "incomplete",
        None,
    )
    assert arn not in [s.input["instance_arn"] for s in pending(world)]

    world.identity_center.complete_pending()  # now ACTIVE, and without the tags it needs
    summary = deployed_sweep(world, NOW + timedelta(days=1))
    [row] = [r for r in summary_rows(world, summary) if r["instance_arn"] == arn]
    assert row["verdict"] == "violation"
    assert "missing-justification" in row["rules"]
