"""CloudTrail logs as they are delivered, read into the events the deployed rules would deliver.

What a trail writes to S3 is a tree of gzipped files (`AWSLogs/<org>/<account>/CloudTrail/<region>/
YYYY/MM/DD/*.json.gz`), each one JSON object `{"Records": [...]}`; a month of an organization
trail is millions of records, of which a handful are instance calls. So files are read one at a
time, and the bytes are searched before anything is parsed: a record can match the pattern only
if the exact values the pattern asks of it (`eventSource: sso.amazonaws.com`) are in its bytes, so
a file without them is only counted. A file with them is decoded as far as those fields (msgspec
skips the rest of each record), and only the records that hold the wanted values are decoded whole
and matched against the pattern itself. Reading thus costs little more than decompressing, and
the memory used is that of the largest file, whatever the size of the log.

The search assumes what every JSON writer does: the letters, digits, dots and dashes of a value are
written as themselves, not as `\\u` escapes. A value with other characters is not searched for.

Also read: JSON Lines (one record or event per line, as log exports and `jq -c` write them),
`aws cloudtrail lookup-events` output (`{"Events": [{"CloudTrailEvent": "<json>"}]}`), several
JSON documents one after another (lookup-events pages appended to one file), an EventBridge event
or a list of them, a single CloudTrail record; plain or gzipped (recognized by content, whatever
the name). A record is matched against the very pattern the stacks deploy, in the shape
EventBridge gives it (`as_eventbridge`); what does not match is counted, not kept. A CloudTrail
Lake CSV export is refused, with what to run instead: its nested fields are not JSON.

Whatever cannot be read is reported as a `Problem`, one line naming the file (and the item in
it), and reading goes on with the next one.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from guardrail.pipeline.patterns import INSTANCE_EVENT_PATTERN, UnsupportedPattern, check_pattern
from guardrail.pipeline.patterns import matches as pattern_matches

LOG_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz")
# Files read and decompressed ahead of the one being parsed, and the threads that do it.
READ_AHEAD = 4
READERS = 2
# Read too when found in a folder, so that a CloudTrail Lake export is refused with a reason
# rather than passed over in silence.
CSV_SUFFIXES = (".csv", ".csv.gz")
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
# CloudTrail's `eventType` -> the `detail-type` EventBridge gives the records (EventBridge User Guide,
# "AWS service events delivered via AWS CloudTrail").
DETAIL_TYPES: Mapping[str, str] = {
    "AwsApiCall": "AWS API Call via CloudTrail",
    "AwsServiceEvent": "AWS Service Event via CloudTrail",
    "AwsConsoleAction": "AWS Console Action via CloudTrail",
    "AwsConsoleSignIn": "AWS Console Signin via CloudTrail",
    "AwsCloudTrailInsight": "AWS Insight via CloudTrail",
}
# What `as_eventbridge` derives from a record, so what a pattern may ask of it.
_ENVELOPE_FIELDS = frozenset({"source", "detail-type", "detail"})
# Values searched for in bytes: written as themselves by every JSON writer.
_SEARCHABLE = re.compile(r"[A-Za-z0-9._:-]+")
LAKE_CSV_ADVICE = (
    "a CloudTrail Lake CSV export is not read: its nested fields (userIdentity, requestParameters, "
    "responseElements) are not JSON, so the calls cannot be rebuilt faithfully; replay the trail's "
    "own files instead (aws s3 sync s3://<trail-bucket>/AWSLogs/ logs/), or lookup-events output "
    "(aws cloudtrail lookup-events --lookup-attributes AttributeKey=EventSource,AttributeValue="
    "sso.amazonaws.com > events.json, the last 90 days)"
)


class _Unit(msgspec.Struct, gc=False):
    """A record counted, nothing of it decoded."""


class _CountedTrail(msgspec.Struct, gc=False):
    Records: list[_Unit]


class _RawTrail(msgspec.Struct):
    Records: list[msgspec.Raw]


_RawRecords = msgspec.json.Decoder(_RawTrail)
_Counted = msgspec.json.Decoder(_CountedTrail)
_Value = msgspec.json.Decoder()
_RawList = msgspec.json.Decoder(list[msgspec.Raw])


@dataclass(frozen=True)
class Problem:
    """Something that could not be read; `str()` is the one line that says so."""

    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


@dataclass(frozen=True)
class Event:
    """An event the deployed rules would deliver, as EventBridge delivers it, and where it was read."""

    source: str
    position: str  # the item within the file, e.g. "Records[12]" or "line 3"; "" for a file of one event
    event: dict[str, Any]


@dataclass
class ReadTally:
    """What reading has seen so far: for the progress line and the summary."""

    files: int = 0
    records: int = 0
    matched: int = 0

    @property
    def skipped(self) -> int:
        """Records the deployed rules would not deliver."""
        return self.records - self.matched


# -- the EventBridge shape of a record ---------------------------------------------------------------


def _source(event_source: Any) -> str:
    # sso.amazonaws.com -> aws.sso, as EventBridge names the source of a CloudTrail record.
    return "aws." + str(event_source).split(".", 1)[0]


def _detail_type(event_type: Any) -> str:
    if event_type is None:  # hand-written records often omit it
        return DETAIL_TYPES["AwsApiCall"]
    return DETAIL_TYPES.get(str(event_type), f"{event_type} via CloudTrail")


def as_eventbridge(record: dict[str, Any]) -> dict[str, Any]:
    """Wrap a CloudTrail record (from a trail's log file) the way EventBridge delivers it."""
    event_id = record.get("eventID")
    seed = event_id if isinstance(event_id, str) else msgspec.json.encode(record).decode()
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, seed)),
        "detail-type": _detail_type(record.get("eventType")),
        "source": _source(record.get("eventSource", "unknown")),
        "account": record.get("recipientAccountId", ""),
        "time": record.get("eventTime", ""),
        "region": record.get("awsRegion", ""),
        "resources": [],
        "detail": record,
    }


