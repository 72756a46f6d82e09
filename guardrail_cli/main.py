"""`guardrail`: the command for people who write the policy and people who try the guardrail.

    guardrail validate POLICY
    guardrail evaluate --event EVENT.json [--facts FACTS.json | --org SNAPSHOT] [--policy POLICY] [--now TIME]
                       [--json] [--fail-on SEVERITY]
    guardrail test DIR [--policy POLICY]
    guardrail schema
    guardrail rules
    guardrail replay [PATH ...] [--live --config CONFIG | --org SNAPSHOT] [--policy POLICY] [--json | --show FORM]
                     [--fail-on SEVERITY]
    guardrail sweep (--emulated | --config CONFIG | --org SNAPSHOT) [--policy POLICY] [--json] [--fail-on SEVERITY]
                    [--coverage] [--show FORM [--inventory FILE]]
    guardrail report [RESULT ...] [--org SNAPSHOT] [--output FILE]
    guardrail snapshot --config CONFIG --output FILE [--redact] [--organization-only]
    guardrail doctor (--emulated | --config CONFIG) [--send-test-event [--test-timeout SECONDS]] [--json]

`evaluate` and `test` make the Lambda's decision without AWS; `replay` runs CloudTrail logs through
the deployed rules' pattern and the real handler, against an embedded emulation of an example
organization (no account, no credentials), with `--live` on facts read from your organization, or
with `--org` on a snapshot of it that `snapshot` wrote (offline, as `--live` would judge).
`schema` prints the policy file's JSON Schema (for editors), `rules` the rule catalogue as Markdown.
`doctor` checks, read-only, that a deployed guardrail can see and say what it should; with
`--send-test-event` it also sends a test event through it, end to end.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
import tomllib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from guardrail.channels.registry import forms as channel_forms
from guardrail.core.catalogue import RULES
from guardrail.core.facts import Occasion, Operation, Outcome
from guardrail.core.policy import Policy
from guardrail.core.policy_file import PolicyError, json_schema, load_policy
from guardrail.core.rules import Rule
from guardrail.core.strict import read_utf8
from guardrail_cli.report import FORMS

if TYPE_CHECKING:
    from guardrail_cli.backtest import LiveRunner

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "identity-center-account-instance-guardrail"
DEFAULT_POLICY = ROOT / "policy" / "policy.yaml"
SAMPLE_EVENTS = ROOT / "samples" / "events"


class UsageError(Exception):
    """A problem with what the user asked for: printed as one line, exit code 2."""


def _policy(path: str | None) -> Policy:
    return load_policy(Path(path) if path else DEFAULT_POLICY)


def _read_json(path: str) -> Any:
    try:
        return json.loads(read_utf8(Path(path)))  # not UTF-8: a ValueError naming the file
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
    from guardrail_cli.logs import as_event
    from guardrail_cli.report import EXIT_VIOLATIONS, at_or_above

    event = as_event(_read_json(args.event))  # a raw CloudTrail record, as EventBridge would wrap it
    if args.org:
        from guardrail_cli.snapshot import evaluate_on_snapshot, load_snapshot

        if args.facts:
            raise UsageError("--facts and --org are two sources of facts: name one")
        alert = evaluate_on_snapshot(_policy(args.policy), event, load_snapshot(args.org), now)
    else:
        alert = evaluate(_policy(args.policy), event, facts, now)
    from guardrail_cli.render import render  # rich and the report's views: only when printed

    print(json.dumps(alert.body, indent=2, sort_keys=True, default=str) if args.json else render(alert))
    return EXIT_VIOLATIONS if at_or_above(alert.body, _fail_on(args)) else 0


def _fail_on(args: argparse.Namespace) -> Any:
    """`--fail-on`: the severity from which a violation makes the exit status 3, or None."""
    from guardrail.core.policy import Severity

    return Severity(args.fail_on) if args.fail_on else None


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
    from guardrail_cli.cases import CaseError, case_files, run_case

    policy = _policy(args.policy)
    directory = Path(args.directory)
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a directory")
    files = case_files(directory)
    if not files:
        raise UsageError(f"no test cases (*.yaml) under {directory}")
    failed, broken = 0, 0
    for path in files:
        try:
            result = run_case(path, policy)
        except CaseError as error:  # reported, and the other cases still run
            broken += 1
            print(f"ERROR {' '.join(str(error).split())}")
            continue
        if result.passed:
            print(f"PASS {path}: {result.name}")
            continue
        failed += 1
        print(f"FAIL {path}: {result.name}")
        print("\n".join(diff(result.expected, result.actual)))
        for finding in result.reasons:
            print(f"    {finding}")
    print(
        f"{len(files) - failed - broken} passed, {failed} failed" + (f", {broken} not run" if broken else "")
    )
    if broken:
        raise UsageError(f"{broken} of {len(files)} cases could not be run (ERROR above)")
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
    """Exit 0 when the replay went through (whatever the verdicts), 1 when an event failed or
    something could not be read, 3 with `--fail-on` when a violation at or above it was alerted;
    2 (from `main`) on a usage or configuration error."""
    from guardrail_cli.replay import replay

    paths = [Path(p) for p in args.paths] or [_near(p) for p in sorted(SAMPLE_EVENTS.glob("*.json"))]
    fail_on = _fail_on(args)
    if args.org and args.live:
        raise UsageError("--live reads your organization now, --org a snapshot of it: name one")
    if not args.live:
        for option in ("config", "member_role", "organizations_role", "regions"):
            if getattr(args, option):
                raise UsageError(f"--{option.replace('_', '-')} is for --live")
    if args.org:
        from guardrail_cli.backtest import DecisionRunner
        from guardrail_cli.snapshot import SnapshotGatherer, load_snapshot

        snapshot = load_snapshot(args.org)
        print(
            f"guardrail replay: judging on the {snapshot.described()}; nothing is deleted or published",
            file=sys.stderr,
        )
        offline = DecisionRunner(SnapshotGatherer(snapshot), _policy(args.policy))
        return replay(paths, offline, show=_form(args), fail_on=fail_on)
    if not args.live:
        from guardrail.channels.securityhub import Importer
        from guardrail_cli.emulated import EMULATED_CENTRAL_ACCOUNT, EmulatedRunner

        with EmulatedRunner(_policy(args.policy)) as runner:
            importer = Importer(EMULATED_CENTRAL_ACCOUNT, "us-east-1")
            return replay(paths, runner, show=_form(args), importer=importer, fail_on=fail_on)

    live = _live_runner(args)
    print(
        f"guardrail replay: judging on facts read as {live.caller} "
        f"(member role {live.settings.member_role_name}); nothing is deleted or published",
        file=sys.stderr,
    )
    return replay(paths, live, show=_form(args), importer=live.settings.importer, fail_on=fail_on)


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
    """Exit 0 when every account was read, 1 when some could not be (their instances are unknown),
    3 with `--fail-on` when an instance is a violation at or above it."""
    import boto3

    from guardrail.adapters.clients import AwsClients
    from guardrail_cli.render import print_sweep
    from guardrail_cli.sweep import SweepSettings, progress_to, sweep

    policy = _policy(args.policy)
    preview = _sweep_preview(args)
    with progress_to(sys.stderr) as progress:
        if args.org:
            from guardrail_cli.snapshot import load_snapshot, sweep_offline

            for option in ("member_role", "organizations_role", "regions"):
                if getattr(args, option):
                    raise UsageError(
                        f"--{option.replace('_', '-')} is for --config: a snapshot holds what was read"
                    )
            summary = sweep_offline(
                load_snapshot(args.org), policy, ending_within_days=args.ending_within_days, progress=progress
            )
        elif args.emulated:
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
                    forwarding=_emulated_forwarding() if args.coverage or args.show else None,
                )
                summary = sweep(
                    AwsClients(boto3.session.Session()), settings, policy, progress=progress, preview=preview
                )
        else:
            settings = _live_sweep_settings(args)
            summary = sweep(
                AwsClients(boto3.session.Session()), settings, policy, progress=progress, preview=preview
            )
    if preview is not None:
        _show_preview(args, preview)
    elif args.json:
        import msgspec

        print(msgspec.json.encode(summary).decode())
    else:
        print_sweep(summary, sys.stdout)
    from guardrail_cli.sweep import failing

    if summary.unreadable:
        return 1
    return 3 if failing(summary, _fail_on(args)) else 0


def _live_sweep_settings(args: argparse.Namespace) -> Any:
    from guardrail.sweep.coverage import ForwardingNames
    from guardrail_cli.doctor import FORWARDING_DEAD_LETTER_QUEUE_NAME, FORWARDING_RULE_NAME
    from guardrail_cli.sweep import SweepSettings
    from infra.config import known_regions, load_config

    if not args.config:
        raise UsageError("name the deployment's configuration with --config (or run --emulated)")
    config = load_config(args.config)
    bus = f"arn:aws:events:{config.central_region}:{config.central_account_id}:event-bus/{config.central_bus_name}"
    return SweepSettings(
        member_role_name=args.member_role or config.member_role_name,
        regions=tuple(args.regions or config.regions or known_regions("sso")),
        near_region=config.central_region,
        organizations_role_arn=args.organizations_role or config.organizations_role_arn,
        organization_instance_region=config.organization_instance_region,
        ending_within_days=args.ending_within_days,
        forwarding=ForwardingNames(FORWARDING_RULE_NAME, FORWARDING_DEAD_LETTER_QUEUE_NAME, bus)
        if args.coverage or args.show
        else None,
        reminder_days=config.sweep.reminder_days,
    )


def _emulated_forwarding() -> Any:
    """The forwarding the emulation deploys in each account (`emulator.forwarding`)."""
    from emulator.forwarding import FORWARDING_DEAD_LETTER_QUEUE_NAME, FORWARDING_RULE_NAME, central_bus_arn
    from guardrail.sweep.coverage import ForwardingNames

    return ForwardingNames(FORWARDING_RULE_NAME, FORWARDING_DEAD_LETTER_QUEUE_NAME, central_bus_arn())


def _sweep_preview(args: argparse.Namespace) -> Any:
    """The preview `--show` asks for, from `--inventory`'s state when it names one; None without."""
    if args.show is None:
        if args.inventory:
            raise UsageError("--inventory keeps a preview's inventory: it goes with --show")
        return None
    if args.json:
        raise UsageError(
            "--show prints the alerts; it cannot go with --json (--show json prints their bodies)"
        )
    if args.org:
        raise UsageError("--show previews a sweep that reads the organization: use --emulated or --config")
    from guardrail_cli.preview import Preview, load_state

    return Preview(load_state(Path(args.inventory)) if args.inventory else None)


