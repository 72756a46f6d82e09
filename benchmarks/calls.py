"""AWS calls per event, and the longest chain of them made one after another.

A simulated round trip (``latency``) is added to every call on the wire, so that calls the code
makes concurrently overlap in time as they would against AWS; a chain is a run of calls of which
each starts after the previous one ended (``emulator.wire.longest_chain``). Its length is the
number of round trips an event waits for, whatever the network's speed.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import boto3

from benchmarks.harness import (
    EXAMPLE_POLICY,
    Bench,
    create_event,
    emulated_function,
    sample_event,
)
from emulator.environment import PROD_INSTANCE_ARN
from emulator.organization import PROD_ACCOUNT_ID
from emulator.wire import WireCall, longest_chain
from guardrail.core.policy import policy_data
from guardrail.core.policy_file import load_policy

if TYPE_CHECKING:
    from guardrail.handlers.detect import Runtime

WARM_GOAL = 4  # sequential round trips for a CreateInstance on a warm function


@dataclass(frozen=True)
class CallFigures:
    scenario: str
    status: str
    calls: int
    by_service: dict[str, int]
    chain: int  # median over the runs
    chain_max: int
    chain_calls: list[str]  # the longest chain of the last run
    wall_ms: float  # median, with the simulated latency


def _services(calls: list[WireCall]) -> dict[str, int]:
    return dict(sorted(Counter(c.service for c in calls).items()))


def _measure(
    scenario: str, runs: int, prepare: Callable[[int], tuple[Any, Any]], bench: Bench
) -> CallFigures:
    """``prepare(run)`` gives the runtime and the event of one run, with everything before it done."""
    chains: list[list[WireCall]] = []
    walls: list[float] = []
    counts: list[list[WireCall]] = []
    status = ""
    for run in range(runs):
        runtime, event = prepare(run)
        started = time.perf_counter()
        result, calls = bench.serve(runtime, event)
        walls.append((time.perf_counter() - started) * 1000)
        status = result["status"]
        counts.append(calls)
        chains.append(longest_chain(calls))
        bench.drain()
    lengths = [len(chain) for chain in chains]
    last = counts[-1]
    return CallFigures(
        scenario=scenario,
        status=status,
        calls=round(statistics.median(len(c) for c in counts)),
        by_service=_services(last),
        chain=round(statistics.median(lengths)),
        chain_max=max(lengths),
        chain_calls=[c.name for c in chains[-1]],
        wall_ms=round(statistics.median(walls), 1),
    )


def _enforcing(
    bench: Bench, session: boto3.session.Session, scratch: str, *, grace_period_hours: int = 0
) -> Runtime:
    """A runtime whose policy enforces and remediates unapproved accounts: Prod's instances go, at
    once or, with a grace period, by a pending deletion scheduled."""
    policy = policy_data(load_policy(EXAMPLE_POLICY))
    policy["mode"] = "enforce"
    policy["rules"]["account-not-approved"] = {"action": "remediate"}
    policy["enforcement"]["grace_period_hours"] = grace_period_hours
    policy["enforcement"]["max_deletions_per_hour"] = 1000  # measure deletions, not the cap
    path = Path(scratch) / f"enforce-{grace_period_hours}.json"
    path.write_text(json.dumps(policy), encoding="utf-8")
    with mock.patch.dict(os.environ, {"POLICY_PATH": str(path)}):
        return bench.runtime(session)


def _instance_in(bench: Bench, account_id: str, instance_arn: str) -> None:
    """Put the account's instance back (a deleting run removed it)."""
    if not bench.world.identity_center.instances(account_id):
        bench.world.identity_center.seed_instance(
            account_id, "eu-west-1", name=f"team-{account_id}", instance_arn=instance_arn
        )


def measure_calls(latency: float = 0.025, runs: int = 5) -> list[CallFigures]:
    figures: list[CallFigures] = []
    with emulated_function(latency=latency) as bench, tempfile.TemporaryDirectory() as scratch:
        newcomers = iter(bench.member_accounts(runs))
        doomed = iter(bench.member_accounts(runs))
        scheduled = iter(bench.member_accounts(runs))
        loaded = boto3.session.Session()  # once used, its service models stay loaded
        warm = bench.runtime(loaded)
        bench.serve(warm, create_event())  # warms the caches: organization, Prod, its OUs, roles

        def cold(_: int) -> tuple[Any, Any]:
            return bench.runtime(), create_event()

        def empty_caches(_: int) -> tuple[Any, Any]:
            return bench.runtime(loaded), create_event()

        def warm_same(_: int) -> tuple[Any, Any]:
            return warm, create_event()

        def warm_new(_: int) -> tuple[Any, Any]:
            return warm, create_event(next(newcomers))

        repeated = create_event()
        bench.serve(warm, repeated)

        figures += [
            _measure("CreateInstance, cold function", runs, cold, bench),
            _measure("CreateInstance, empty caches, service models loaded", runs, empty_caches, bench),
            _measure("CreateInstance, warm, same account", runs, warm_same, bench),
            _measure("CreateInstance, warm, new account in a known OU", runs, warm_new, bench),
            _measure(
                "CreateInstance denied by an SCP, warm",
                runs,
                lambda _: (
                    warm,
                    sample_event("create-instance-denied-by-scp", recipientAccountId=PROD_ACCOUNT_ID),
                ),
                bench,
            ),
            _measure("DeleteInstance, warm", runs, lambda _: (warm, sample_event("delete-instance")), bench),
            _measure("UpdateInstance, warm", runs, lambda _: (warm, sample_event("update-instance")), bench),
            _measure("Duplicate delivery", runs, lambda _: (warm, repeated), bench),
            _measure("Malformed event (rejected)", runs, lambda _: (warm, {"detail": "junk"}), bench),
        ]

        # Enforce mode: the unapproved account's instance is deleted (put back before each run).
        enforcing = _enforcing(bench, loaded, scratch)
        bench.serve(enforcing, create_event())  # warms its caches, and deletes Prod's instance

        def delete_same(_: int) -> tuple[Any, Any]:
            _instance_in(bench, PROD_ACCOUNT_ID, PROD_INSTANCE_ARN)
            return enforcing, create_event()

        def delete_new(_: int) -> tuple[Any, Any]:
            return enforcing, create_event(next(doomed))

        figures += [
            _measure("CreateInstance deleted (enforce), warm, same account", runs, delete_same, bench),
            _measure(
                "CreateInstance deleted (enforce), warm, new account in a known OU", runs, delete_new, bench
            ),
        ]
        _instance_in(bench, PROD_ACCOUNT_ID, PROD_INSTANCE_ARN)

        # Enforce mode with a grace period: the deletion is scheduled (EventBridge Scheduler).
        scheduling = _enforcing(bench, loaded, scratch, grace_period_hours=72)
        bench.serve(scheduling, create_event())  # warms its caches
        figures.append(
            _measure(
                "CreateInstance, deletion scheduled (enforce, grace period), warm, new account",
                runs,
                lambda _: (scheduling, create_event(next(scheduled))),
                bench,
            )
        )
    return figures
