"""`guardrail report`: the sweep's HTML report, written from sweep results or an organization snapshot.

The renderer is the deployed summary step's (`guardrail.sweep.report`), so the file is the one the
reports bucket holds for a run. Results are what `guardrail sweep --json` prints or a deployed
run's `summary.json`; the newest is reported and every one given is a point of the chart. With
`--org SNAPSHOT`, the snapshot is swept offline (`guardrail_cli.snapshot.sweep_offline`) and that
sweep is the newest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from guardrail.core.policy import Policy
from guardrail.sweep.report import render_report
from guardrail.sweep.report.history import RunPoint, with_runs
from guardrail.sweep.summary import Summary


def load_result(path: Path) -> Summary:
    """A sweep's result, or a ValueError naming the file and what is wrong with it."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        return msgspec.json.decode(data, type=Summary)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise ValueError(
            f"{path} is not a sweep result (guardrail sweep --json, or a run's summary.json): {error}"
        ) from None


def write_report(
    results: Sequence[Path],
    output: Path,
    *,
    org: Path | None = None,
    policy: Policy | None = None,
    ending_within_days: int = 14,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> str:
    """Write the report of the newest result to `output`; what was written, in a few words."""
    summaries = [load_result(path) for path in results]
    if org is not None:
        from guardrail_cli.snapshot import load_snapshot, sweep_offline

        summaries.append(
            sweep_offline(load_snapshot(org), policy or Policy(), ending_within_days=ending_within_days)
        )
    if not summaries:
        raise ValueError("nothing to report: name sweep results or an organization snapshot")
    runs = with_runs((), *(RunPoint.of(s) for s in summaries))
    newest = max(summaries, key=lambda s: (s.finished_at, s.run_id))
    html = render_report(newest, runs, generated_at=now())
    try:
        output.write_text(html, encoding="utf-8")
    except OSError as error:
        raise ValueError(f"cannot write {output}: {error.strerror or error}") from None
    return f"{output}: sweep {newest.run_id}, {newest.instances} account instances, {len(runs)} runs drawn"
