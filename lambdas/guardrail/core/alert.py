"""What subscribers receive: a subject a person grasps at a glance and a JSON body with stable keys.

The body's keys are a contract (documented in the README, versioned by `schema_version`): add
keys freely, never rename or remove one without raising the version.

Every alert fits one SNS message. The body carries text the guardrail does not control (instance
tags, the caller's user agent, error messages), so it is serialized as UTF-8, the way SNS counts
its 262,144 bytes, and a last, deterministic guard shortens the largest of those parts when the
message and its attributes would not fit, saying in `truncated` what it shortened. What a person
acts on (verdict, severity, findings' rules and reasons, action, account, Region, instance ARN,
remediation outcome) is never dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from guardrail.core.decision import Decision, Verdict
from guardrail.core.facts import Facts, GraceEnded, Observation, Operation, Outcome
from guardrail.core.render.neutral import EMAIL_TEXT, one_line
from guardrail.core.rules import about_organization_instance

SCHEMA_VERSION = 1
SUBJECT_LIMIT = 99  # SNS allows 100 characters; stay below it
# SNS takes at most this many bytes per message, the message attributes included (UTF-8).
SNS_MESSAGE_LIMIT = 262_144
# Kept free below the limit besides the attributes: the subject (under 100 bytes) and a margin.
HEADROOM = 4_096
# A shortened text keeps this many characters and ends with the marker.
SHORT_TEXT = 256
# The last resort shortens even kept texts (reasons, the instance ARN) to this many characters.
KEPT_TEXT = 1_024
MARKER = "...[truncated]"
# What the subject of a test alert (`guardrail doctor --send-test-event`) starts with.
TEST_PREFIX = "[TEST] "

# Characters JSON allows raw but UTF-8 cannot encode (lone surrogates), or SQS refuses to carry.
_UNENCODABLE = re.compile(r"[\ud800-\udfff\ufffe\uffff]")


def encode(value: Any) -> str:
    """JSON as SNS should get it: UTF-8 text (a CJK character costs 3 bytes, not a 6-byte escape).

    Only the few characters UTF-8 or SQS cannot carry are escaped; they occur only inside JSON
    strings, where the escape means the same character.
    """
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return _UNENCODABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def attribute_size(attributes: dict[str, str | list[str]]) -> int:
    """The bytes SNS counts for the message attributes: name, data type and value of each.

    Mirrors how `channels.alert_topic.SnsAlertPublisher` sends them: a list as a JSON `String.Array`.
    """
    total = 0
    for name, value in attributes.items():
        data_type, text = (
            ("String.Array", json.dumps(value)) if isinstance(value, list) else ("String", value)
        )
        total += utf8_size(name) + utf8_size(data_type) + utf8_size(text)
    return total


@dataclass(frozen=True)
class Alert:
    subject: str
    body: dict[str, Any]
    attributes: dict[str, str | list[str]]
    # The email text, for a message that is no instance alert (a sweep's summary); else rendered.
    text: str | None = None

    def message(self) -> str:
        """The JSON alert: what `default`, `email-json`, `sqs`, `lambda` and `https` subscribers get."""
        return encode(self.body)

    def email(self) -> str:
        """The plain text an email subscriber gets."""
        if self.text is not None:
            return self.text
        from guardrail.core.render.email import email_text  # the renderer reads the catalogue

        return email_text(self.body, self.subject)

    def sns_message(self) -> str:
        """The message for SNS's `MessageStructure=json`: one variant per kind of subscriber.

        Protocols without a key of their own get `default`, so only the email variant is added.
        """
        return encode({"default": self.message(), "email": self.email()})

    def size(self) -> int:
        """What SNS counts against its limit: every variant and the message attributes, in bytes."""
        return utf8_size(self.sns_message()) + attribute_size(self.attributes)


def _ascii(text: str) -> str:
    """SNS subjects take printable ASCII only, on one line."""
    cleaned = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)
    return " ".join(cleaned.split())


# How a failed call failed, by CloudTrail's errorCode: only a refusal by a policy is "Blocked".
_FAILURE_WORDS = {
    "AccessDenied": "Blocked",
    "AccessDeniedException": "Blocked",
    "ConflictException": "Refused",
    "ValidationException": "Refused",
    "ServiceQuotaExceededException": "Refused",
    "ThrottlingException": "Throttled",
    "TooManyRequestsException": "Throttled",
    "RequestLimitExceeded": "Throttled",
}


@dataclass(frozen=True)
class History:
    """What the inventory knew of the instance before this look, for an alert that says what changed.

    `change` is `new` (first seen in violation), `changed` (other rules, severity or facts),
    `reminder` (unchanged, repeated after the reminder interval) or None for an event's alert.
    """

    first_seen: str | None = None
    learnt_by: str | None = None  # "event" or "sweep"
    announced: bool | None = None  # whether an instance event announced the instance
    change: str | None = None
    # The rules that fired when the instance was last judged, for the channels that close them.
    previous_rules: tuple[str, ...] | None = None


_SWEEP_HEADLINES = {
    "changed": "Account instance changed",
    "reminder": "Account instance still in violation",
}


@dataclass(frozen=True)
class Resolution:
    """A violation that ended: why (`gone`, `in-policy`, `exempted`), and the rules it had broken."""

    why: str
    rules: tuple[str, ...]


_RESOLVED_HEADLINES = {
    "gone": "Account instance gone",
    "in-policy": "Account instance back in policy",
    "exempted": "Account instance exempted",
}


def _headline(facts: Facts, history: History | None = None) -> str:
    call = facts.call
    if isinstance(facts.trigger, GraceEnded):
        return "Grace period ended"
    if call is None:
        change = history.change if history else None
        return _SWEEP_HEADLINES.get(change or "", "Account instance found")
    if call.outcome is Outcome.FAILED:
        return f"{_FAILURE_WORDS.get(call.error_code or '', 'Failed')} {call.operation.value}"
    if call.operation is Operation.CREATE:
        return "Account instance created"
    if call.operation in (Operation.TAG, Operation.UNTAG):
        return "Account instance retagged"
    verb = "deleted" if call.operation is Operation.DELETE else "updated"
    kind = {True: "Organization instance", False: "Account instance", None: "Instance"}
    return f"{kind[about_organization_instance(facts)]} {verb}"


def _tail(decision: Decision) -> str:
    """The most severe finding's rule (the first of those in catalogue order) and how many more."""
    if decision.findings:
        lead = max(decision.findings, key=lambda finding: finding.severity.rank)
        more = len(decision.findings) - 1
        return f": {lead.rule}" + (f" +{more}" if more else "")
    if decision.verdict is Verdict.INCOMPLETE:
        return ": facts missing"
    if decision.verdict is Verdict.COMPLIANT:
        return ": compliant"
    return ""


