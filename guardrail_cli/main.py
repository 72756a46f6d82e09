"""`guardrail`: the command for people who write the policy and people who try the guardrail.

    guardrail validate POLICY
    guardrail evaluate --event EVENT.json [--facts FACTS.json] [--policy POLICY] [--now TIME] [--json]
    guardrail test DIR [--policy POLICY]
    guardrail replay [EVENT.json ...] [--policy POLICY] [--json]

`evaluate` and `test` make the Lambda's decision without AWS; `replay` runs the real handler over
events against an embedded emulation of an example organization (no account, no credentials).
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
from guardrail.core.policy import Policy, PolicyError, load_policy

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
        lines.append(f"exempted  {item['rule']} by {item['ticket']} until {item['expires']}: {item['reason']}")
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
    now = datetime.fromisoformat(args.now) if args.now else None
    alert = evaluate(_policy(args.policy), _read_json(args.event), facts, now)
    print(json.dumps(alert.body, indent=2, sort_keys=True, default=str) if args.json else render(alert))
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    from guardrail_cli.cases import case_files, run_case

    policy = _policy(args.policy)
    files = case_files(Path(args.directory))
    if not files:
        raise UsageError(f"no test cases (*.yaml) under {args.directory}")
    failed = 0
    for path in files:
        result = run_case(path, policy)
        if result.passed:
            print(f"PASS {path}: {result.name}")
            continue
        failed += 1
        print(f"FAIL {path}: {result.name}")
        for key in sorted(set(result.expected) | set(result.actual)):
            if result.expected.get(key) != result.actual.get(key):
                print(f"  {key}: expected {result.expected.get(key)!r}, got {result.actual.get(key)!r}")
    print(f"{len(files) - failed} passed, {failed} failed")
    return 1 if failed else 0


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
        print(f"guardrail {args.command}: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
