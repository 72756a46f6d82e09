"""`guardrail`: the command for people who write the policy and people who try the guardrail.

    guardrail validate POLICY
    guardrail evaluate --event EVENT.json [--facts FACTS.json] [--policy POLICY] [--now TIME] [--json]
    guardrail test DIR [--policy POLICY]
    guardrail schema
    guardrail rules
    guardrail replay [EVENT.json ...] [--policy POLICY] [--json]

`evaluate` and `test` make the Lambda's decision without AWS; `replay` runs the real handler over
events against an embedded emulation of an example organization (no account, no credentials).
`schema` prints the policy file's JSON Schema (for editors), `rules` the rule catalogue as Markdown.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from guardrail.core.alert import Alert
from guardrail.core.facts import Operation, Outcome
from guardrail.core.policy import Policy, PolicyError, json_schema, load_policy
from guardrail.core.rules import RULES, Rule

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POLICY = ROOT / "policy" / "policy.yaml"
SAMPLE_EVENTS = ROOT / "samples" / "events"


class UsageError(Exception):
    """A problem with what the user asked for: printed as one line, exit code 2."""


def _policy(path: str | None) -> Policy:
    return load_policy(Path(path) if path else DEFAULT_POLICY)


def _read_json(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"{path} is not valid JSON: {error}") from None


def render(alert: Alert) -> str:
    """A readable table of one alert."""
    body = alert.body
    actor = body["actor"]
    rows = [
        ("subject", alert.subject),
        ("verdict", f"{body['verdict']} ({body['severity']})"),
        ("action", f"{body['action']}: {body['action_reason']} [mode {body['mode']}]"),
        ("call", f"{body['event_name']} {body['outcome']} at {body['event_time']}"),
        ("account", f"{body['account_id']} {body['account_name'] or ''} {body['ou_path'] or ''}".rstrip()),
        ("region", body["region"]),
        ("instance", body["instance_arn"] or "-"),
        ("actor", f"{actor['arn'] or '-'} from {actor['source_ip'] or '-'}"),
    ]
    lines = [f"{name:<9} {value}" for name, value in rows]
    for finding in body["findings"]:
        lines.append(f"finding   {finding['rule']} [{finding['severity']}]: {finding['reason']}")
    for item in body["suppressed"]:
        until = f"{item['ticket']} until {item['expires']}"
        lines.append(f"exempted  {item['rule']} by {until}: {item['reason']}")
    for item in body["undetermined"]:
        lines.append(f"unknown   {item['rule']}: needs {item['missing_fact']}")
    for item in body["missing_facts"]:
        lines.append(f"missing   {item['fact']}: {item['reason']}")
    return "\n".join(lines)


def cmd_validate(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    rules = sorted(policy.rules) or ["defaults for every rule"]
    print(f"{args.policy}: valid (mode {policy.mode.value}; {', '.join(rules)})")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from guardrail_cli.cases import evaluate

    facts = _read_json(args.facts) if args.facts else {}
    if not isinstance(facts, dict):
        raise UsageError(f"{args.facts} must hold a JSON object of facts")
    try:
        now = datetime.fromisoformat(args.now) if args.now else None
    except ValueError:
        raise UsageError(f"--now {args.now!r} is not an ISO 8601 time") from None
    alert = evaluate(_policy(args.policy), _read_json(args.event), facts, now)
    print(json.dumps(alert.body, indent=2, sort_keys=True, default=str) if args.json else render(alert))
    return 0


def _show(value: Any) -> str:
    return f"[{', '.join(map(str, value))}]" if isinstance(value, list) else str(value)


def diff(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """One line per field that differs, naming the field; for lists, what is missing or extra."""
    lines = []
    for key in sorted(set(expected) | set(actual)):
        want, got = expected.get(key), actual.get(key)
        if want == got:
            continue
        line = f"  {key}: expected {_show(want)}, got {_show(got)}"
        if isinstance(want, list) and isinstance(got, list):
            notes = []
            if missing := [item for item in want if item not in got]:
                notes.append(f"missing {', '.join(missing)}")
            if extra := [item for item in got if item not in want]:
                notes.append(f"unexpected {', '.join(extra)}")
            line += f" ({'; '.join(notes)})" if notes else ""
        lines.append(line)
    return lines


def cmd_test(args: argparse.Namespace) -> int:
    from guardrail_cli.cases import case_files, run_case

    policy = _policy(args.policy)
    directory = Path(args.directory)
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a directory")
    files = case_files(directory)
    if not files:
        raise UsageError(f"no test cases (*.yaml) under {directory}")
    failed = 0
    for path in files:
        result = run_case(path, policy)
        if result.passed:
            print(f"PASS {path}: {result.name}")
            continue
        failed += 1
        print(f"FAIL {path}: {result.name}")
        print("\n".join(diff(result.expected, result.actual)))
        for finding in result.reasons:
            print(f"    {finding}")
    print(f"{len(files) - failed} passed, {failed} failed")
    return 1 if failed else 0


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return 0


def applies_to(rule: Rule) -> str:
    """The calls a rule judges, e.g. 'CreateInstance (succeeded or failed)'."""
    parts = []
    for operation in Operation:
        outcomes = [o.value for o in Outcome if (operation, o) in rule.applies_to]
        if outcomes:
            parts.append(f"{operation.value} ({' or '.join(outcomes)})")
    return ", ".join(parts)


def rules_table() -> str:
    """The rule catalogue as a Markdown table, for the README and for policy authors."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "| id | default severity | applies to | what it checks | fix |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rule in RULES:
        row = [
            f"`{rule.id}`",
            rule.severity.value,
            applies_to(rule),
            f"{rule.summary} Why: {rule.constraint}",
            rule.fix,
        ]
        lines.append("| " + " | ".join(cell(text) for text in row) + " |")
    return "\n".join(lines)


