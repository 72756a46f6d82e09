"""Strict conversion of outside data (events, the policy, facts files) into the core's types."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

# Messages about a key name the object; they read better naming the key itself.
_KEY_PROBLEMS = {
    re.compile(r"Object contains unknown field `(.*)`", re.DOTALL): "unknown field",
    re.compile(r"Object missing required field `(.*)`", re.DOTALL): "required field missing",
}


# msgspec's words for a malformed value, in the words of the file's author.
_PROBLEMS = {
    "Invalid RFC3339 encoded date": "not a calendar date YYYY-MM-DD (malformed, or a day the month does not have)",
    "Invalid RFC3339 encoded datetime": "not an RFC 3339 time such as 2026-11-20T09:00:00Z",
}
_FIELD_FIRST = re.compile(r"(?P<field>[A-Za-z_][\w.\[\]]*): (?P<problem>.*)", re.DOTALL)


class ConversionError(ValueError):
    """Data that does not fit the type, the offending field first: `approved.accounts[0]: ...`."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem

    def within(self, prefix: str) -> ConversionError:
        """The same problem, for data that was nested at `prefix` in a larger document."""
        return ConversionError(".".join(filter(None, (prefix, self.path))), self.problem)


def read_yaml(text: str) -> Any:
    """YAML as plain data, dates and times left as text: the types they convert into read them, so
    that an impossible date (`2027-02-30`) is reported with its field, not by the YAML parser."""
    import yaml  # only people's tooling reads YAML; the function reads the JSON it is shipped

    return yaml.load(text, Loader=_text_times_loader())  # noqa: S506 - a SafeLoader subclass


@cache
def _text_times_loader() -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        """SafeLoader without the implicit timestamp type."""

    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader


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
    problem = _PROBLEMS.get(problem, problem)
    # A check of our own (`__post_init__`) names the field below the object it checks.
    if inner := _FIELD_FIRST.fullmatch(problem):
        return ConversionError(inner["field"], inner["problem"]).within(path)
    return ConversionError(path, problem)
