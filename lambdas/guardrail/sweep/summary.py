"""A sweep added up: what was read, what was found, what was said, and the posture.

The posture answers what the alerts alone do not: which accounts could create an account
instance tomorrow unseen by any control (not approved, and no SCP denies them CreateInstance),
where the guardrail is blind (the coverage: no member role, no working forwarding rule, events left
undelivered), and which trials and exemptions end soon.

The accounts add up on their face: every account listed was swept or is named among those not
swept, with the reason (the management account, a state other than ACTIVE, a batch that failed),
so that an account missing from the sweep is never only a difference between two counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

import msgspec

from guardrail.core.alert import MESSAGE_LIST_LIMIT, SCHEMA_VERSION, SUBJECT_LIMIT, Alert, bounded, fitted
from guardrail.core.dates import parse_day, utc_date
from guardrail.core.policy import Policy, Purpose
from guardrail.core.render.links import s3_object_console
from guardrail.core.render.neutral import EMAIL_TEXT, neutral, plain
from guardrail.sweep.coverage import BlindSpot, Unchecked, where
from guardrail.sweep.snapshot import Account, Snapshot, Unit
from guardrail.sweep.worker import AccountResult, InstanceRow

# The email of a sweep's summary lists at most this many instances, violations first.
EMAIL_ROWS = 50


class Unreadable(msgspec.Struct, frozen=True):
    account_id: str
    name: str | None
    reason: str


# Why an account listed was not swept, in the order the summary gives them. A state other than
# ACTIVE is its own reason (`suspended`, `pending closure`, `closed`).
MANAGEMENT_ACCOUNT = "management account"
BATCH_FAILED = "batch failed"
# An ACTIVE account the plan swept but no result names: never expected, said rather than hidden.
NO_RESULT = "no result"
# A summary made without the organization (tests) cannot say why.
UNKNOWN = "unknown"


class NotSwept(msgspec.Struct, frozen=True):
    """An account listed but not swept: its instances are not known to this run."""

    account_id: str
    name: str | None
    state: str
    reason: str


class Ending(msgspec.Struct, frozen=True):
    """A trial or exemption that ends within the posture's window."""

    what: str  # "trial" or "exemption"
    expires: str
    account_id: str | None = None
    instance_arn: str | None = None
    ticket: str | None = None
    # The names a person knows them by, when known.
    account_name: str | None = None
    instance_name: str | None = None


class PostureReport(msgspec.Struct, frozen=True, kw_only=True):
    unprotected_accounts: tuple[str, ...]
    exempted_accounts: tuple[str, ...]
    ending_within_days: int
    ending: tuple[Ending, ...]
    # Accounts with at least one blind spot (see `Summary.coverage`).
    blind_accounts: tuple[str, ...] = ()
    # Suspended and closed accounts: not swept, so an instance left in one is not seen.
    suspended_or_closed: tuple[NotSwept, ...] = ()


class OrganizationTree(msgspec.Struct, frozen=True, kw_only=True):
    """The organization's shape as the run's plan read it (OUs and accounts, no policies): what the
    report draws as a tree."""

    organization_id: str
    management_account_id: str
    root_id: str
    units: dict[str, Unit]
    accounts: dict[str, Account]

    @classmethod
    def of(cls, snapshot: Snapshot) -> OrganizationTree:
        return cls(
            organization_id=snapshot.organization.organization_id,
            management_account_id=snapshot.organization.management_account_id,
            root_id=snapshot.root_id,
            units=snapshot.units,
            accounts=snapshot.accounts,
        )


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
    # accounts_listed = accounts_swept + the sum of these, each account named in `not_swept`.
    not_swept_by_reason: dict[str, int] = msgspec.field(default_factory=dict)
    not_swept: tuple[NotSwept, ...] = ()
    # Where the report is, once the deployed summary step has written it.
    report: ReportLink | None = None
    organization: OrganizationTree | None = None
    rows: tuple[InstanceRow, ...] = ()

    @property
    def duration_seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def account_name(self, account_id: str) -> str | None:
        """The account's name, as the organization lists it; None when not known."""
        if self.organization is not None and (account := self.organization.accounts.get(account_id)):
            return account.name
        return None


