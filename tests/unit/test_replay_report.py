"""What the replay tells: the progress line on a terminal only, the summary, the exit status."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from guardrail.core.policy import Severity
from guardrail_cli.logs import Event, ReadTally
from guardrail_cli.replay import replay
from guardrail_cli.report import STATUSES, Counts, Outcome, Progress, Timelines, as_json_line, at_or_above


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
        ({"alerted": 4, "nothing_new": 1}, 0),  # a tag change with nothing to say is no failure
        ({"alerted": 4, "rejected": 1}, 0),  # the function dead-letters it: what it would do
        ({"alerted": 4, "failed": 1}, 1),
        ({"alerted": 5, "problems": 1}, 1),
        ({"alerted": 5, "failing": 1}, 3),
        ({"alerted": 5, "failing": 1, "failed": 1}, 1),  # a broken replay says so first
    ],
)
def test_the_exit_status_says_whether_the_replay_broke(values: dict[str, int], status: int) -> None:
    assert counts(**values).exit_status == status


def test_the_summary_names_every_count() -> None:
    summary = counts(alerted=3, duplicates=1, rejected=1, problems=2).summary()
    assert summary == (
        "3 files, 1,234,567 records: 1,234,562 skipped (not matched by the deployed rules), 5 instance "
        "events: 3 alerted, 0 nothing new, 1 duplicates, 1 rejected, 0 failed; 2 could not be read (above)"
    )


def test_counting_outcomes() -> None:
    result = Counts()
    for status in ("alerted", "alerted", "nothing-new", "duplicate", "rejected", "failed"):
        result.add(Outcome(status))
    assert (result.alerted, result.nothing_new, result.duplicates, result.rejected, result.failed) == (
        2,
        1,
        1,
        1,
        1,
    )


def test_an_outcome_is_one_of_the_documented_set() -> None:
    assert STATUSES == ("alerted", "nothing-new", "duplicate", "rejected", "failed")
    with pytest.raises(ValueError, match="unknown outcome 'recorded'"):
        Outcome("recorded")


def _violation(severity: str) -> dict[str, Any]:
    return {"subject": "s", "attributes": {}, "body": {"verdict": "violation", "severity": severity}}


def test_fail_on_counts_violations_at_or_above_the_severity() -> None:
    result = Counts(fail_on=Severity.HIGH)
    for severity in ("low", "medium", "high", "critical"):
        result.add(Outcome("alerted", alert=_violation(severity)))
    result.add(
        Outcome(
            "alerted",
            alert={"subject": "s", "attributes": {}, "body": {"verdict": "info", "severity": "critical"}},
        )
    )
    assert result.failing == 2
    assert result.exit_status == 3
    assert result.summary().endswith("; 2 violations at or above high (--fail-on)")
    assert at_or_above(_violation("medium"), None) is False
    assert at_or_above(_violation("medium")["body"], Severity.MEDIUM) is True
    assert at_or_above(_violation("low")["body"], Severity.MEDIUM) is False


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
    assert "2 alerted (1 with facts missing), 0 nothing new, 0 duplicates" in result.summary()
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
        "0 nothing new, 0 duplicates, 1 rejected, 0 failed; 1 could not be read (above)",
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


# -- in the order things happened ----------------------------------------------------------------------

ARN = "arn:aws:sso:::instance/ssoins-0123456789abcdef"


def _record(event_id: str, name: str, when: str, **fields: Any) -> dict[str, Any]:
    return {
        "eventSource": "sso.amazonaws.com",
        "eventName": name,
        "eventID": event_id,
        "eventTime": when,
        "recipientAccountId": "333333333333",
        "awsRegion": "eu-west-1",
        **fields,
    }


def test_events_are_handled_in_time_order_whatever_the_order_of_files_and_records(tmp_path: Path) -> None:
    """Files in path order hold the deletion first, then a tag change, then the creation; the
    newest-first order lookup-events gives is in a third. Handled: by eventTime, then eventID, an
    offset time read as the moment it is, and a time that cannot be read last."""
    tag = {"requestParameters": {"resourceArn": ARN}}
    (tmp_path / "a.json").write_text(
        json.dumps(
            {
                "Records": [
                    _record("d", "DeleteInstance", "2026-11-03T00:00:00Z"),
                    _record("bad-time", "DeleteInstance", "yesterday"),
                ]
            }
        )
    )
    (tmp_path / "b.json").write_text(
        json.dumps({"Records": [_record("t", "TagResource", "2026-11-02T12:00:00+02:00", **tag)]})
    )
    (tmp_path / "c.json").write_text(
        json.dumps(
            {
                "Events": [
                    {"CloudTrailEvent": json.dumps(_record("c2", "CreateInstance", "2026-11-02T09:00:00Z"))},
                    {"CloudTrailEvent": json.dumps(_record("c1", "CreateInstance", "2026-11-02T09:00:00Z"))},
                ]
            }
        )
    )
    runner = Runner(*[Outcome("duplicate")] * 5)
    replay([tmp_path], runner, out=io.StringIO(), err=io.StringIO())
    # 12:00+02:00 is 10:00Z: after the creations, before the deletion.
    assert [e["detail"]["eventID"] for e in runner.events] == ["c1", "c2", "t", "d", "bad-time"]


def _alerted(verdict: str, severity: str, *rules: str) -> Outcome:
    body = {"verdict": verdict, "severity": severity, "findings": [{"rule": rule} for rule in rules]}
    return Outcome("alerted", alert={"subject": "s", "body": body, "attributes": {}})


def _event(event_id: str, name: str, when: str, **fields: Any) -> Event:
    return Event("log.json", "", {"detail": _record(event_id, name, when, **fields)})


def test_each_instance_has_one_line_its_story_and_its_last_verdict() -> None:
    timelines = Timelines()
    created = {"responseElements": {"instanceArn": ARN}}
    tagged = {"requestParameters": {"resourceArn": ARN}}
    timelines.add(
        _event("1", "CreateInstance", "2026-11-02T09:00:00Z", **created),
        _alerted("violation", "high", "missing-owner"),
    )
    timelines.add(_event("1", "CreateInstance", "2026-11-02T09:00:00Z", **created), Outcome("duplicate"))
    timelines.add(_event("2", "TagResource", "2026-11-02T10:00:00Z", **tagged), _alerted("compliant", "info"))
    timelines.add(_event("3", "UntagResource", "2026-11-02T11:00:00Z", **tagged), Outcome("nothing-new"))
    timelines.add(
        _event(
            "4",
            "DeleteInstance",
            "2026-11-03T08:00:00Z",
            requestParameters={"instanceArn": ARN},
            errorCode="AccessDenied",
        ),
        _alerted("violation", "medium", "root-user"),
    )
    timelines.add(
        _event("5", "DeleteInstance", "2026-11-03T09:00:00Z", requestParameters={"instanceArn": ARN}),
        _alerted("info", "info"),
    )
    # A creation that made no instance has no line of its own.
    timelines.add(
        _event("6", "CreateInstance", "2026-11-03T10:00:00Z", errorCode="AccessDenied"),
        _alerted("violation", "low", "x"),
    )
    assert timelines.lines() == [
        f"{ARN} 333333333333 eu-west-1: created 2026-11-02T09:00:00Z, retagged 2026-11-02T10:00:00Z, "
        "retagged 2026-11-02T11:00:00Z, DeleteInstance failed 2026-11-03T08:00:00Z, deleted 2026-11-03T09:00:00Z; "
        "compliant [info]"
    ]


def test_an_instance_never_judged_says_so() -> None:
    timelines = Timelines()
    timelines.add(
        _event("1", "UpdateInstance", "2026-11-02T09:00:00Z", requestParameters={"instanceArn": ARN}),
        Outcome("failed", reason="boom"),
    )
    assert timelines.lines() == [f"{ARN} 333333333333 eu-west-1: updated 2026-11-02T09:00:00Z; not judged"]


def test_the_stories_close_the_run_before_the_summary(tmp_path: Path) -> None:
    """With the summary: on standard output for text, on standard error beside JSON."""
    path = tmp_path / "log.json"
    record = _record("1", "DeleteInstance", "2026-11-02T09:00:00Z", requestParameters={"instanceArn": ARN})
    path.write_text(json.dumps({"Records": [record]}))
    out, err = io.StringIO(), io.StringIO()
    code = replay([path], Runner(_alerted("info", "info")), show="json", out=out, err=err)
    assert code == 0
    assert len(out.getvalue().splitlines()) == 1
    assert err.getvalue().splitlines() == [
        "instances, in the order they first appear:",
        f"  {ARN} 333333333333 eu-west-1: deleted 2026-11-02T09:00:00Z; info [info]",
        "1 files, 1 records: 0 skipped (not matched by the deployed rules), 1 instance events: 1 alerted, "
        "0 nothing new, 0 duplicates, 0 rejected, 0 failed",
    ]


def test_fail_on_makes_the_replay_exit_3(tmp_path: Path) -> None:
    path = _log(tmp_path, 2)
    runner = Runner(_alerted("violation", "medium", "x"), _alerted("violation", "high", "y"))
    assert (
        replay([path], runner, show="json", fail_on=Severity.HIGH, out=io.StringIO(), err=io.StringIO()) == 3
    )
    runner = Runner(_alerted("violation", "medium", "x"), _alerted("violation", "high", "y"))
    assert (
        replay([path], runner, show="json", fail_on=Severity.CRITICAL, out=io.StringIO(), err=io.StringIO())
        == 0
    )
    runner = Runner(_alerted("violation", "medium", "x"), _alerted("violation", "high", "y"))
    assert replay([path], runner, show="json", out=io.StringIO(), err=io.StringIO()) == 0
