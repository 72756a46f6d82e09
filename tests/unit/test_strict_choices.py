"""A value outside a field's choices is reported with the choices, wherever the field is nested."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

import msgspec
import pytest

from guardrail.core.strict import ConversionError, convert


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"


class Inner(msgspec.Struct, forbid_unknown_fields=True):
    colour: Colour | None = None
    size: Literal[1, 2, 3] = 1


class Outer(msgspec.Struct, forbid_unknown_fields=True, rename={"by_name": "byName"}):
    by_name: dict[str, list[Colour]] = msgspec.field(default_factory=dict)
    pair: tuple[Colour, Literal["a", "b"]] = (Colour.RED, "a")
    inner: tuple[Inner, ...] = ()
    colours: frozenset[Colour] = frozenset()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"byName": {"k": ["red", "gren"]}},
            "byName[...][1]: 'gren' is not one of red, green (did you mean green?)",
        ),
        ({"pair": ["red", "c"]}, "pair[1]: 'c' is not one of a, b"),
        ({"inner": [{}, {"colour": "blue"}]}, "inner[1].colour: 'blue' is not one of red, green"),
        ({"inner": [{"size": 4}]}, "inner[0].size: 4 is not one of 1, 2, 3"),
        ({"colours": ["red", "Red"]}, "colours[1]: 'Red' is not one of red, green (did you mean red?)"),
    ],
)
def test_the_choices_are_listed(data: object, message: str) -> None:
    with pytest.raises(ConversionError) as raised:
        convert(data, Outer)
    assert str(raised.value) == message


def test_other_errors_are_left_as_they_are() -> None:
    with pytest.raises(ConversionError) as raised:
        convert({"inner": [{"colour": 3}]}, Outer)
    assert str(raised.value) == "inner[0].colour: Expected `str | null`, got `int`"
