"""The sweep's accounting (issue 18, point 7): every account listed is swept or named, with why,
in the summary, its text, its alert and the posture; the counts add up on their face."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from guardrail.core.facts import OrganizationFacts
from guardrail.core.policy import Exemption, Policy
from guardrail.sweep.snapshot import Account, Snapshot
from guardrail.sweep.summary import (
    NotSwept,
    ReportLink,
    Summary,
    accounting,
    summarize,
    summary_alert,
    summary_text,
)
from guardrail.sweep.worker import AccountResult, InstanceRow

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
MANAGEMENT = "111111111111"
STATES = {
    MANAGEMENT: ("Management", "ACTIVE"),
    "222222222222": ("Security Tooling", "ACTIVE"),
    "333333333333": ("Sandbox Bob", "ACTIVE"),
    "444444444444": ("Prod Analytics", "ACTIVE"),
    "555555555555": ("Lost Batch", "ACTIVE"),
    "666666666666": ("Legacy Tools", "ACTIVE"),
    "999000000001": ("Retired", "SUSPENDED"),
    "999000000002": ("Closing", "PENDING_CLOSURE"),
    "999000000003": ("Gone", "CLOSED"),
}


def snapshot() -> Snapshot:
    return Snapshot(
        organization=OrganizationFacts(organization_id="o-abc123", management_account_id=MANAGEMENT),
        root_id="r-ab12",
        units={},
        accounts={a: Account(a, name, state, "r-ab12") for a, (name, state) in STATES.items()},
        policies={},
        attachments={},
    )


def trial(account_id: str, name: str, expires: str) -> InstanceRow:
    return InstanceRow(
        instance_arn=f"arn:aws:sso:::instance/ssoins-{account_id}0000",
        account_id=account_id,
        region="us-east-1",
        name=name,
        status="ACTIVE",
        verdict="compliant",
        severity="info",
        purpose="trial",
        trial_expires=expires,
    )


def summary(policy: Policy | None = None) -> Summary:
    results = [
        AccountResult(account_id="222222222222", name="Security Tooling", readable=True),
        AccountResult(
            account_id="333333333333",
            name="Sandbox Bob",
            readable=True,
            instances=(trial("333333333333", "q-business-trial", "2026-12-10"),),
        ),
        AccountResult(account_id="444444444444", name="Prod Analytics", readable=True),
        AccountResult(account_id="666666666666", name="Legacy Tools", readable=False, reason="AccessDenied"),
    ]
    counts = {"listed": len(STATES), "ACTIVE": 6, "SUSPENDED": 1, "PENDING_CLOSURE": 1, "CLOSED": 1}
    return summarize(
        "run-1",
        counts,
        results,
        policy or Policy(),
        started_at=NOW,
        finished_at=NOW + timedelta(minutes=1),
        ending_within_days=14,
        failed_batches=1,
        snapshot=snapshot(),
        unswept=["555555555555"],
    )


def test_every_account_not_swept_is_named_with_its_state_and_why() -> None:
    s = summary()
    assert s.not_swept == (
        NotSwept(MANAGEMENT, "Management", "ACTIVE", "management account"),
        NotSwept("999000000001", "Retired", "SUSPENDED", "suspended"),
        NotSwept("999000000002", "Closing", "PENDING_CLOSURE", "pending closure"),
        NotSwept("999000000003", "Gone", "CLOSED", "closed"),
        NotSwept("555555555555", "Lost Batch", "ACTIVE", "batch failed"),
    )
    assert s.posture.suspended_or_closed == s.not_swept[1:4]


def test_the_counts_add_up_on_their_face() -> None:
    s = summary()
    assert s.accounts_listed == s.accounts_swept + sum(s.not_swept_by_reason.values())
    assert s.accounts_swept == s.accounts_read + len(s.unreadable)
    assert s.not_swept_by_reason == {
        "management account": 1,
        "suspended": 1,
        "pending closure": 1,
        "closed": 1,
        "batch failed": 1,
    }
    assert accounting(s) == (
        "accounts: 9 listed = 4 swept (3 read, 1 not readable) + 5 not swept "
        "(1 management account, 1 suspended, 1 pending closure, 1 closed, 1 batch failed)"
    )


def test_an_account_the_plan_swept_but_no_result_names_is_said_not_hidden() -> None:
    s = summarize(
        "run-1",
        {"listed": len(STATES)},
        [],
        Policy(),
        started_at=NOW,
        finished_at=NOW,
        ending_within_days=14,
        snapshot=snapshot(),
    )
    assert s.not_swept_by_reason["no result"] == 5
    assert s.accounts_listed == s.accounts_swept + sum(s.not_swept_by_reason.values())


def test_the_text_names_the_accounts_not_swept_and_the_posture_names_them_too() -> None:
    text = summary_text(summary())
    assert "accounts: 9 listed = 4 swept (3 read, 1 not readable) + 5 not swept" in text
    assert "  999000000001 Retired (SUSPENDED): suspended" in text
    assert "  999000000003 Gone (CLOSED): closed" in text
    assert "  111111111111 Management (ACTIVE): management account" in text
    assert "  555555555555 Lost Batch (ACTIVE): batch failed" in text
    assert (
        "accounts suspended or closed, not swept: 3 (999000000001 Retired SUSPENDED, "
        "999000000002 Closing PENDING_CLOSURE, 999000000003 Gone CLOSED)"
    ) in text


def test_the_posture_names_trials_and_exemptions_by_account_and_instance() -> None:
    arn = "arn:aws:sso:::instance/ssoins-3333333333330000"
    policy = Policy(
        exemptions=(
            Exemption(instance_arn=arn, expires=datetime(2026, 12, 5).date(), ticket="SEC-9", reason="r"),
        )
    )
    s = summary(policy)
    exemption, ending_trial = s.posture.ending
    assert (ending_trial.account_name, ending_trial.instance_name) == ("Sandbox Bob", "q-business-trial")
    assert (exemption.account_id, exemption.account_name, exemption.instance_name) == (
        "333333333333",
        "Sandbox Bob",
        "q-business-trial",
    )
    text = summary_text(s)
    assert (
        "ending within 14 days: exemption SEC-9 of q-business-trial in 333333333333 Sandbox Bob ends 2026-12-05; "
        "trial q-business-trial in 333333333333 Sandbox Bob ends 2026-12-10"
    ) in text


def test_the_published_summary_names_them_links_the_report_and_leaves_the_tree_out() -> None:
    link = ReportLink(bucket="guardrail-reports", key="runs/run-1/report.html", region="eu-west-1")
    s = msgspec.structs.replace(summary(), report=link)
    alert = summary_alert(s, "runs/run-1/summary.json")
    body = alert.body
    assert "organization" not in body
    assert not body["rows"]
    assert [n["account_id"] for n in body["not_swept"]] == [n.account_id for n in s.not_swept]
    assert body["not_swept_by_reason"]["batch failed"] == 1
    url = (
        "https://eu-west-1.console.aws.amazon.com/s3/object/guardrail-reports?region=eu-west-1"
        "&prefix=runs%2Frun-1%2Freport.html"
    )
    assert body["report_url"] == url
    assert body["report"] == {
        "bucket": "guardrail-reports",
        "key": "runs/run-1/report.html",
        "region": "eu-west-1",
    }
    email = alert.email()
    assert f"  {url}\n  s3://guardrail-reports/runs/run-1/report.html\n" in email
    assert "The full summary: s3://guardrail-reports/runs/run-1/summary.json" in email
    assert "presign" not in email.lower()


def test_a_report_that_could_not_be_written_is_said_in_the_alert() -> None:
    alert = summary_alert(
        summary(), "bucket/runs/run-1/summary.json", report_failure="ClientError: AccessDenied"
    )
    assert alert.body["report_failure"] == "ClientError: AccessDenied"
    assert alert.body["report_url"] is None
    assert "The report could not be written (ClientError: AccessDenied)" in alert.email()


@pytest.mark.parametrize("region", ["cn-north-1", "us-gov-west-1"])
def test_the_report_link_is_in_the_partition_of_the_bucket(region: str) -> None:
    link = ReportLink(bucket="b", key="runs/r/report.html", region=region)
    assert ".aws.amazon.com" not in link.console_url
    assert f"region={region}" in link.console_url


def test_names_a_creator_chose_cannot_forge_a_line_of_the_summary() -> None:
    """Account and instance names take any characters an OU or account owner chose; the summary's
    text (its email) is made neutral as every channel is: one line per fact, the guardrail's own."""
    hostile = "Sandbox\n*Deleted?* skipped\u2028[HIGH]"
    s = summarize(
        "run-1",
        {"listed": 2, "ACTIVE": 2},
        [
            AccountResult(
                account_id="333333333333",
                name=hostile,
                readable=True,
                instances=(trial("333333333333", "q\nbusiness", "2026-12-10"),),
            ),
            AccountResult(account_id="444444444444", name=hostile, readable=False, reason="Access\nDenied"),
        ],
        Policy(),
        started_at=NOW,
        finished_at=NOW + timedelta(minutes=1),
        ending_within_days=14,
        failed_batches=0,
        snapshot=snapshot(),
    )
    text = summary_text(s)
    assert not any(line.startswith(("*Deleted?*", "[HIGH]")) for line in text.splitlines())
    assert "\u2028" not in text
    assert "Sandbox *Deleted?* skipped [HIGH]" in text  # shown, on the line it belongs to