def _show_preview(args: argparse.Namespace, preview: Any) -> None:
    from guardrail.channels.securityhub import Importer
    from guardrail_cli.preview import save_state, show

    if args.emulated:
        from emulator.organization import SECURITY_ACCOUNT_ID

        importer = Importer(SECURITY_ACCOUNT_ID, "us-east-1")
    else:
        from infra.config import load_config

        config = load_config(args.config)
        importer = Importer(config.central_account_id, config.central_region)
    for alert in preview.alerts():
        print(show(alert, args.show, importer))
    if args.inventory:
        save_state(Path(args.inventory), preview.state())


def cmd_report(args: argparse.Namespace) -> int:
    """Exit 0 once the report is written; 2 (from `main`) on a usage error or a file not read."""
    from guardrail_cli.report_html import write_report

    if not args.results and not args.org:
        raise UsageError(
            "name sweep results (guardrail sweep --json, or a run's summary.json) or --org SNAPSHOT"
        )
    written = write_report(
        [Path(p) for p in args.results],
        Path(args.output),
        org=Path(args.org) if args.org else None,
        policy=_policy(args.policy) if args.org else None,
        ending_within_days=args.ending_within_days,
    )
    print(f"guardrail report: {written}", file=sys.stderr)
    return 0


def cmd_snapshot(args: argparse.Namespace) -> int:
    """Exit 0 once the file is written; 2 (from `main`) on a usage, configuration or AWS error."""
    import boto3

    from guardrail.adapters.clients import AwsClients
    from guardrail_cli.progress import progress_bar
    from guardrail_cli.snapshot import SnapshotSettings, take_snapshot, write_snapshot
    from infra.config import known_regions, load_config

    config = load_config(args.config)
    settings = SnapshotSettings(
        organizations_role_arn=args.organizations_role or config.organizations_role_arn,
        organization_instance_region=config.organization_instance_region,
        member_role_name=None if args.organization_only else (args.member_role or config.member_role_name),
        regions=tuple(args.regions or config.regions or known_regions("sso")),
        near_region=config.central_region,
    )
    with progress_bar(sys.stderr, "reading", "accounts") as progress:
        snapshot = take_snapshot(
            AwsClients(boto3.session.Session()), settings, redact=args.redact, progress=progress
        )
    output = Path(args.output)
    try:
        write_snapshot(snapshot, output)
    except OSError as error:
        raise UsageError(f"cannot write {output}: {error.strerror or error}") from None
    print(f"guardrail snapshot: {output}: {snapshot.described()}", file=sys.stderr)
    return 0


