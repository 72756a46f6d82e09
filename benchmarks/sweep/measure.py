"""The measurements of one listing mode, and of the whole benchmark."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import itertools
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import boto3

from benchmarks.harness import EXAMPLE_POLICY
from benchmarks.sweep.attribution import ChainFigures, attribute, by_service, chains, is_read
from benchmarks.sweep.batches import (
    BatchFigures,
    Samples,
    StressFigures,
    batch_figures,
    cold_start_cost,
    measure_sts_stress,
    run_alone,
    spread,
)
from benchmarks.sweep.organization import aws_page_sizes, build_organization, indexed_access_keys
from benchmarks.sweep.projection import PlannerFigures, Projection, project
from benchmarks.sweep.run import Sweep
from benchmarks.sweep.settings import (
    BATCH_SIZE,
    GOAL_ACCOUNTS,
    MAX_CONCURRENCY,
    NEAR_REGION,
    QUOTA_SOURCES,
    QUOTAS,
    REGIONS,
    Batch,
    ProgressFn,
    quiet,
)
from emulator.environment import EmulatedEnvironment
from emulator.forwarding import FORWARDING_DEAD_LETTER_QUEUE_NAME, FORWARDING_RULE_NAME, central_bus_arn
from emulator.function_environment import sweep_environment
from emulator.wire import AwsWire, Throttle, longest_chain
from guardrail.core.policy import policy_data
from guardrail.core.policy_file import load_policy


@dataclass(frozen=True)
class ModeFigures:
    mode: str
    accounts: int  # swept by the plan
    batches: int
    samples: Samples
    mapped_batches: int
    mapped_accounts: int
    concurrency: int  # simulated child executions at once, in this process
    plan_seconds: float
    plan_calls: dict[str, int]
    plan_chain: int
    plan_throttled: int
    map_seconds: float
    map_cpu_seconds: float
    batch_seconds_in_map: float  # median per batch, while `concurrency` ran at once
    summary_seconds: float
    summary_calls: int
    summary_chain: int
    summary_error: str | None  # the summary step failed (after writing the summary) with this
    wall_seconds: float  # plan + map + summary, in this process
    calls: int
    calls_per_account: dict[str, float]  # by service, attributed to an account
    calls_per_batch: dict[str, float]  # by service, not about one account (snapshot, report)
    throttled: dict[str, int]  # calls refused by the throttle (botocore retried them), by quota
    reads: ChainFigures  # AssumeRole, then the calls with the role's credentials: batches alone
    with_recorder: ChainFigures  # the same with the recorder's inventory and alert calls
    reads_in_map: ChainFigures  # the reads while `concurrency` children shared this process
    reads_one_by_one: ChainFigures  # the reads of accounts swept one at a time (no other account's CPU)
    accounts_read: int
    unreadable: int
    instances: int
    violations: int
    child_input_bytes: int
    child_output_bytes: int
    plan_output_bytes: int
    snapshot_bytes: int
    alone: BatchFigures
    alone_slow: BatchFigures | None
    cold_start_seconds: float | None  # a child's first batch on a fresh session, less a warm one
    sequential_seconds_per_account: float
    sequential_sample_accounts: int
    sequential_projected_seconds: float
    speedup_in_process: float  # sequential (projected to every account) / this process's wall time
    projections: list[Projection] = field(default_factory=list)
    sts_stress: StressFigures | None = None


@dataclass
class SweepFigures:
    accounts: int
    organization_accounts: int
    regions: int
    latency_ms: float
    slow_latency_ms: float | None
    concurrency: int
    setup_seconds: float
    setup_accounts_seconds: float
    setup_instances_seconds: float
    unindexed_lookup_ms: float
    instances_seeded: int
    quotas: dict[str, dict[str, Any]]
    modes: list[ModeFigures] = field(default_factory=list)
    seconds: float = 0.0


def measure_mode(
    sweep: Sweep,
    mode: str,
    *,
    concurrency: int,
    slow_latency: float | None,
    progress: ProgressFn,
    cold_start_hint: float | None = None,
) -> ModeFigures:
    """One listing mode: the run (plan, map, summary), batches alone, the sequential sample, and
    the projections. `cold_start_hint` stands for a cold start this mode does not measure."""
    with_instance = sweep.with_instance
    latency = sweep.latency
    sweep.reset()
    with AwsWire(latency=latency, throttle=Throttle(QUOTAS)) as wire:
        progress(f"{mode}: planning")
        planned, plan = sweep.plan(wire)
        items = sweep.items(planned)
        batches: list[Batch] = list(itertools.batched(items, BATCH_SIZE))
        samples = Samples.for_mode(mode, len(batches))
        mapped = batches if samples.map_batches is None else spread(batches, samples.map_batches)
        running = min(concurrency, len(mapped))
        runtimes = [sweep.runtime() for _ in range(running)]
        progress(f"{mode}: {len(mapped)} batches, {running} at once (simulated Distributed Map)")
        runs, _, map_stage = sweep.map(wire, planned, mapped, runtimes, running)
        summary, summarized = sweep.summarize(wire, planned, map_stage)
        assert wire.throttle is not None
        throttled = dict(wire.throttle.throttled)
    in_map, per_batch = attribute(sweep.attribution, map_stage.calls)
    mapped_accounts = sum(len(b) for b in mapped)
    account_calls = [c for calls in in_map.values() for c in calls]

    alone_batches = spread(batches, samples.alone_batches)
    if running == 1 and list(alone_batches) == list(mapped):  # the map ran its one batch alone
        moto = sum(c.emulated_cpu_seconds for c in map_stage.calls)
        alone = batch_figures(
            latency,
            alone_batches,
            [runs[0].ended - runs[0].started],
            map_stage.cpu_seconds - moto,
            moto,
            with_instance,
        )
        alone_calls = map_stage.calls
    else:
        progress(f"{mode}: {samples.alone_batches} batches alone")
        alone, alone_calls = run_alone(sweep, planned, alone_batches, latency, with_instance)
    alone_by_account, _ = attribute(sweep.attribution, alone_calls)
    holders: list[Batch] = list(
        itertools.batched([{"account_id": a} for a in sorted(with_instance)], BATCH_SIZE)
    )
    if mode == "one call":
        # The accounts with an instance (those with 3 round trips), in batches of them run alone.
        chosen = spread(holders, 4)
        progress(f"{mode}: {len(chosen)} batches of accounts with an instance, alone")
        _, holder_calls = run_alone(sweep, planned, chosen, latency, with_instance)
        holder_by_account, _ = attribute(sweep.attribution, holder_calls)
        for account, calls in holder_by_account.items():
            alone_by_account.setdefault(account, calls)
    alone_slow = None
    if samples.slow and slow_latency is not None:
        progress(f"{mode}: batches alone at {slow_latency * 1000:g} ms")
        alone_slow, _ = run_alone(sweep, planned, alone_batches, slow_latency, with_instance)
    cold_start = None
    if samples.cold:
        progress(f"{mode}: a cold child, and a warm one on the same batch")
        cold_start = cold_start_cost(sweep, planned, alone_batches[0], latency)

    progress(f"{mode}: {samples.sequential_accounts} accounts one at a time")
    if samples.sequential_accounts < BATCH_SIZE:
        sequential_batches: list[Batch] = [alone_batches[0][: samples.sequential_accounts]]
    else:
        sequential_batches = spread(batches, samples.sequential_accounts // BATCH_SIZE)
    sequential_runtime = sweep.runtime(concurrent_accounts=1)
    sweep.reset()
    with AwsWire(latency=latency, throttle=Throttle(QUOTAS)) as wire:
        sequential_runs, _, sequential_stage = sweep.map(
            wire, planned, sequential_batches, [sequential_runtime], 1
        )
    sequential_accounts = sum(r.accounts for r in sequential_runs)
    per_account = sum(r.ended - r.started for r in sequential_runs) / sequential_accounts
    one_by_one, _ = attribute(sweep.attribution, sequential_stage.calls)
    if mode == "one call" and holders:
        # Two batches' worth of accounts with an instance, one at a time too.
        progress(f"{mode}: accounts with an instance one at a time")
        sweep.reset()
        with AwsWire(latency=latency, throttle=Throttle(QUOTAS)) as wire:
            _, _, stage = sweep.map(
                wire, planned, spread(holders, 2), [sweep.runtime(concurrent_accounts=1)], 1
            )
        for account, calls in attribute(sweep.attribution, stage.calls)[0].items():
            one_by_one.setdefault(account, calls)

    s3 = boto3.client("s3", region_name=sweep.env.region)
    report = json.loads(s3.get_object(Bucket=planned["bucket"], Key=summary["summary_key"])["Body"].read())
    snapshot = s3.head_object(Bucket=planned["bucket"], Key=planned["snapshot_key"])["ContentLength"]
    wall = plan.seconds + map_stage.seconds + summarized.seconds
    figures = ModeFigures(
        mode=mode,
        accounts=len(items),
        batches=len(batches),
        samples=samples,
        mapped_batches=len(mapped),
        mapped_accounts=mapped_accounts,
        concurrency=running,
        plan_seconds=round(plan.seconds, 2),
        plan_calls=by_service(plan.calls),
        plan_chain=len(longest_chain(plan.calls)),
        plan_throttled=sum(c.throttled for c in plan.calls),
        map_seconds=round(map_stage.seconds, 1),
        map_cpu_seconds=round(map_stage.cpu_seconds, 1),
        batch_seconds_in_map=round(statistics.median(r.ended - r.started for r in runs), 2),
        summary_seconds=round(summarized.seconds, 2),
        summary_calls=len(summarized.calls),
        summary_chain=len(longest_chain(summarized.calls)),
        summary_error=summary.get("error"),
        wall_seconds=round(wall, 1),
        calls=len(plan.calls) + len(map_stage.calls) + len(summarized.calls),
        calls_per_account={s: round(n / mapped_accounts, 2) for s, n in by_service(account_calls).items()},
        calls_per_batch={s: round(n / len(mapped), 2) for s, n in by_service(per_batch).items()},
        throttled=throttled,
        reads=chains(alone_by_account, with_instance, is_read),
        with_recorder=chains(alone_by_account, with_instance, lambda c: True),
        reads_in_map=chains(in_map, with_instance, is_read),
        reads_one_by_one=chains(one_by_one, with_instance, is_read),
        accounts_read=int(report["accounts_read"]),
        unreadable=len(report["unreadable"]),
        instances=int(report["instances"]),
        violations=int(report.get("by_verdict", {}).get("violation", 0)),
        child_input_bytes=max(r.input_bytes for r in runs),
        child_output_bytes=max(r.output_bytes for r in runs),
        plan_output_bytes=len(json.dumps(planned)),
        snapshot_bytes=int(snapshot),
        alone=alone,
        alone_slow=alone_slow,
        cold_start_seconds=None if cold_start is None else round(cold_start, 2),
        sequential_seconds_per_account=round(per_account, 3),
        sequential_sample_accounts=sequential_accounts,
        sequential_projected_seconds=round(per_account * len(items), 1),
        speedup_in_process=round(per_account * mapped_accounts / map_stage.seconds, 1),
    )
    snapshot_units = json.loads(
        s3.get_object(Bucket=planned["bucket"], Key=planned["snapshot_key"])["Body"].read()
    )["units"]
    planner = PlannerFigures(
        seconds=plan.seconds,
        organizations_calls=figures.plan_calls.get("organizations", 0),
        parents=len(snapshot_units) + 1,
        organization_accounts=sweep.organization_accounts,
        swept_accounts=len(items),
    )
    for measured in (alone, alone_slow):
        if measured is None:
            continue
        for target in dict.fromkeys((len(items), GOAL_ACCOUNTS)):
            figures.projections.append(
                project(
                    target,
                    measured,
                    planner=planner,
                    # The summary read the reports of the batches mapped: scaled to every batch.
                    summary_seconds=summarized.seconds * len(batches) / len(mapped),
                    measured_batches=len(batches),
                    cold_start_seconds=cold_start if cold_start is not None else cold_start_hint or 0.0,
                    sequential_seconds_per_account=per_account,
                )
            )
    if mode == "one call" and samples.cold:  # not in a quick run
        assume_roles = sum(c.operation == "AssumeRole" for c in map_stage.calls)
        demand = max(p.assume_role_rate for p in figures.projections if p.accounts == GOAL_ACCOUNTS)
        ratio = demand / QUOTAS["sts"].rate
        if ratio > 1:
            progress(f"{mode}: STS asked {ratio:.1f}x its quota")
            stress = measure_sts_stress(
                sweep, planned, batches, concurrency, ratio, assume_roles / map_stage.seconds
            )
            figures = dataclasses.replace(figures, sts_stress=stress)
    return figures


@contextlib.contextmanager
def _sweep_environment(env: EmulatedEnvironment, scratch: str) -> Iterator[None]:
    """The sweep functions' environment variables, as the stack sets them (the coverage check on), on
    the emulation."""
    policy_path = Path(scratch) / "policy.json"
    policy_path.write_text(json.dumps(policy_data(load_policy(EXAMPLE_POLICY))), encoding="utf-8")
    variables = {
        **sweep_environment(env, policy_path, REGIONS),
        "AWS_REGION": NEAR_REGION,
        # The coverage check, on as deployed (infra/constructs/sweep_functions.py names the same).
        "FORWARDING_RULE_NAME": FORWARDING_RULE_NAME,
        "FORWARDING_DEAD_LETTER_QUEUE_NAME": FORWARDING_DEAD_LETTER_QUEUE_NAME,
        "CENTRAL_BUS_ARN": central_bus_arn(),
    }
    with mock.patch.dict(os.environ, variables):
        from guardrail.handlers import sweep as handlers

        log = logging.getLogger(handlers.logger.name)
        level = log.level
        log.setLevel(logging.CRITICAL)
        try:
            yield
        finally:
            log.setLevel(level)


def measure_sweep(
    accounts: int = 2000,
    *,
    latency: float = 0.025,
    slow_latency: float | None = 0.1,
    concurrency: int = MAX_CONCURRENCY,
    modes: Sequence[str] = ("one call", "per Region"),
    progress: ProgressFn = quiet,
) -> SweepFigures:
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory() as scratch,
        EmulatedEnvironment() as env,
        indexed_access_keys() as keys,
        aws_page_sizes(),
    ):
        organization = build_organization(env, accounts, keys, progress)
        progress(f"setup: {organization.setup_seconds:.0f} s")
        figures = SweepFigures(
            accounts=accounts,
            organization_accounts=len(env.organization.member_account_ids) + 1,
            regions=len(REGIONS),
            latency_ms=latency * 1000,
            slow_latency_ms=None if slow_latency is None else slow_latency * 1000,
            concurrency=concurrency,
            setup_seconds=round(organization.setup_seconds, 1),
            setup_accounts_seconds=round(organization.accounts_seconds, 1),
            setup_instances_seconds=round(organization.instances_seconds, 2),
            unindexed_lookup_ms=round(organization.unindexed_lookup_ms, 2),
            instances_seeded=len(organization.instance_regions),
            quotas={
                name: {"rate": q.rate, "burst": q.burst, "source": QUOTA_SOURCES[name]}
                for name, q in QUOTAS.items()
            },
        )
        sweep = Sweep(env, organization, latency)
        with _sweep_environment(env, scratch), contextlib.redirect_stdout(io.StringIO()):
            cold_start = None
            for mode in modes:
                per_region = mock.patch("guardrail.gather.member.lists_all_regions", return_value=False)
                with per_region if mode == "per Region" else contextlib.nullcontext():
                    measured = measure_mode(
                        sweep,
                        mode,
                        concurrency=concurrency,
                        slow_latency=slow_latency,
                        progress=progress,
                        cold_start_hint=cold_start,
                    )
                figures.modes.append(measured)
                cold_start = cold_start or measured.cold_start_seconds
    figures.seconds = round(time.perf_counter() - started, 1)
    return figures


_STARTED = time.perf_counter()


def stderr_progress(message: str) -> None:
    sys.stderr.write(f"[sweep {time.perf_counter() - _STARTED:6.1f} s] {message}\n")
    sys.stderr.flush()