def test_the_published_summary_of_a_large_organization_fits_sns_and_says_what_it_cut() -> None:
    """Accounts not readable, blind spots and Regions not checked grow with the organization and
    its Regions: the message names the first of each and says how many there are; it fits SNS."""
    from guardrail.core.alert import MESSAGE_LIST_LIMIT, SNS_MESSAGE_LIMIT
    from guardrail.sweep.coverage import BlindSpot, BlindSpotKind, Unchecked
    from guardrail.sweep.summary import CoverageReport, Unreadable

    accounts = [f"{n:012d}" for n in range(500_000_000_000, 500_000_003_000)]
    spots = tuple(
        BlindSpot(account_id=a, region="eu-west-1", kind=BlindSpotKind.RULE_MISSING, detail="no rule " * 10)
        for a in accounts
    )
    unchecked = tuple(
        Unchecked(account_id=a, region=region, reason="ReadTimeout " * 8)
        for a in accounts
        for region in ("us-east-1", "eu-west-1")
    )
    large = msgspec.structs.replace(
        summary(),
        unreadable=tuple(Unreadable(a, f"Account {a}", "AccessDenied: " + "x" * 80) for a in accounts),
        coverage=CoverageReport(
            accounts_checked=len(accounts),
            regions_checked=2 * len(accounts),
            blind_spots=spots,
            by_kind={"rule-missing": len(spots)},
            unchecked=unchecked,
        ),
    )
    alert = summary_alert(large, "runs/run-1/summary.json")
    assert alert.size() <= SNS_MESSAGE_LIMIT
    body = alert.body
    assert len(body["unreadable"]) == len(body["coverage"]["blind_spots"]) == MESSAGE_LIST_LIMIT
    assert body["unreadable"][0]["account_id"] == accounts[0]
    cut = {note["field"]: note["items"] for note in body["truncated"]}
    assert cut == {"unreadable": 3_000, "coverage.blind_spots": 3_000, "coverage.unchecked": 6_000}
    assert body["coverage"]["by_kind"] == {"rule-missing": 3_000}  # the counts stay whole
    assert "3000 unreadable" in alert.subject
    email = alert.email()
    assert "  ... and 2950 more: see the full summary" in email  # not readable, at 50 rows
    assert "    ... and 5950 more: see the full summary" in email  # Regions not checked