def _add_fail_on(command: argparse.ArgumentParser) -> None:
    from guardrail.core.policy import Severity

    command.add_argument(
        "--fail-on",
        choices=[severity.value for severity in Severity],
        metavar="SEVERITY",
        help="exit 3 when a violation of this severity or above is found "
        f"({', '.join(severity.value for severity in Severity)})",
    )


def cmd_doctor(args: argparse.Namespace) -> int:
    """Exit 0 when every check is ok, 1 when one is WRONG; 2 (from `main`) on a usage error."""
    import boto3

    from guardrail.adapters.clients import AwsClients
    from guardrail_cli.doctor import SendTestEvent, diagnose, document, render

    if args.test_timeout is not None and not args.send_test_event:
        raise UsageError("--test-timeout is for --send-test-event")
    if args.test_timeout is not None and args.test_timeout <= 0:
        raise UsageError(f"--test-timeout: {args.test_timeout:g} is not a positive number of seconds")
    send = SendTestEvent(timeout_seconds=args.test_timeout or 120.0) if args.send_test_event else None
    if args.emulated:
        for option in ("member_role", "organizations_role", "central_role", "regions"):
            if getattr(args, option):
                raise UsageError(f"--{option.replace('_', '-')} is for --config")
        from contextlib import nullcontext

        from emulator.central import deploy_central_stack
        from emulator.cloudtrail import create_organization_trail
        from emulator.environment import EmulatedEnvironment
        from emulator.sweep_example import SWEEP_REGIONS, add_sweep_example
        from guardrail_cli.emulated import doctor_settings

        with EmulatedEnvironment(region="us-east-1") as env:
            add_sweep_example(env)
            central = deploy_central_stack(env)
            create_organization_trail(env.region)
            settings = doctor_settings(env, SWEEP_REGIONS)
            # With the test event, the central bus runs the real detect handler, in-process.
            with central.running() if send else nullcontext():
                checks = diagnose(AwsClients(boto3.session.Session()), settings, send=send)
    else:
        clients = AwsClients(boto3.session.Session())
        settings = _doctor_settings(args)
        caller = clients.client("sts", settings.central_region).get_caller_identity()["Account"]
        if caller != settings.central_account_id and not settings.central_role_arn:
            raise UsageError(
                f"the central checks read the central account {settings.central_account_id}, and these "
                f"credentials are of {caller}: use central credentials, or name a role there with --central-role"
            )
        checks = diagnose(clients, settings, send=send)
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