class ReportLink(msgspec.Struct, frozen=True, kw_only=True):
    """Where a run's HTML report is: an object of the reports bucket, and the S3 console page that
    opens it for whoever may read the bucket (never a presigned URL, which would expire unsaid)."""

    bucket: str
    key: str
    region: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def console_url(self) -> str:
        return s3_object_console(self.region, self.bucket, self.key)


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
    snapshot: Snapshot | None = None,
    unswept: Iterable[str] = (),
) -> Summary:
    """`counts` are the plan's (`listed` and accounts by state); `snapshot` the organization it
    read, which names the accounts not swept; `unswept` the accounts of batches that failed."""
    results = list(results)
    not_swept = _not_swept(snapshot, results, set(unswept))
    coverage = _coverage(results, new_blind_spots, resolved_blind_spots)
    rows = tuple(row for result in results for row in result.instances)
    names = {a.account_id: a.name for a in snapshot.accounts.values() if a.name} if snapshot else {}
    names.update({r.account_id: r.name for r in results if r.name})
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
            ending.append(
                Ending(
                    "trial",
                    expires.isoformat(),
                    row.account_id,
                    row.instance_arn,
                    account_name=names.get(row.account_id),
                    instance_name=row.name,
                )
            )
    instances = {row.instance_arn: row for row in rows}
    for exemption in policy.exemptions:
        if today <= exemption.expires <= window:
            exempted = instances.get(exemption.instance_arn or "")
            account_id = exemption.account_id or (exempted.account_id if exempted else None)
            ending.append(
                Ending(
                    "exemption",
                    exemption.expires.isoformat(),
                    account_id,
                    exemption.instance_arn,
                    exemption.ticket,
                    account_name=names.get(account_id or ""),
                    instance_name=exempted.name if exempted else None,
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
            suspended_or_closed=tuple(n for n in not_swept if n.state != "ACTIVE"),
        ),
        api_calls=api_calls,
        coverage=coverage,
        not_swept_by_reason=_by_reason(not_swept, counts.get("listed", 0) - len(results), snapshot),
        not_swept=not_swept,
        organization=OrganizationTree.of(snapshot) if snapshot is not None else None,
        rows=rows,
    )


def _state_reason(state: str) -> str:
    """`suspended` for SUSPENDED, `pending closure` for PENDING_CLOSURE."""
    return state.lower().replace("_", " ")


def _reason_order(reason: str) -> tuple[int, str]:
    fixed = [MANAGEMENT_ACCOUNT, "suspended", "pending closure", "closed", BATCH_FAILED, NO_RESULT]
    return (fixed.index(reason), "") if reason in fixed else (len(fixed), reason)


def _not_swept(
    snapshot: Snapshot | None, results: list[AccountResult], unswept: set[str]
) -> tuple[NotSwept, ...]:
    """Every account of the organization that no result covers, with why."""
    if snapshot is None:
        return ()
    swept = {result.account_id for result in results}
    management = snapshot.organization.management_account_id
    found = []
    for account in snapshot.accounts.values():
        if account.account_id in swept:
            continue
        if account.account_id == management:
            reason = MANAGEMENT_ACCOUNT
        elif account.state != "ACTIVE":
            reason = _state_reason(account.state)
        elif account.account_id in unswept:
            reason = BATCH_FAILED
        else:
            reason = NO_RESULT
        found.append(NotSwept(account.account_id, account.name, account.state, reason))
    return tuple(sorted(found, key=lambda n: (_reason_order(n.reason), n.account_id)))


def _by_reason(not_swept: tuple[NotSwept, ...], missing: int, snapshot: Snapshot | None) -> dict[str, int]:
    if snapshot is None:
        return {UNKNOWN: missing} if missing > 0 else {}
    counted = Counter(n.reason for n in not_swept)
    return {reason: counted[reason] for reason in sorted(counted, key=_reason_order)}


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


def summary_alert(summary: Summary, summary_key: str, *, report_failure: str | None = None) -> Alert:
    """The summary as one message on the alert topic: counts and posture; the full summary, with a
    row per instance and the organization's tree, is in the reports bucket at `summary_key` (it can
    outgrow SNS's limit), beside the report (`summary.report`), which the message links to; or,
    when it could not be written, says so (`report_failure`). Its lists name their first entries
    (`bounded`), `truncated` says which were cut and from how many."""
    body = msgspec.to_builtins(msgspec.structs.replace(summary, rows=(), organization=None))
    del body["organization"]
    body = bounded(body, MESSAGE_LIST_LIMIT)
    body["schema_version"] = SCHEMA_VERSION
    body["alert_id"] = f"summary:{summary.run_id}"
    body["kind"] = "sweep-summary"
    body["summary_key"] = summary_key
    body["report_url"] = summary.report.console_url if summary.report else None
    body["report_failure"] = report_failure
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
    email = summary_text(summary, limit=EMAIL_ROWS) + "\n"
    if summary.report is not None:
        email += (
            f"The report (open it in the S3 console, signed in to the central account):\n"
            f"  {summary.report.console_url}\n  {summary.report.uri}\n"
            f"The full summary: s3://{summary.report.bucket}/{summary_key}\n"
        )
    else:
        if report_failure is not None:
            email += f"The report could not be written ({report_failure}): see the summary function's log.\n"
        email += f"The full summary: s3://{summary_key}\n"
    return fitted(Alert(text[:SUBJECT_LIMIT], body, attributes, email))