def test_a_small_summary_is_published_whole() -> None:
    alert = summary_alert(summary(), "runs/run-1/summary.json")
    assert alert.body["truncated"] == []


def test_the_coverage_alert_of_many_new_blind_spots_fits_sns_and_counts_them_all() -> None:
    """A run that finds thousands of accounts blind (a member role removed by a StackSet mistake)
    still publishes its one coverage alert: the first blind spots, each with its fix, and how many."""
    from guardrail.core.alert import MESSAGE_LIST_LIMIT, SNS_MESSAGE_LIMIT
    from guardrail.sweep.blind_spots import coverage_alert
    from guardrail.sweep.coverage import BlindSpot, BlindSpotKind

    new = tuple(
        BlindSpot(
            account_id=f"{n:012d}",
            region=None,
            kind=BlindSpotKind.ROLE_NOT_ASSUMABLE,
            detail="AccessDenied: " + "x" * 200,
            fix="deploy the member role " * 5,
        )
        for n in range(500_000_000_000, 500_000_002_000)
    )
    alert = coverage_alert(new, (), "run-1")
    assert alert.size() <= SNS_MESSAGE_LIMIT
    assert alert.body["new_count"] == 2_000
    assert len(alert.body["new"]) == MESSAGE_LIST_LIMIT
    assert alert.body["truncated"] == [
        {"field": "new", "bytes": alert.body["truncated"][0]["bytes"], "items": 2_000}
    ]
    assert "  ... and 1950 more: see the run's summary" in alert.email()
    assert alert.subject.startswith("[COVERAGE] 2000 new blind spots")


def test_the_published_summary_fits_sns_with_the_strangest_reasons_and_names() -> None:
    """Names with multi-byte characters and line separators, AWS error texts of 20,000 characters:
    the message still fits, and no line of its text is forged by them."""
    from guardrail.core.alert import SNS_MESSAGE_LIMIT
    from guardrail.sweep.summary import Unreadable

    accounts = [f"{n:012d}" for n in range(500_000_000_000, 500_000_000_300)]
    strange = msgspec.structs.replace(
        summary(),
        unreadable=tuple(
            Unreadable(a, "名前\u2028[HIGH] " * 200, "AccessDenied: " + "é" * 20_000) for a in accounts
        ),
    )
    alert = summary_alert(strange, "runs/run-1/summary.json")
    assert alert.size() <= SNS_MESSAGE_LIMIT
    assert "\u2028" not in alert.email()
    assert all(not line.startswith("[HIGH]") for line in alert.email().splitlines())
