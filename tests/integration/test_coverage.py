"""Where the guardrail is blind, found by the deployed sweep on the emulated organization: its
forwarding deployed in every member account and watched Region, then broken one way per account."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.environment import EmulatedEnvironment
from emulator.forwarding import (
    FORWARDING_DEAD_LETTER_QUEUE_NAME,
    FORWARDING_RULE_NAME,
    ForwardingStack,
    central_bus_arn,
    undeliverable_event,
)
from emulator.function_environment import sweep_environment
from emulator.sweep_example import (
    CAROL_ACCOUNT_ID,
    DATA_SCIENCE_ACCOUNT_ID,
    LEGACY_ACCOUNT_ID,
    SWEEP_REGIONS,
    add_sweep_example,
)
from guardrail.adapters.forwarding import ForwardingReader
from guardrail.core.policy import Policy, policy_data
from guardrail.handlers import sweep as handlers
from tests.integration.sweeping import deployed_sweep

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
SANDBOX, PROD = "333333333333", "444444444444"
COVERAGE = {
    "FORWARDING_RULE_NAME": FORWARDING_RULE_NAME,
    "FORWARDING_DEAD_LETTER_QUEUE_NAME": FORWARDING_DEAD_LETTER_QUEUE_NAME,
    "CENTRAL_BUS_ARN": central_bus_arn(),
}
Sweep = Callable[..., dict[str, Any]]


def world_watching(tmp_path: Path, policy: Policy, regions: tuple[str, ...]) -> Iterator[EmulatedEnvironment]:
    with EmulatedEnvironment() as env:
        add_sweep_example(env, today=NOW)
        policy_path = tmp_path / "policy.json"
        policy_path.write_text(json.dumps(policy_data(policy)))
        with mock.patch.dict(os.environ, {**sweep_environment(env, policy_path, regions), **COVERAGE}):
            handlers.worker_runtime.cache_clear()
            yield env
            handlers.worker_runtime.cache_clear()


@pytest.fixture
def world(tmp_path: Path, policy: Policy) -> Iterator[EmulatedEnvironment]:
    """The sweep's example organization, the worker told what to check for coverage."""
    yield from world_watching(tmp_path, policy, SWEEP_REGIONS)


def sweep(world: EmulatedEnvironment, day: int = 0, *, summarize_twice: bool = False) -> dict[str, Any]:
    """A deployed sweep `day` days on; the summary as written to S3."""
    out = deployed_sweep(world, NOW + timedelta(days=day), summaries=2 if summarize_twice else 1)
    summary: dict[str, Any] = json.loads(
        boto3.client("s3", region_name=world.region)
        .get_object(Bucket=world.reports_bucket, Key=out["summary_key"])["Body"]
        .read()
    )
    return summary


def coverage_alerts(world: EmulatedEnvironment) -> list[dict[str, Any]]:
    """The coverage alerts published since the last call (instance alerts and summaries left out)."""
    return [a for a in world.received_alerts() if a["body"].get("kind") == "coverage"]


def places(spots: list[dict[str, Any]]) -> set[tuple[str, str | None, str]]:
    return {(s["account_id"], s["region"], s["kind"]) for s in spots}


LEGACY = (LEGACY_ACCOUNT_ID, None, "role-not-assumable")


def test_a_healthy_organization_is_blind_only_where_the_member_role_is_missing(
    world: EmulatedEnvironment,
) -> None:
    summary = sweep(world)
    coverage = summary["coverage"]
    # 26 readable accounts, 4 Regions each, all read in full; Legacy Tools has no member role.
    assert (coverage["accounts_checked"], coverage["regions_checked"]) == (27, 104)
    assert places(coverage["blind_spots"]) == {LEGACY}
    assert coverage["unchecked"] == []
    assert summary["posture"]["blind_accounts"] == [LEGACY_ACCOUNT_ID]
    [alert] = coverage_alerts(world)
    assert alert["subject"] == f"[COVERAGE] 1 new blind spot: {LEGACY_ACCOUNT_ID} role-not-assumable"
    assert alert["attributes"]["severity"] == "high"
    assert places(alert["body"]["new"]) == {LEGACY}

    sweep(world, 1)
    assert coverage_alerts(world) == []  # known: not said again


