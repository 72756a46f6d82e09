"""The deployed sweep of N accounts, projected from a measured batch and the quotas."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from benchmarks.sweep.batches import BatchFigures
from benchmarks.sweep.settings import (
    BATCH_SIZE,
    FULL_VCPU_MB,
    GOAL_SECONDS,
    MAX_CONCURRENCY,
    ORGANIZATIONS_PAGE,
    QUOTAS,
    WORKER_MEMORY_MB,
)


@dataclass(frozen=True)
class Projection:
    """The deployed sweep of `accounts`, from a child's measured time and the quotas."""

    accounts: int
    latency_ms: float
    batches: int
    concurrency: int
    waves: int
    batch_seconds: float
    map_seconds: float
    assume_role_rate: float  # AssumeRole calls a second the map asks of STS
    sts_floor_seconds: float  # the least time STS's quota allows for the AssumeRoles
    plan_seconds: float
    summary_seconds: float
    cold_start_seconds: float
    total_seconds: float
    concurrency_for_goal: int | None  # the least max concurrency that ends within GOAL_SECONDS
    sequential_seconds: float  # the same worker, one account and one batch at a time
    speedup: float
    map_speedup: float  # of the map alone over the accounts one at a time


@dataclass(frozen=True)
class PlannerFigures:
    """What the planner's time grows with: its pages of accounts (the rest is per OU and SCP)."""

    seconds: float
    organizations_calls: int
    parents: int  # the root and the OUs: each one's accounts are listed, in one page at least
    organization_accounts: int  # every account, the management account included
    swept_accounts: int

    def pages_for(self, accounts: int) -> int:
        """ListAccountsForParent pages through each parent's accounts: every account once, and a
        page more at most for each parent."""
        total = accounts + self.organization_accounts - self.swept_accounts
        return math.ceil(total / ORGANIZATIONS_PAGE) + self.parents

    def seconds_for(self, accounts: int) -> float:
        """The measured time scaled by the growth of its pages, and no less than Organizations'
        (assumed) rate allows for its calls."""
        measured = self.pages_for(self.swept_accounts)
        org = QUOTAS["organizations"]
        calls = self.organizations_calls + self.pages_for(accounts) - measured
        return max(self.seconds * self.pages_for(accounts) / measured, (calls - org.burst) / org.rate)


def project(
    accounts: int,
    alone: BatchFigures,
    *,
    planner: PlannerFigures,
    summary_seconds: float,
    measured_batches: int,
    cold_start_seconds: float,
    sequential_seconds_per_account: float,
    concurrency: int = MAX_CONCURRENCY,
) -> Projection:
    """The deployed sweep of `accounts`: waves of `concurrency` children, each batch taking what one
    took alone (as on Lambda, where each child has its own CPU), no faster than STS's quota on
    AssumeRole allows; the planner scaled with its pages of accounts, the summary with the batches."""
    batches = math.ceil(accounts / BATCH_SIZE)
    batch = alone.on_lambda_seconds
    running = min(concurrency, batches)
    waves = math.ceil(batches / running)
    rate = running * BATCH_SIZE / batch
    sts = QUOTAS["sts"]
    sts_floor = max(0.0, (accounts - sts.burst) / sts.rate)
    map_seconds = max(waves * batch, sts_floor) + cold_start_seconds
    plan = planner.seconds_for(accounts)
    summary = summary_seconds * batches / measured_batches
    fixed = plan + summary + cold_start_seconds
    needed = None
    if fixed < GOAL_SECONDS and sts_floor + fixed < GOAL_SECONDS:
        waves_allowed = math.floor((GOAL_SECONDS - fixed) / batch)
        needed = math.ceil(batches / waves_allowed) if waves_allowed else None
    total = plan + map_seconds + summary
    sequential = plan + sequential_seconds_per_account * accounts + summary
    return Projection(
        accounts=accounts,
        latency_ms=alone.latency_ms,
        batches=batches,
        concurrency=running,
        waves=waves,
        batch_seconds=round(batch, 2),
        map_seconds=round(map_seconds, 1),
        assume_role_rate=round(rate, 1),
        sts_floor_seconds=round(sts_floor, 1),
        plan_seconds=round(plan, 1),
        summary_seconds=round(summary, 1),
        cold_start_seconds=round(cold_start_seconds, 1),
        total_seconds=round(total, 1),
        concurrency_for_goal=needed,
        sequential_seconds=round(sequential, 1),
        speedup=round(sequential / total, 1),
        map_speedup=round(sequential_seconds_per_account * accounts / map_seconds, 1),
    )


def on_lambda(alone: dict[str, Any]) -> float:
    scale = FULL_VCPU_MB / WORKER_MEMORY_MB
    return float(
        statistics.median(alone["wall_seconds"])
        - alone["emulation_cpu_seconds"]
        + alone["function_cpu_seconds"] * (scale - 1)
    )
