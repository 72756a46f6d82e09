"""`guardrail`: the command for people who write the policy and people who try the guardrail.

    guardrail validate POLICY
    guardrail evaluate --event EVENT.json [--facts FACTS.json] [--policy POLICY] [--now TIME] [--json]
    guardrail test DIR [--policy POLICY]
    guardrail schema
    guardrail rules
    guardrail replay [PATH ...] [--live --config CONFIG] [--policy POLICY] [--json | --show FORM]
    guardrail sweep (--emulated | --config CONFIG) [--policy POLICY] [--json]
    guardrail doctor (--emulated | --config CONFIG) [--json]

`evaluate` and `test` make the Lambda's decision without AWS; `replay` runs CloudTrail logs through
the deployed rules' pattern and the real handler, against an embedded emulation of an example
organization (no account, no credentials), or with `--live` on facts read from your organization.
`schema` prints the policy file's JSON Schema (for editors), `rules` the rule catalogue as Markdown.
`doctor` checks, read-only, that a deployed guardrail can see and say what it should.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from guardrail.core.catalogue import RULES
from guardrail.core.facts import Occasion, Operation, Outcome
from guardrail.core.policy import Policy
from guardrail.core.policy_file import PolicyError, json_schema, load_policy
from guardrail.core.rules import Rule
from guardrail_cli.render import render
from guardrail_cli.report import FORMS

if TYPE_CHECKING:
    from guardrail_cli.backtest import LiveRunner

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
    """The occasions a rule judges, e.g. 'CreateInstance (succeeded or failed), sweep'."""
    parts = []
    for operation in Operation:
        outcomes = [o.value for o in Outcome if Occasion(f"{operation.value} ({o.value})") in rule.applies_to]
        if outcomes:
            parts.append(f"{operation.value} ({' or '.join(outcomes)})")
    parts += [o.value for o in (Occasion.SWEEP, Occasion.GRACE_ENDED) if o in rule.applies_to]
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


def _near(path: Path) -> Path:
    """``path`` relative to the working directory when it is below it: shorter to read."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def cmd_replay(args: argparse.Namespace) -> int:
    """Exit 0 when every event the rules would deliver was alerted, 1 when one was rejected or
    failed or something could not be read; 2 (from `main`) on a usage or configuration error."""
    from guardrail_cli.replay import replay

    paths = [Path(p) for p in args.paths] or [_near(p) for p in sorted(SAMPLE_EVENTS.glob("*.json"))]
    if not args.live:
        for option in ("config", "member_role", "organizations_role", "regions"):
            if getattr(args, option):
                raise UsageError(f"--{option.replace('_', '-')} is for --live")
        from emulator.organization import SECURITY_ACCOUNT_ID
        from guardrail.core.channels.securityhub import Importer
        from guardrail_cli.emulated import EmulatedRunner

        with EmulatedRunner(_policy(args.policy)) as runner:
            importer = Importer(SECURITY_ACCOUNT_ID, "us-east-1")
            return replay(paths, runner, show=_form(args), importer=importer)

    live = _live_runner(args)
    print(
        f"guardrail replay: judging on facts read as {live.caller} "
        f"(member role {live.settings.member_role_name}); nothing is deleted or published",
        file=sys.stderr,
    )
    return replay(paths, live, show=_form(args), importer=live.settings.importer)


def _form(args: argparse.Namespace) -> str:
    """What `replay` prints of each alert: `--json` is the same as `--show json`."""
    if args.json and args.show not in (None, "json"):
        raise UsageError(f"--json is --show json; it cannot go with --show {args.show}")
    return "json" if args.json else (args.show or "text")


def _live_runner(args: argparse.Namespace) -> LiveRunner:
    """The backtest's runner, from the deployment's configuration and the caller's credentials."""
    import boto3

    from guardrail.adapters.clients import AwsClients
    from guardrail_cli.backtest import LiveRunner, live_settings
    from infra.config import load_config

    if not args.config:
        raise UsageError("--live needs the deployment's configuration: --config config/guardrail.yaml")
    config = load_config(args.config)
    policy = load_policy(Path(args.policy) if args.policy else config.policy_file)
    settings = live_settings(
        config, member_role=args.member_role, organizations_role=args.organizations_role, regions=args.regions
    )
    return LiveRunner(AwsClients(boto3.session.Session()), settings, policy)


