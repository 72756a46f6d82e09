"""The report of a deployed run, written to the reports bucket beside its summary.

`runs/<run id>/report.html` for every run, and the runs' headline counts in `HISTORY_KEY` for the
chart. The summary alert links to the report through the S3 console (a presigned URL would expire
without anyone being told).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import msgspec

from guardrail.sweep.report import CONTENT_TYPE, render_report
from guardrail.sweep.report.history import HISTORY_KEY, RunPoint, decode_history, encode_history, with_runs
from guardrail.sweep.summary import ReportLink, Summary

REPORT_NAME = "report.html"


class Store(Protocol):
    """The reports bucket (`guardrail.adapters.reports.ReportStore`)."""

    bucket: str

    def exists(self, key: str) -> bool: ...

    def get(self, key: str) -> bytes: ...

    def put(self, key: str, body: bytes, content_type: str = ...) -> None: ...


def report_key(run_id: str) -> str:
    return f"runs/{run_id}/{REPORT_NAME}"


def write_report(
    store: Store,
    summary: Summary,
    *,
    region: str,
    generated_at: datetime,
    on_unreadable_history: Callable[[str], None] = lambda reason: None,
) -> ReportLink:
    """Write the run's report and add the run to the history; where the report is.

    A history that cannot be read (written by hand, cut short) is started again from this run, and
    `on_unreadable_history` told why: the report is worth more than the earlier points.
    """
    history: tuple[RunPoint, ...] = ()
    if store.exists(HISTORY_KEY):
        try:
            history = decode_history(store.get(HISTORY_KEY)).runs
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            on_unreadable_history(f"{HISTORY_KEY}: {error}")
    runs = with_runs(history, RunPoint.of(summary))
    key = report_key(summary.run_id)
    store.put(key, render_report(summary, runs, generated_at=generated_at).encode(), CONTENT_TYPE)
    store.put(HISTORY_KEY, encode_history(runs))
    return ReportLink(bucket=store.bucket, key=key, region=region)
