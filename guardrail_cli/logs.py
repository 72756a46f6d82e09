"""CloudTrail logs as they are delivered, read into the events the deployed rules would deliver.

What a trail writes to S3 is a tree of gzipped files (`AWSLogs/<org>/<account>/CloudTrail/<region>/
YYYY/MM/DD/*.json.gz`), each one JSON object `{"Records": [...]}`; a month of an organization
trail is millions of records, of which a handful are instance calls. So files are read one at a
time, in path order, and a plain log file is first decoded only as far as the pattern needs (the
few fields it reads, per record): the whole record is decoded only for the ones that match. The
memory used is that of the largest file, whatever the size of the log.

Also read: `aws cloudtrail lookup-events` output (`{"Events": [{"CloudTrailEvent": "<json>"}]}`),
an EventBridge event or a list of them, a single CloudTrail record; plain or gzipped (recognized
by content, whatever the name). A record is matched against the very pattern the stacks deploy,
in the shape EventBridge gives it (`as_eventbridge`); what does not match is counted, not kept.

Whatever cannot be read is reported as a `Problem`, one line naming the file (and the item in
it), and reading goes on with the next one.
"""

from __future__ import annotations

import gzip
import os
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from guardrail.patterns import INSTANCE_EVENT_PATTERN, UnsupportedPattern, check_pattern, detail_fields
from guardrail.patterns import matches as pattern_matches

LOG_SUFFIXES = (".json", ".json.gz")
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


class _RawTrail(msgspec.Struct):
    Records: list[msgspec.Raw]


_RawList = msgspec.json.Decoder(list[msgspec.Raw])
_RawRecords = msgspec.json.Decoder(_RawTrail)
_Document = msgspec.json.Decoder(dict[str, msgspec.Raw] | list[msgspec.Raw])
_Value = msgspec.json.Decoder()
# Distinct combinations of the matched fields remembered at most (a few hundred bytes each).
_MAX_VERDICTS = 100_000


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
    position: str  # the item within the file, e.g. "Records[12]"; "" for a file of one event
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
    if event_type is None or event_type is msgspec.UNSET:  # hand-written records often omit it
        return DETAIL_TYPES["AwsApiCall"]
    return DETAIL_TYPES.get(str(event_type), f"{event_type} via CloudTrail")