def as_event(value: Any) -> Any:
    """An EventBridge event as it is; a raw CloudTrail record wrapped as EventBridge delivers it."""
    if isinstance(value, dict) and not _is_eventbridge_event(value) and _is_record(value):
        return as_eventbridge(value)
    return value


def _is_eventbridge_event(value: Mapping[str, Any]) -> bool:
    return "detail" in value or "detail-type" in value


def _is_record(value: Mapping[str, Any]) -> bool:
    return "eventSource" in value or "eventName" in value or "eventVersion" in value


# -- what a record must hold to match -----------------------------------------------------------------


def _exact_strings(wanted: Any) -> frozenset[str] | None:
    if isinstance(wanted, list) and wanted and all(isinstance(value, str) for value in wanted):
        return frozenset(wanted)
    return None


def required_values(pattern: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Fields of the record (`detail`) that must hold one of a few exact strings for ``pattern`` to
    match: those the pattern lists exact strings for, and those every branch of its `$or` does (any
    of their strings). A necessary condition only: the pattern itself still decides."""
    detail = pattern.get("detail")
    if not isinstance(detail, Mapping):
        return {}
    required = {
        key: values
        for key, wanted in detail.items()
        if key != "$or" and (values := _exact_strings(wanted)) is not None
    }
    branches = detail.get("$or") or []
    if branches:
        for key in set.intersection(*(set(branch) for branch in branches)) - set(required):
            sets = [_exact_strings(branch[key]) for branch in branches]
            if all(values is not None for values in sets):
                required[key] = frozenset().union(*(v for v in sets if v is not None))
    return required


def needles(required: Mapping[str, frozenset[str]]) -> tuple[bytes, ...]:
    """Byte strings of which a record that can match holds at least one: the values of the
    required field with the fewest, when they can be searched for; () when none can."""
    for _, values in sorted(required.items(), key=lambda item: len(item[1])):
        if all(_SEARCHABLE.fullmatch(value) for value in values):
            return tuple(value.encode() for value in sorted(values))
    return ()


# -- files --------------------------------------------------------------------------------------------


def _is_log_name(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(LOG_SUFFIXES + CSV_SUFFIXES) and "_cloudtrail-digest_" not in lowered


def _walk(folder: Path) -> Iterator[Path | Problem]:
    """Log files below ``folder`` in path order, one folder's listing in memory at a time."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as error:
        yield Problem(str(folder), f"cannot list this folder: {error.strerror or error}")
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if entry.name != "CloudTrail-Digest":  # digests list log files; they hold no events
                yield from _walk(Path(entry.path))
        elif entry.is_file() and _is_log_name(entry.name):
            yield Path(entry.path)


def log_files(paths: Sequence[Path]) -> Iterator[Path | Problem]:
    """The files to read: each file named, and the log files in each folder named, recursively."""
    for path in paths:
        if path.is_dir():
            found = False
            for file in _walk(path):
                found = found or isinstance(file, Path)
                yield file
            if not found:
                yield Problem(str(path), "no CloudTrail logs (*.json, *.json.gz, *.jsonl) in this folder")
        elif path.is_file():
            yield path
        elif path.exists():
            yield Problem(str(path), "not a file or a folder")
        else:
            yield Problem(str(path), "no such file or folder")


def _load(path: Path) -> bytes | Problem:
    """A file's bytes, decompressed, or why they cannot be had."""
    source = str(path)
    try:
        data = _contents(path)
    except OSError as error:
        return Problem(source, f"cannot read: {error.strerror or error}")
    except EOFError:
        return Problem(source, "truncated: the gzip stream ends before its end marker")
    except (gzip.BadGzipFile, zlib.error) as error:
        return Problem(source, f"corrupt gzip data ({error})")
    if not data or data.isspace():  # isspace stops at the first other byte: no copy, no scan
        return Problem(source, "empty file")
    return data


def _contents(path: Path) -> bytes:
    data = path.read_bytes()
    if data.startswith(_GZIP_MAGIC):
        data = gzip.decompress(data)
    return data.removeprefix(_BOM)


def _decode_problem(error: msgspec.DecodeError, data: bytes) -> str:
    text = str(error)
    if "truncated" in text:
        return "truncated: the JSON ends before the document does"
    head = data[:1024]
    try:
        head.decode("utf-8")
        binary = b"\x00" in head
    except UnicodeDecodeError as bad:
        binary = bad.start < len(head) - 4  # not just a character cut by the 1 KB boundary
    return "binary data, not JSON" if binary else f"not JSON ({text})"


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _is_lake_csv(data: bytes) -> bool:
    """A CSV whose header names CloudTrail's fields, as CloudTrail Lake exports query results."""
    header = data[:4096].split(b"\n", 1)[0].decode("utf-8", "replace")
    columns = {column.strip().strip('"').lower() for column in header.split(",")}
    return len(columns) > 1 and bool(columns & {"eventid", "eventname", "eventsource", "eventtime"})


# -- reading ------------------------------------------------------------------------------------------


class LogReader:
    """Reads logs file by file and yields what the rules with ``pattern`` would deliver.

    ``after_file`` is called after each file (for a progress display); ``tally`` counts.
    """

    def __init__(
        self,
        pattern: Mapping[str, Any] = INSTANCE_EVENT_PATTERN,
        *,
        after_file: Callable[[], None] = lambda: None,
    ) -> None:
        check_pattern(pattern)
        if not set(pattern) <= _ENVELOPE_FIELDS:
            raise UnsupportedPattern(
                f"a record read from a log has only {', '.join(sorted(_ENVELOPE_FIELDS))} to match on"
            )
        self._pattern = pattern
        self._after_file = after_file
        self.tally = ReadTally()
        self._required = required_values(pattern)
        self._needles = needles(self._required)
        # Only the required fields are decoded from each record, typed Any so that an array value
        # (which EventBridge matches element by element) is seen as such.
        self._fields = tuple(sorted(self._required))
        head = msgspec.defstruct(
            "Head", [(name, Any, msgspec.UNSET) for name in self._fields], gc=False, kw_only=True
        )
        trail = msgspec.defstruct("Trail", [("Records", list[head])], gc=False)  # type: ignore[valid-type]
        self._trail: msgspec.json.Decoder[Any] = msgspec.json.Decoder(trail)

    def events(self, paths: Sequence[Path]) -> Iterator[Event | Problem]:
        """Every file's events, in path order. The next files are read and decompressed ahead, on
        two threads (zlib leaves the interpreter free while it works), a few at most in memory."""
        found = iter(log_files(paths))
        with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="read") as pool:
            ahead: deque[tuple[Path | Problem, Future[bytes | Problem] | None]] = deque()

            def fill() -> None:
                while len(ahead) < READ_AHEAD and (item := next(found, None)) is not None:
                    ahead.append((item, None if isinstance(item, Problem) else pool.submit(_load, item)))

            fill()
            while ahead:
                item, loading = ahead.popleft()
                fill()
                if loading is None:
                    assert isinstance(item, Problem)
                    yield item
                    continue
                yield from self._parse(str(item), loading.result())
                self._after_file()

    def read(self, path: Path) -> Iterator[Event | Problem]:
        """The events of one file that the rules would deliver, and what in it could not be read."""
        yield from self._parse(str(path), _load(path))

    def _parse(self, source: str, loaded: bytes | Problem) -> Iterator[Event | Problem]:
        self.tally.files += 1
        if isinstance(loaded, Problem):
            yield loaded
        else:
            yield from self._read_data(source, loaded)

    def _holds_needle(self, data: bytes) -> bool:
        return not self._needles or any(needle in data for needle in self._needles)

    def _read_data(self, source: str, data: bytes) -> Iterator[Event | Problem]:
        if not self._holds_needle(data):
            try:  # a log file with nothing the rules could want: counted, and checked whole
                self.tally.records += len(_Counted.decode(data).Records)
                return
            except msgspec.DecodeError:
                pass  # not a plain log file: find out what it is
        else:
            try:
                heads = self._trail.decode(data).Records
            except msgspec.DecodeError:
                pass
            else:
                yield from self._matching_records(source, data, heads)
                return
        yield from self._read_any(source, data)

    def _candidate(self, head: Any) -> bool:
        """Whether a record's required fields let it match: each a wanted string (or not a string
        at all, an array say, which the pattern itself then judges)."""
        for name in self._fields:
            value = getattr(head, name)
            if value is msgspec.UNSET:
                return False  # a missing field never matches
            if isinstance(value, str) and value not in self._required[name]:
                return False
        return True

    def _matching_records(self, source: str, data: bytes, heads: list[Any]) -> Iterator[Event]:
        self.tally.records += len(heads)
        wanted = [index for index, head in enumerate(heads) if self._candidate(head)]
        if not wanted:
            return
        records = _RawRecords.decode(data).Records
        for index in wanted:
            value = _Value.decode(records[index])
            yield from self._offer(source, f"Records[{index}]", as_eventbridge(value), counted=True)

    def _read_any(self, source: str, data: bytes) -> Iterator[Event | Problem]:
        try:
            document = _Value.decode(data)
        except msgspec.DecodeError as error:
            if _is_lake_csv(data):
                yield Problem(source, LAKE_CSV_ADVICE)
            elif "trailing characters" in str(error):
                yield from self._several(source, data)
            else:
                yield Problem(source, _decode_problem(error, data))
            return
        yield from self._document(source, "", document, single=True)

    def _document(
        self, source: str, prefix: str, document: Any, *, single: bool = False
    ) -> Iterator[Event | Problem]:
        """One JSON document: a log file, lookup-events output, an event, a record or a list."""
        where = f"{source}: {prefix}" if prefix else source
        at = f"{prefix}: " if prefix else ""
        if isinstance(document, list):
            yield from self._items(source, at, document, records=False)
        elif not isinstance(document, dict):
            yield Problem(where, f"{_kind(document)} is not an event")
        elif "Records" in document:
            if isinstance(document["Records"], list):
                yield from self._items(source, f"{at}Records", document["Records"], records=True)
            else:
                yield Problem(where, f"Records is {_kind(document['Records'])}, not a list")
        elif "Events" in document:
            yield from self._lookup_events(source, at, document["Events"])
        elif "QueryResultRows" in document:
            yield Problem(
                where,
                "CloudTrail Lake query results are not read: their rows hold the columns a query "
                "selected, in Lake's schema, not CloudTrail records; replay the trail's files or "
                "lookup-events output instead",
            )
        elif "logFiles" in document and "digestStartTime" in document:
            yield Problem(where, "a CloudTrail digest file: it lists log files and holds no events")
        else:
            position = prefix if not single else ""
            yield from self._item(source, position, document, records=False)

    def _items(self, source: str, key: str, items: list[Any], *, records: bool) -> Iterator[Event | Problem]:
        for index, value in enumerate(items):
            yield from self._item(source, f"{key}[{index}]", value, records=records)

    def _item(self, source: str, position: str, value: Any, *, records: bool) -> Iterator[Event | Problem]:
        where = f"{source}: {position}" if position else source
        if not isinstance(value, dict):
            what = "a CloudTrail record" if records else "an event"
            yield Problem(where, f"{_kind(value)} is not {what}")
        elif records or (not _is_eventbridge_event(value) and _is_record(value)):
            yield from self._offer(source, position, as_eventbridge(value))
        elif _is_eventbridge_event(value):
            yield from self._offer(source, position, value)
        else:
            yield Problem(
                where,
                "a JSON object that is no event: neither an EventBridge event, a CloudTrail "
                'record, a CloudTrail log file ({"Records": [...]}) nor lookup-events output '
                '({"Events": [...]})',
            )

    def _lookup_events(self, source: str, at: str, items: Any) -> Iterator[Event | Problem]:
        if not isinstance(items, list):
            yield Problem(f"{source}: {at}".removesuffix(": "), f"Events is {_kind(items)}, not a list")
            return
        for index, value in enumerate(items):
            position = f"{at}Events[{index}]"
            text = value.get("CloudTrailEvent") if isinstance(value, dict) else None
            if not isinstance(text, str):
                yield Problem(f"{source}: {position}", "no CloudTrailEvent string, as lookup-events gives")
                continue
            if not self._holds_needle(text.encode()):
                self.tally.records += 1
                continue
            try:
                record = _Value.decode(text)
            except msgspec.DecodeError as error:
                yield Problem(f"{source}: {position}", f"CloudTrailEvent is {_decode_problem(error, b'')}")
                continue
            if not isinstance(record, dict):
                yield Problem(f"{source}: {position}", f"CloudTrailEvent holds {_kind(record)}, not a record")
                continue
            yield from self._offer(source, position, as_eventbridge(record))

    # -- several documents in one file ---------------------------------------------------------------

    def _several(self, source: str, data: bytes) -> Iterator[Event | Problem]:
        """JSON Lines, or JSON documents one after another (pretty-printed lookup-events pages)."""
        lines = data.split(b"\n")
        first = next((line for line in lines if line.strip()), b"")
        try:
            _Value.decode(first)
        except msgspec.DecodeError:
            yield from self._concatenated(source, data)
        else:
            yield from self._json_lines(source, lines)

    def _json_lines(self, source: str, lines: list[bytes]) -> Iterator[Event | Problem]:
        numbered = [(number, line) for number, line in enumerate(lines, 1) if line.strip()]
        bad: set[int] = set()
        try:  # every line at once: one call, whatever their number
            _RawList.decode(b"[" + b",".join(line for _, line in numbered) + b"]")
        except msgspec.DecodeError:
            for number, line in numbered:
                try:
                    _Value.decode(line)
                except msgspec.DecodeError as error:
                    bad.add(number)
                    yield Problem(f"{source}: line {number}", _decode_problem(error, line))
        for number, line in numbered:
            if number in bad:
                continue
            if not self._holds_needle(line):
                self.tally.records += 1  # one record (or event) a line, none the rules want
                continue
            yield from self._document(source, f"line {number}", _Value.decode(line))

    def _concatenated(self, source: str, data: bytes) -> Iterator[Event | Problem]:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            yield Problem(source, f"not UTF-8 text (byte {error.start})")
            return
        decoder = json.JSONDecoder()
        index, number = 0, 0
        while True:
            while index < len(text) and text[index].isspace():
                index += 1
            if index >= len(text):
                return
            number += 1
            try:
                document, index = decoder.raw_decode(text, index)
            except json.JSONDecodeError as error:
                yield Problem(
                    f"{source}: document {number}",
                    f"not JSON ({error.msg}, line {error.lineno} column {error.colno})",
                )
                return
            yield from self._document(source, f"document {number}", document)

    def _offer(
        self, source: str, position: str, event: dict[str, Any], *, counted: bool = False
    ) -> Iterator[Event]:
        if not counted:
            self.tally.records += 1
        if pattern_matches(self._pattern, event):
            self.tally.matched += 1
            yield Event(source, position, event)
