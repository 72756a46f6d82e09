"""Batches measured alone (what one child execution takes), a cold child, and STS under stress."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.sweep.run import Sweep
from benchmarks.sweep.settings import (
    BATCH_SIZE,
    FULL_VCPU_MB,
    QUICK_BELOW_BATCHES,
    QUOTAS,
    STRESS_BATCHES,
    WORKER_MEMORY_MB,
    Batch,
)
from emulator.wire import AwsWire, Quota, Throttle, WireCall


@dataclass(frozen=True)
class Samples:
    """How much of each measurement a mode runs (per-Region batches cost ~0.5 s of CPU per account)."""

    map_batches: int | None  # None: every batch of the organization
    alone_batches: int
    slow: bool  # also time the batches alone at the slow latency
    cold: bool  # time a child's first batch on a cold runtime
    sequential_accounts: int

    @staticmethod
    def for_mode(mode: str, batches: int) -> Samples:
        quick = batches < QUICK_BELOW_BATCHES
        if mode == "one call":
            return Samples(
                None, min(3, batches), not quick, not quick, BATCH_SIZE if quick else 4 * BATCH_SIZE
            )
        if not quick:  # a cold start costs the same models in either mode: measured with the one call
            return Samples(4, 2, True, False, BATCH_SIZE)
        # A quick run: the map's one batch (run alone) and a few accounts one at a time.
        return Samples(1, 1, False, False, 3)


@dataclass(frozen=True)
class BatchFigures:
    """Batches run one at a time on a warm runtime: what one child execution takes."""

    latency_ms: float
    batches: int
    accounts: int
    instances: int
    wall_seconds: list[float]
    median_seconds: float
    function_cpu_seconds: float  # per batch: process CPU less the emulation's
    emulation_cpu_seconds: float  # per batch: moto's CPU

    @property
    def on_lambda_seconds(self) -> float:
        """Without the emulation's CPU, the function's own CPU at the worker's share of a vCPU."""
        scale = FULL_VCPU_MB / WORKER_MEMORY_MB
        return self.median_seconds - self.emulation_cpu_seconds + self.function_cpu_seconds * (scale - 1)


@dataclass(frozen=True)
class StressFigures:
    """The map with STS's quota scaled down so that it asks STS `demand_ratio` times what STS
    grants, as the projected 10,000-account map would at full speed: do the retries hold?"""

    demand_ratio: float
    sts_rate: float  # the scaled quota (and burst), per second
    accounts: int
    concurrency: int
    seconds: float
    floor_seconds: float  # the least time the scaled quota allows
    assume_role_attempts: int
    throttled: int
    unreadable: int
    achieved_rate: float  # AssumeRoles answered per second


def spread(batches: Sequence[Batch], count: int) -> list[Batch]:
    """`count` batches spread evenly over the run (so their share of instances is the run's)."""
    if count >= len(batches):
        return list(batches)
    step = len(batches) / count
    return [batches[int(i * step)] for i in range(count)]


def run_alone(
    sweep: Sweep,
    planned: dict[str, Any],
    batches: Sequence[Batch],
    latency: float,
    with_instance: set[str],
) -> tuple[BatchFigures, list[WireCall]]:
    """Each batch on its own, one after another, on one warm runtime; and their calls."""
    runtime = sweep.runtime()
    walls: list[float] = []
    calls: list[WireCall] = []
    emulation = function = 0.0
    sweep.reset()
    with AwsWire(latency=latency, throttle=Throttle(QUOTAS)) as wire:
        for batch in batches:
            cpu = time.process_time()
            runs, _, stage = sweep.map(wire, planned, [batch], [runtime], 1)
            moto = sum(c.emulated_cpu_seconds for c in stage.calls)
            emulation += moto
            function += time.process_time() - cpu - moto
            walls.append(runs[0].ended - runs[0].started)
            calls += stage.calls
    return batch_figures(latency, batches, walls, function, emulation, with_instance), calls


def batch_figures(
    latency: float,
    batches: Sequence[Batch],
    walls: list[float],
    function: float,
    emulation: float,
    with_instance: set[str],
) -> BatchFigures:
    accounts = [item["account_id"] for batch in batches for item in batch]
    return BatchFigures(
        latency_ms=latency * 1000,
        batches=len(batches),
        accounts=len(accounts),
        instances=sum(a in with_instance for a in accounts),
        wall_seconds=[round(w, 2) for w in walls],
        median_seconds=statistics.median(walls),
        function_cpu_seconds=function / len(batches),
        emulation_cpu_seconds=emulation / len(batches),
    )


def cold_start_cost(sweep: Sweep, planned: dict[str, Any], batch: Batch, latency: float) -> float:
    """What a child's first batch costs more on a new execution environment (its runtime built,
    the service models loaded from disk) than on a warm one, back to back on the same batch."""
    seconds: list[float] = []
    for cold in (False, True):
        sweep.reset()
        with AwsWire(latency=latency, throttle=Throttle(QUOTAS)) as wire:
            started = time.perf_counter()
            runtime = sweep.runtime(cold=cold)
            runs, _, _ = sweep.map(wire, planned, [batch], [runtime], 1)
            seconds.append(runs[0].ended - (started if cold else runs[0].started))
    return max(0.0, seconds[1] - seconds[0])


def measure_sts_stress(
    sweep: Sweep,
    planned: dict[str, Any],
    batches: Sequence[Batch],
    concurrency: int,
    ratio: float,
    rate_in_process: float,
) -> StressFigures:
    """The projection takes STS's quota as a floor that adaptive retries reach without losing an
    account: the process cannot ask 600 AssumeRoles a second, so the quota is scaled to what it
    can ask, over the same ratio."""
    rate = max(1.0, rate_in_process / ratio)
    quotas = {**QUOTAS, "sts": Quota(rate=rate, burst=rate)}
    chosen = spread(batches, min(len(batches), STRESS_BATCHES))
    running = min(concurrency, len(chosen))
    runtimes = [sweep.runtime() for _ in range(running)]
    sweep.reset()
    with AwsWire(latency=sweep.latency, throttle=Throttle(quotas)) as wire:
        _, outputs, stage = sweep.map(wire, planned, chosen, runtimes, running)
    attempts = [c for c in stage.calls if c.operation == "AssumeRole"]
    throttled = sum(c.throttled for c in attempts)
    accounts = sum(len(b) for b in chosen)
    return StressFigures(
        demand_ratio=round(ratio, 2),
        sts_rate=round(rate, 1),
        accounts=accounts,
        concurrency=running,
        seconds=round(stage.seconds, 1),
        floor_seconds=round(max(0.0, accounts - rate) / rate, 1),
        assume_role_attempts=len(attempts),
        throttled=throttled,
        unreadable=sum(json.loads(o["Output"]).get("unreadable", 0) for o in outputs if o["failed"] is None),
        achieved_rate=round((len(attempts) - throttled) / stage.seconds, 1),
    )