def cmd_sweep(args: argparse.Namespace) -> int:
    """Exit 0 when every account was read, 1 when some could not be (their instances are unknown)."""
    import boto3

    from guardrail.adapters.clients import AwsClients
    from guardrail.sweep.summary import summary_text
    from guardrail_cli.sweep import SweepSettings, progress_to, sweep

    policy = _policy(args.policy)
    with progress_to(sys.stderr) as progress:
        if args.emulated:
            from emulator.environment import EmulatedEnvironment
            from emulator.sweep_example import add_sweep_example

            with EmulatedEnvironment(region="us-east-1") as env:
                add_sweep_example(env)
                settings = SweepSettings(
                    member_role_name=env.organization.member_role_name,
                    regions=tuple(
                        args.regions or ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2")
                    ),
                    near_region="us-east-1",
                    organizations_role_arn=env.organization.organizations_reader_role_arn,
                    organization_instance_region="us-east-1",
                    ending_within_days=args.ending_within_days,
                )
                summary = sweep(AwsClients(boto3.session.Session()), settings, policy, progress=progress)
        else:
            settings = _live_sweep_settings(args)
            summary = sweep(AwsClients(boto3.session.Session()), settings, policy, progress=progress)
    if args.json:
        import msgspec

        print(msgspec.json.encode(summary).decode())
    else:
        print(summary_text(summary))
    return 1 if summary.unreadable else 0


def _live_sweep_settings(args: argparse.Namespace) -> Any:
    from guardrail_cli.sweep import SweepSettings
    from infra.config import known_regions, load_config

    if not args.config:
        raise UsageError("name the deployment's configuration with --config (or run --emulated)")
    config = load_config(args.config)
    return SweepSettings(
        member_role_name=args.member_role or config.member_role_name,
        regions=tuple(args.regions or config.regions or known_regions("sso")),
        near_region=config.central_region,
        organizations_role_arn=args.organizations_role or config.organizations_role_arn,
        organization_instance_region=config.organization_instance_region,
        ending_within_days=args.ending_within_days,
    )


def cmd_doctor(args: argparse.Namespace) -> int:
    """Exit 0 when every check is ok, 1 when one is WRONG; 2 (from `main`) on a usage error."""
    import boto3

    from guardrail.adapters.clients import AwsClients
    from guardrail_cli.doctor import diagnose, document, render

    if args.emulated:
        for option in ("member_role", "organizations_role", "central_role", "regions"):
            if getattr(args, option):
                raise UsageError(f"--{option.replace('_', '-')} is for --config")
        from emulator.central import deploy_central_stack
        from emulator.environment import EmulatedEnvironment
        from emulator.sweep_example import SWEEP_REGIONS, add_sweep_example
        from guardrail_cli.emulated import doctor_settings

        with EmulatedEnvironment(region="us-east-1") as env:
            add_sweep_example(env)
            deploy_central_stack(env)
            settings = doctor_settings(env, SWEEP_REGIONS)
            checks = diagnose(AwsClients(boto3.session.Session()), settings)
    else:
        clients = AwsClients(boto3.session.Session())
        settings = _doctor_settings(args)
        caller = clients.client("sts", settings.central_region).get_caller_identity()["Account"]
        if caller != settings.central_account_id and not settings.central_role_arn:
            raise UsageError(
                f"the central checks read the central account {settings.central_account_id}, and these "
                f"credentials are of {caller}: use central credentials, or name a role there with --central-role"
            )
        checks = diagnose(clients, settings)
    print(json.dumps(document(checks), indent=2) if args.json else render(checks))
    return 0 if all(check.ok for check in checks) else 1