def _shortened(text: str, room: int) -> str:
    """`text` in at most `room` characters, cut at the end with '...'; empty when nothing fits."""
    if len(text) <= room:
        return text
    return text[: room - 3].rstrip() + "..." if room > 3 else ""


def subject(
    facts: Facts,
    decision: Decision,
    history: History | None = None,
    resolution: Resolution | None = None,
    *,
    test: bool = False,
    held_before: int = 0,
) -> str:
    """One line under SNS's 100 characters. Kept whole: the verdict tag, the account id, the
    Region, the lead rule and the count of the others, and for a repeated failed call the calls of
    its series held back before it (`+N since`); the account name is shortened first, and only if
    that is not enough, the headline."""
    if resolution is not None:
        lead, more = (resolution.rules[0], len(resolution.rules) - 1) if resolution.rules else ("", 0)
        tail = f": {lead}" + (f" +{more}" if more else "") if lead else ""
        headline = _RESOLVED_HEADLINES.get(resolution.why, "Violation ended")
        return _subject_line("RESOLVED", headline, facts, tail, TEST_PREFIX if test else "")
    tag = {
        Verdict.VIOLATION: decision.severity.value.upper(),
        Verdict.COMPLIANT: "OK",
        Verdict.INFO: "INFO",
        Verdict.INCOMPLETE: "CHECK",
    }[decision.verdict]
    tail = _tail(decision) + (f" (+{held_before} since)" if held_before else "")
    return _subject_line(tag, _headline(facts, history), facts, tail, TEST_PREFIX if test else "")


