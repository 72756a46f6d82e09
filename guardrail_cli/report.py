"""What `guardrail replay` tells: each event's outcome, a progress line, each instance's story, the
closing summary, and the exit status.

Standard output carries the results only (with `--json`, one JSON object per line and nothing
else; with `--show email|chat|securityhub`, what that subscriber would receive); problems, logs
and the progress line go to standard error, the progress line only when it is a terminal. The
exit status says whether the replay itself broke (an event failed, a file could not be read) and,
with `--fail-on`, whether a violation at or above a severity was alerted: a pipeline can gate on it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from guardrail.channels.registry import RenderContext, form_channel, forms
from guardrail.channels.securityhub import Importer
from guardrail.core.alert import Alert
from guardrail.core.policy import Severity
from guardrail.core.render.email import email_text
from guardrail_cli.logs import Event, Problem, ReadTally

# Exit statuses; 2 (a usage or configuration error) is `main`'s.
EXIT_OK = 0
EXIT_BROKEN = 1  # an event failed, or something could not be read: the result is not whole
EXIT_VIOLATIONS = 3  # `--fail-on`: a violation at or above the severity (replay, evaluate, sweep)
EXIT_INTERRUPTED = 130  # as a shell reports a command stopped by Ctrl-C

# What became of one event, as the deployed function would have it.
ALERTED = "alerted"  # the function published an alert
NOTHING_NEW = "nothing-new"  # judged and recorded; no news to alert (a tag change that changes nothing)
DUPLICATE = "duplicate"  # an event already handled (delivered twice): nothing more
REJECTED = "rejected"  # the function cannot use the event: it goes to the dead-letter queue
FAILED = "failed"  # the replay broke on it: the invocation raised (Lambda would retry, then give up)
STATUSES = (ALERTED, NOTHING_NEW, DUPLICATE, REJECTED, FAILED)


@dataclass(frozen=True)
class Outcome:
    """What handling one event came to: one of `STATUSES`."""

    status: str
    alert: dict[str, Any] | None = None  # subject, body and attributes, as a subscriber gets them
    reason: str | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown outcome {self.status!r}; one of {', '.join(STATUSES)}")


def at_or_above(alert_body: dict[str, Any] | None, threshold: Severity | None) -> bool:
    """Whether an alert is a violation of at least ``threshold`` (never, without one)."""
    if threshold is None or alert_body is None or alert_body.get("verdict") != "violation":
        return False
    try:
        return Severity(str(alert_body.get("severity"))).rank >= threshold.rank
    except ValueError:
        return False


@dataclass
class Counts:
    read: ReadTally = field(default_factory=ReadTally)
    alerted: int = 0
    nothing_new: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed: int = 0
    problems: int = 0
    # Alerts naming facts that could not be gathered: judged on less than the function would need.
    facts_missing: int = 0
    # `--fail-on`: the severity from which a violation fails the run, and how many did.
    fail_on: Severity | None = None
    failing: int = 0

    def add(self, outcome: Outcome) -> None:
        if outcome.status == ALERTED:
            self.alerted += 1
            body = outcome.alert["body"] if outcome.alert is not None else None
            if body is not None and body.get("missing_facts"):
                self.facts_missing += 1
            if at_or_above(body, self.fail_on):
                self.failing += 1
        elif outcome.status == NOTHING_NEW:
            self.nothing_new += 1
        elif outcome.status == DUPLICATE:
            self.duplicates += 1
        elif outcome.status == REJECTED:
            self.rejected += 1
        else:
            self.failed += 1

    @property
    def exit_status(self) -> int:
        if self.failed or self.problems:
            return EXIT_BROKEN
        return EXIT_VIOLATIONS if self.failing else EXIT_OK

    def progress(self) -> str:
        r = self.read
        return (
            f"{r.files:,} files, {r.records:,} records read: {r.matched:,} matched, "
            f"{self.alerted:,} alerted, {self.rejected:,} rejected, {self.failed:,} failed"
        )

    def summary(self) -> str:
        r = self.read
        line = (
            f"{r.files:,} files, {r.records:,} records: {r.skipped:,} skipped (not matched by the "
            f"deployed rules), {r.matched:,} instance events: {self.alerted:,} alerted"
            + (f" ({self.facts_missing:,} with facts missing)" if self.facts_missing else "")
            + f", {self.nothing_new:,} nothing new, {self.duplicates:,} duplicates, "
            f"{self.rejected:,} rejected, {self.failed:,} failed"
        )
        if self.problems:
            line += f"; {self.problems:,} could not be read (above)"
        if self.fail_on is not None:
            line += f"; {self.failing:,} violations at or above {self.fail_on.value} (--fail-on)"
        return line


class Progress:
    """A progress line on a terminal, redrawn at most every ``interval`` seconds; nothing elsewhere."""

    def __init__(
        self,
        stream: TextIO,
        counts: Counts,
        *,
        interval: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._counts = counts
        self._shown = stream.isatty()
        self._interval = interval
        self._clock = clock
        self._drawn_at: float | None = None

    def update(self) -> None:
        if not self._shown:
            return
        now = self._clock()
        if self._drawn_at is not None and now - self._drawn_at < self._interval:
            return
        self._drawn_at = now
        self._stream.write("\r\x1b[K" + self._counts.progress())
        self._stream.flush()

    def clear(self) -> None:
        """Take the progress line away, before other output; the next update draws it again."""
        if self._shown and self._drawn_at is not None:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._drawn_at = None

    def say(self, line: str) -> None:
        """A line on the stream, where the progress line was."""
        self.clear()
        print(line, file=self._stream, flush=True)


def _where(event: Event) -> str:
    return f"{event.source} {event.position}".rstrip()


def as_json_line(event: Event, outcome: Outcome) -> str:
    """One line of `--json`: where the event was read, what became of it, and its alert."""
    detail = event.event.get("detail")
    line: dict[str, Any] = {
        "file": event.source,
        "position": event.position or None,
        "event_id": detail.get("eventID") if isinstance(detail, dict) else None,
        "status": outcome.status,
        "reason": outcome.reason,
        "notes": list(outcome.notes),
        **(outcome.alert or {"subject": None, "body": None, "attributes": None}),
    }
    # ASCII, so that no character in an event (U+2028, NEL) can split the line for a reader.
    return json.dumps(line, sort_keys=True, default=str)


def as_text(event: Event, outcome: Outcome) -> str:
    """The block a person reads: where, what became of it, the alert as a table, the notes."""
    detail = event.event.get("detail")
    name = detail.get("eventName") if isinstance(detail, dict) else None
    lines = [f"== {_where(event)}: {name or 'event'} {outcome.status}"]
    if outcome.reason:
        lines.append(f"reason    {outcome.reason}")
    lines += [f"note      {note}" for note in outcome.notes]
    if outcome.alert is not None:
        from guardrail_cli.render import render  # rich and the report's views: only with an alert

        alert = Alert(outcome.alert["subject"], outcome.alert["body"], outcome.alert["attributes"])
        lines.append(render(alert))
        lines.append(f"attrs     {json.dumps(alert.attributes, sort_keys=True)}")
    return "\n".join(lines) + "\n"


# The forms `--show` prints: the replay's own two, and one per kind of subscriber.
# (`json` is the replay's own outcome; the alert topic's JSON form is the alert, which it holds.)
FORMS = ("text", "json", *(form for form in forms() if form != "json"))


def as_form(event: Event, outcome: Outcome, form: str, importer: Importer) -> str:
    """What one kind of subscriber would receive for the event: the email's text (with its
    subject), the chat notification, or the Security Hub calls (`BatchImportFindings` findings
    and `BatchUpdateFindings` workflow updates); a header line says which event it is."""
    detail = event.event.get("detail")
    name = detail.get("eventName") if isinstance(detail, dict) else None
    header = f"== {_where(event)}: {name or 'event'} {outcome.status}"
    if outcome.alert is None:
        return f"{header}\n(no alert: {outcome.reason or outcome.status})\n"
    subject, body = outcome.alert["subject"], outcome.alert["body"]
    if form == "email":
        return f"{header}\nSubject: {subject}\n\n{email_text(body, subject)}\n"
    # Every other form is a channel's: what its row renders, as its sender sends it.
    when = body.get("event_time") or body.get("observed_at") or ""
    alert = Alert(subject, body, outcome.alert.get("attributes") or {})
    sent = form_channel(form).forms[form](alert, RenderContext(importer.account_id, importer.region, when))
    return f"{header}\n{json.dumps(sent, indent=2, ensure_ascii=False)}\n"


def problem_line(problem: Problem) -> str:
    return f"guardrail replay: {problem}"


# -- each instance's story -----------------------------------------------------------------------------

# What a successful call did to its instance, and the calls that judge what the instance is.
_STEPS = {
    "CreateInstance": "created",
    "TagResource": "retagged",
    "UntagResource": "retagged",
    "UpdateInstance": "updated",
    "DeleteInstance": "deleted",
}
_JUDGING = frozenset({"CreateInstance", "TagResource", "UntagResource"})


def _instance_arn(detail: dict[str, Any]) -> Any:
    request = detail.get("requestParameters")
    response = detail.get("responseElements")
    request = request if isinstance(request, dict) else {}
    response = response if isinstance(response, dict) else {}
    if detail.get("eventName") in ("TagResource", "UntagResource"):
        return request.get("resourceArn")
    return response.get("instanceArn") or request.get("instanceArn")


@dataclass
class _Story:
    account: str
    region: str
    steps: list[str] = field(default_factory=list)
    verdict: str | None = None
    severity: str | None = None
    rules: tuple[str, ...] = ()


class Timelines:
    """Each instance's story over the replay, events taken in time order: created, retagged,
    updated, deleted (or a call on it that failed), and the verdict of its last judgement (a
    creation or a tag change; a deletion's or update's alert only when nothing judged it)."""

    def __init__(self) -> None:
        self._stories: dict[str, _Story] = {}

    def add(self, event: Event, outcome: Outcome) -> None:
        detail = event.event.get("detail")
        if not isinstance(detail, dict) or outcome.status in (DUPLICATE, REJECTED):
            return  # told already, or never an instance call to the function
        arn, name = _instance_arn(detail), detail.get("eventName")
        if not isinstance(arn, str) or name not in _STEPS:
            return  # a creation that made no instance
        story = self._stories.setdefault(
            arn, _Story(str(detail.get("recipientAccountId", "")), str(detail.get("awsRegion", "")))
        )
        step = _STEPS[name] if not detail.get("errorCode") else f"{name} failed"
        story.steps.append(f"{step} {detail.get('eventTime', '')}".rstrip())
        body = outcome.alert["body"] if outcome.alert is not None else None
        if body is not None and (name in _JUDGING or story.verdict is None):
            story.verdict, story.severity = body.get("verdict"), body.get("severity")
            story.rules = tuple(str(f.get("rule")) for f in body.get("findings") or ())

    def lines(self) -> list[str]:
        """One line per instance, in the order they first appeared."""
        lines = []
        for arn, story in self._stories.items():
            if story.verdict is None:
                verdict = "not judged"
            else:
                verdict = f"{story.verdict} [{story.severity}]"
                verdict += f" ({', '.join(story.rules)})" if story.rules else ""
            lines.append(f"{arn} {story.account} {story.region}: {', '.join(story.steps)}; {verdict}")
        return lines