def _doctor_settings(args: argparse.Namespace) -> Any:
    from guardrail_cli.doctor import DoctorSettings
    from infra.config import load_config

    if not args.config:
        raise UsageError("name the deployment's configuration with --config (or run --emulated)")
    config = load_config(args.config)
    return DoctorSettings(
        central_account_id=config.central_account_id,
        central_region=config.central_region,
        central_bus_name=config.central_bus_name,
        member_role_name=args.member_role or config.member_role_name,
        regions=tuple(args.regions or config.regions),
        organizations_role_arn=args.organizations_role or config.organizations_role_arn,
        central_role_arn=args.central_role,
    )


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

    replay = sub.add_parser(
        "replay",
        help="run CloudTrail logs through the rules and the detector (emulated, or --live read-only)",
    )
    replay.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="CloudTrail log files (.json, .json.gz), folders of them (searched recursively), "
        "lookup-events output or EventBridge events (default: the sample events)",
    )
    replay.add_argument(
        "--policy", help="policy file (default: the repository's; with --live the configuration's)"
    )
    replay.add_argument("--json", action="store_true", help="one JSON object per event on standard output")
    replay.add_argument(
        "--show",
        choices=FORMS,
        help="print each alert as a subscriber gets it: email (the text), chat (the notification), "
        "securityhub (the findings and workflow updates), json (as --json); default text",
    )
    replay.add_argument(
        "--live",
        action="store_true",
        help="judge on facts read now from your organization with your credentials (read-only)",
    )
    replay.add_argument("--config", help="with --live: the deployment's configuration (roles, Regions)")
    replay.add_argument(
        "--member-role",
        help="with --live: role name to assume in each account (default: the configuration's)",
    )
    replay.add_argument(
        "--organizations-role",
        help="with --live: role ARN for Organizations reads (default: the configuration's)",
    )
    replay.add_argument(
        "--regions", nargs="+", help="with --live: Regions listed one by one where needed (after the paths)"
    )
    replay.set_defaults(run=cmd_replay)

    sweep = sub.add_parser(
        "sweep", help="list and judge every account instance of the organization (read-only)"
    )
    where = sweep.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--emulated", action="store_true", help="on the embedded emulation of the example organization"
    )
    where.add_argument(
        "--config", help="the deployment's configuration (roles, Regions) for a real organization"
    )
    sweep.add_argument("--policy", help="policy file (default: the repository's)")
    sweep.add_argument(
        "--member-role", help="role name to assume in each account (default: the configuration's)"
    )
    sweep.add_argument(
        "--organizations-role", help="role ARN for Organizations reads (default: the configuration's)"
    )
    sweep.add_argument(
        "--regions", nargs="+", help="Regions listed one by one where the one-call listing is unknown"
    )
    sweep.add_argument(
        "--ending-within-days", type=int, default=14, help="posture: trials and exemptions ending soon"
    )
    sweep.add_argument("--json", action="store_true", help="print the whole result as one JSON document")
    sweep.set_defaults(run=cmd_sweep)

    doctor = sub.add_parser(
        "doctor", help="check that the deployed guardrail can see and say what it should (read-only)"
    )
    where = doctor.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--emulated", action="store_true", help="on the embedded emulation of the example organization"
    )
    where.add_argument("--config", help="the deployment's configuration (accounts, Regions, names)")
    doctor.add_argument(
        "--member-role", help="role name to assume in each account (default: the configuration's)"
    )
    doctor.add_argument(
        "--organizations-role", help="role ARN for Organizations reads (default: the configuration's)"
    )
    doctor.add_argument(
        "--central-role", help="role ARN to read the central account with (default: your credentials)"
    )
    doctor.add_argument("--regions", nargs="+", help="Regions to check (default: the configuration's)")
    doctor.add_argument("--json", action="store_true", help="print the checks as one JSON document")
    doctor.set_defaults(run=cmd_doctor)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
        sys.stdout.flush()  # here, so that a reader gone away is seen below
    except (PolicyError, UsageError, ValueError) as error:
        # One line, whatever the error's own formatting (YAML errors span several).
        print(f"guardrail {args.command}: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:  # no credentials, access denied: the user's to fix
        print(f"guardrail {args.command}: AWS: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say, to anyone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a shell reports a process ended by SIGPIPE
    return code


if __name__ == "__main__":
    sys.exit(main())
