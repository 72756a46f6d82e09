"""`decide` never reads the clock: the time it judges at is the `now` it is given, and nothing else.

Deterministic output for equal inputs cannot show this (two calls a microsecond apart read the
same day), so every call of a C function that reads the system clock is watched for while the
decision is made: `datetime.now`/`utcnow`/`today`, `date.today`, and the `time` module's clocks.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from types import FrameType
from typing import Any

from hypothesis import given

from guardrail.core.decision import decide
from guardrail.core.policy import Policy
from tests.builders import NOW, facts
from tests.unit.test_properties import SETTINGS, Scenario, scenarios

_DATE_CLOCKS = frozenset({"now", "utcnow", "today"})
_TIME_CLOCKS = frozenset(
    {
        "time",
        "time_ns",
        "monotonic",
        "monotonic_ns",
        "perf_counter",
        "perf_counter_ns",
        "process_time",
        "process_time_ns",
        "thread_time",
        "thread_time_ns",
        "clock_gettime",
        "clock_gettime_ns",
        "localtime",
        "gmtime",
        "ctime",
        "asctime",
        "strftime",
    }
)


def _reads_clock(function: Any) -> bool:
    owner, name = getattr(function, "__self__", None), getattr(function, "__name__", "")
    if owner is time:
        return name in _TIME_CLOCKS
    return isinstance(owner, type) and issubclass(owner, date) and name in _DATE_CLOCKS


@contextmanager
def clock_reads() -> Iterator[list[str]]:
    """The clock reads made inside the block, each as `function at file:line`."""
    reads: list[str] = []

    def watch(frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call" and _reads_clock(arg):
            reads.append(f"{arg.__qualname__} at {frame.f_code.co_filename}:{frame.f_lineno}")

    # A garbage collection inside the block would run others' callbacks (Hypothesis times them).
    collecting = gc.isenabled()
    gc.disable()
    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        yield reads
    finally:
        sys.setprofile(previous)
        if collecting:
            gc.enable()


def test_the_watch_sees_every_way_of_reading_the_clock() -> None:
    """The watch itself can fail: a read of each kind, direct or through an alias, is seen."""
    now: Callable[..., datetime] = datetime.now
    readers: list[Callable[[], object]] = [
        lambda: datetime.now(UTC),
        lambda: now(),
        lambda: date.today(),
        lambda: time.time(),
        lambda: time.monotonic(),
        lambda: time.localtime(),
    ]
    for read in readers:
        with clock_reads() as reads:
            read()
        assert len(reads) == 1, reads
    with clock_reads() as reads:
        datetime(2026, 11, 10, tzinfo=UTC).astimezone(UTC).date()
    assert reads == []


def test_a_decision_reads_no_clock() -> None:
    with clock_reads() as reads:
        decide(facts(), Policy(), NOW)
    assert reads == []


@SETTINGS
@given(scenarios())
def test_no_decision_ever_reads_the_clock(s: Scenario) -> None:
    with clock_reads() as reads:
        decide(s.facts, s.policy, s.now)
    assert reads == [], f"decide read the clock: {reads}"