def summary_text(summary: Summary, *, limit: int | None = None) -> str:
    """The summary as a person reads it; with `limit`, at most that many instances (violations first)
    and entries of each list of accounts, the rest counted (the full summary names them all).

    Every string in it is made neutral first, as every channel's renderer does (names of accounts,
    OUs and instances are chosen by whoever creates them): no text a creator controls breaks a line.
    """
    summary = msgspec.convert(neutral(msgspec.to_builtins(summary), plain(EMAIL_TEXT)), Summary)

    def named(account_ids: Iterable[str]) -> str:
        return _first([" ".join(filter(None, (a, summary.account_name(a)))) for a in account_ids], limit)

    lines = [
        f"sweep {summary.run_id}: {summary.accounts_listed} accounts listed, {summary.accounts_swept} swept, "
        f"{summary.accounts_read} read, {len(summary.unreadable)} not readable; {summary.instances} account "
        f"instances in {summary.duration_seconds:.1f} s"
        + (f", {summary.api_calls} AWS calls" if summary.api_calls is not None else ""),
        accounting(summary),
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
        lines += _listed([f"  {u.account_id} {u.name or ''}: {u.reason}" for u in summary.unreadable], limit)
    if summary.not_swept:
        lines += ["", "not swept:"]
        lines += _listed(
            [f"  {n.account_id} {n.name or '-'} ({n.state}): {n.reason}" for n in summary.not_swept], limit
        )
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
        + (f" ({named(posture.unprotected_accounts)})" if posture.unprotected_accounts else ""),
        f"  accounts exempted: {named(posture.exempted_accounts) or 'none'}",
        *(
            [
                f"  accounts where the guardrail is blind: {len(posture.blind_accounts)}"
                + (f" ({named(posture.blind_accounts)})" if posture.blind_accounts else "")
            ]
            if summary.coverage is not None
            else []
        ),
        f"  accounts suspended or closed, not swept: {len(posture.suspended_or_closed)}"
        + (
            f" ({_first([f'{n.account_id} {n.name or "-"} {n.state}' for n in posture.suspended_or_closed], limit)})"
            if posture.suspended_or_closed
            else ""
        ),
        f"  ending within {posture.ending_within_days} days: "
        + ("; ".join(ending_text(e) for e in posture.ending) or "nothing"),
    ]
    return "\n".join(lines)


def accounting(summary: Summary) -> str:
    """How the accounts add up: `29 listed = 27 swept (26 read, 1 not readable) + 2 not swept (...)`."""
    by_reason = ", ".join(f"{n} {reason}" for reason, n in summary.not_swept_by_reason.items())
    not_swept = sum(summary.not_swept_by_reason.values())
    return (
        f"accounts: {summary.accounts_listed} listed = {summary.accounts_swept} swept "
        f"({summary.accounts_read} read, {len(summary.unreadable)} not readable) + {not_swept} not swept"
        + (f" ({by_reason})" if by_reason else "")
    )


def ending_text(ending: Ending) -> str:
    """`trial redshift-trial in 777777777777 Sandbox Carol ends 2026-12-11`."""
    what = ending.instance_name or (ending.instance_arn.rsplit("/", 1)[-1] if ending.instance_arn else None)
    where = " ".join(part for part in (ending.account_id, ending.account_name) if part)
    text = ending.what
    if ending.ticket:
        text += f" {ending.ticket}"
    if what:
        text += f" of {what}" if ending.ticket else f" {what}"
    if where:
        text += f" in {where}"
    return f"{text} ends {ending.expires}"


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
    lines += _listed(
        [f"  {'NEW ' if s.key in new else ''}{where(s)}: {s.detail}" for s in coverage.blind_spots], limit
    )
    if coverage.unchecked:
        lines.append(f"  not checked ({len(coverage.unchecked)}; neither healthy nor blind, unknown):")
        lines += _listed([f"    {where(u)}: {u.reason}" for u in coverage.unchecked], limit)
    return lines


def _listed(lines: list[str], limit: int | None) -> list[str]:
    """At most `limit` of `lines`, and a line (indented as they are) saying how many more."""
    if limit is None or len(lines) <= limit:
        return lines
    indent = lines[limit][: len(lines[limit]) - len(lines[limit].lstrip())]
    return [*lines[:limit], f"{indent}... and {len(lines) - limit} more: see the full summary"]


def _first(names: list[str], limit: int | None) -> str:
    """`names` joined, at most `limit` of them and how many more."""
    if limit is None or len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def _deletion(row: InstanceRow) -> str:
    """When the instance is (or, in dry-run, would be) deleted: `due 2026-12-03 06:00Z`."""
    if row.deletion_due is None:
        return "-"
    when = row.deletion_due.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")
    return f"would be due {when}" if row.action == "would-delete-instance" else f"due {when}"


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
