"""``python -m benchmarks [--json] [--only SECTION ...] [--runs N] [--events N] [--accounts N]``.

Prints a Markdown report, or with ``--json`` the figures as one JSON object. Timings depend on
the machine: compare runs made on the same one. The ``flood`` section (1,000 refused attempts
through the function) runs only when named in ``--only``, as does the ``sweep`` section (the organization-wide sweep
of ``--accounts`` member accounts, several minutes at 2,000) runs only when named in ``--only``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from dataclasses import asdict
from typing import Any

DEFAULT_SECTIONS = ("calls", "cold_start", "throughput", "package")
SECTIONS = (*DEFAULT_SECTIONS, "flood", "sweep", "replay")


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _report(figures: dict[str, Any]) -> str:
    from benchmarks.calls import WARM_GOAL
    from benchmarks.cold_start import GOAL_RATIO

    parts = [f"# Detect function benchmarks\n\n{figures['environment']}"]
    if "calls" in figures:
        section = figures["calls"]
        rows = [
            [
                f["scenario"],
                f["status"],
                f["calls"],
                ", ".join(f"{k} {v}" for k, v in f["by_service"].items()),
                f["chain"] if f["chain"] == f["chain_max"] else f"{f['chain']} (max {f['chain_max']})",
                f["wall_ms"],
            ]
            for f in section["scenarios"]
        ]
        warm = next(f for f in section["scenarios"] if f["scenario"] == "CreateInstance, warm, same account")
        parts.append(
            f"## AWS calls per event\n\nSimulated latency {section['latency_ms']:g} ms per call, "
            f"median of {section['runs']} runs. Goal: at most {WARM_GOAL} sequential round trips for a "
            f"warm CreateInstance: {'met' if warm['chain_max'] <= WARM_GOAL else 'NOT met'} "
            f"({warm['chain_max']}).\n\n"
            + _table(["event", "status", "calls", "by service", "sequential", "ms"], rows)
            + "\n\nLongest chains:\n\n"
            + "\n".join(f"- {f['scenario']}: {' -> '.join(f['chain_calls'])}" for f in section["scenarios"])
        )
    if "cold_start" in figures:
        c = figures["cold_start"]
        rows = [
            ["floor: boto3 + Powertools (Logger, Metrics, Tracer) + the same clients", c["floor_ms"]],
            ["  of which imports / clients", f"{c['floor_import_ms']} / {c['floor_clients_ms']}"],
            ["function init: import handler + build runtime", c["init_ms"]],
            ["  of which import / build", f"{c['init_import_ms']} / {c['init_build_ms']}"],
            ["first event, function CPU (emulation excluded)", c["first_event_client_side_ms"]],
            ["**cold start = init + first event**", f"**{c['cold_start_ms']}**"],
            ["second event, function CPU", c["second_event_client_side_ms"]],
            [
                "compiling the package: "
                + (
                    "saved, the asset ships bytecode" if c["bytecode_shipped"] else "paid in the import above"
                ),
                c["compile_ms"],
            ],
        ]
        met = "met" if c["ratio"] <= GOAL_RATIO else "NOT met"
        parts.append(
            f"## Cold start\n\nFresh processes, median of {c['runs']} runs, milliseconds of CPU time "
            f"(wall time: floor {c['floor_wall_ms']}, init {c['init_wall_ms']}); "
            f"{c['clients']} boto3 clients by the end of the first event. Ratio to the floor: "
            f"**{c['ratio']}x** (goal {GOAL_RATIO}x: {met}; single runs from {c['ratio_low']}x to "
            f"{c['ratio_high']}x). Peak RSS after init: {c['init_rss_mb']} MB "
            f"(floor {c['floor_rss_mb']} MB).\n\n" + _table(["", "ms"], rows)
        )
    if "throughput" in figures:
        t = figures["throughput"]
        rows = [
            ["events per second (handler on the in-process emulation)", t["events_per_second"]],
            ["latency per event, median / p95 (ms)", f"{t['latency_median_ms']} / {t['latency_p95_ms']}"],
            ["function CPU per event (ms)", t["function_cpu_per_event_ms"]],
            ["emulation CPU per event (ms)", t["emulation_cpu_per_event_ms"]],
            ["peak traced memory while serving 100 events, emulation included (MB)", t["traced_peak_mb"]],
            [
                "live objects of the function's types added by 100 more events",
                t["retained_objects_per_100_events"],
            ],
            ["process max RSS, emulation included (MB)", t["max_rss_mb"]],
        ]
        parts.append(
            f"## Throughput\n\n{t['events']} warm CreateInstance events over {t['accounts']} accounts, "
            "one at a time.\n\n" + _table(["", ""], rows)
        )
    if "flood" in figures:
        from benchmarks.flood import report_flood

        parts.append(report_flood(figures["flood"]))
    if "sweep" in figures:
        from benchmarks.sweep import report_sweep

        parts.append(report_sweep(figures["sweep"]))
    if "replay" in figures:
        from benchmarks.replay import report_replay

        parts.append(report_replay(figures["replay"]))
    if "package" in figures:
        p = figures["package"]
        parts.append(
            "## Deployment package\n\n"
            + _table(
                ["files", "unzipped (KB)", "of which guardrail + policy / msgspec (KB)", "zipped (KB)"],
                [[p["files"], p["source_kb"], f"{p['own_kb']} / {p['dependencies_kb']}", p["zipped_kb"]]],
            )
        )
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SECTIONS,
        default=list(DEFAULT_SECTIONS),
        help="default: all but sweep and replay",
    )
    parser.add_argument("--runs", type=int, default=7, help="runs per scenario and cold-start probe")
    parser.add_argument("--events", type=int, default=400, help="events for the throughput run")
    parser.add_argument("--latency-ms", type=float, default=25.0, help="simulated latency per AWS call")
    parser.add_argument("--accounts", type=int, default=2000, help="member accounts for the sweep section")
    args = parser.parse_args(argv)
    # Powertools warns when an invocation records no metric, e.g. a duplicate: not news here.
    warnings.filterwarnings("ignore", message="No application metrics to publish")

    started = time.perf_counter()
    figures: dict[str, Any] = {
        "environment": f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}",
        "command": "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    if "package" in args.only:
        from benchmarks.package import measure_package

        figures["package"] = asdict(measure_package())
    if "calls" in args.only:
        from benchmarks.calls import measure_calls

        scenarios = measure_calls(latency=args.latency_ms / 1000, runs=args.runs)
        figures["calls"] = {
            "latency_ms": args.latency_ms,
            "runs": args.runs,
            "scenarios": [asdict(s) for s in scenarios],
        }
    if "throughput" in args.only:
        from benchmarks.throughput import measure_throughput

        figures["throughput"] = asdict(measure_throughput(events=args.events))
    if "cold_start" in args.only:
        from benchmarks.cold_start import measure_cold_start

        figures["cold_start"] = asdict(measure_cold_start(runs=args.runs))
    if "flood" in args.only:
        from benchmarks.flood import measure_flood

        figures["flood"] = asdict(measure_flood())
    if "sweep" in args.only:
        from benchmarks.sweep import measure_sweep, stderr_progress

        figures["sweep"] = asdict(
            measure_sweep(args.accounts, latency=args.latency_ms / 1000, progress=stderr_progress)
        )
    if "replay" in args.only:  # a 1,000,000-record trail is written to a temporary folder first
        from benchmarks.replay import measure_replay

        figures["replay"] = asdict(measure_replay())
    figures["seconds"] = round(time.perf_counter() - started, 1)

    print(json.dumps(figures, indent=2) if args.json else _report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
