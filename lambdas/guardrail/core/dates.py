"""Dates as the guardrail decides on them: UTC calendar days, read from one grammar.

Every date decision (is an exemption still running, has a trial expired, how long is a trial) is
made on the UTC date of the instants involved, whatever offset they were written with: the same
instant must never give opposite answers in Tokyo and in Honolulu. An instant handed over as a
`datetime` without an offset (`guardrail evaluate --now`, a time in a facts file) is taken as UTC;
a timestamp written by people without an offset is not (below).

A date written by people (a trial's expiry tag) is read in one grammar:

* a calendar date, `YYYY-MM-DD` (`2026-11-20`);
* or an RFC 3339 timestamp with an offset (`2026-11-20T00:00:00Z`, `2026-11-20T09:00:00+09:00`),
  read as its UTC date.

Surrounding spaces are ignored. Everything else (`20261120`, `2026-W47-5`, `20 Nov 2026`) is
refused with the reason, never guessed; so is a timestamp without an offset: the same text names
another day in Tokyo and in Honolulu, and the tag does not say where it was written.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_CALENDAR_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?", re.ASCII
)
GRAMMAR = "a date YYYY-MM-DD or an RFC 3339 timestamp with an offset"


def utc_date(moment: datetime) -> date:
    """The UTC calendar date of an instant; a time without an offset is taken as UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).date()


def parse_day(text: str) -> date:
    """The date `text` names, in the grammar above; `ValueError` saying why when it names none."""
    value = text.strip()
    if match := _CALENDAR_DATE.fullmatch(value):
        year, month, day = (int(part) for part in match.groups())
        try:
            return date(year, month, day)
        except ValueError as error:
            raise ValueError(f"'{value}' is not a calendar date ({error})") from None
    if match := _TIMESTAMP.fullmatch(value):
        if match["offset"] is None:
            raise ValueError(f"the timestamp '{value}' has no offset (Z or +hh:mm), so its date is unknown")
        try:
            return utc_date(datetime.fromisoformat(value.replace("t", "T").replace("z", "Z")))
        except ValueError as error:
            raise ValueError(f"'{value}' is not a valid timestamp ({error})") from None
    raise ValueError(f"'{value}' is not {GRAMMAR}")
