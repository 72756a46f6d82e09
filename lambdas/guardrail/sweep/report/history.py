"""Each run's headline counts, kept from run to run, for the report's chart.

The deployed summary step keeps them in one small object of the reports bucket (`HISTORY_KEY`),
rewritten by each run, rather than reading back every earlier run's summary (megabytes each in a
large organization). A retried summary step replaces its own run's point, never adds a second.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec

from guardrail.sweep.summary import Summary

HISTORY_KEY = "history/runs.json"
# Runs kept: a quarter of daily sweeps, as long as the bucket keeps a run's own files by default.
HISTORY_RUNS = 90


class RunPoint(msgspec.Struct, frozen=True, kw_only=True):
    run_id: str
    finished_at: datetime
    accounts_listed: int
    accounts_read: int
    instances: int
    violations: int
    # None when the run did not check the forwarding.
    blind_spots: int | None = None

    @classmethod
    def of(cls, summary: Summary) -> RunPoint:
        return cls(
            run_id=summary.run_id,
            finished_at=summary.finished_at,
            accounts_listed=summary.accounts_listed,
            accounts_read=summary.accounts_read,
            instances=summary.instances,
            violations=summary.by_verdict.get("violation", 0),
            blind_spots=len(summary.coverage.blind_spots) if summary.coverage is not None else None,
        )


class History(msgspec.Struct, frozen=True, kw_only=True):
    runs: tuple[RunPoint, ...] = ()


def with_runs(
    history: Iterable[RunPoint], *points: RunPoint, keep: int = HISTORY_RUNS
) -> tuple[RunPoint, ...]:
    """`history` with `points` added (a run already there is replaced), oldest first, the last `keep`."""
    by_run = {point.run_id: point for point in history}
    by_run.update({point.run_id: point for point in points})
    return tuple(sorted(by_run.values(), key=lambda p: (p.finished_at, p.run_id))[-keep:])


def decode_history(data: bytes) -> History:
    return msgspec.json.decode(data, type=History)


def encode_history(runs: Iterable[RunPoint]) -> bytes:
    return msgspec.json.encode(History(runs=tuple(runs)))
