"""A sweep's summary whose every name a creator controls is markup: accounts, OUs, instances, tags,
applications, reasons, tickets. A report of it must show each as text and run nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from guardrail.core.facts import OrganizationFacts
from guardrail.core.policy import Exemption, Policy
from guardrail.sweep.snapshot import Account, Snapshot, Unit
from guardrail.sweep.summary import Summary, summarize
from guardrail.sweep.worker import AccountResult, InstanceRow, Posture

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def payload(where: str) -> str:
    """Markup that would run, load or restyle something if it were not escaped, named after `where`."""
    return (
        f'<script>window.__pwned="{where}"</script><img src=x onerror="window.__pwned=\'{where}\'">'
        f'"><svg onload=alert(1)><a href="javascript:alert(1)">{where}</a>'
        f"<style>body{{display:none}}</style>{{{{7*7}}}}"
    )


MARKUP_NAMES = {
    where: payload(where)
    for where in (
        "account",
        "ou",
        "instance",
        "owner",
        "purpose",
        "expires",
        "application",
        "reason",
        "ticket",
        "unreadable",
        "suspended",
    )
}


def hostile_summary() -> Summary:
    m = MARKUP_NAMES
    arn = "arn:aws:sso:::instance/ssoins-1111aaaa1111aaaa"
    snapshot = Snapshot(
        organization=OrganizationFacts(organization_id="o-abc123", management_account_id="111111111111"),
        root_id="r-ab12",
        units={"ou-ab12-11111111": Unit(name=m["ou"], parent_id="r-ab12")},
        accounts={
            "111111111111": Account("111111111111", "Management", "ACTIVE", "r-ab12"),
            "333333333333": Account("333333333333", m["account"], "ACTIVE", "ou-ab12-11111111"),
            "444444444444": Account("444444444444", m["unreadable"], "ACTIVE", "ou-ab12-11111111"),
            "999000000001": Account("999000000001", m["suspended"], "SUSPENDED", "ou-ab12-11111111"),
        },
        policies={},
        attachments={},
    )
    row = InstanceRow(
        instance_arn=arn,
        account_id="333333333333",
        region="us-east-1",
        name=m["instance"],
        status="ACTIVE",
        verdict="violation",
        severity="high",
        rules=("account-not-approved",),
        action="schedule-deletion",
        applications=(m["application"],),
        purpose=m["purpose"],
        trial_expires=m["expires"],
        owner=m["owner"],
        reason=m["reason"],
        deletion_due=NOW + timedelta(hours=72),
    )
    trial = InstanceRow(
        instance_arn="arn:aws:sso:::instance/ssoins-2222aaaa2222aaaa",
        account_id="333333333333",
        region="eu-west-1",
        name=m["instance"],
        status="ACTIVE",
        verdict="compliant",
        severity="info",
        purpose="trial",
        trial_expires=(NOW + timedelta(days=3)).date().isoformat(),
        owner=m["owner"],
    )
    results = [
        AccountResult(
            account_id="333333333333",
            name=m["account"],
            readable=True,
            instances=(row, trial),
            posture=Posture(approved=False, protected=False),
        ),
        AccountResult(account_id="444444444444", name=m["unreadable"], readable=False, reason=m["reason"]),
    ]
    policy = Policy(
        exemptions=(
            Exemption(
                instance_arn=arn, expires=(NOW + timedelta(days=5)).date(), ticket=m["ticket"], reason="r"
            ),
        )
    )
    return summarize(
        "run-hostile",
        {"listed": 4, "ACTIVE": 3, "SUSPENDED": 1},
        results,
        policy,
        started_at=NOW,
        finished_at=NOW + timedelta(minutes=2),
        ending_within_days=14,
        snapshot=snapshot,
    )
