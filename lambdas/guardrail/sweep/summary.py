"""A sweep added up: what was read, what was found, what was said, and the posture.

The posture answers what the alerts alone do not: which accounts could create an account
instance tomorrow unseen by any control (not approved, and no SCP denies them CreateInstance),
where the guardrail is blind (the coverage: no member role, no working forwarding rule, events left
undelivered), and which trials and exemptions end soon.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

import msgspec

from guardrail.core.alert import SCHEMA_VERSION, SUBJECT_LIMIT, Alert, fitted
from guardrail.core.dates import parse_day, utc_date
from guardrail.core.policy import Policy, Purpose
from guardrail.sweep.coverage import BlindSpot, Unchecked, where
from guardrail.sweep.worker import AccountResult, InstanceRow

# The email of a sweep's summary lists at most this many instances, violations first.
EMAIL_ROWS = 50


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
    # Accounts with at least one blind spot (see `Summary.coverage`).
    blind_accounts: tuple[str, ...] = ()


class CoverageReport(msgspec.Struct, frozen=True, kw_only=True):
    """Where instance events cannot reach the guardrail, in the accounts this run checked."""

    accounts_checked: int
    # Account-Regions whose forwarding was read in full.
    regions_checked: int
    blind_spots: tuple[BlindSpot, ...]
    by_kind: dict[str, int]
    unchecked: tuple[Unchecked, ...]
    # Against what the last run knew (the deployed sweep); None where nothing is compared.
    new: tuple[BlindSpot, ...] | None = None
    resolved: tuple[BlindSpot, ...] | None = None


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
    # None when the forwarding is not checked (no names configured).
    coverage: CoverageReport | None = None
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
    new_blind_spots: tuple[BlindSpot, ...] | None = None,
    resolved_blind_spots: tuple[BlindSpot, ...] | None = None,
) -> Summary:
    results = list(results)
    coverage = _coverage(results, new_blind_spots, resolved_blind_spots)
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
            blind_accounts=tuple(sorted({s.account_id for s in coverage.blind_spots})) if coverage else (),
        ),
        api_calls=api_calls,
        coverage=coverage,
        rows=rows,
    )


def _coverage(
    results: list[AccountResult], new: tuple[BlindSpot, ...] | None, resolved: tuple[BlindSpot, ...] | None
) -> CoverageReport | None:
    checked = [r.coverage for r in results if r.coverage is not None]
    if not checked:
        return None
    spots = tuple(sorted((s for c in checked for s in c.blind_spots), key=lambda s: s.key))
    return CoverageReport(
        accounts_checked=len(checked),
        regions_checked=sum(len(c.checked) for c in checked),
        blind_spots=spots,
        by_kind=dict(sorted(Counter(s.kind.value for s in spots).items())),
        unchecked=tuple(u for c in checked for u in c.unchecked),
        new=new,
        resolved=resolved,
    )


def summary_alert(summary: Summary, summary_key: str) -> Alert:
    """The summary as one message on the alert topic: counts and posture; the full summary, with a
    row per instance, is in the reports bucket at `summary_key` (it can outgrow SNS's limit)."""
    body = msgspec.to_builtins(msgspec.structs.replace(summary, rows=()))
    body["schema_version"] = SCHEMA_VERSION
    body["kind"] = "sweep-summary"
    body["summary_key"] = summary_key
    body["duration_seconds"] = round(summary.duration_seconds, 1)
    violations = summary.by_verdict.get("violation", 0)
    text = (
        f"[SWEEP] {summary.accounts_read} of {summary.accounts_swept} accounts read: {summary.instances} account "
        f"instances, {violations} in violation"
    )
    unreadable = f", {len(summary.unreadable)} accounts not readable"
    blind = summary.coverage.blind_spots if summary.coverage else ()
    if blind:
        unreadable = f", {len(summary.unreadable)} unreadable" if summary.unreadable else ""
        text += unreadable + f", {len(blind)} blind spots"
    elif summary.unreadable or summary.failed_batches:
        text += unreadable
    attributes: dict[str, str | list[str]] = {
        "trigger": "sweep",
        "verdict": "summary",
        "severity": "medium" if summary.unreadable or summary.failed_batches or blind else "info",
        "rules": sorted(summary.violations_by_rule),
    }
    email = summary_text(summary, limit=EMAIL_ROWS) + f"\nThe full summary: s3://{summary_key}\n"
    return fitted(Alert(text[:SUBJECT_LIMIT], body, attributes, email))


def summary_text(summary: Summary, *, limit: int | None = None) -> str:
    """The summary as a person reads it; with `limit`, at most that many instances (violations first)."""
    lines = [
        f"sweep {summary.run_id}: {summary.accounts_listed} accounts listed, {summary.accounts_swept} swept, "
        f"{summary.accounts_read} read, {len(summary.unreadable)} not readable; {summary.instances} account "
        f"instances in {summary.duration_seconds:.1f} s"
        + (f", {summary.api_calls} AWS calls" if summary.api_calls is not None else ""),
        "",
    ]
    header = ("account", "name", "region", "instance", "status", "verdict", "deletion", "rules")
    rows = [header] + [
        (
            row.account_id,
            _short(row.name or "-", 24),
            row.region,
            row.instance_arn.rsplit("/", 1)[-1],
            row.status or "-",
            row.verdict,
            _deletion(row),
            ", ".join(row.rules) or "-",
        )
        for row in sorted(
            summary.rows, key=lambda r: (r.verdict != "violation", r.account_id, r.instance_arn)
        )[:limit]
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header) - 1)]
    for row in rows:
        lines.append(
            "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  "
            + row[-1]
        )
    if limit is not None and len(summary.rows) > limit:
        lines.append(f"... and {len(summary.rows) - limit} more instances: see the full summary")
    if summary.unreadable:
        lines += ["", "not readable (their instances are unknown, not absent):"]
        lines += [f"  {u.account_id} {u.name or ''}: {u.reason}" for u in summary.unreadable]
    lines += _coverage_text(summary.coverage, limit)
    states = ", ".join(f"{n} {state.lower()}" for state, n in summary.accounts_by_state.items())
    posture = summary.posture
    lines += [
        "",
        f"accounts by state: {states}",
        "verdicts: " + (", ".join(f"{n} {v}" for v, n in summary.by_verdict.items()) or "none"),
        "violations by rule: "
        + (", ".join(f"{r} {n}" for r, n in summary.violations_by_rule.items()) or "none"),
        "",
        "posture:",
        f"  accounts not approved that no SCP denies sso:CreateInstance: {len(posture.unprotected_accounts)}"
        + (f" ({', '.join(posture.unprotected_accounts)})" if posture.unprotected_accounts else ""),
        f"  accounts exempted: {', '.join(posture.exempted_accounts) or 'none'}",
        *(
            [
                f"  accounts where the guardrail is blind: {len(posture.blind_accounts)}"
                + (f" ({', '.join(posture.blind_accounts)})" if posture.blind_accounts else "")
            ]
            if summary.coverage is not None
            else []
        ),
        f"  ending within {posture.ending_within_days} days: "
        + (
            "; ".join(
                f"{e.what} {e.ticket or e.instance_arn or e.account_id} on {e.expires}"
                for e in posture.ending
            )
            or "nothing"
        ),
    ]
    return "\n".join(lines)