def _subject_line(tag: str, headline: str, facts: Facts, tail: str, prefix: str = "") -> str:
    where = facts.subject
    name = _ascii(facts.account.name) if facts.account and facts.account.name else ""
    headline = _ascii(headline)
    kept = f"{prefix}[{tag}] " + f" in {where.account_id}" + f" ({_ascii(where.region)})" + tail
    room = SUBJECT_LIMIT - len(kept) - len(headline)
    name = _shortened(name, room - 1)
    if not name:
        headline = _shortened(headline, SUBJECT_LIMIT - len(kept))
    return f"{prefix}[{tag}] {headline} in {where.account_id}{' ' + name if name else ''} ({_ascii(where.region)}){tail}"


def alert_id(facts: Facts) -> str:
    """What identifies the alert of one look at one subject, the same across retries: the event's
    id, the sweep run and instance, or the pending deletion's firing (instance and due time)."""
    trigger, where = facts.trigger, facts.subject
    if isinstance(trigger, Observation):
        return f"sweep:{trigger.run_id}:{where.instance_arn or where.account_id}"
    if isinstance(trigger, GraceEnded):
        return f"deletion-due:{where.instance_arn}:{trigger.deadline.isoformat()}"
    return trigger.event_id


def _trigger(facts: Facts) -> dict[str, Any]:
    trigger = facts.trigger
    if isinstance(trigger, Observation):
        return {"kind": "sweep", "run_id": trigger.run_id, "observed_at": trigger.observed_at.isoformat()}
    if isinstance(trigger, GraceEnded):
        return {
            "kind": "grace-ended",
            "scheduled_at": trigger.scheduled_at.isoformat(),
            "deadline": trigger.deadline.isoformat(),
            "rules": list(trigger.rules),
        }
    return {"kind": "api-call", "event_id": trigger.event_id, "event_name": trigger.operation.value}


def _instance(facts: Facts) -> dict[str, Any] | None:
    instance = facts.instance
    if instance is None:
        return None
    return {
        "name": instance.name,
        "status": instance.status,
        "owner_account_id": instance.owner_account_id,
        "created_date": instance.created_date.isoformat() if instance.created_date else None,
        "tags": dict(instance.tags),
    }


def _call_keys(facts: Facts) -> dict[str, Any]:
    """The keys about the triggering call; null for a sweep, which no call triggered."""
    call = facts.call
    if call is None:
        return dict.fromkeys(("event_id", "event_name", "event_time", "actor", "outcome", "error_code"))
    return {
        "event_id": call.event_id,
        "event_name": call.operation.value,
        "event_time": call.event_time.isoformat(),
        "actor": {
            "arn": call.actor.arn,
            "type": call.actor.type,
            "source_ip": call.actor.source_ip,
            "user_agent": call.actor.user_agent,
            "invoked_by": call.actor.invoked_by,
            "invoked_by_delegate": call.actor.invoked_by_delegate,
        },
        "outcome": call.outcome.value,
        "error_code": call.error_code,
    }


def _history_keys(history: History | None) -> dict[str, Any]:
    history = history or History()
    return {
        "first_seen": history.first_seen,
        "learnt_by": history.learnt_by,
        "announced": history.announced,
        "change": history.change,
        "previous_rules": None if history.previous_rules is None else list(history.previous_rules),
    }