def _object_fields(pattern: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields of the record that the pattern matches as objects (in `detail` or a `$or` of it)."""
    detail = pattern.get("detail", {})
    if not isinstance(detail, Mapping):
        return ()
    branches = [detail, *detail.get("$or", ())]
    return tuple(dict.fromkeys(k for branch in branches for k, v in branch.items() if isinstance(v, Mapping)))


class _LazyDetail(Mapping[str, Any]):
    """A record's matched fields, its raw objects decoded on first look (and the look noted)."""

    def __init__(self, flat: dict[str, Any], raw: dict[str, msgspec.Raw], nested: tuple[str, ...]) -> None:
        self._flat = flat
        self._raw = raw
        self._nested = nested
        # Set by any look at an object field, there or not: the verdict then depends on it.
        self.read_raw = False

    def __getitem__(self, key: str) -> Any:
        if key in self._nested:
            self.read_raw = True
        if key in self._raw:
            return _Value.decode(self._raw[key])
        return self._flat[key]

    def __contains__(self, key: object) -> bool:
        if key in self._nested:
            self.read_raw = True
        return key in self._raw or key in self._flat

    def __iter__(self) -> Iterator[str]:
        return iter([*self._flat, *self._raw])

    def __len__(self) -> int:
        return len(self._flat) + len(self._raw)


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


def _is_eventbridge_event(value: Mapping[str, Any]) -> bool:
    return "detail" in value or "detail-type" in value


def _is_record(value: Mapping[str, Any]) -> bool:
    return "eventSource" in value or "eventName" in value or "eventVersion" in value


# -- files --------------------------------------------------------------------------------------------


def _is_log_name(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(LOG_SUFFIXES) and "_cloudtrail-digest_" not in lowered


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
                yield Problem(str(path), "no CloudTrail logs (*.json, *.json.gz) in this folder")
        elif path.is_file():
            yield path
        elif path.exists():
            yield Problem(str(path), "not a file or a folder")
        else:
            yield Problem(str(path), "no such file or folder")


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
        # Only the fields the pattern reads, and those `source` and `detail-type` are made from.
        # Objects (`requestParameters`) are kept raw: decoded only when the rest of the pattern
        # lets a record come that far, which for nearly every record of a trail it does not.
        self._nested = _object_fields(pattern)
        flat = [f for f in (*detail_fields(pattern), "eventSource", "eventType") if f not in self._nested]
        self._fields = tuple(dict.fromkeys(flat))
        head = msgspec.defstruct(
            "Head",
            [(name, Any, msgspec.UNSET) for name in self._fields]
            + [(name, msgspec.Raw, msgspec.UNSET) for name in self._nested],
        )
        trail = msgspec.defstruct("Trail", [("Records", list[head])])  # type: ignore[valid-type]
        self._trail: msgspec.json.Decoder[Any] = msgspec.json.Decoder(trail)
        self._verdicts: dict[tuple[Any, ...], bool] = {}

    def events(self, paths: Sequence[Path]) -> Iterator[Event | Problem]:
        for item in log_files(paths):
            if isinstance(item, Problem):
                yield item
                continue
            yield from self.read(item)
            self._after_file()

    def read(self, path: Path) -> Iterator[Event | Problem]:
        """The events of one file that the rules would deliver, and what in it could not be read."""
        source = str(path)
        self.tally.files += 1
        try:
            data = _contents(path)
        except OSError as error:
            yield Problem(source, f"cannot read: {error.strerror or error}")
            return
        except EOFError:
            yield Problem(source, "truncated: the gzip stream ends before its end marker")
            return
        except (gzip.BadGzipFile, zlib.error) as error:
            yield Problem(source, f"corrupt gzip data ({error})")
            return
        if not data or data.isspace():  # isspace stops at the first other byte: no copy, no scan
            yield Problem(source, "empty file")
            return
        try:
            heads = self._trail.decode(data).Records
        except msgspec.DecodeError:
            yield from self._read_any(source, data)  # not a plain log file: find out what it is
            return
        self.tally.records += len(heads)
        wanted = [i for i, head in enumerate(heads) if self._head_matches(head)]
        if wanted:
            records = _RawRecords.decode(data).Records
            for index in wanted:
                self.tally.matched += 1
                yield Event(source, f"Records[{index}]", as_eventbridge(_Value.decode(records[index])))

    def _head_matches(self, head: Any) -> bool:
        # Matching is a function of the few fields read, and a log repeats a few thousand
        # combinations of them millions of times: remember each verdict (boundedly), unless it
        # read a raw object (those records are judged each on its own).
        values = msgspec.structs.astuple(head)
        key, raw = values[: len(self._fields)], values[len(self._fields) :]
        try:
            return self._verdicts[key]
        except KeyError:
            pass
        except TypeError:  # a field holds a list or an object: judge it afresh
            return self._match_head(key, raw)[0]
        verdict, read_raw = self._match_head(key, raw)
        if not read_raw:
            if len(self._verdicts) >= _MAX_VERDICTS:
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict

    def _match_head(self, values: tuple[Any, ...], raw: tuple[Any, ...]) -> tuple[bool, bool]:
        """The verdict, and whether it read one of the raw objects."""
        flat = {
            name: value
            for name, value in zip(self._fields, values, strict=True)
            if value is not msgspec.UNSET
        }
        present = {
            name: value for name, value in zip(self._nested, raw, strict=True) if value is not msgspec.UNSET
        }
        detail = _LazyDetail(flat, present, self._nested)
        envelope = {
            "source": _source(flat.get("eventSource", "unknown")),
            "detail-type": _detail_type(flat.get("eventType")),
            "detail": detail,
        }
        return pattern_matches(self._pattern, envelope), detail.read_raw

    def _read_any(self, source: str, data: bytes) -> Iterator[Event | Problem]:
        try:
            document = _Document.decode(data)
        except msgspec.ValidationError:
            yield Problem(source, f"{_kind(_Value.decode(data))} is not an event")
            return
        except msgspec.DecodeError as error:
            yield Problem(source, _decode_problem(error, data))
            return
        if isinstance(document, list):
            yield from self._items(source, "", document, records=False)
        elif "Records" in document:
            yield from self._listed(source, "Records", document["Records"], records=True)
        elif "Events" in document:
            yield from self._lookup_events(source, document["Events"])
        elif "QueryResultRows" in document:
            yield Problem(
                source,
                "CloudTrail Lake query results are not read: their rows hold the columns a query "
                "selected, in Lake's schema, not CloudTrail records; replay the trail's files or "
                "lookup-events output instead",
            )
        elif "logFiles" in document and "digestStartTime" in document:
            yield Problem(source, "a CloudTrail digest file: it lists log files and holds no events")
        else:
            yield from self._items(source, "", [msgspec.Raw(data)], records=False, single=True)

    def _listed(self, source: str, key: str, raw: msgspec.Raw, *, records: bool) -> Iterator[Event | Problem]:
        try:
            items = _RawList.decode(raw)
        except msgspec.ValidationError:
            yield Problem(source, f"{key} is {_kind(_Value.decode(raw))}, not a list")
            return
        yield from self._items(source, key, items, records=records)

    def _items(
        self, source: str, key: str, items: list[msgspec.Raw], *, records: bool, single: bool = False
    ) -> Iterator[Event | Problem]:
        for index, raw in enumerate(items):
            position = "" if single else f"{key}[{index}]"
            value = _Value.decode(raw)
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

    def _lookup_events(self, source: str, raw: msgspec.Raw) -> Iterator[Event | Problem]:
        try:
            items = _RawList.decode(raw)
        except msgspec.ValidationError:
            yield Problem(source, f"Events is {_kind(_Value.decode(raw))}, not a list")
            return
        for index, item in enumerate(items):
            position = f"Events[{index}]"
            value = _Value.decode(item)
            text = value.get("CloudTrailEvent") if isinstance(value, dict) else None
            if not isinstance(text, str):
                yield Problem(f"{source}: {position}", "no CloudTrailEvent string, as lookup-events gives")
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

    def _offer(self, source: str, position: str, event: dict[str, Any]) -> Iterator[Event]:
        self.tally.records += 1
        if pattern_matches(self._pattern, event):
            self.tally.matched += 1
            yield Event(source, position, event)
