"""A sweep added up: what was read, what was found, what was said, and the posture.

The posture answers what the alerts alone do not: which accounts could create an account
instance tomorrow unseen by any control (not approved, and no SCP denies them CreateInstance), and
which trials and exemptions end soon.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import msgspec

from guardrail.core.dates import parse_day, utc_date
from guardrail.core.policy import Policy, Purpose
from guardrail.sweep.worker import AccountResult, InstanceRow


class Unreadable(msgspec.Struct, frozen=True):
    account_id: str
    name: str | None
    reason: str


class Ending(msgspec.Struct, frozen=True):
    """A trial or exemption that ends within the posture's window."""

    what: str  # "trial" or "exemption"
    expires: str
    account_id: str | None = None
    instance_arn: str | None = None
    ticket: str | None = None


class PostureReport(msgspec.Struct, frozen=True, kw_only=True):
    unprotected_accounts: tuple[str, ...]
    exempted_accounts: tuple[str, ...]
    ending_within_days: int
    ending: tuple[Ending, ...]


class Summary(msgspec.Struct, frozen=True, kw_only=True):
    run_id: str
    started_at: datetime
    finished_at: datetime
    accounts_listed: int
    accounts_by_state: dict[str, int]
    accounts_swept: int
    accounts_read: int
    unreadable: tuple[Unreadable, ...]
    # Batches the map gave up on: their accounts are neither read nor counted as without instances.
    failed_batches: int = 0
    instances: int
    by_verdict: dict[str, int]
    violations_by_rule: dict[str, int]
    alerts: dict[str, int]
    posture: PostureReport
    api_calls: int | None = None
    rows: tuple[InstanceRow, ...] = ()

    @property
    def duration_seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


def summarize(
    run_id: str,
    counts: Mapping[str, int],
    results: Iterable[AccountResult],
    policy: Policy,
    *,
    started_at: datetime,
    finished_at: datetime,
    ending_within_days: int,
    failed_batches: int = 0,
    api_calls: int | None = None,
) -> Summary:
    results = list(results)
    rows = tuple(row for result in results for row in result.instances)
    today = utc_date(finished_at)
    window = today + timedelta(days=ending_within_days)
    ending: list[Ending] = []
    for row in rows:
        if row.purpose != Purpose.TRIAL or row.trial_expires is None:
            continue
        try:
            expires = parse_day(row.trial_expires)
        except ValueError:
            continue  # trial-expiry reports it
        if today <= expires <= window:
            ending.append(Ending("trial", expires.isoformat(), row.account_id, row.instance_arn))
    for exemption in policy.exemptions:
        if today <= exemption.expires <= window:
            ending.append(
                Ending(
                    "exemption",
                    exemption.expires.isoformat(),
                    exemption.account_id,
                    exemption.instance_arn,
                    exemption.ticket,
                )
            )
    changes = Counter(row.change for row in rows if row.change)
    changes["resolved"] += sum(len(result.resolved) for result in results)
    return Summary(
        run_id=run_id,
        started_at=started_at,
        finished_at=finished_at,
        accounts_listed=counts.get("listed", 0),
        accounts_by_state={state: n for state, n in sorted(counts.items()) if state != "listed"},
        accounts_swept=len(results),
        accounts_read=sum(result.readable for result in results),
        unreadable=tuple(
            Unreadable(result.account_id, result.name, result.reason or "unknown")
            for result in results
            if not result.readable
        ),
        failed_batches=failed_batches,
        instances=len(rows),
        by_verdict=dict(sorted(Counter(row.verdict for row in rows).items())),
        violations_by_rule=dict(sorted(Counter(rule for row in rows for rule in row.rules).items())),
        alerts={kind: changes.get(kind, 0) for kind in ("new", "changed", "reminder", "resolved")},
        posture=PostureReport(
            unprotected_accounts=tuple(
                r.account_id
                for r in results
                if r.posture.approved is False and r.posture.protected is False and not r.posture.exempted
            ),
            exempted_accounts=tuple(r.account_id for r in results if r.posture.exempted),
            ending_within_days=ending_within_days,
            ending=tuple(sorted(ending, key=lambda e: (e.expires, e.what, e.account_id or ""))),
        ),
        api_calls=api_calls,
        rows=rows,
    )