def test_each_way_the_forwarding_breaks_is_reported_alerted_once_and_resolved(
    world: EmulatedEnvironment,
) -> None:
    ForwardingStack(SANDBOX, "eu-west-1").disable()
    ForwardingStack(PROD, "eu-central-1").delete_rule()
    ForwardingStack(DATA_SCIENCE_ACCOUNT_ID, "us-east-1").retarget(
        "arn:aws:events:us-east-1:999999999999:event-bus/default"
    )
    carol = ForwardingStack(CAROL_ACCOUNT_ID, "ap-southeast-2")
    carol.undeliverable(undeliverable_event(CAROL_ACCOUNT_ID, "ap-southeast-2"), count=2)
    broken = {
        (SANDBOX, "eu-west-1", "rule-disabled"),
        (PROD, "eu-central-1", "rule-missing"),
        (DATA_SCIENCE_ACCOUNT_ID, "us-east-1", "rule-not-targeting-central-bus"),
        (CAROL_ACCOUNT_ID, "ap-southeast-2", "events-undelivered"),
    }

    summary = sweep(world)
    spots = {(s["account_id"], s["region"], s["kind"]): s for s in summary["coverage"]["blind_spots"]}
    assert set(spots) == broken | {LEGACY}
    assert spots[(CAROL_ACCOUNT_ID, "ap-southeast-2", "events-undelivered")]["count"] == 2
    assert (
        "999999999999"
        in spots[(DATA_SCIENCE_ACCOUNT_ID, "us-east-1", "rule-not-targeting-central-bus")]["detail"]
    )
    assert (
        spots[(SANDBOX, "eu-west-1", "rule-disabled")]["fix"]
        == f"in account {SANDBOX}: aws events enable-rule --name {FORWARDING_RULE_NAME} --region eu-west-1"
    )
    assert summary["coverage"]["regions_checked"] == 104  # a broken Region was still read in full
    [alert] = coverage_alerts(world)
    assert places(alert["body"]["new"]) == broken | {LEGACY}
    assert alert["subject"].startswith("[COVERAGE] 5 new blind spots: ")
    assert all(spot["fix"] for spot in alert["body"]["new"])
    assert places(summary["coverage"]["new"]) == broken | {LEGACY}

    # Still broken the next day: nothing new to say.
    sweep(world, 1)
    assert coverage_alerts(world) == []

    # Two are fixed: one notice says they are resolved; the others stay known.
    ForwardingStack(SANDBOX, "eu-west-1").enable()
    assert carol.drain() == 2
    summary = sweep(world, 2)
    [notice] = coverage_alerts(world)
    assert notice["subject"].startswith("[COVERAGE] 2 blind spots resolved: ")
    assert (notice["attributes"]["verdict"], notice["attributes"]["severity"]) == ("resolved", "info")
    assert places(notice["body"]["resolved"]) == {
        (SANDBOX, "eu-west-1", "rule-disabled"),
        (CAROL_ACCOUNT_ID, "ap-southeast-2", "events-undelivered"),
    }
    assert notice["body"]["new"] == []
    assert len(summary["coverage"]["blind_spots"]) == 3
    sweep(world, 3)
    assert coverage_alerts(world) == []


def test_a_retried_summary_step_alerts_once(world: EmulatedEnvironment) -> None:
    ForwardingStack(SANDBOX, "eu-west-1").disable()
    summary = sweep(world, summarize_twice=True)
    [alert] = coverage_alerts(world)
    assert places(alert["body"]["new"]) == {(SANDBOX, "eu-west-1", "rule-disabled"), LEGACY}
    # The retry compared with the same baseline: its summary says the same is new.
    assert places(summary["coverage"]["new"]) == {(SANDBOX, "eu-west-1", "rule-disabled"), LEGACY}


def test_a_refused_read_leaves_its_region_unchecked_and_a_known_blind_spot_known(
    world: EmulatedEnvironment,
) -> None:
    stack = ForwardingStack(SANDBOX, "eu-west-1")
    stack.disable()
    sweep(world)
    coverage_alerts(world)
    stack.enable()
    original = ForwardingReader.rule_state

    def refused(self: ForwardingReader, rule_name: str) -> str | None:
        if self._events.meta.region_name == "eu-west-1":
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "DescribeRule"
            )
        return original(self, rule_name)

    with mock.patch.object(ForwardingReader, "rule_state", refused):
        summary = sweep(world, 1)
    unchecked = {(u["account_id"], u["region"]) for u in summary["coverage"]["unchecked"]}
    assert (SANDBOX, "eu-west-1") in unchecked
    assert len(unchecked) == 26  # every readable account's eu-west-1
    assert coverage_alerts(world) == []  # unknown is not resolved, and not a blind spot
    assert summary["coverage"]["regions_checked"] == 26 * 3

    sweep(world, 2)
    [notice] = coverage_alerts(world)
    assert places(notice["body"]["resolved"]) == {(SANDBOX, "eu-west-1", "rule-disabled")}


@pytest.fixture
def opt_in_world(tmp_path: Path, policy: Policy) -> Iterator[EmulatedEnvironment]:
    """Watching an opt-in Region too, which only Sandbox Bob has enabled (with its forwarding)."""
    regions = (*SWEEP_REGIONS, "me-south-1")
    for env in world_watching(tmp_path, policy, regions):
        env.account_regions.enable(SANDBOX, "me-south-1")
        ForwardingStack(SANDBOX, "me-south-1").deploy()
        handlers.worker_runtime.cache_clear()
        yield env


def test_an_opt_in_region_is_checked_where_the_account_enabled_it_only(
    opt_in_world: EmulatedEnvironment,
) -> None:
    summary = sweep(opt_in_world)
    assert places(summary["coverage"]["blind_spots"]) == {LEGACY}
    assert summary["coverage"]["regions_checked"] == 104 + 1
    ForwardingStack(SANDBOX, "me-south-1").delete_rule()
    summary = sweep(opt_in_world, 1)
    assert places(summary["coverage"]["blind_spots"]) == {LEGACY, (SANDBOX, "me-south-1", "rule-missing")}
