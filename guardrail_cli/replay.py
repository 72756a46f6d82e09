"""`guardrail replay`: CloudTrail logs through the deployed rules' pattern and the detect function.

Files are read one at a time (`logs`) and the records the rules would not deliver are counted and
dropped. The instance events they would deliver, a tiny share of any trail, are collected and
handled in the order they happened (`eventTime`, then `eventID`), whatever the order of the files,
of the records in them and of the sources: CloudTrail delivers files in no particular order and
`lookup-events` lists the newest first, and a tag change judged before the creation it follows, or
a deletion before it, would be judged on a world that never was. Each is handled by a runner: the
real handler on the embedded emulation (`emulated`, the default), or the function's decision on
facts read from the real organization (`backtest`, `--live`) or from a snapshot of it (`--org`).
Results go to standard output, problems to standard error, and each instance's story and a
summary close the run (`report`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TextIO

from guardrail.channels.securityhub import Importer
from guardrail.core.policy import Severity
from guardrail_cli.emulated import LambdaContextStub
from guardrail_cli.logs import Event, LogReader, Problem
from guardrail_cli.report import (
    EXIT_INTERRUPTED,
    Counts,
    Outcome,
    Progress,
    Timelines,
    as_form,
    as_json_line,
    as_text,
    problem_line,
)

# Tests and benchmarks drive the handler with these, as the emulated replay does.
__all__ = ["LambdaContextStub", "Runner", "in_time_order", "replay"]

_NEVER = datetime.max.replace(tzinfo=UTC)


class Runner(Protocol):
    def handle(self, event: dict[str, Any]) -> Outcome: ...


def _when(event: Event) -> tuple[int, datetime, str]:
    """The sort key of an event: when it happened, then its id. A time that cannot be read (the
    function rejects such an event) sorts last."""
    detail = event.event.get("detail")
    detail = detail if isinstance(detail, dict) else {}
    event_id = detail.get("eventID")
    identity = event_id if isinstance(event_id, str) else ""
    stamp = detail.get("eventTime")
    try:
        moment = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        return 1, _NEVER, identity
    return 0, moment.astimezone(UTC), identity


def in_time_order(events: list[Event]) -> list[Event]:
    """By `eventTime`, then `eventID`; copies of one event keep the order they were read in."""
    return sorted(events, key=_when)


def replay(
    paths: Sequence[Path],
    runner: Runner,
    *,
    show: str = "text",
    importer: Importer | None = None,
    fail_on: Severity | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Replay every event in ``paths`` in time order, printing each in the form ``show``
    (`report.FORMS`), then one line per instance and the summary. The exit status is
    `Counts.exit_status`: 1 when the replay broke, 3 when ``fail_on`` is given and a violation
    at or above it was alerted, else 0. ``importer`` is the account and Region that would import
    Security Hub findings (for `securityhub`)."""
    out = out or sys.stdout
    err = err or sys.stderr
    counts = Counts(fail_on=fail_on)
    progress = Progress(err, counts)
    reader = LogReader(after_file=progress.update)
    counts.read = reader.tally
    timelines = Timelines()
    collected: list[Event] = []
    try:
        for item in reader.events(paths):
            if isinstance(item, Problem):
                counts.problems += 1
                progress.say(problem_line(item))
            else:
                if not collected and (start_soon := getattr(runner, "start_soon", None)):
                    start_soon()  # the first instance event: whatever it needs, set up meanwhile
                collected.append(item)
        for event in in_time_order(collected):
            outcome = runner.handle(event.event)
            counts.add(outcome)
            timelines.add(event, outcome)
            progress.clear()
            _show(out, event, outcome, show, importer)
            progress.update()
    except KeyboardInterrupt:
        progress.clear()
        print(f"interrupted: {counts.summary()}", file=err, flush=True)
        return EXIT_INTERRUPTED
    finally:
        progress.clear()
    closing = out if show == "text" else err
    stories = timelines.lines()
    if stories:
        print("instances, in the order they first appear:", file=closing)
        for line in stories:
            print(f"  {line}", file=closing)
    print(counts.summary(), file=closing, flush=True)
    return counts.exit_status


def _show(out: TextIO, event: Event, outcome: Outcome, show: str, importer: Importer | None) -> None:
    if show == "json":
        out.write(as_json_line(event, outcome) + "\n")
    elif show == "text":
        out.write(as_text(event, outcome) + "\n")
    else:
        out.write(as_form(event, outcome, show, importer or Importer("000000000000", "us-east-1")) + "\n")
    out.flush()
