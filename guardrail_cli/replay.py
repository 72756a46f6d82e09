"""`guardrail replay`: CloudTrail logs through the deployed rules' pattern and the detect function.

Files are read one at a time (`logs`), the records the rules would not deliver are counted and
dropped, and each event they would deliver is handled by a runner: the real handler on the
embedded emulation (`emulated`, the default), or the function's decision on facts read from the
real organization (`backtest`, `--live`). Results go to standard output as they come, problems to
standard error, and a summary closes the run (`report`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

from guardrail.core.channels.securityhub import Importer
from guardrail_cli.emulated import LambdaContextStub, handler_environment
from guardrail_cli.logs import Event, LogReader, Problem
from guardrail_cli.report import (
    EXIT_INTERRUPTED,
    Counts,
    Outcome,
    Progress,
    as_form,
    as_json_line,
    as_text,
    problem_line,
)

# Tests and benchmarks drive the handler with these, as the emulated replay does.
__all__ = ["LambdaContextStub", "Runner", "handler_environment", "replay"]


class Runner(Protocol):
    def handle(self, event: dict[str, Any]) -> Outcome: ...


def replay(
    paths: Sequence[Path],
    runner: Runner,
    *,
    show: str = "text",
    importer: Importer | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Replay every event in ``paths``, printing each in the form ``show`` (`report.FORMS`); the
    exit status: 0 when each was alerted, else 1. ``importer`` is the account and Region that
    would import Security Hub findings (for `securityhub`)."""
    out = out or sys.stdout
    err = err or sys.stderr
    counts = Counts()
    progress = Progress(err, counts)
    reader = LogReader(after_file=progress.update)
    counts.read = reader.tally
    try:
        for item in reader.events(paths):
            if isinstance(item, Problem):
                counts.problems += 1
                progress.say(problem_line(item))
                continue
            outcome = runner.handle(item.event)
            counts.add(outcome)
            progress.clear()
            _show(out, item, outcome, show, importer)
            progress.update()
    except KeyboardInterrupt:
        progress.clear()
        print(f"interrupted: {counts.summary()}", file=err, flush=True)
        return EXIT_INTERRUPTED
    finally:
        progress.clear()
    print(counts.summary(), file=out if show == "text" else err, flush=True)
    return counts.exit_status


def _show(out: TextIO, event: Event, outcome: Outcome, show: str, importer: Importer | None) -> None:
    if show == "json":
        out.write(as_json_line(event, outcome) + "\n")
    elif show == "text":
        out.write(as_text(event, outcome) + "\n")
    else:
        out.write(as_form(event, outcome, show, importer or Importer("000000000000", "us-east-1")) + "\n")
    out.flush()
