"""The record of the calls the functions make (tests/iam/calls.json), which the report is built from.

Each entry is one distinct authorization in canonical form (`tests.iam.normalize`), as the
integration and reliability suites made it, and that the templates allow. The record also lists the
tests during which a function made a call: when all of them ran in a session, the session recorded
every call the functions still make, so an entry it did not record is stale.

A session that records a call missing here fails: the least-privilege report would not account for
it. `--update-permissions` rewrites the record (and the report) from a whole run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from tests.iam.recording import Recorded

PATH = Path(__file__).with_name("calls.json")
# The whole suite, as CI runs it: a test of any folder that runs a function has its calls checked.
UPDATE_COMMAND = ".venv/bin/pytest -n 2 --dist loadfile tests --update-permissions"
_LEFT_OUT = ("test", "error")


def entry(recorded: Recorded) -> Recorded:
    """`recorded` as the record keeps it: without the test that made it or how the call went."""
    return replace(recorded, test="", error=None)


@dataclass(frozen=True)
class Catalogue:
    calls: tuple[Recorded, ...]
    tests: tuple[str, ...]

    @property
    def keys(self) -> set[str]:
        return {call.key() for call in self.calls}

    @classmethod
    def of(cls, calls: Iterable[Recorded], tests: Iterable[str]) -> Catalogue:
        unique = {entry(call).key(): entry(call) for call in calls}
        return cls(tuple(unique[key] for key in sorted(unique)), tuple(sorted(set(tests))))

    @classmethod
    def load(cls, path: Path = PATH) -> Catalogue:
        if not path.exists():
            return cls((), ())
        data = json.loads(path.read_text(encoding="utf-8"))
        calls = []
        for item in data["calls"]:
            item = {**item, "test": "", "error": None}
            item["context"] = [tuple(pair) for pair in item["context"]]
            calls.append(Recorded(**item))
        return cls(tuple(calls), tuple(data["tests"]))

    def dumps(self) -> str:
        calls: list[dict[str, Any]] = []
        for call in self.calls:
            data = asdict(call)
            for name in _LEFT_OUT:
                del data[name]
            calls.append(data)
        document = {
            "about": "The AWS calls the guardrail's functions make in the tests, in canonical form "
            "(tests/iam/normalize.py), and the tests that make them. Written by: " + UPDATE_COMMAND,
            "tests": list(self.tests),
            "calls": calls,
        }
        return json.dumps(document, indent=1, sort_keys=True) + "\n"

    def write(self, path: Path = PATH) -> None:
        path.write_text(self.dumps(), encoding="utf-8")
