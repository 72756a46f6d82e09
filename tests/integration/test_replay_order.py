"""A backtest worth trusting: the same alerts whatever the order of files, records and sources, and
every change a log makes to an instance applied, so that tag drift alerts as the function would.
"""

from __future__ import annotations

import json
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from guardrail_cli.main import main
from tests.integration.test_replay import SAMPLES, sample_record

Capture = pytest.CaptureFixture[str]
MINE = "arn:aws:sso:::instance/ssoins-d71f7d71f7d71f01"


def run_json(capsys: Capture, *argv: str | Path) -> tuple[int, list[dict[str, Any]], str]:
    code = main(["replay", *(str(arg) for arg in argv), "--json"])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def said(lines: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What each alert said, in the order given: the event, outcome, subject and decision."""
    return [
        (
            line["event_id"],
            line["status"],
            line["subject"],
            line["body"] and line["body"]["verdict"],
            line["body"] and line["body"]["severity"],
            line["body"] and tuple(f["rule"] for f in line["body"]["findings"]),
            line["body"] and line["body"]["action"],
        )
        for line in lines
    ]


def test_a_shuffled_copy_of_the_example_logs_gives_the_same_alerts(capsys: Capture, tmp_path: Path) -> None:
    """The README's example folder, then the same events shuffled: renamed so that path order
    differs, some moved into one JSON Lines file and some into one lookup-events output."""
    code, original, _ = run_json(capsys, SAMPLES)
    assert code == 0
    events = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(SAMPLES.glob("*.json"))]
    random.Random(7).shuffle(events)  # noqa: S311 -- a reproducible order, not a secret
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    third = len(events) // 3
    for index, event in enumerate(events[:third]):
        (shuffled / f"{len(events) - index:02d}.json").write_text(json.dumps(event), encoding="utf-8")
    (shuffled / "00-records.jsonl").write_text(
        "\n".join(json.dumps(event["detail"]) for event in events[third : 2 * third]) + "\n", encoding="utf-8"
    )
    lookup = {
        "Events": [
            {"CloudTrailEvent": json.dumps(event["detail"])} for event in reversed(events[2 * third :])
        ]
    }
    (shuffled / "50-lookup.json").write_text(json.dumps(lookup, indent=2), encoding="utf-8")

    code, again, _ = run_json(capsys, shuffled)
    assert code == 0
    assert said(again) == said(original)
    assert len(original) == len([p for p in SAMPLES.glob("*.json") if "not-an-instance-event" not in p.name])


def _at(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _call(
    event_id: str, name: str, when: datetime, request: dict[str, Any], response: Any = None
) -> dict[str, Any]:
    return sample_record(
        "create-instance-cli-trial-tagged",
        eventID=event_id,
        eventName=name,
        eventTime=_at(when),
        requestParameters=request,
        responseElements=response,
    )


def drift(now: datetime) -> list[dict[str, Any]]:
    """Bob's trial in Sandbox over five days: created in policy, its owner tag removed, its trial
    stretched past the policy's 60 days, put right, tagged again with nothing new, deleted."""
    start = now - timedelta(days=5)
    expires = (now + timedelta(days=30)).date().isoformat()
    too_late = (now + timedelta(days=200)).date().isoformat()
    tags = [
        {"key": "purpose", "value": "trial"},
        {"key": "owner", "value": "bob@example.com"},
        {"key": "expires", "value": expires},
    ]
    return [
        _call("d-1", "CreateInstance", start, {"name": "bobs-trial", "tags": tags}, {"instanceArn": MINE}),
        _call("d-2", "UntagResource", start + timedelta(days=1), {"resourceArn": MINE, "tagKeys": ["owner"]}),
        _call(
            "d-3",
            "TagResource",
            start + timedelta(days=2),
            {"resourceArn": MINE, "tags": [{"key": "expires", "value": too_late}]},
        ),
        _call("d-4", "TagResource", start + timedelta(days=3), {"resourceArn": MINE, "tags": tags[1:]}),
        _call(
            "d-5", "TagResource", start + timedelta(days=3, hours=1), {"resourceArn": MINE, "tags": tags[1:2]}
        ),
        _call("d-6", "DeleteInstance", start + timedelta(days=4), {"instanceArn": MINE}),
    ]


@pytest.fixture
def drifting(tmp_path: Path) -> Path:
    """The story's records in files whose path order is the reverse of time order, one of them twice."""
    records = drift(datetime.now(UTC))
    logs = tmp_path / "logs"
    logs.mkdir()
    for index, record in enumerate(reversed(records)):
        (logs / f"{index}.json").write_text(json.dumps({"Records": [record]}), encoding="utf-8")
    shutil.copy(logs / "0.json", logs / "9-copy.json")  # the deletion, delivered twice
    return logs


def test_tag_drift_alerts_in_time_order_and_nothing_new_is_no_failure(
    capsys: Capture, drifting: Path
) -> None:
    code, lines, err = run_json(capsys, drifting)
    assert code == 0, err  # a tag change with nothing to say is not a failure
    by_id = [(line["event_id"], line["status"]) for line in lines]
    assert by_id == [
        ("d-1", "alerted"),
        ("d-2", "alerted"),
        ("d-3", "alerted"),
        ("d-4", "alerted"),
        ("d-5", "nothing-new"),
        ("d-6", "alerted"),
        ("d-6", "duplicate"),
    ]
    bodies = {line["event_id"]: line["body"] for line in lines if line["body"]}
    assert bodies["d-1"]["verdict"] == "compliant"
    assert bodies["d-1"]["instance"]["name"] == "bobs-trial"
    # The owner tag removed: the instance as it is now lacks its justification.
    assert "missing-justification" in [f["rule"] for f in bodies["d-2"]["findings"]]
    assert "owner" not in bodies["d-2"]["instance"]["tags"]
    # The trial stretched past the policy: a changed violation, told as such.
    assert bodies["d-3"]["verdict"] == "violation"
    assert "trial-expiry" in [f["rule"] for f in bodies["d-3"]["findings"]]
    # Put right: in policy again, no violation left.
    assert bodies["d-4"]["verdict"] != "violation"
    assert bodies["d-4"]["findings"] == []
    assert bodies["d-6"]["event_name"] == "DeleteInstance"
    # Never taken for a second instance: each look saw the one instance, as it was then.
    assert not any(f["rule"] == "second-instance" for body in bodies.values() for f in body["findings"])

    story = next(line.strip() for line in err.splitlines() if line.strip().startswith(MINE))
    steps = story.split(": ", 1)[1].split("; ")[0].split(", ")
    assert [step.split(" ")[0] for step in steps] == [
        "created",
        "retagged",
        "retagged",
        "retagged",
        "retagged",
        "deleted",
    ]
    assert steps == sorted(steps, key=lambda step: step.split(" ")[1])  # in time order
    assert story.endswith(f"; {bodies['d-4']['verdict']} [info]")  # the last judgement's


def test_fail_on_fails_a_replay_with_a_violation_at_or_above_it(capsys: Capture, drifting: Path) -> None:
    code, _, err = run_json(capsys, drifting, "--fail-on", "medium")
    assert code == 3
    assert "violations at or above medium (--fail-on)" in err.splitlines()[-1]
    code, _, _ = run_json(capsys, drifting, "--fail-on", "critical")
    assert code == 0
