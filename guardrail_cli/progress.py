"""A progress bar for long commands: done of total, the time spent and the time left.

Drawn by `rich` on a terminal only: when the stream is piped, redirected or in CI, nothing is
written, so that standard error holds only what a reader needs. `guardrail sweep` counts accounts
with it; any command that knows its total (files to replay, accounts to snapshot) can use it the
same way:

    with progress_bar(sys.stderr, "sweeping", "accounts") as update:
        update(done, total)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

Update = Callable[[int, int], None]


@contextmanager
def progress_bar(stream: TextIO, description: str, unit: str) -> Iterator[Update]:
    """Yields `update(done, total)`; the bar stays on screen, complete, when the block ends."""
    if not stream.isatty():
        yield lambda done, total: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        TextColumn("elapsed,"),
        TimeRemainingColumn(),
        TextColumn("left"),
    )
    with Progress(*columns, console=Console(file=stream), transient=False) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
