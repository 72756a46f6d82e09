"""`guardrail replay` over a month-sized organization trail, side by side with `zcat`.

A trail folder is generated once (`emulator.trail`): gzipped files of 1,000 records in the
AWSLogs layout, 4 accounts x 5 Regions, records of a dozen services (look-alikes of the instance
calls included) and 0.01 % instance calls. Then, in fresh processes, each timed from outside:

* `zcat` of every log file to /dev/null: the floor, what it takes just to decompress them;
* `guardrail replay --json` of an empty log: the start-up (interpreter, imports, nothing else);
* `guardrail replay --json` of the whole trail: reading, filtering, sorting, and the real handler
  on the emulation for each instance call (set up in the background while the files are read);

each the median of a few runs, and the ratio of what replay takes beyond its start-up to `zcat`.
The filter alone (`LogReader`) is also run over one account's folder and over the whole trail,
reporting its own CPU time and peak RSS, so that the two peaks show whether memory grows with the
size of the log.

Run alone: ``python -m benchmarks --only replay``; the child: ``python -m benchmarks.replay MODE PATH``.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = PROJECT_ROOT / "samples" / "events"
RECORDS = 1_000_000
RECORDS_PER_FILE = 1_000
INSTANCE_SHARE = 0.0001  # 0.01 %
ACCOUNTS = ("111111111111", "222222222222", "333333333333", "444444444444")
_INSTANCE_SAMPLES = (
    "create-instance-console-success",
    "create-instance-cli-trial-tagged",
    "create-instance-denied-by-scp",
    "create-instance-conflict-existing",
    "create-instance-management-account",
    "delete-instance",
    "update-instance",
)


@dataclass(frozen=True)
class Run:
    what: str
    records: int
    files: int
    matched: int
    wall_s: float
    cpu_s: float
    records_per_second: int  # by wall time
    records_per_cpu_second: int
    peak_rss_mb: float
    baseline_rss_mb: float  # after the imports, before the first file
    # Python's own allocations at their peak while reading (a second run, under tracemalloc): the
    # working set, which RSS hides below what the imports took.
    peak_traced_mb: float | None = None


@dataclass(frozen=True)
class SideBySide:
    """Wall times of fresh processes, each the median of `TIMED_RUNS`."""

    zcat_s: float  # zcat of every log file to /dev/null
    startup_s: float  # guardrail replay --json of an empty log
    replay_s: float  # guardrail replay --json of the whole trail
    beyond_startup_s: float
    ratio_to_zcat: float  # beyond_startup_s / zcat_s (goal: at most 1.5)
    filter_ratio_to_zcat: float  # the filter alone (its run above) / zcat_s
    exit_status: int


@dataclass(frozen=True)
class ReplayFigures:
    records: int
    instance_records: int
    files: int
    gzipped_mb: float
    uncompressed_mb: float
    generate_s: float
    runs: tuple[Run, ...]
    side_by_side: SideBySide | None = None


def _instance_records(count: int) -> list[dict[str, Any]]:
    """The sample instance calls, spread over the trail's accounts, each with its own id."""
    when = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    records = []
    for index in range(count):
        record: dict[str, Any] = json.loads(
            (SAMPLES / f"{_INSTANCE_SAMPLES[index % len(_INSTANCE_SAMPLES)]}.json").read_text(
                encoding="utf-8"
            )
        )["detail"]
        record.update(eventID=f"bench-{index:08d}", eventTime=when)
        records.append(record)
    return records


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _child(mode: str, path: Path) -> dict[str, Any]:
    """One measured run in this (fresh) process."""
    if mode == "traced":
        import tracemalloc

        from guardrail_cli.logs import LogReader

        reader = LogReader()
        tracemalloc.start()
        for _ in reader.events([path]):
            pass
        return {"peak_traced_mb": tracemalloc.get_traced_memory()[1] / 1e6}
    if mode == "filter":
        from guardrail_cli.logs import LogReader, Problem

        baseline = _rss_mb()
        reader = LogReader()
        started, cpu = time.perf_counter(), time.process_time()
        problems = sum(isinstance(item, Problem) for item in reader.events([path]))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        tally = reader.tally
        return {
            "records": tally.records,
            "files": tally.files,
            "matched": tally.matched,
            "problems": problems,
            "wall_s": wall,
            "cpu_s": cpu,
            "peak_rss_mb": _rss_mb(),
            "baseline_rss_mb": baseline,
        }
    raise ValueError(f"unknown mode {mode!r}: filter or traced")