def version() -> str:
    """The installed package's version; from pyproject.toml when run from a clone not installed."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        with (ROOT / "pyproject.toml").open("rb") as project:
            found: str = tomllib.load(project)["project"]["version"]
        return found


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="guardrail", description=__doc__.split("\n\n")[0])
    top.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = top.add_subparsers(dest="command", required=True)

    validate = sub.add_parser("validate", help="check a policy file")
    validate.add_argument("policy")
    validate.set_defaults(run=cmd_validate)

    evaluate = sub.add_parser("evaluate", help="decide one event offline, from a facts file")
    evaluate.add_argument(
        "--event", required=True, help="the event JSON: an EventBridge event, or a raw CloudTrail record"
    )
    evaluate.add_argument("--facts", help="facts JSON, as the Lambda gathers them (see README)")
    evaluate.add_argument("--org", metavar="SNAPSHOT", help="the facts from an organization snapshot instead")
    _add_fail_on(evaluate)
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
        help="CloudTrail log files (.json, .json.gz), folders of them (searched recursively), JSON Lines, "
        "lookup-events output (pages appended to one file too) or EventBridge events (default: the sample events)",
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
    replay.add_argument(
        "--org", metavar="SNAPSHOT", help="judge offline on an organization snapshot, as --live would"
    )
    _add_fail_on(replay)
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
    where.add_argument("--org", metavar="SNAPSHOT", help="offline, on an organization snapshot")
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
    _add_fail_on(sweep)
    sweep.add_argument(
        "--coverage",
        action="store_true",
        help="also check each account's forwarding, as the deployed sweep does (blind spots)",
    )
    sweep.add_argument(
        "--show",
        choices=channel_forms(),
        help="print the alerts the deployed sweep would send (new, changed, resolved, summary, coverage) "
        "as that subscriber gets them; nothing is sent",
    )
    sweep.add_argument(
        "--inventory",
        metavar="FILE",
        help="with --show: the preview's inventory, read before and written after, so that the next "
        "preview shows what changed or ended",
    )
    sweep.set_defaults(run=cmd_sweep)

    report = sub.add_parser(
        "report", help="write the sweep's report: one self-contained HTML file to open in a browser"
    )
    report.add_argument(
        "results",
        nargs="*",
        metavar="RESULT",
        help="sweep results (guardrail sweep --json, or a deployed run's summary.json); the newest is "
        "reported, all of them are drawn from run to run",
    )
    report.add_argument(
        "--org", metavar="SNAPSHOT", help="sweep an organization snapshot offline and report it"
    )
    report.add_argument("--policy", help="with --org: policy file (default: the repository's)")
    report.add_argument(
        "--ending-within-days", type=int, default=14, help="with --org: trials and exemptions ending soon"
    )
    report.add_argument(
        "--output", "-o", default="report.html", help="the file to write (default report.html)"
    )
    report.set_defaults(run=cmd_report)

    snapshot = sub.add_parser(
        "snapshot", help="write the organization to one file, read-only, to judge offline with --org"
    )
    snapshot.add_argument("--config", required=True, help="the deployment's configuration (roles, Regions)")
    snapshot.add_argument("--output", "-o", required=True, help="the file to write (.json, or .json.gz)")
    snapshot.add_argument(
        "--redact", action="store_true", help="leave account names and e-mail addresses out"
    )
    snapshot.add_argument(
        "--organization-only", action="store_true", help="the planner's reads only: no account instances"
    )
    snapshot.add_argument(
        "--member-role", help="role name to assume in each account (default: the configuration's)"
    )
    snapshot.add_argument(
        "--organizations-role", help="role ARN for Organizations reads (default: the configuration's)"
    )
    snapshot.add_argument(
        "--regions", nargs="+", help="Regions listed one by one where the one-call listing is unknown"
    )
    snapshot.set_defaults(run=cmd_snapshot)

    doctor = sub.add_parser(
        "doctor",
        help="check that the deployed guardrail can see and say what it should "
        "(read-only, unless --send-test-event)",
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
    doctor.add_argument(
        "--send-test-event",
        action="store_true",
        help="also put a test event on the central bus and wait for the detect function's record of it "
        "(not read-only: a test alert goes out on every channel)",
    )
    doctor.add_argument(
        "--test-timeout",
        type=float,
        metavar="SECONDS",
        help="how long to wait for the test event's record (default 120)",
    )
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
