"""A deployed sweep's execution, step by step as its state machine runs it, for the sweep tests."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import boto3

from emulator.distributed_map import run_distributed_map
from emulator.environment import EmulatedEnvironment
from guardrail.handlers import sweep as handlers


def deployed_sweep(world: EmulatedEnvironment, when: datetime, *, summaries: int = 1) -> dict[str, Any]:
    """Plan, map (batches of 10) and summarize, `summaries` times as a retried step would; the
    summary step's last output. The sweep functions' environment must be set."""
    planned = handlers.plan({"run_id": f"sweep-{uuid.uuid4()}", "started_at": when.isoformat()})
    runtime = handlers.worker_runtime()
    mapped = run_distributed_map(
        boto3.client("s3", region_name=world.region),
        bucket=planned["bucket"],
        items_key=planned["items_key"],
        batch_input={k: planned[k] for k in ("run_id", "started_at", "bucket", "snapshot_key")},
        max_items_per_batch=10,
        result_prefix="map-results",
        worker=lambda event: handlers.work(event, runtime),
    )
    for _ in range(summaries):
        out = handlers.summarize_run({"plan": planned, "map": mapped}, now=when + timedelta(minutes=3))
    return out
