"""What the replay tells: the progress line on a terminal only, the summary, the exit status."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from guardrail_cli.logs import Event, ReadTally
from guardrail_cli.replay import replay
from guardrail_cli.report import Counts, Outcome, Progress, as_json_line


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def counts(**values: int) -> Counts:
    result = Counts(read=ReadTally(files=3, records=1_234_567, matched=5))
    for name, value in values.items():
        setattr(result, name, value)
    return result


def test_progress_is_drawn_on_a_terminal_at_most_every_interval() -> None:
    stream, clock = Terminal(), [0.0]
    progress = Progress(stream, counts(alerted=2), interval=1.0, clock=lambda: clock[0])
    progress.update()
    clock[0] = 0.5
    progress.update()  # too soon: not drawn again
    clock[0] = 1.5
    progress.update()
    line = "3 files, 1,234,567 records read: 5 matched, 2 alerted, 0 rejected, 0 failed"
    assert stream.getvalue() == f"\r\x1b[K{line}\r\x1b[K{line}"


def test_a_line_said_takes_the_progress_line_away_first() -> None:
    stream = Terminal()
    progress = Progress(stream, counts(), clock=lambda: 0.0)
    progress.update()
    progress.say("guardrail replay: x.json: empty file")
    assert stream.getvalue().endswith("\r\x1b[Kguardrail replay: x.json: empty file\n")
    progress.clear()  # nothing drawn since: nothing to clear
    assert stream.getvalue().endswith("empty file\n")


def test_no_progress_off_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(stream, counts())
    progress.update()
    progress.clear()
    progress.say("a problem")
    assert stream.getvalue() == "a problem\n"


@pytest.mark.parametrize(
    ("values", "status"),
    [
        ({"alerted": 5}, 0),
        ({"alerted": 4, "duplicates": 1}, 0),
        ({"alerted": 4, "rejected": 1}, 1),
        ({"alerted": 4, "failed": 1}, 1),
        ({"alerted": 5, "problems": 1}, 1),
    ],
)
def test_the_exit_status_says_whether_everything_was_alerted(values: dict[str, int], status: int) -> None:
    assert counts(**values).exit_status == status


def test_the_summary_names_every_count() -> None:
    summary = counts(alerted=3, duplicates=1, rejected=1, problems=2).summary()
    assert summary == (
        "3 files, 1,234,567 records: 1,234,562 skipped (not matched by the deployed rules), 5 instance "
        "events: 3 alerted, 1 duplicates, 1 rejected, 0 failed; 2 could not be read (above)"
    )


def test_counting_outcomes() -> None:
    result = Counts()
    for status in ("alerted", "alerted", "duplicate", "rejected", "failed"):
        result.add(Outcome(status))
    assert (result.alerted, result.duplicates, result.rejected, result.failed) == (2, 1, 1, 1)


def test_alerts_judged_on_missing_facts_are_counted_apart() -> None:
    result = Counts()
    missing = {
        "subject": "s",
        "attributes": {},
        "body": {"missing_facts": [{"fact": "account", "reason": "x"}]},
    }
    complete = {"subject": "s", "attributes": {}, "body": {"missing_facts": []}}
    result.add(Outcome("alerted", alert=missing))
    result.add(Outcome("alerted", alert=complete))
    assert (result.alerted, result.facts_missing) == (2, 1)
    assert "2 alerted (1 with facts missing), 0 duplicates" in result.summary()
    assert result.exit_status == 0  # an alert that names what is missing is still an alert


# -- the run, with a runner that needs no AWS -----------------------------------------------------------


class Runner:
    def __init__(self, *outcomes: Outcome | BaseException) -> None:
        self.outcomes = list(outcomes)
        self.events: list[dict[str, Any]] = []

    def handle(self, event: dict[str, Any]) -> Outcome:
        self.events.append(event)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def _log(tmp_path: Path, count: int) -> Path:
    records = [
        {"eventSource": "sso.amazonaws.com", "eventName": "DeleteInstance", "eventID": f"e-{i}"}
        for i in range(count)
    ]
    path = tmp_path / "log.json"
    path.write_text(
        json.dumps({"Records": [{"eventSource": "s3.amazonaws.com", "eventName": "GetObject"}, *records]})
    )
    return path


ALERT = {"subject": "[INFO] x", "body": {"verdict": "info", "missing_facts": []}, "attributes": {}}


def test_json_goes_to_standard_output_and_the_rest_to_standard_error(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(Outcome("alerted", alert=ALERT), Outcome("rejected", reason="bad"))
    code = replay([_log(tmp_path, 2), tmp_path / "absent"], runner, show="json", out=out, err=err)
    assert code == 1
    assert [json.loads(line)["status"] for line in out.getvalue().splitlines()] == ["alerted", "rejected"]
    assert [e["detail"]["eventID"] for e in runner.events] == ["e-0", "e-1"]
    assert err.getvalue().splitlines() == [
        f"guardrail replay: {tmp_path / 'absent'}: no such file or folder",
        "1 files, 3 records: 1 skipped (not matched by the deployed rules), 2 instance events: 1 alerted, "
        "0 duplicates, 1 rejected, 0 failed; 1 could not be read (above)",
    ]


def test_nothing_rejected_or_failed_exits_0(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = replay([_log(tmp_path, 1)], Runner(Outcome("duplicate")), out=out, err=err)
    assert code == 0
    assert err.getvalue() == ""
    assert out.getvalue().startswith(f"== {tmp_path / 'log.json'} Records[1]: DeleteInstance duplicate\n")


def test_an_interrupted_run_says_how_far_it_got(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(Outcome("alerted", alert=ALERT), KeyboardInterrupt())
    code = replay([_log(tmp_path, 2)], runner, show="json", out=out, err=err)
    assert code == 130
    assert len(out.getvalue().splitlines()) == 1
    assert err.getvalue().startswith("interrupted: 1 files, 3 records: ")


def test_a_json_line_is_one_line_of_json_naming_the_event() -> None:
    event = Event(
        "logs/a.json.gz", "Records[3]", {"detail": {"eventID": "e-1", "eventName": "DeleteInstance"}}
    )
    alert = {
        "subject": "[INFO] deleted \u2028 \x85 \u00e9t\u00e9",
        "body": {"verdict": "info"},
        "attributes": {"verdict": "info"},
    }
    line = as_json_line(event, Outcome("alerted", alert=alert, notes=("a note",)))
    assert len(line.splitlines()) == 1  # not even a line separator inside a string splits it
    assert json.loads(line) == {
        "file": "logs/a.json.gz",
        "position": "Records[3]",
        "event_id": "e-1",
        "status": "alerted",
        "reason": None,
        "notes": ["a note"],
        **alert,
    }
