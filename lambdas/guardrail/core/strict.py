"""Strict conversion of outside data (events, the policy, facts files) into the core's types."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec

# Messages about a key name the object; they read better naming the key itself.
_KEY_PROBLEMS = {
    re.compile(r"Object contains unknown field `(.*)`", re.DOTALL): "unknown field",
    re.compile(r"Object missing required field `(.*)`", re.DOTALL): "required field missing",
}


class ConversionError(ValueError):
    """Data that does not fit the type, the offending field first: `approved.accounts[0]: ...`."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem

    def within(self, prefix: str) -> ConversionError:
        """The same problem, for data that was nested at `prefix` in a larger document."""
        return ConversionError(".".join(filter(None, (prefix, self.path))), self.problem)


def convert[T](data: Any, into: type[T]) -> T:
    """`msgspec.convert`: no coercion between types; unknown keys rejected where the type says so."""
    try:
        return msgspec.convert(data, into, dec_hook=_decode)
    except msgspec.ValidationError as error:
        raise _conversion_error(str(error)) from None
    except UnicodeEncodeError:  # msgspec reads str as UTF-8, which unpaired surrogates are not
        raise ConversionError("", "text that is not valid Unicode (unpaired surrogates)") from None


def _decode(into: type, value: Any) -> Any:
    """The types msgspec leaves to its caller: a `Path`, from non-empty text (or a `Path`)."""
    if into is Path and (isinstance(value, Path) or (isinstance(value, str) and value)):
        return Path(value)
    raise ValueError(f"Expected a non-empty path, got `{type(value).__name__}`")


def _conversion_error(message: str) -> ConversionError:
    # msgspec ends a message with " - at `$.path`", or says nothing of where at the top level.
    problem, found, path = message.rpartition(" - at `$")
    path = path.removesuffix("`").removeprefix(".") if found else ""
    problem = problem if found else message
    for pattern, meaning in _KEY_PROBLEMS.items():
        if key := pattern.fullmatch(problem):
            return ConversionError(key[1], meaning).within(path)
    return ConversionError(path, problem)
