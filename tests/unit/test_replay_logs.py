"""Reading CloudTrail logs as CloudTrail and its tools deliver them, through the deployed pattern."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from guardrail.pipeline.patterns import INSTANCE_EVENT_PATTERN, UnsupportedPattern
from guardrail_cli.logs import (
    LAKE_CSV_ADVICE,
    Event,
    LogReader,
    Problem,
    as_event,
    as_eventbridge,
    needles,
    required_values,
)

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "events"


def sample_record(name: str = "create-instance-console-success", **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))["detail"]
    record.update(changes)
    return record


def other_record(service: str = "s3", name: str = "GetObject", **changes: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.11",
        "eventSource": f"{service}.amazonaws.com",
        "eventName": name,
        "eventType": "AwsApiCall",
        "eventID": f"{service}-{name}",
        "awsRegion": "us-east-1",
        "recipientAccountId": "333333333333",
        **changes,
    }


def write(path: Path, value: Any, *, zipped: bool = False) -> Path:
    data = json.dumps(value).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if zipped else data)
    return path


def read(*paths: Path) -> tuple[list[Event], list[str], LogReader]:
    reader = LogReader()
    events: list[Event] = []
    problems: list[str] = []
    for item in reader.events(list(paths)):
        if isinstance(item, Problem):
            problems.append(str(item))
        else:
            events.append(item)
    return events, problems, reader


# -- what is accepted ----------------------------------------------------------------------------


def test_a_log_file_yields_only_what_the_rules_deliver_and_counts_the_rest(tmp_path: Path) -> None:
    records = [
        other_record(),
        sample_record(),
        other_record("ec2", "RunInstances"),
        sample_record("delete-instance"),
    ]
    events, problems, reader = read(write(tmp_path / "log.json", {"Records": records}))
    assert problems == []
    assert [(e.position, e.event["detail"]["eventName"]) for e in events] == [
        ("Records[1]", "CreateInstance"),
        ("Records[3]", "DeleteInstance"),
    ]
    assert (reader.tally.files, reader.tally.records, reader.tally.matched, reader.tally.skipped) == (
        1,
        4,
        2,
        2,
    )


def test_a_matched_record_is_shaped_as_eventbridge_delivers_it(tmp_path: Path) -> None:
    record = sample_record()
    (event,), _, _ = read(write(tmp_path / "log.json", {"Records": [record]}))
    assert event.event["source"] == "aws.sso"
    assert event.event["detail-type"] == "AWS API Call via CloudTrail"
    assert (event.event["account"], event.event["region"]) == ("444444444444", "eu-west-1")
    assert event.event["detail"] == record
    assert event.event == as_eventbridge(record)


def test_gzip_is_recognized_by_content_whatever_the_name(tmp_path: Path) -> None:
    records = {"Records": [sample_record()]}
    events, problems, _ = read(
        write(tmp_path / "a.json.gz", records, zipped=True), write(tmp_path / "b.json", records, zipped=True)
    )
    assert problems == []
    assert len(events) == 2


def test_a_folder_is_searched_recursively_in_path_order_and_digests_are_left_out(tmp_path: Path) -> None:
    day = tmp_path / "AWSLogs" / "o-exampleorg1" / "333333333333" / "CloudTrail" / "us-east-1" / "2026" / "11"
    write(
        day / "03" / "333333333333_CloudTrail_us-east-1_20261103T0000Z_b.json.gz",
        {"Records": [sample_record("delete-instance")]},
        zipped=True,
    )
    write(
        day / "02" / "333333333333_CloudTrail_us-east-1_20261102T0000Z_a.json.gz",
        {"Records": [sample_record()]},
        zipped=True,
    )
    digest = tmp_path / "AWSLogs" / "o-exampleorg1" / "333333333333" / "CloudTrail-Digest" / "us-east-1"
    write(
        digest / "333333333333_CloudTrail-Digest_us-east-1_t_us-east-1_20261102T000000Z.json.gz",
        {"logFiles": []},
        zipped=True,
    )
    (day / "02" / "notes.txt").write_text("not a log")
    events, problems, reader = read(tmp_path)
    assert problems == []
    assert [e.event["detail"]["eventName"] for e in events] == ["CreateInstance", "DeleteInstance"]
    assert reader.tally.files == 2


def test_lookup_events_output_is_read_from_each_cloudtrail_event_string(tmp_path: Path) -> None:
    export = {
        "Events": [
            {"EventId": "1", "EventName": "GetObject", "CloudTrailEvent": json.dumps(other_record())},
            {"EventId": "2", "EventName": "CreateInstance", "CloudTrailEvent": json.dumps(sample_record())},
            {"EventId": "3", "EventName": "CreateInstance"},
        ]
    }
    events, problems, reader = read(write(tmp_path / "lookup.json", export))
    assert [e.position for e in events] == ["Events[1]"]
    assert events[0].event["detail"]["eventID"] == sample_record()["eventID"]
    assert problems == [
        f"{tmp_path / 'lookup.json'}: Events[2]: no CloudTrailEvent string, as lookup-events gives"
    ]
    assert reader.tally.records == 2


def test_eventbridge_events_and_single_records_are_read_too(tmp_path: Path) -> None:
    event = json.loads((SAMPLES / "update-instance.json").read_text())
    not_matched = json.loads((SAMPLES / "not-an-instance-event-permission-set.json").read_text())
    events, problems, reader = read(
        write(tmp_path / "one.json", event),
        write(tmp_path / "list.json", [event, not_matched]),
        write(tmp_path / "record.json", sample_record()),
    )
    assert problems == []
    assert [e.event["detail"]["eventName"] for e in events] == [
        "UpdateInstance",
        "UpdateInstance",
        "CreateInstance",
    ]
    assert reader.tally.skipped == 1  # the permission-set call: the rules never deliver it


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"eventType": "AwsServiceEvent"}, "a service event has another detail-type"),
        ({"eventSource": "lightsail.amazonaws.com", "eventName": "CreateInstances"}, "another service"),
        ({"eventName": "CreateInstanceAccessControlAttributeConfiguration"}, "another call"),
        ({"eventName": ["x", "y"]}, "an array value without an instance call"),
    ],
)
def test_look_alikes_are_skipped_in_log_files(tmp_path: Path, change: dict[str, Any], why: str) -> None:
    events, _, reader = read(write(tmp_path / "log.json", {"Records": [sample_record(**change)]}))
    assert events == [], why
    assert reader.tally.skipped == 1


def test_a_value_array_with_an_instance_call_matches_as_in_eventbridge(tmp_path: Path) -> None:
    events, _, _ = read(
        write(tmp_path / "log.json", {"Records": [sample_record(eventName=["x", "CreateInstance"])]})
    )
    assert len(events) == 1


def test_the_verdict_of_a_combination_is_reused_and_stays_right(tmp_path: Path) -> None:
    records = [other_record()] * 500 + [sample_record()] + [other_record()] * 500 + [sample_record()]
    events, _, reader = read(write(tmp_path / "log.json", {"Records": records}))
    assert [e.position for e in events] == ["Records[500]", "Records[1001]"]
    assert reader.tally.records == 1002


INSTANCE = "arn:aws:sso:::instance/ssoins-3e4f5a6b7c8d9e0f"


def tagging(name: str, resource_arn: str | None) -> dict[str, Any]:
    params = {"instanceArn": INSTANCE, **({"resourceArn": resource_arn} if resource_arn else {})}
    return sample_record("create-instance-cli-trial-tagged", eventName=name, requestParameters=params)


def test_tag_changes_match_by_the_tagged_resource_whatever_came_before(tmp_path: Path) -> None:
    """Tag changes share eventSource, eventName and eventType with those of permission sets: the
    verdict of their combination is never reused, each is judged on its resource ARN."""
    permission_set = f"arn:aws:sso:::permissionSet/{INSTANCE.rsplit('/', 1)[-1]}/ps-0123456789abcdef"
    records = [
        tagging("TagResource", permission_set),
        tagging("TagResource", INSTANCE),
        tagging("TagResource", None),
        tagging("UntagResource", permission_set),
        tagging("UntagResource", INSTANCE),
        tagging("TagResource", permission_set),
        other_record(),
    ]
    events, _, _ = read(write(tmp_path / "log.json", {"Records": records}))
    assert [e.position for e in events] == ["Records[1]", "Records[4]"]
    assert events[0].event["detail"]["requestParameters"]["resourceArn"] == INSTANCE


def test_reading_is_lazy_file_by_file(tmp_path: Path) -> None:
    for index in range(3):
        write(tmp_path / f"{index}.json", {"Records": [sample_record(eventID=f"id-{index}")]})
    reader = LogReader()
    events: Iterator[Event | Problem] = reader.events([tmp_path])
    first = next(events)
    assert isinstance(first, Event)
    assert reader.tally.files == 1  # the other files are not read yet


def test_a_pattern_beyond_what_a_record_offers_is_refused() -> None:
    pattern = copy.deepcopy(INSTANCE_EVENT_PATTERN)
    pattern["account"] = ["333333333333"]
    with pytest.raises(UnsupportedPattern, match="only detail, detail-type, source"):
        LogReader(pattern)


# -- what is refused, one line each, and the rest still read ------------------------------------------


def _problem_of(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    good = write(tmp_path / "zz-good.json", {"Records": [sample_record()]})
    events, problems, _ = read(path, good)
    assert len(events) == 1, "the next file is still read"
    assert len(problems) == 1
    assert "\n" not in problems[0]
    assert problems[0].startswith(f"{path}: ")
    return problems[0].removeprefix(f"{path}: ")


def test_an_empty_file(tmp_path: Path) -> None:
    assert _problem_of(tmp_path, "empty.json", b"  \n") == "empty file"


def test_a_binary_file(tmp_path: Path) -> None:
    assert _problem_of(tmp_path, "image.json", bytes(range(256)) * 4) == "binary data, not JSON"


def test_a_truncated_gzip_file(tmp_path: Path) -> None:
    data = gzip.compress(json.dumps({"Records": [sample_record()] * 20}).encode())
    message = _problem_of(tmp_path, "cut.json.gz", data[: len(data) // 2])
    assert message == "truncated: the gzip stream ends before its end marker"


def test_corrupt_gzip_data(tmp_path: Path) -> None:
    data = gzip.compress(b'{"Records": []}')
    assert _problem_of(tmp_path, "bad.json.gz", data[:10] + b"\xff" * 20).startswith("corrupt gzip data")


def test_a_truncated_json_file(tmp_path: Path) -> None:
    data = json.dumps({"Records": [sample_record()]}).encode()
    assert (
        _problem_of(tmp_path, "cut.json", data[:-40]) == "truncated: the JSON ends before the document does"
    )


def test_text_that_is_not_json(tmp_path: Path) -> None:
    assert _problem_of(tmp_path, "notes.json", b"hello world").startswith("not JSON (")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a string", "a string is not an event"),
        (42, "a number is not an event"),
        ({"hello": "world"}, "a JSON object that is no event: neither an EventBridge event"),
        ({"Records": {"a": 1}}, "Records is an object, not a list"),
        ({"QueryResultRows": [[{"eventid": "1"}]]}, "CloudTrail Lake query results are not read"),
        ({"digestStartTime": "x", "logFiles": []}, "a CloudTrail digest file"),
    ],
)
def test_json_that_is_no_event(tmp_path: Path, value: Any, message: str) -> None:
    assert _problem_of(tmp_path, "value.json", json.dumps(value).encode()).startswith(message)


def test_a_record_that_is_not_an_object_is_named_and_the_others_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path / "log.json", {"Records": [sample_record(), "oops", sample_record("delete-instance")]}
    )
    events, problems, reader = read(path)
    assert [e.position for e in events] == ["Records[0]", "Records[2]"]
    assert problems == [f"{path}: Records[1]: a string is not a CloudTrail record"]
    assert reader.tally.records == 2


def test_missing_paths_and_folders_without_logs(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    events, problems, _ = read(tmp_path / "absent.json", tmp_path / "empty")
    assert events == []
    assert problems == [
        f"{tmp_path / 'absent.json'}: no such file or folder",
        f"{tmp_path / 'empty'}: no CloudTrail logs (*.json, *.json.gz, *.jsonl) in this folder",
    ]


def test_a_folder_that_cannot_be_listed_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    write(tmp_path / "a" / "log.json", {"Records": [sample_record()]})
    (tmp_path / "b").mkdir()
    listing = os.scandir

    def scandir(path: Any) -> Any:
        if Path(path) == tmp_path / "b":
            raise PermissionError(13, "Permission denied")
        return listing(path)

    monkeypatch.setattr("guardrail_cli.logs.os.scandir", scandir)
    events, problems, _ = read(tmp_path)
    assert len(events) == 1
    assert problems == [f"{tmp_path / 'b'}: cannot list this folder: Permission denied"]


# -- JSON Lines, documents one after another, CloudTrail Lake ------------------------------------------


def test_json_lines_are_read_one_record_a_line(tmp_path: Path) -> None:
    """As `jq -c '.Records[]'` and log exports write them: blank lines are nothing, a bad line is
    named by its number, and the other lines are still read."""
    lines = [
        json.dumps(other_record()),
        json.dumps(sample_record()),
        "",
        "{not json",
        json.dumps(sample_record("delete-instance")),
        json.dumps(json.loads((SAMPLES / "update-instance.json").read_text())),  # an EventBridge event
    ]
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(lines) + "\n")
    events, problems, reader = read(path)
    assert [(e.position, e.event["detail"]["eventName"]) for e in events] == [
        ("line 2", "CreateInstance"),
        ("line 5", "DeleteInstance"),
        ("line 6", "UpdateInstance"),
    ]
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}: line 4: not JSON")
    assert (reader.tally.records, reader.tally.matched) == (4, 3)


def test_lookup_events_outputs_one_after_another_are_each_read(tmp_path: Path) -> None:
    """`aws cloudtrail lookup-events >> events.json`, page after page: pretty-printed documents."""
    pages = [
        {"Events": [{"CloudTrailEvent": json.dumps(sample_record())}], "NextToken": "t"},
        {"Events": [{"CloudTrailEvent": json.dumps(sample_record("delete-instance"))}]},
    ]
    path = tmp_path / "events.json"
    path.write_text("\n".join(json.dumps(page, indent=4) for page in pages) + "\n")
    events, problems, _ = read(path)
    assert problems == []
    assert [e.position for e in events] == ["document 1: Events[0]", "document 2: Events[0]"]
    assert [e.event["detail"]["eventName"] for e in events] == ["CreateInstance", "DeleteInstance"]


def test_a_broken_document_after_good_ones_is_named(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    good = json.dumps({"Events": [{"CloudTrailEvent": json.dumps(sample_record())}]}, indent=2)
    path.write_text(good + "\n{\n  oops\n")
    events, problems, _ = read(path)
    assert len(events) == 1
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}: document 2: not JSON (")


@pytest.mark.parametrize(
    "header",
    [
        "eventVersion,userIdentity,eventTime,eventSource,eventName,awsRegion",
        '"eventid","eventname","eventsource"',
    ],
)
def test_a_cloudtrail_lake_csv_export_is_refused_with_what_to_run_instead(
    tmp_path: Path, header: str
) -> None:
    row = '1.11,"{type=IAMUser, arn=arn:aws:iam::1:user/bob}",2026-11-02T09:14:03Z,sso.amazonaws.com,CreateInstance,eu-west-1'
    message = _problem_of(tmp_path, "lake.csv", f"{header}\n{row}\n".encode())
    assert message == LAKE_CSV_ADVICE
    assert "aws cloudtrail lookup-events" in message
    assert "aws s3 sync" in message


def test_a_lake_export_in_a_folder_is_refused_not_passed_over(tmp_path: Path) -> None:
    (tmp_path / "results.csv").write_text("eventTime,eventSource,eventName\n")
    events, problems, _ = read(tmp_path)
    assert events == []
    assert problems == [f"{tmp_path / 'results.csv'}: {LAKE_CSV_ADVICE}"]


# -- looking before parsing ------------------------------------------------------------------------------


def test_what_a_record_must_hold_comes_from_the_deployed_pattern() -> None:
    required = required_values(INSTANCE_EVENT_PATTERN)
    assert required == {
        "eventSource": frozenset({"sso.amazonaws.com"}),
        "eventName": frozenset(
            {"CreateInstance", "DeleteInstance", "UpdateInstance", "TagResource", "UntagResource"}
        ),
    }
    assert needles(required) == (b"sso.amazonaws.com",)
    # A value JSON writers may escape (here a slash) is not searched for in bytes.
    assert needles({"eventSource": frozenset({"a/b"})}) == ()


def test_a_file_without_the_event_source_is_counted_unparsed_but_checked_whole(tmp_path: Path) -> None:
    records = [other_record(), other_record("ec2", "RunInstances"), other_record("kms", "Decrypt")]
    events, problems, reader = read(write(tmp_path / "a.json.gz", {"Records": records}, zipped=True))
    assert (events, problems) == ([], [])
    assert (reader.tally.records, reader.tally.matched) == (3, 0)
    # Without the event source, but not whole: still named, never counted as read.
    data = json.dumps({"Records": records}).encode()
    assert (
        _problem_of(tmp_path, "cut.json", data[:-30]) == "truncated: the JSON ends before the document does"
    )


def test_a_record_with_the_source_elsewhere_in_its_bytes_is_still_judged_by_the_pattern(
    tmp_path: Path,
) -> None:
    """The search only picks files and records to look at: a record naming sso.amazonaws.com in
    another field, or an sso call of another name, is read and not matched."""
    records = [
        other_record(requestParameters={"endpoint": "sso.amazonaws.com"}),
        sample_record(eventName="ListInstances"),
        sample_record(),
    ]
    events, _, reader = read(write(tmp_path / "log.json", {"Records": records}))
    assert [e.position for e in events] == ["Records[2]"]
    assert reader.tally.records == 3


def test_a_raw_cloudtrail_record_is_wrapped_and_an_event_kept() -> None:
    record = sample_record()
    assert as_event(record) == as_eventbridge(record)
    event = json.loads((SAMPLES / "update-instance.json").read_text())
    assert as_event(event) is event
    assert as_event([1]) == [1]
