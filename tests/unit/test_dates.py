"""The one grammar of dates written by people (a trial's expiry tag): what it reads, and what it
refuses with the reason rather than guess."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardrail.core.catalogue import RULES_BY_ID
from guardrail.core.dates import GRAMMAR, parse_day, utc_date
from guardrail.core.policy import Policy
from guardrail.core.rules import Evaluation
from tests.builders import NOW, facts, instance

NO_OFFSET = "has no offset (Z or +hh:mm), so its date is unknown"


@pytest.mark.parametrize(
    ("written", "day"),
    [
        ("2026-11-20", date(2026, 11, 20)),
        (" 2026-11-20\t", date(2026, 11, 20)),
        ("2026-11-20T00:00:00Z", date(2026, 11, 20)),
        ("2026-11-20t23:30:00z", date(2026, 11, 20)),
        ("2026-11-20T09:00:00+09:00", date(2026, 11, 20)),
        ("2026-11-20T08:59:59.999+09:00", date(2026, 11, 19)),  # the UTC date, not the local one
        ("2026-11-20 20:00:00-05:00", date(2026, 11, 21)),
    ],
)
def test_the_grammar_reads_a_date_or_a_timestamp_with_an_offset(written: str, day: date) -> None:
    assert parse_day(written) == day


@pytest.mark.parametrize(
    "written",
    ["2026-11-20T00:00:00", "2026-11-20 09:00:00", "2026-11-20T23:59:59.5", " 2026-11-20t12:00:00 "],
)
def test_a_timestamp_without_an_offset_is_refused_with_the_reason(written: str) -> None:
    """Not read as UTC: written in Tokyo or Honolulu, the same text would name another day."""
    with pytest.raises(ValueError, match="no offset") as raised:
        parse_day(written)
    assert str(raised.value) == f"the timestamp '{written.strip()}' {NO_OFFSET}"


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
def test_no_timestamp_without_an_offset_is_ever_read(moment: datetime) -> None:
    for written in (moment.isoformat(), moment.isoformat(sep=" ", timespec="seconds")):
        with pytest.raises(ValueError, match="no offset"):
            parse_day(written)


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("20261120", f"'20261120' is not {GRAMMAR}"),
        ("2026-W47-5", f"'2026-W47-5' is not {GRAMMAR}"),
        ("20 Nov 2026", f"'20 Nov 2026' is not {GRAMMAR}"),
        ("2027-02-30", "'2027-02-30' is not a calendar date (day is out of range for month)"),
        ("2026-11-20T25:00:00Z", "'2026-11-20T25:00:00Z' is not a valid timestamp (hour must be in 0..23)"),
    ],
)
def test_anything_else_is_refused_with_the_reason(written: str, reason: str) -> None:
    with pytest.raises(ValueError, match="is not") as raised:
        parse_day(written)
    assert str(raised.value) == reason


def test_the_trial_expiry_finding_gives_the_reason_of_the_refusal() -> None:
    # Read as UTC, this would be a trial that ended on 2026-11-01, before today (2026-11-10).
    tags = {"purpose": "trial", "owner": "bob@example.com", "expires": "2026-11-01T00:00:00"}
    evaluation = Evaluation(facts(instance=instance(tags=tags)), Policy(), NOW)
    hit = RULES_BY_ID["trial-expiry"].check(evaluation)
    assert hit is not None
    assert hit.reason == (
        f"The trial's 'expires' tag is unreadable: the timestamp '2026-11-01T00:00:00' {NO_OFFSET}"
    )
    # ... and trial-expired guesses no date from it either.
    assert RULES_BY_ID["trial-expired"].check(evaluation) is None


def test_an_instant_without_an_offset_is_taken_as_utc() -> None:
    """Times the machine hands over (`--now`, a facts file's dates) are instants, not people's text."""
    assert utc_date(datetime(2026, 11, 20, 23, 30)) == date(2026, 11, 20)
    assert utc_date(datetime(2026, 11, 20, 23, 30, tzinfo=UTC)) == date(2026, 11, 20)


def test_the_policy_page_quotes_the_refusal_as_it_is_given() -> None:
    page = " ".join(
        (Path(__file__).resolve().parents[2] / "docs" / "policy.md").read_text(encoding="utf-8").split()
    )
    with pytest.raises(ValueError, match="no offset") as raised:
        parse_day("2026-11-20T00:00:00")
    assert f'"{raised.value}"' in page