def build_alert(
    facts: Facts,
    decision: Decision,
    *,
    mode: str,
    remediation: dict[str, str] | None = None,
    history: History | None = None,
    resolution: Resolution | None = None,
    deletion: dict[str, Any] | None = None,
    test: bool = False,
    series: dict[str, Any] | None = None,
) -> Alert:
    """`remediation` is what happened when the action was `delete-instance`: status and detail;
    `series`, for a repeated failed call, how many of its series were held back before it;
    `history` what the inventory knew before, for a sweep's alert; `resolution` makes the alert
    the notice that a violation ended (its `verdict` is then `resolved`); `test` marks the alert of
    `guardrail doctor`'s test event: `[TEST] ` before the subject, `test: true` in the body and a
    `test` attribute (a subscription filter policy can leave such alerts out)."""
    where, account = facts.subject, facts.account
    body: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "alert_id": alert_id(facts),
        **_call_keys(facts),
        "trigger": _trigger(facts),
        "account_id": where.account_id,
        "account_name": account.name if account else None,
        "ou_path": account.ou_path if account else None,
        "region": where.region,
        "instance_arn": where.instance_arn,
        "instance": _instance(facts),
        "applications": None
        if facts.applications is None
        else [
            {"arn": a.application_arn, "name": a.name, "provider_arn": a.provider_arn, "status": a.status}
            for a in facts.applications
        ],
        **_history_keys(history),
        "verdict": "resolved" if resolution else decision.verdict.value,
        "severity": decision.severity.value,
        "resolved": {"why": resolution.why, "rules": list(resolution.rules)} if resolution else None,
        "findings": [
            {"rule": f.rule, "severity": f.severity.value, "reason": f.reason, "facts": f.facts}
            for f in decision.findings
        ],
        "suppressed": [
            {"rule": s.rule, "ticket": s.ticket, "expires": s.expires, "reason": s.reason}
            for s in decision.suppressed
        ],
        "undetermined": [{"rule": u.rule, "missing_fact": u.missing_fact} for u in decision.undetermined],
        "missing_facts": [{"fact": m.fact, "reason": m.reason} for m in facts.missing],
        "action": decision.action.value,
        "action_reason": decision.action_reason,
        "mode": mode,
        "remediation": remediation,
        "deletion": deletion,
        "series": series,
        "truncated": [],
    }
    attributes: dict[str, str | list[str]] = {
        "severity": decision.severity.value,
        "verdict": "resolved" if resolution else decision.verdict.value,
        "account_id": where.account_id,
        "trigger": body["trigger"]["kind"],
        "rules": sorted({f.rule for f in decision.findings}),
    }
    if facts.call is not None:
        attributes["event_name"] = facts.call.operation.value
    if test:
        body["test"] = True
        attributes["test"] = "true"
    held = int((series or {}).get("held_before") or 0)
    return fitted(
        Alert(subject(facts, decision, history, resolution, test=test, held_before=held), body, attributes)
    )


# The most entries of each list a run's message names (accounts not readable or not swept, blind
# spots, Regions not checked, ...): their numbers grow with the organization and its Regions, while
# an SNS message takes 256 KB. The run's summary object and its report hold them all.
MESSAGE_LIST_LIMIT = 25


def bounded(body: dict[str, Any], limit: int) -> dict[str, Any]:
    """`body` with every list in it cut to `limit` entries, and `truncated` noting each cut as the
    size guard notes what it shortens (`{field, bytes, items}`): a count beside a list stays whole."""
    notes: list[dict[str, Any]] = []

    def cut(value: Any, field: str) -> Any:
        if isinstance(value, dict):
            return {key: cut(item, f"{field}.{key}" if field else key) for key, item in value.items()}
        if isinstance(value, list | tuple):  # msgspec's builtins keep a tuple a tuple
            if len(value) > limit:
                notes.append({"field": field, "bytes": utf8_size(encode(value)), "items": len(value)})
                value = value[:limit]
            return [cut(item, f"{field}[{index}]") for index, item in enumerate(value)]
        return value

    shortened: dict[str, Any] = cut(body, "")
    shortened["truncated"] = [*body.get("truncated", ()), *notes]
    return shortened


def fitted(alert: Alert) -> Alert:
    """The alert, its body shortened (see `fit`) until the whole SNS message fits: the JSON body
    escaped inside the per-protocol message, and the email text rendered from it."""
    limit = SNS_MESSAGE_LIMIT - HEADROOM
    budget = limit - attribute_size(alert.attributes)
    body = alert.body
    for _ in range(8):
        candidate = Alert(alert.subject, fit(body, budget), alert.attributes, alert.text)
        over = candidate.size() - limit
        if over <= 0:
            return candidate
        budget -= over
    return candidate  # unreachable for bodies the guard can shorten: `fit` bounds them


# -- the size guard ------------------------------------------------------------------------------

# Never shortened by the first pass: what a person acts on, and the small values naming things.
# A path is the keys from the body down, `*` standing for any list index or any key.
_KEPT: frozenset[tuple[str, ...]] = frozenset(
    {
        ("schema_version",),
        ("event_id",),
        ("event_name",),
        ("event_time",),
        ("account_id",),
        ("region",),
        ("instance_arn",),
        ("outcome",),
        ("verdict",),
        ("severity",),
        ("action",),
        ("action_reason",),
        ("mode",),
        ("trigger", "*"),
        ("change",),
        ("resolved", "*"),
        ("findings", "*", "rule"),
        ("findings", "*", "severity"),
        ("findings", "*", "reason"),
        ("remediation", "*"),
        ("deletion", "*"),
        ("suppressed", "*", "rule"),
        ("undetermined", "*", "rule"),
        ("undetermined", "*", "missing_fact"),
        ("missing_facts", "*", "fact"),
    }
)
# Maps emptied as a whole: tags anyone can set, and the facts behind a finding (its reason states them).
_MAPS = frozenset({"tags", "requested_tags", "facts"})
# Lists the last resort may empty: all but `findings`, which hold at most one entry per rule.
_LISTS = frozenset({"suppressed", "undetermined", "missing_facts", "applications"})


