"""Policy test cases: an event, the facts, and the decision the policy author expects.

A case file is YAML (`*.yaml`; JSON files beside it are taken for events):

    name: an unapproved account creating an instance
    event: ../../../samples/events/create-instance-console-success.json  # relative to this file, or inline
    now: 2026-11-10T12:00:00Z         # optional, default: the event's time
    facts: {...}                      # as `guardrail evaluate --facts` takes them
    expect:
      verdict: violation
      rules: [account-not-approved]   # exactly these rules fire
      suppressed: [scp-gap]           # optional: exactly these rules are suppressed by exemptions
      severity: high                  # optional: the decision's severity
      action: alert                   # optional: none, alert, would-delete-instance, delete-instance

A near-miss case expects a rule *not* to fire: it lists every rule that does fire, and the rule it
is about is not among them. Cases make a policy change testable in the organization's CI, like code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import yaml

from guardrail.core.alert import Alert
from guardrail.core.decision import Action, Verdict
from guardrail.core.facts import Facts
from guardrail.core.policy import Policy, RuleId, Severity
from guardrail.core.policy_file import check_rule_ids
from guardrail.core.strict import ConversionError, convert, read_utf8, read_yaml
from guardrail.pipeline.events import parse_api_call
from guardrail.pipeline.service import Guardrail


class CaseError(ValueError):
    """A case file that cannot be run."""


class Expectation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    verdict: Verdict
    rules: tuple[RuleId, ...] = ()
    suppressed: tuple[RuleId, ...] | None = None
    severity: Severity | None = None
    action: Action | None = None

    def __post_init__(self) -> None:
        listed = {"rules": self.rules, "suppressed": self.suppressed or ()}
        check_rule_ids({f"{key}[{i}]": rule for key, rules in listed.items() for i, rule in enumerate(rules)})


class Case(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    event: dict[str, Any] | str
    expect: Expectation
    now: datetime | None = None
    facts: dict[str, Any] = msgspec.field(default_factory=dict)


def read_data(path: Path) -> Any:
    """A case or an event file: JSON or YAML, in UTF-8 (`ValueError` naming the file otherwise)."""
    text = read_utf8(path)
    return json.loads(text) if path.suffix == ".json" else read_yaml(text)


def facts_for(event: Any, facts: dict[str, Any]) -> Facts:
    """The facts file holds what the Lambda gathers; the call, and what it is about, come from the event."""
    call = parse_api_call(event)
    try:
        return convert(
            {**facts, "subject": msgspec.to_builtins(call.subject), "trigger": msgspec.to_builtins(call)},
            Facts,
        )
    except ConversionError as error:
        raise ValueError(f"the facts are invalid: {error}") from None


def evaluate(policy: Policy, event: Any, facts: dict[str, Any], now: datetime | None) -> Alert:
    the_facts = facts_for(event, facts)
    moment = now or the_facts.trigger.time
    return Guardrail(_NoGatherer(), _NoPublisher(), policy, clock=lambda: moment).evaluate(the_facts)


class _NoGatherer:
    def prefetch(self, call: Any) -> None:
        return None

    def gather(self, call: Any) -> Facts:
        raise NotImplementedError("offline evaluation takes its facts from a file")


class _NoPublisher:
    def publish(self, alert: Alert) -> str:
        raise NotImplementedError("offline evaluation publishes nothing")


@dataclass(frozen=True)
class CaseResult:
    path: Path
    name: str
    expected: dict[str, Any]
    actual: dict[str, Any]
    # What the decision said, to show beside a failure: "<rule>: <reason>" per finding.
    reasons: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.expected == self.actual


def load_case(path: Path) -> Case:
    """The case, its event read; `CaseError` naming the file and what is wrong with it."""
    try:
        case = convert(read_data(path), Case)
    except OSError as error:
        raise CaseError(f"{path}: cannot read it: {error.strerror}") from None
    except (ValueError, yaml.YAMLError) as error:  # JSON, UTF-8 and conversion errors are ValueErrors
        raise CaseError(f"{path}: {error}") from None
    if isinstance(case.event, str):
        event_path = (path.parent / case.event).resolve()
        try:
            case = msgspec.structs.replace(case, event=read_data(event_path))
        except OSError as error:
            raise CaseError(f"{path}: cannot read event {event_path}: {error.strerror}") from None
        except (json.JSONDecodeError, yaml.YAMLError) as error:
            raise CaseError(f"{path}: event {event_path} is not valid: {error}") from None
        except ValueError as error:  # not UTF-8: the message names the event's file
            raise CaseError(f"{path}: {error}") from None
    return case


def run_case(path: Path, policy: Policy) -> CaseResult:
    case = load_case(path)
    try:
        alert = evaluate(policy, case.event, case.facts, case.now)
    except ValueError as error:
        raise CaseError(f"{path}: {error}") from None
    body = alert.body
    expect = case.expect
    actual: dict[str, Any] = {
        "verdict": body["verdict"],
        "rules": sorted(f["rule"] for f in body["findings"]),
    }
    expected: dict[str, Any] = {"verdict": expect.verdict.value, "rules": sorted(expect.rules)}
    # The optional expectations are compared only when the case states them.
    if expect.suppressed is not None:
        expected["suppressed"] = sorted(expect.suppressed)
        actual["suppressed"] = sorted(s["rule"] for s in body["suppressed"])
    if expect.severity is not None:
        expected["severity"] = expect.severity.value
        actual["severity"] = body["severity"]
    if expect.action is not None:
        expected["action"] = expect.action.value
        actual["action"] = body["action"]
    reasons = tuple(f"{f['rule']}: {f['reason']}" for f in body["findings"])
    return CaseResult(path, case.name, expected, actual, reasons)


def case_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())