def cmd_rules(args: argparse.Namespace) -> int:
    print(rules_table())
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from guardrail_cli.replay import replay

    paths = [Path(p) for p in args.events] or sorted(SAMPLE_EVENTS.glob("*.json"))
    return replay(paths, _policy(args.policy), as_json=args.json)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="guardrail", description=__doc__.split("\n\n")[0])
    sub = top.add_subparsers(dest="command", required=True)

    validate = sub.add_parser("validate", help="check a policy file")
    validate.add_argument("policy")
    validate.set_defaults(run=cmd_validate)

    evaluate = sub.add_parser("evaluate", help="decide one event offline, from a facts file")
    evaluate.add_argument("--event", required=True, help="EventBridge event (CloudTrail record) JSON")
    evaluate.add_argument("--facts", help="facts JSON, as the Lambda gathers them (see README)")
    evaluate.add_argument("--policy", help=f"policy file (default {DEFAULT_POLICY.relative_to(ROOT)})")
    evaluate.add_argument("--now", help="evaluation time, ISO 8601 (default: the event's time)")
    evaluate.add_argument("--json", action="store_true", help="print the alert body as JSON")
    evaluate.set_defaults(run=cmd_evaluate)

    test = sub.add_parser("test", help="run policy test cases")
    test.add_argument("directory")
    test.add_argument("--policy", help="policy file (default: the repository's)")
    test.set_defaults(run=cmd_test)

    schema = sub.add_parser("schema", help="print the JSON Schema of the policy file")
    schema.set_defaults(run=cmd_schema)

    rules = sub.add_parser("rules", help="print the rule catalogue as a Markdown table")
    rules.set_defaults(run=cmd_rules)

    replay = sub.add_parser("replay", help="run the detector over events on an emulated organization")
    replay.add_argument("events", nargs="*", help="event files (default: the sample events)")
    replay.add_argument("--policy", help="policy file (default: the repository's)")
    replay.add_argument("--json", action="store_true", help="print full alert bodies as JSON")
    replay.set_defaults(run=cmd_replay)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except (PolicyError, UsageError, ValueError) as error:
        # One line, whatever the error's own formatting (YAML errors span several).
        print(f"guardrail {args.command}: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
