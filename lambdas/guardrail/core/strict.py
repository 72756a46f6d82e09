"""Strict conversion of outside data (events, the policy, facts files) into the core's types."""

from __future__ import annotations

import difflib
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


def read_utf8(path: Path) -> str:
    """The text of a file, which must be UTF-8: a `ValueError` naming the file and the first byte
    that is not. `OSError` (missing, unreadable) is left to the caller, who knows what the file is."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ValueError(
            f"{path} is not UTF-8 text: byte 0x{data[error.start]:02x} on line {line} cannot be read; "
            "save the file as UTF-8"
        ) from None


def convert[T](data: Any, into: type[T]) -> T:
    """`msgspec.convert`: no coercion between types; unknown keys rejected where the type says so."""
    try:
        return msgspec.convert(data, into, dec_hook=_decode)
    except msgspec.ValidationError as error:
        raise _with_choices(_conversion_error(str(error)), into) from None
    except UnicodeEncodeError:  # msgspec reads str as UTF-8, which unpaired surrogates are not
        raise ConversionError("", "text that is not valid Unicode (unpaired surrogates)") from None


def _decode(into: type, value: Any) -> Any:
    """The types msgspec leaves to its caller: a `Path`, from non-empty text (or a `Path`)."""
    if into is Path and (isinstance(value, Path) or (isinstance(value, str) and value)):
        return Path(value)
    raise ValueError(f"Expected a non-empty path, got `{type(value).__name__}`")


_INVALID_CHOICE = re.compile(r"Invalid enum value (?P<value>.*)", re.DOTALL)
_STEP = re.compile(r"\.([^.\[]+)|\[(\.\.\.|\d+)\]")


def _with_choices(error: ConversionError, into: type) -> ConversionError:
    """A value that is not one of a field's choices, with the choices: `mode: 'enforced' is not one
    of dry-run, enforce`. The choices are read from the type at the error's path."""
    wrong = _INVALID_CHOICE.fullmatch(error.problem)
    choices = _choices_at(msgspec.inspect.type_info(into), error.path) if wrong else None
    if wrong is None or not choices:
        return error
    shown = [str(choice) for choice in choices]
    close = difflib.get_close_matches(str(wrong["value"]).strip("'"), shown, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return ConversionError(error.path, f"{wrong['value']} is not one of {', '.join(shown)}{hint}")


def _choices_at(info: Any, path: str) -> tuple[Any, ...] | None:
    """The values an enum or literal type at `path` (`mode`, `a[0].b`, `c[...]`) accepts."""
    text = path if path.startswith("[") or not path else "." + path
    steps = list(_STEP.finditer(text))
    if "".join(step[0] for step in steps) != text:
        return None
    for step in steps:
        info = _step(info, step[1], step[2])
        if info is None:
            return None
    return _choices(info)


def _unwrapped(info: Any) -> Any:
    while isinstance(info, msgspec.inspect.Metadata):
        info = info.type
    return info


def _step(info: Any, field: str | None, index: str | None) -> Any:
    info = _unwrapped(info)
    if isinstance(info, msgspec.inspect.UnionType):
        for member in info.types:
            if (found := _step(member, field, index)) is not None:
                return found
        return None
    if field is not None and isinstance(info, msgspec.inspect.StructType):
        return next((f.type for f in info.fields if f.encode_name == field), None)
    if index == "..." and isinstance(info, msgspec.inspect.DictType):  # msgspec's step into a value
        return info.value_type
    if index is None or not index.isdigit():
        return None
    if isinstance(info, msgspec.inspect.TupleType):
        return info.item_types[int(index)] if int(index) < len(info.item_types) else None
    if isinstance(
        info,
        msgspec.inspect.ListType
        | msgspec.inspect.VarTupleType
        | msgspec.inspect.SetType
        | msgspec.inspect.FrozenSetType,
    ):
        return info.item_type
    return None


def _choices(info: Any) -> tuple[Any, ...] | None:
    info = _unwrapped(info)
    if isinstance(info, msgspec.inspect.UnionType):
        return next((found for member in info.types if (found := _choices(member))), None)
    if isinstance(info, msgspec.inspect.EnumType):
        return tuple(member.value for member in info.cls)
    if isinstance(info, msgspec.inspect.LiteralType):
        return tuple(info.values)
    return None


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