@dataclass(frozen=True)
class _Part:
    """One value the guard may shorten: where it is, and what it becomes."""

    path: tuple[str | int, ...]
    value: Any
    shorter: Any

    @property
    def field(self) -> str:
        text = ""
        for step in self.path:
            text += f"[{step}]" if isinstance(step, int) else f".{step}" if text else step
        return text

    def note(self) -> dict[str, Any]:
        note: dict[str, Any] = {"field": self.field, "bytes": utf8_size(encode(self.value))}
        if not isinstance(self.value, str):
            note["items"] = len(self.value)
        return note

    def apply(self, body: dict[str, Any]) -> None:
        target: Any = body
        for step in self.path[:-1]:
            target = target[step]
        target[self.path[-1]] = self.shorter


def _clip(text: str, limit: int) -> str:
    return text[:limit] + MARKER


def _kept(path: tuple[str | int, ...]) -> bool:
    return any(
        len(pattern) == len(path) and all(key in ("*", step) for key, step in zip(pattern, path, strict=True))
        for pattern in _KEPT
    )


def _walk(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every value below the body's top, with its path; maps in `_MAPS` are not entered."""
    if isinstance(value, dict):
        children: list[tuple[str | int, Any]] = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    else:
        return
    for key, child in children:
        where = (*path, key)
        yield where, child
        if not (isinstance(child, dict) and key in _MAPS):
            yield from _walk(child, where)


def _optional_parts(body: dict[str, Any]) -> list[_Part]:
    """The untrusted bulk: tag and facts maps, and long texts outside `_KEPT`."""
    parts = []
    for path, value in _walk(body):
        if path[0] == "truncated" or _kept(path):
            continue
        if isinstance(value, dict) and value and path[-1] in _MAPS:
            parts.append(_Part(path, value, {}))
        elif isinstance(value, str) and len(value) > SHORT_TEXT + len(MARKER):
            parts.append(_Part(path, value, _clip(value, SHORT_TEXT)))
    return parts


def _last_resort_parts(body: dict[str, Any]) -> list[_Part]:
    """Only for facts no AWS account produces (thousands of missing facts, texts of megabytes)."""
    parts = [_Part((key,), body[key], []) for key in sorted(_LISTS) if body.get(key)]
    for path, value in _walk(body):
        outside = path[0] not in _LISTS and path[0] != "truncated"
        if outside and isinstance(value, str) and len(value) > KEPT_TEXT + len(MARKER):
            parts.append(_Part(path, value, _clip(value, KEPT_TEXT)))
    return parts


def _size(body: dict[str, Any]) -> int:
    return utf8_size(encode(body))


def _shrink(body: dict[str, Any], budget: int, parts_of: Callable[[dict[str, Any]], list[_Part]]) -> None:
    """Shorten the largest parts first until the body fits; each saving is exact, JSON composes."""
    size = _size(body)
    notes: list[dict[str, Any]] = body["truncated"]
    for part in sorted(parts_of(body), key=lambda p: (-utf8_size(encode(p.value)), p.field)):
        if size <= budget:
            return
        note = part.note()
        added = utf8_size(encode(note)) + (2 if notes else 0)  # and ", " after a previous note
        saved = utf8_size(encode(part.value)) - utf8_size(encode(part.shorter)) - added
        if saved <= 0:
            continue
        part.apply(body)
        if isinstance(part.value, list):
            # An emptied list takes the notes about its own entries with it.
            prefix = f"{part.field}["
            notes[:] = [n for n in notes if not n["field"].startswith(prefix)]
            notes.append(note)
            size = _size(body)
        else:
            notes.append(note)
            size -= saved


def fit(body: dict[str, Any], budget: int) -> dict[str, Any]:
    """The body, or a copy shortened to fit `budget` bytes, with `truncated` saying what changed.

    Deterministic: the largest part goes first (ties by field name). First the untrusted bulk is
    shortened; if that is not enough, the lists other than `findings` are emptied and the kept
    texts clipped to `KEPT_TEXT` characters, which bounds the body by the size of the catalogue.
    """
    if _size(body) <= budget:
        return body
    shrunk = deepcopy(body)
    shrunk.setdefault("truncated", [])  # a body of any kind may need it: a run's, an operational notice
    _shrink(shrunk, budget, _optional_parts)
    _shrink(shrunk, budget, _last_resort_parts)
    return shrunk


def cap_alert(facts: Facts, cap: int, now: datetime) -> Alert:
    """The one critical alert an hour that says the cap of deletions stopped one: the guardrail
    deletes nothing more this hour and keeps alerting; a person should look at why so many."""
    hour = now.astimezone(UTC).strftime("%Y-%m-%d %H:00")
    where = facts.subject
    body: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "alert_id": f"deletion-cap:{hour}",
        "kind": "deletion-cap",
        "verdict": "violation",
        "severity": "critical",
        "cap": cap,
        "hour": hour,
        "withheld": {
            "account_id": where.account_id,
            "region": where.region,
            "instance_arn": where.instance_arn,
        },
        "action": "alert",
        "action_reason": f"{cap} deletions were made in the hour from {hour} UTC; this one and any more wait",
    }
    attributes: dict[str, str | list[str]] = {
        "severity": "critical",
        "verdict": "violation",
        "account_id": where.account_id,
        "trigger": "deletion-cap",
        "rules": [],
    }
    subject = _ascii(f"[CRITICAL] Deletion cap reached: {cap} deletions in the hour from {hour} UTC")
    text = (
        f"{subject}\n\nThe guardrail deleted {cap} account instances in the hour from {hour} UTC, the most the "
        f"policy allows (enforcement.max_deletions_per_hour). It deletes nothing more this hour and keeps "
        f"alerting; the deletion of {where.instance_arn} in {where.account_id} ({where.region}) was withheld.\n"
        "Check why so many instances are being deleted before raising the cap.\n"
    )
    return fitted(Alert(subject[:SUBJECT_LIMIT], body, attributes, text))


