"""The deployed summary step writes the run's report beside its summary and links the alert to it;
the summary's accounts add up and name what was not swept (issue 18, point 7)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest

from emulator.distributed_map import run_distributed_map
from emulator.environment import EmulatedEnvironment
from emulator.function_environment import sweep_environment
from emulator.sweep_example import LEGACY_ACCOUNT_ID, RETIRED_ACCOUNT_ID, add_sweep_example
from guardrail.core.policy import Policy, policy_data
from guardrail.handlers import detect
from guardrail.handlers import sweep as handlers
from guardrail.sweep.report.history import HISTORY_KEY, decode_history
from tests.integration.sweeping import deployed_sweep

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2")


@pytest.fixture
def world(tmp_path: Path, policy: Policy) -> Iterator[EmulatedEnvironment]:
    with EmulatedEnvironment() as env:
        add_sweep_example(env, today=NOW)
        policy_path = tmp_path / "policy.json"
        policy_path.write_text(json.dumps(policy_data(policy)))
        with mock.patch.dict(
            os.environ, {**sweep_environment(env, policy_path, REGIONS), "AWS_REGION": env.region}
        ):
            detect.runtime.cache_clear()
            handlers.worker_runtime.cache_clear()
            yield env
            handlers.worker_runtime.cache_clear()
            detect.runtime.cache_clear()


def read(world: EmulatedEnvironment, key: str) -> tuple[bytes, str]:
    got = boto3.client("s3", region_name=world.region).get_object(Bucket=world.reports_bucket, Key=key)
    return got["Body"].read(), got["ContentType"]


def summaries(world: EmulatedEnvironment) -> list[dict[str, Any]]:
    return [a for a in world.received_alerts() if a["body"].get("kind") == "sweep-summary"]


def test_each_run_writes_its_report_and_the_summary_alert_links_to_it(world: EmulatedEnvironment) -> None:
    first = deployed_sweep(world, NOW)
    html, content_type = read(world, first["report_key"])
    assert first["report_key"] == f"runs/{first['run_id']}/report.html"
    assert content_type == "text/html; charset=utf-8"
    page = html.decode()
    assert page.startswith("<!doctype html>")
    assert "analytics-team" in page  # an instance of the organization, in its tree
    assert "accounts: 29 listed = 27 swept (26 read, 1 not readable) + 2 not swept" in page

    [published] = summaries(world)
    body = published["body"]
    assert body["report"] == {
        "bucket": world.reports_bucket,
        "key": first["report_key"],
        "region": world.region,
    }
    assert body["report_url"].startswith(f"https://{world.region}.console.aws.amazon.com/s3/object/")
    written = json.loads(read(world, first["summary_key"])[0])
    assert written["report"]["key"] == first["report_key"]
    assert written["organization"]["management_account_id"] == "111111111111"

    # Every account listed is swept or named, with why; the counts add up.
    assert written["not_swept"] == [
        {
            "account_id": "111111111111",
            "name": "Management",
            "state": "ACTIVE",
            "reason": "management account",
        },
        {"account_id": RETIRED_ACCOUNT_ID, "name": "Retired", "state": "SUSPENDED", "reason": "suspended"},
    ]
    assert written["posture"]["suspended_or_closed"] == written["not_swept"][1:]
    assert written["accounts_listed"] == written["accounts_swept"] + sum(
        written["not_swept_by_reason"].values()
    )
    assert [n["account_id"] for n in body["not_swept"]] == ["111111111111", RETIRED_ACCOUNT_ID]

    second = deployed_sweep(world, NOW + timedelta(days=1))
    history = decode_history(read(world, HISTORY_KEY)[0]).runs
    assert [p.run_id for p in history] == [first["run_id"], second["run_id"]]
    assert [p.instances for p in history] == [6, 6]
    # The second report draws both runs.
    assert read(world, second["report_key"])[0].decode().count("<circle") == 4


def test_a_retried_summary_step_keeps_one_point_and_an_unreadable_history_is_started_again(
    world: EmulatedEnvironment,
) -> None:
    boto3.client("s3", region_name=world.region).put_object(
        Bucket=world.reports_bucket, Key=HISTORY_KEY, Body=b"not json"
    )
    out = deployed_sweep(world, NOW, summaries=2)
    assert [p.run_id for p in decode_history(read(world, HISTORY_KEY)[0]).runs] == [out["run_id"]]
    assert out["report_key"] is not None
    assert len(summaries(world)) == 1


def test_a_failed_batch_is_named_and_a_report_that_cannot_be_written_is_said(
    world: EmulatedEnvironment,
) -> None:
    """The accounts of a batch the map gave up on are named, not swept; and a report that cannot be
    written leaves the summary whole, and its alert says so."""
    planned = handlers.plan({"run_id": f"sweep-{uuid.uuid4()}", "started_at": NOW.isoformat()})
    runtime = handlers.worker_runtime()

    def worker(event: dict[str, Any]) -> dict[str, Any]:
        if any(item["account_id"] == LEGACY_ACCOUNT_ID for item in event["Items"]):
            raise RuntimeError("the batch failed after its retries")
        return handlers.work(event, runtime)

    mapped = run_distributed_map(
        boto3.client("s3", region_name=world.region),
        bucket=planned["bucket"],
        items_key=planned["items_key"],
        batch_input={k: planned[k] for k in ("run_id", "started_at", "bucket", "snapshot_key")},
        max_items_per_batch=10,
        result_prefix="map-results",
        worker=worker,
    )
    with mock.patch("guardrail.sweep.report.store.render_report", side_effect=RuntimeError("template broke")):
        out = handlers.summarize_run({"plan": planned, "map": mapped}, now=NOW + timedelta(minutes=3))
    written = json.loads(read(world, out["summary_key"])[0])
    failed = [n for n in written["not_swept"] if n["reason"] == "batch failed"]
    assert LEGACY_ACCOUNT_ID in [n["account_id"] for n in failed]
    assert written["failed_batches"] == 1
    assert written["accounts_listed"] == written["accounts_swept"] + sum(
        written["not_swept_by_reason"].values()
    )

    assert out["report_key"] is None
    assert written["report"] is None
    [published] = summaries(world)
    assert published["body"]["report_failure"] == "RuntimeError: template broke"
