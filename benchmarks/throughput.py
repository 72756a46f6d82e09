"""Events per second through the handler on the emulator, the function's own CPU per event, memory.

The emulation answers in-process, so the wall-clock rate is mostly moto's: the function's own
CPU per event (process CPU less the CPU moto spent answering) is the figure that carries over
to Lambda, where the calls' latency is the rest.
"""

from __future__ import annotations

import contextlib
import gc
import io
import resource
import statistics
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any

from benchmarks.harness import CONTEXT, Bench, create_event, emulated_function
from emulator.wire import WireCall


@dataclass(frozen=True)
class ThroughputFigures:
    events: int
    accounts: int
    events_per_second: float
    latency_median_ms: float
    latency_p95_ms: float
    function_cpu_per_event_ms: float
    emulation_cpu_per_event_ms: float
    traced_peak_mb: float  # everything in the process, moto included
    retained_objects_per_100_events: int  # of the function's types (a leak check)
    max_rss_mb: float


def _run(bench: Bench, events: list[dict[str, Any]]) -> tuple[list[float], float, float, list[WireCall]]:
    from guardrail.handlers import detect

    latencies: list[float] = []
    calls: list[WireCall] = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for index, event in enumerate(events):
        with bench.wire.recording() as recorded, contextlib.redirect_stdout(io.StringIO()):
            before = time.perf_counter()
            detect.handler(event, CONTEXT)
            latencies.append((time.perf_counter() - before) * 1000)
        calls += recorded
        if index % 50 == 49:  # a subscriber drains as alerts come; moto slows as a queue grows
            bench.drain()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    bench.drain()
    return latencies, wall, cpu, calls


_FUNCTION_MODULES = ("guardrail", "botocore", "boto3", "aws_lambda_powertools", "msgspec", "concurrent")


def _function_objects() -> int:
    """Live objects of the function's own types; moto's state grows with every event it stores."""
    gc.collect()
    return sum(
        1 for o in gc.get_objects() if str(getattr(type(o), "__module__", "")).startswith(_FUNCTION_MODULES)
    )


def measure_throughput(events: int = 400, accounts: int = 20) -> ThroughputFigures:
    with emulated_function() as bench:
        fleet = bench.member_accounts(accounts, ou_path="Fleet")
        _run(bench, [create_event(account) for account in fleet])  # each account seen once: warm
        stream = [create_event(fleet[i % accounts]) for i in range(events)]

        latencies, wall, cpu, calls = _run(bench, stream)
        emulation_cpu = sum(c.emulated_cpu_seconds for c in calls)

        before = _function_objects()
        tracemalloc.start()
        _run(bench, [create_event(fleet[i % accounts]) for i in range(100)])
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        after = _function_objects()

    ordered = sorted(latencies)
    return ThroughputFigures(
        events=events,
        accounts=accounts,
        events_per_second=round(events / wall, 1),
        latency_median_ms=round(statistics.median(ordered), 1),
        latency_p95_ms=round(ordered[int(len(ordered) * 0.95) - 1], 1),
        function_cpu_per_event_ms=round((cpu - emulation_cpu) / events * 1000, 2),
        emulation_cpu_per_event_ms=round(emulation_cpu / events * 1000, 2),
        traced_peak_mb=round(peak / 2**20, 1),
        retained_objects_per_100_events=after - before,
        max_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
