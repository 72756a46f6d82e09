"""The deployed sweep's steps on the emulation: planner, the Distributed Map (the emulator's) around the worker, summary."""

from __future__ import annotations

import json
import queue
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from unittest import mock

import boto3
import botocore.session

from benchmarks.sweep.attribution import Attribution
from benchmarks.sweep.organization import Organization
from benchmarks.sweep.settings import BATCH_SIZE, NOW
from emulator.distributed_map import run_distributed_map
from emulator.environment import EmulatedEnvironment
from emulator.wire import AwsWire, WireCall
from guardrail.adapters.clients import AwsClients

if TYPE_CHECKING:
    from guardrail.handlers.sweep import WorkerRuntime


@dataclass(frozen=True)
class BatchRun:
    started: float
    ended: float
    accounts: int
    input_bytes: int
    output_bytes: int
    failed: str | None


@dataclass
class Stage:
    """One step of the run (planner, map, summary): its wall time and the calls it made."""

    seconds: float
    calls: list[WireCall]
    cpu_seconds: float = 0.0
    output: dict[str, Any] | None = None  # the map's: where its ResultWriter wrote


class Sweep:
    """The emulated organization with the sweep's functions pointed at it."""

    def __init__(self, env: EmulatedEnvironment, organization: Organization, latency: float) -> None:
        self.env = env
        self.organization = organization
        self.latency = latency
        members = set(organization.accounts) | set(env.organization.member_account_ids)
        self.organization_accounts = len(members) + 1  # and the management account
        # The member accounts that own an instance (the example organization's own included).
        self.with_instance = {owner for owner in organization.owner_of.values() if owner in members}
        self.attribution = Attribution(members, organization.owner_of)
        first = botocore.session.get_session()
        self._loader = first.get_component("data_loader")

    # ---------------------------------------------------------------- the functions' sessions
    def session(self, *, fresh_models: bool = False) -> boto3.session.Session:
        """A function's session. Warm functions have loaded their service models: the sessions
        share one loader, unless `fresh_models` (a cold start loads them from disk)."""
        core = botocore.session.get_session()
        if not fresh_models:
            core.register_component("data_loader", self._loader)
        session = boto3.session.Session(botocore_session=core)
        self.attribution.register(session)
        return session

    def runtime(self, *, concurrent_accounts: int | None = None, cold: bool = False) -> WorkerRuntime:
        """A worker's execution environment: warm (its service models loaded and its own clients
        made), or `cold` (a new session, which loads each model from disk on first use)."""
        from guardrail.handlers import sweep as handlers

        clients = AwsClients(self.session(fresh_models=cold))
        if concurrent_accounts is None:
            built = handlers.build_worker(clients)
        else:
            with mock.patch("guardrail.sweep.worker.CONCURRENT_ACCOUNTS", concurrent_accounts):
                built = handlers.build_worker(clients)
        if not cold:
            for service in ("sts", "s3", "dynamodb", "sns"):
                built.clients.client(service)
        return built

    # ---------------------------------------------------------------- the steps
    def plan(self, wire: AwsWire) -> tuple[dict[str, Any], Stage]:
        from guardrail.handlers import sweep as handlers

        clients = AwsClients(self.session())
        event = {"run_id": f"bench-{uuid.uuid4()}", "started_at": NOW.isoformat()}
        with wire.recording() as calls:
            started = time.perf_counter()
            planned = handlers.plan(event, clients)
            seconds = time.perf_counter() - started
        return planned, Stage(seconds, calls)

    def items(self, planned: dict[str, Any]) -> list[dict[str, Any]]:
        """The map's ItemReader: Step Functions reads the items, no function does."""
        body = boto3.client("s3", region_name=self.env.region).get_object(
            Bucket=planned["bucket"], Key=planned["items_key"]
        )["Body"]
        items: list[dict[str, Any]] = json.loads(body.read())
        return items

    def map(
        self,
        wire: AwsWire,
        planned: dict[str, Any],
        batches: Sequence[Sequence[dict[str, Any]]],
        runtimes: Sequence[WorkerRuntime],
        concurrency: int,
    ) -> tuple[list[BatchRun], list[dict[str, Any]], Stage]:
        """Run the batches through the emulator's Distributed Map, `concurrency` children at once,
        each on a free runtime. The map reads the items from S3: the planner's, or (for a sample
        of batches) the same accounts written beside them."""
        from guardrail.handlers import sweep as handlers

        s3 = boto3.client("s3", region_name=self.env.region)
        items = [item for batch in batches for item in batch]
        items_key = planned["items_key"]
        if items != self.items(planned):
            items_key = f"{planned['items_key']}.sample-{uuid.uuid4()}.json"
            s3.put_object(Bucket=planned["bucket"], Key=items_key, Body=json.dumps(items).encode())
        free: queue.Queue[WorkerRuntime] = queue.Queue()
        for runtime in runtimes:
            free.put(runtime)
        runs: list[BatchRun] = []
        outputs: list[dict[str, Any]] = []

        def child(event: dict[str, Any]) -> dict[str, Any]:
            runtime = free.get()
            started = time.perf_counter()
            failed = None
            output: dict[str, Any] = {}
            try:
                output = handlers.work(event, runtime)
                return output
            except Exception as error:  # a failed child execution: the map records it
                failed = f"{type(error).__name__}: {error}"
                raise
            finally:
                ended = time.perf_counter()
                free.put(runtime)
                outputs.append({"Output": json.dumps(output), "failed": failed})
                runs.append(
                    BatchRun(
                        started,
                        ended,
                        len(event["Items"]),
                        len(json.dumps(event)),
                        len(json.dumps(output)),
                        failed,
                    )
                )

        with wire.recording() as calls:
            started, cpu = time.perf_counter(), time.process_time()
            mapped = run_distributed_map(
                s3,
                bucket=planned["bucket"],
                items_key=items_key,
                batch_input={k: planned[k] for k in ("run_id", "started_at", "bucket", "snapshot_key")},
                max_items_per_batch=BATCH_SIZE,
                result_prefix="map-results",
                worker=child,
                max_concurrency=concurrency,
            )
            stage = Stage(time.perf_counter() - started, calls, time.process_time() - cpu, mapped)
        runs.sort(key=lambda r: r.started)
        return runs, outputs, stage

    def summarize(
        self, wire: AwsWire, planned: dict[str, Any], mapped: Stage
    ) -> tuple[dict[str, Any], Stage]:
        """The summary step on what the map's ResultWriter wrote."""
        from guardrail.handlers import sweep as handlers

        request = {"plan": planned, "map": mapped.output}
        clients = AwsClients(self.session())
        with wire.recording() as calls:
            started = time.perf_counter()
            try:
                summary = handlers.summarize_run(request, clients, now=NOW + timedelta(minutes=10))
            except Exception as error:  # the summary is written before it is published
                summary = {
                    "summary_key": f"runs/{planned['run_id']}/summary.json",
                    "error": f"{type(error).__name__}: {error}",
                }
            seconds = time.perf_counter() - started
        return summary, Stage(seconds, calls)

    def reset(self) -> None:
        """Between measurements: forget the inventory and drain the alerts, so each sweep finds
        the organization as the first sweep does."""
        dynamodb = boto3.client("dynamodb", region_name=self.env.region)
        table = self.env.inventory_table_name
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page.get("Items", []):
                dynamodb.delete_item(TableName=table, Key={"instance_arn": item["instance_arn"]})
        self.env.received_alerts()
