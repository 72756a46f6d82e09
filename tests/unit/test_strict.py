"""Conversion of outside data: errors name the field first, whatever msgspec's wording."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
import pytest

from guardrail.core.strict import ConversionError, convert


class Inner(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    account: Annotated[str, msgspec.Meta(pattern=r"^\d{12}$")]
    note: str = ""

    def __post_init__(self) -> None:
        if self.note == "forbidden":
            raise ValueError("note: this note is not allowed")


class Outer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    items: tuple[Inner, ...] = ()
    count: int = 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"count": "3"}, "count: Expected `int`, got `str`"),
        ({"items": [{"account": "1"}]}, "items[0].account: Expected `str` matching regex '^\\\\d{12}$'"),
        ({"items": [{"account": "111111111111", "nte": ""}]}, "items[0].nte: unknown field"),
        ({"items": [{}]}, "items[0].account: required field missing"),
        ({"cont": 1}, "cont: unknown field"),
        (
            {"items": [{"account": "111111111111", "note": "forbidden"}]},
            "items[0].note: this note is not allowed",
        ),
        ([], "Expected `object`, got `array`"),
    ],
)
def test_errors_lead_with_the_field(data: object, message: str) -> None:
    with pytest.raises(ConversionError) as raised:
        convert(data, Outer)
    assert str(raised.value) == message


def test_a_nested_error_can_be_placed_in_the_larger_document() -> None:
    with pytest.raises(ConversionError) as raised:
        convert({"count": None}, Outer)
    placed = raised.value.within("settings.outer")
    assert (placed.path, placed.problem) == ("settings.outer.count", raised.value.problem)
    assert str(placed) == "settings.outer.count: Expected `int`, got `null`"
    assert str(ConversionError("", "broken").within("top")) == "top: broken"


def test_text_that_is_not_unicode_is_a_conversion_error_not_a_crash() -> None:
    with pytest.raises(ConversionError, match="not valid Unicode"):
        convert({"items": [{"account": "111111111111"}], "\ud800": 1}, Outer)


def test_valid_data_converts_into_the_type() -> None:
    assert convert({"items": [{"account": "111111111111"}], "count": 2}, Outer) == Outer(
        items=(Inner(account="111111111111"),), count=2
    )


class Located(msgspec.Struct, frozen=True):
    file: Path


@pytest.mark.parametrize("value", ["policy/policy.yaml", Path("policy/policy.yaml")])
def test_a_path_is_made_from_text_or_taken_as_it_is(value: str | Path) -> None:
    assert convert({"file": value}, Located) == Located(file=Path("policy/policy.yaml"))


@pytest.mark.parametrize(("value", "kind"), [("", "str"), (42, "int"), (["a"], "list")])
def test_a_path_needs_non_empty_text(value: object, kind: str) -> None:
    with pytest.raises(ConversionError) as raised:
        convert({"file": value}, Located)
    assert str(raised.value) == f"file: Expected a non-empty path, got `{kind}`"