def _coverage_text(coverage: CoverageReport | None, limit: int | None) -> list[str]:
    """The coverage section: every blind spot (new ones marked), then what could not be checked."""
    if coverage is None:
        return []
    new = {s.key for s in coverage.new or ()}
    lines = [
        "",
        f"coverage: {coverage.accounts_checked} accounts, {coverage.regions_checked} account-Regions read; "
        f"{len(coverage.blind_spots)} blind spots"
        + (f" ({', '.join(f'{n} {k}' for k, n in coverage.by_kind.items())})" if coverage.by_kind else "")
        + (f", {len(coverage.new)} new" if coverage.new else "")
        + (f", {len(coverage.resolved)} resolved" if coverage.resolved else ""),
    ]
    lines += [
        f"  {'NEW ' if s.key in new else ''}{where(s)}: {s.detail}" for s in coverage.blind_spots[:limit]
    ]
    if limit is not None and len(coverage.blind_spots) > limit:
        lines.append(f"  ... and {len(coverage.blind_spots) - limit} more: see the full summary")
    if coverage.unchecked:
        lines.append(f"  not checked ({len(coverage.unchecked)}; neither healthy nor blind, unknown):")
        lines += [f"    {where(u)}: {u.reason}" for u in coverage.unchecked[:limit]]
    return lines


def _deletion(row: InstanceRow) -> str:
    """When the instance is (or, in dry-run, would be) deleted: `due 2026-12-03 06:00Z`."""
    if row.deletion_due is None:
        return "-"
    when = row.deletion_due.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")
    return f"would be due {when}" if row.action == "would-delete-instance" else f"due {when}"


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
