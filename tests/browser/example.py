"""The example organization's report, as a person opens it: five daily sweeps of the emulated example
organization (`emulator.sweep_example`), each after a change a team made, the last with its
coverage checked, under the example policy switched to enforce mode with a 72-hour grace period
for unapproved accounts (so that the report has pending deletions to show).

    .venv/bin/python -m tests.browser.example docs/images/report.png

rewrites the screenshot the README and docs/report.md show (and writes the report beside it, in build/).
"""

from __future__ import annotations

import sys
from dataclasses import replace as with_fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
from msgspec.structs import replace

from emulator.environment import EmulatedEnvironment
from emulator.forwarding import FORWARDING_DEAD_LETTER_QUEUE_NAME, FORWARDING_RULE_NAME, central_bus_arn
from emulator.organization import administrator_client
from emulator.sweep_example import (
    CAROL_ACCOUNT_ID,
    CAROL_INSTANCE_ARN,
    DAVE_ACCOUNT_ID,
    DAVE_INSTANCE_ARNS,
    SWEEP_REGIONS,
    add_sweep_example,
)
from guardrail.adapters.clients import AwsClients
from guardrail.core.policy import Enforcement, Mode, Policy, RuleSettings
from guardrail.core.policy_file import load_policy
from guardrail.sweep.coverage import ForwardingNames
from guardrail.sweep.report import render_report
from guardrail.sweep.report.history import RunPoint
from guardrail.sweep.summary import Summary
from guardrail_cli.sweep import SweepSettings, sweep

ROOT = Path(__file__).resolve().parents[2]
FIRST_RUN = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def example_policy() -> Policy:
    policy = load_policy(ROOT / "policy" / "policy.yaml")
    rules = {**policy.rules, "account-not-approved": RuleSettings(action="remediate")}
    return replace(policy, mode=Mode.ENFORCE, rules=rules, enforcement=Enforcement(grace_period_hours=72))


def example_runs() -> list[Summary]:
    """Five sweeps, a day apart: the summaries, oldest first."""
    summaries: list[Summary] = []
    policy = example_policy()
    with EmulatedEnvironment(region="us-east-1") as env:
        add_sweep_example(env, today=FIRST_RUN)
        org = env.organization
        settings = SweepSettings(
            member_role_name=org.member_role_name,
            regions=SWEEP_REGIONS,
            near_region="us-east-1",
            organizations_role_arn=org.organizations_reader_role_arn,
            organization_instance_region="us-east-1",
        )
        clients = AwsClients(boto3.session.Session())

        def run(day: int, *, coverage: bool = False) -> None:
            when = FIRST_RUN + timedelta(days=day)
            forwarding = (
                ForwardingNames(FORWARDING_RULE_NAME, FORWARDING_DEAD_LETTER_QUEUE_NAME, central_bus_arn())
                if coverage
                else None
            )
            summaries.append(
                sweep(clients, with_fields(settings, forwarding=forwarding), policy, now=lambda: when)
            )

        run(0)
        # Dave keeps one of the two instances that raced.
        administrator_client(DAVE_ACCOUNT_ID, "sso-admin", region="eu-west-1").delete_instance(
            InstanceArn=DAVE_INSTANCE_ARNS[1]
        )
        run(1)
        # A fleet account tries an account instance, untagged.
        fleet = sorted(a for a in env.organization.member_account_ids if a.startswith("5000"))[3]
        env.identity_center.seed_instance(
            fleet, "eu-central-1", name="fleet-experiment", created_date=FIRST_RUN + timedelta(days=2)
        )
        run(2)
        # Carol moves her trial to an allowed Region: the old one goes.
        administrator_client(CAROL_ACCOUNT_ID, "sso-admin", region="ap-southeast-2").delete_instance(
            InstanceArn=CAROL_INSTANCE_ARN
        )
        run(3)
        run(4, coverage=True)
    return summaries


def example_report(generated_at: datetime | None = None) -> str:
    """The report of the last run, with all five on its chart."""
    runs = example_runs()
    last = runs[-1]
    return render_report(last, [RunPoint.of(s) for s in runs], generated_at=generated_at or last.finished_at)


def main(argv: list[str]) -> int:
    from tests.browser.browser import open_report

    image = Path(argv[0]) if argv else ROOT / "docs" / "images" / "report.png"
    page = ROOT / "build" / "example-report.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(example_report(), encoding="utf-8")
    seen = open_report(page, screenshot=image)
    print(f"{page}: {seen.problems or 'no console errors'}; screenshot {image}")
    return 1 if seen.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