def _child_run(mode: str, path: Path) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 -- this interpreter, this module
        [sys.executable, "-m", "benchmarks.replay", mode, str(path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _measure(what: str, mode: str, path: Path, records: int, files: int, matched: int) -> Run:
    result = _child_run(mode, path)
    traced = None
    if mode == "filter":
        records, files, matched = result["records"], result["files"], result["matched"]
        traced = round(_child_run("traced", path)["peak_traced_mb"], 1)
    return Run(
        what=what,
        records=records,
        files=files,
        matched=matched,
        wall_s=round(result["wall_s"], 2),
        cpu_s=round(result["cpu_s"], 2),
        records_per_second=round(records / result["wall_s"]),
        records_per_cpu_second=round(records / result["cpu_s"]),
        peak_rss_mb=round(result["peak_rss_mb"], 1),
        baseline_rss_mb=round(result["baseline_rss_mb"], 1),
        peak_traced_mb=traced,
    )


TIMED_RUNS = 3


def _timed(argv: list[str]) -> tuple[float, int]:
    """Wall seconds of a fresh process (output to /dev/null), and its exit status."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 -- this interpreter and zcat, on files this benchmark wrote
        argv, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    return time.perf_counter() - started, done.returncode


def _median(argv: list[str]) -> tuple[float, int]:
    runs = [_timed(argv) for _ in range(TIMED_RUNS)]
    return sorted(wall for wall, _ in runs)[len(runs) // 2], runs[-1][1]


def side_by_side(trail: Path, files: tuple[Path, ...], empty: Path, filter_wall: float) -> SideBySide:
    """zcat, the start-up and the whole replay, in turns, so that a busy moment hits each alike."""
    zcat = shutil.which("zcat") or "zcat"
    replay = [sys.executable, "-m", "guardrail_cli.main", "replay"]
    zcat_s, _ = _median([zcat, *map(str, files)])
    startup_s, _ = _median([*replay, str(empty), "--json"])
    replay_s, status = _median([*replay, str(trail), "--json"])
    beyond = max(0.0, replay_s - startup_s)
    return SideBySide(
        zcat_s=round(zcat_s, 2),
        startup_s=round(startup_s, 2),
        replay_s=round(replay_s, 2),
        beyond_startup_s=round(beyond, 2),
        ratio_to_zcat=round(beyond / zcat_s, 2),
        filter_ratio_to_zcat=round(filter_wall / zcat_s, 2),
        exit_status=status,
    )


def measure_replay(records: int = RECORDS) -> ReplayFigures:
    from emulator.trail import TrailLayout, write_organization_trail

    instance_count = max(1, round(records * INSTANCE_SHARE))
    with tempfile.TemporaryDirectory(prefix="guardrail-trail-") as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        written = write_organization_trail(
            root,
            records=records - instance_count,
            instance_records=_instance_records(instance_count),
            records_per_file=RECORDS_PER_FILE,
            layout=TrailLayout(accounts=ACCOUNTS),
        )
        generated = time.perf_counter() - started
        trail = root / "AWSLogs"
        one_account = next(trail.iterdir()) / ACCOUNTS[0]
        runs = [
            _measure("filter, one account's folder", "filter", one_account, 0, 0, 0),
            _measure("filter, the whole trail", "filter", trail, 0, 0, 0),
        ]
        whole = runs[-1]
        empty = root / "empty.json"
        empty.write_text('{"Records": []}', encoding="utf-8")
        compared = side_by_side(trail, written.files, empty, whole.wall_s)
    return ReplayFigures(
        records=written.records,
        instance_records=written.instance_records,
        files=len(written.files),
        gzipped_mb=round(written.compressed_bytes / 1e6, 1),
        uncompressed_mb=round(written.uncompressed_bytes / 1e6, 1),
        generate_s=round(generated, 1),
        runs=tuple(runs),
        side_by_side=compared,
    )


def report_replay(figures: dict[str, Any]) -> str:
    """The Markdown section of `python -m benchmarks`."""
    rows = [
        "| run | records | files | matched | wall (s) | CPU (s) | records/s (wall) | records/s (CPU) "
        "| peak RSS (MB) | RSS after imports (MB) | peak traced (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in figures["runs"]:
        traced = "-" if run["peak_traced_mb"] is None else run["peak_traced_mb"]
        rows.append(
            f"| {run['what']} | {run['records']:,} | {run['files']:,} | {run['matched']:,} | {run['wall_s']} "
            f"| {run['cpu_s']} | {run['records_per_second']:,} | {run['records_per_cpu_second']:,} "
            f"| {run['peak_rss_mb']} | {run['baseline_rss_mb']} | {traced} |"
        )
    small, large = figures["runs"][0], figures["runs"][1]
    text = (
        f"## Replay of an organization trail\n\n{figures['records']:,} records ({figures['instance_records']} "
        f"instance calls) in {figures['files']:,} gzipped files of {RECORDS_PER_FILE:,} records, "
        f"{figures['gzipped_mb']} MB ({figures['uncompressed_mb']} MB of JSON), generated in "
        f"{figures['generate_s']} s.\n\n"
    )
    compared = figures.get("side_by_side")
    if compared:
        text += (
            f"Side by side, fresh processes, median of {TIMED_RUNS} (wall time):\n\n"
            "| measure | seconds | ratio to zcat |\n|---|---|---|\n"
            f"| `zcat` of every log file > /dev/null | {compared['zcat_s']} | 1 |\n"
            f"| the filter alone (its run below) | {large['wall_s']} | {compared['filter_ratio_to_zcat']} |\n"
            f"| `guardrail replay --json`, an empty log (start-up) | {compared['startup_s']} | - |\n"
            f"| `guardrail replay --json`, the whole trail | {compared['replay_s']} | - |\n"
            f"| the whole replay beyond its start-up | {compared['beyond_startup_s']} "
            f"| **{compared['ratio_to_zcat']}** (goal: at most 1.5) |\n\n"
        )
    return (
        text
        + "Each filter run is a fresh process; peak traced is Python's own allocations at their peak while "
        "reading (tracemalloc, a second run).\n\n"
        + "\n".join(rows)
        + f"\n\nReading {large['records']:,} records instead of {small['records']:,}: peak RSS "
        f"{small['peak_rss_mb']} -> {large['peak_rss_mb']} MB, peak traced {small['peak_traced_mb']} -> "
        f"{large['peak_traced_mb']} MB. Memory follows the largest file, not the size of the log.\n"
    )


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], Path(sys.argv[2]))))