def postponed_alert(facts: Facts, deletion: dict[str, Any]) -> Alert:
    """The one high alert that a due deletion keeps being postponed: the reads that fail (or the
    refusal) in the account name what keeps the guardrail from deciding, so a person can look; an
    owner who can make a read fail at the deadline must not postpone enforcement unseen."""
    where, account = facts.subject, facts.account
    # Reasons quote what AWS answered, names what a creator chose: one line each, as every channel.
    failing = [one_line(f"{m.fact}: {m.reason}", EMAIL_TEXT) for m in facts.missing]
    name = f" {account.name}" if account and account.name else ""
    body: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "alert_id": f"deletion-postponed:{where.instance_arn}:{deletion.get('postponements')}",
        "kind": "deletion-postponed",
        "verdict": "incomplete",
        "severity": "high",
        "account_id": where.account_id,
        "account_name": account.name if account else None,
        "region": where.region,
        "instance_arn": where.instance_arn,
        "deletion": deletion,
        "missing_facts": [{"fact": m.fact, "reason": m.reason} for m in facts.missing],
        "action": "schedule-deletion",
        "action_reason": f"the deletion is postponed to {deletion.get('due')}: {deletion.get('reason')}",
    }
    attributes: dict[str, str | list[str]] = {
        "severity": "high",
        "verdict": "incomplete",
        "account_id": where.account_id,
        "trigger": "deletion-postponed",
        "rules": sorted(deletion.get("rules") or []),
    }
    subject = _ascii(
        f"[HIGH] Deletion postponed {deletion.get('postponements')} times in {where.account_id}{name} "
        f"({where.region})"
    )
    reads = (
        "\n".join(f"  {line}" for line in failing) or f"  {one_line(str(deletion.get('reason')), EMAIL_TEXT)}"
    )
    text = (
        f"{subject}\n\nThe deletion of {where.instance_arn} in {where.account_id} ({where.region}) was due, and "
        f"has been postponed {deletion.get('postponements')} times in a row: what it needs to decide cannot be "
        f"read, or the account refused it:\n{reads}\n"
        f"It is tried again at {deletion.get('due')} UTC, and kept until it is carried out or cancelled. Check "
        "the guardrail's roles in that account, and who changed them.\n"
    )
    return fitted(Alert(subject[:SUBJECT_LIMIT], body, attributes, text))
