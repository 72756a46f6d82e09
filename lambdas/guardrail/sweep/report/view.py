"""What the report shows, worked out from a sweep's summary, ready for the template to lay out.

Everything is decided here (the tree, the tone of each verdict, the chart's coordinates), so that
the template only places values: it holds no logic worth testing, and every value a creator
controls reaches it as plain text for the template engine to escape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from guardrail.sweep.coverage import BlindSpot
from guardrail.sweep.report.history import RunPoint
from guardrail.sweep.summary import Ending, NotSwept, Summary, accounting
from guardrail.sweep.worker import InstanceRow

# The look of a verdict: a violation by its severity, the others by what they mean.
_TONES = {
    "violation": "",
    "compliant": "ok",
    "incomplete": "unknown",
    "not-judged": "unknown",
    "info": "info",
}
_TONE_ORDER = ("critical", "high", "medium", "low", "unknown", "info", "ok", "")


def tone(verdict: str, severity: str) -> str:
    """The CSS class of a verdict: `critical`, `high`, `medium`, `low`, `unknown`, `info` or `ok`."""
    if verdict == "violation":
        return severity if severity in ("critical", "high", "medium", "low") else "info"
    return _TONES.get(verdict, "unknown")


def _worst(tones: Sequence[str]) -> str:
    return min(tones, key=_TONE_ORDER.index) if tones else ""


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


@dataclass(frozen=True)
class InstanceView:
    arn: str
    short_id: str
    name: str | None
    region: str
    status: str | None
    verdict: str
    severity: str
    tone: str
    owner: str | None
    reason: str | None
    rules: tuple[str, ...]
    applications: tuple[str, ...]
    purpose: str | None
    trial_expires: str | None
    deletion: str | None
    change: str | None

    @classmethod
    def of(cls, row: InstanceRow) -> InstanceView:
        return cls(
            arn=row.instance_arn,
            short_id=row.instance_arn.rsplit("/", 1)[-1],
            name=row.name,
            region=row.region,
            status=row.status,
            verdict=row.verdict,
            severity=row.severity,
            tone=tone(row.verdict, row.severity),
            owner=row.owner,
            reason=row.reason,
            rules=row.rules,
            applications=row.applications,
            purpose=row.purpose,
            trial_expires=row.trial_expires,
            deletion=deletion_text(row),
            change=row.change,
        )


def deletion_text(row: InstanceRow) -> str | None:
    """`due 2026-12-03 06:00Z`, or `would be due …` where the policy only states the plan."""
    if row.deletion_due is None:
        return None
    when = _when(row.deletion_due)
    return f"would be due {when}" if row.action == "would-delete-instance" else f"due {when}"


@dataclass(frozen=True)
class AccountView:
    account_id: str
    name: str | None
    state: str
    # `read`, `not readable`, `not swept` or `unknown` (not in this run's results).
    status: str
    note: str | None
    instances: tuple[InstanceView, ...]
    flags: tuple[str, ...]

    @property
    def tone(self) -> str:
        tones = [i.tone for i in self.instances]
        if self.status == "not readable" or "blind" in self.flags:
            tones.append("unknown")
        return _worst(tones)

    @property
    def quiet(self) -> bool:
        """Read, without instances and with nothing to say: listed compactly."""
        return self.status == "read" and not self.instances and not self.flags


@dataclass(frozen=True)
class UnitView:
    unit_id: str
    name: str
    units: tuple[UnitView, ...]
    accounts: tuple[AccountView, ...]

    @property
    def loud_accounts(self) -> tuple[AccountView, ...]:
        return tuple(a for a in self.accounts if not a.quiet)

    @property
    def quiet_accounts(self) -> tuple[AccountView, ...]:
        return tuple(a for a in self.accounts if a.quiet)

    def every_account(self) -> list[AccountView]:
        return [*self.accounts, *(a for unit in self.units for a in unit.every_account())]

    @property
    def instances(self) -> int:
        return sum(len(a.instances) for a in self.every_account())

    @property
    def violations(self) -> int:
        return sum(i.verdict == "violation" for a in self.every_account() for i in a.instances)

    @property
    def tone(self) -> str:
        return _worst([a.tone for a in self.every_account()])


@dataclass(frozen=True)
class NamedAccount:
    account_id: str
    name: str | None


@dataclass(frozen=True)
class BlindSpotView:
    account_id: str
    name: str | None
    region: str | None
    kind: str
    detail: str
    fix: str


@dataclass(frozen=True)
class DeletionView:
    account_id: str
    account_name: str | None
    instance: InstanceView


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: int
    label: str


@dataclass(frozen=True)
class Series:
    name: str
    css: str
    points: tuple[Point, ...]

    @property
    def path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    series: tuple[Series, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    runs: tuple[RunPoint, ...]


@dataclass(frozen=True)
class ReportView:
    title: str
    generated_at: str
    run_id: str
    finished_at: str
    duration: str
    organization_id: str | None
    accounting: str
    instances: int
    by_verdict: tuple[tuple[str, int, str], ...]
    tree: UnitView
    tree_known: bool
    not_swept: tuple[NotSwept, ...]
    unreadable: tuple[NamedAccount, ...]
    unprotected: tuple[NamedAccount, ...]
    exempted: tuple[NamedAccount, ...]
    blind_spots: tuple[BlindSpotView, ...] | None
    unchecked: int
    suspended_or_closed: tuple[NotSwept, ...]
    ending_within_days: int
    ending: tuple[Ending, ...]
    deletions: tuple[DeletionView, ...]
    chart: Chart
    failed_batches: int
    alerts: dict[str, int] = field(default_factory=dict)


# -- the tree ---------------------------------------------------------------------------------------


def _accounts(summary: Summary) -> dict[str, AccountView]:
    """Every account the summary knows of, with what the run found in it."""
    rows: dict[str, list[InstanceRow]] = {}
    for row in summary.rows:
        rows.setdefault(row.account_id, []).append(row)
    unreadable = {u.account_id: u for u in summary.unreadable}
    not_swept = {n.account_id: n for n in summary.not_swept}
    posture = summary.posture
    flags: dict[str, list[str]] = {}
    for label, ids in (
        ("not protected", posture.unprotected_accounts),
        ("exempted", posture.exempted_accounts),
        ("blind", posture.blind_accounts),
    ):
        for account_id in ids:
            flags.setdefault(account_id, []).append(label)
    listed = dict(summary.organization.accounts) if summary.organization else {}
    known = [*listed, *rows, *unreadable, *not_swept, *flags]
    views: dict[str, AccountView] = {}
    for account_id in dict.fromkeys(known):
        entry = listed.get(account_id)
        name = entry.name if entry else None
        state = entry.state if entry else "ACTIVE"
        if account_id in unreadable:
            status, note = "not readable", unreadable[account_id].reason
            name = name or unreadable[account_id].name
        elif account_id in not_swept:
            status, note = "not swept", not_swept[account_id].reason
            name, state = name or not_swept[account_id].name, not_swept[account_id].state
        else:
            # Swept and not unreadable: read (every account listed is swept or named as not swept).
            status, note = "read", None
        instances = sorted(
            rows.get(account_id, []), key=lambda r: (_TONE_ORDER.index(tone(r.verdict, r.severity)), r.region)
        )
        views[account_id] = AccountView(
            account_id=account_id,
            name=name,
            state=state,
            status=status,
            note=note,
            instances=tuple(InstanceView.of(r) for r in instances),
            flags=tuple(flags.get(account_id, ())),
        )
    return views


def _tree(summary: Summary, accounts: dict[str, AccountView]) -> UnitView:
    """The OU tree from the root down, accounts under their OU; flat under a root without the tree."""
    organization = summary.organization
    if organization is None:
        return UnitView("", "Root", (), tuple(sorted(accounts.values(), key=_account_order)))
    children: dict[str, list[str]] = {}
    for unit_id, unit in organization.units.items():
        children.setdefault(unit.parent_id, []).append(unit_id)
    placed: dict[str, list[AccountView]] = {}
    for account_id, view in accounts.items():
        entry = organization.accounts.get(account_id)
        parent = entry.parent_id if entry and entry.parent_id else organization.root_id
        placed.setdefault(parent, []).append(view)

    def build(unit_id: str, name: str, seen: frozenset[str]) -> UnitView:
        below = [u for u in children.get(unit_id, []) if u not in seen]  # a cycle is never followed
        units = sorted(
            (build(u, organization.units[u].name, seen | {u}) for u in below), key=lambda v: v.name.casefold()
        )
        return UnitView(
            unit_id, name, tuple(units), tuple(sorted(placed.get(unit_id, []), key=_account_order))
        )

    return build(organization.root_id, "Root", frozenset({organization.root_id}))


def _account_order(view: AccountView) -> tuple[str, str]:
    return ((view.name or "").casefold(), view.account_id)


# -- the chart --------------------------------------------------------------------------------------

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40


def _ceiling(value: int) -> int:
    """A round top for the y axis, in four whole steps: 4, 8, 12, 20, 40, 80, 120, 200, … at or above
    `value`."""
    scale = 1
    while True:
        for top in (4 * scale, 8 * scale, 12 * scale, 20 * scale):
            if top >= value:
                return top
        scale *= 10


def chart(runs: Sequence[RunPoint]) -> Chart:
    """Instances and violations per run, oldest on the left; one point where there is one run."""
    runs = tuple(runs)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _ceiling(max([r.instances for r in runs] + [r.violations for r in runs] + [1]))

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if len(runs) == 1 else plot_w * i / (len(runs) - 1))

    def y(value: int) -> float:
        return TOP + plot_h * (1 - value / top)

    def series(name: str, css: str, values: list[int]) -> Series:
        return Series(
            name,
            css,
            tuple(
                Point(x(i), y(v), v, f"{_when(run.finished_at)}: {v} {name}")
                for i, (run, v) in enumerate(zip(runs, values, strict=True))
            ),
        )

    step = max(1, len(runs) // 8)  # at most about eight dates under the axis
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        bottom=HEIGHT - BOTTOM,
        series=(
            series("instances", "instances", [r.instances for r in runs]),
            series("violations", "violations", [r.violations for r in runs]),
        ),
        y_ticks=tuple(Tick(y(top * k // 4), str(top * k // 4)) for k in range(5)),
        x_ticks=tuple(
            Tick(x(i), run.finished_at.astimezone(UTC).strftime("%m-%d"))
            for i, run in enumerate(runs)
            if i % step == 0 or i == len(runs) - 1
        ),
        runs=runs,
    )


# -- the whole ----------------------------------------------------------------------------------------


def report_view(summary: Summary, history: Sequence[RunPoint], *, generated_at: datetime) -> ReportView:
    """The report of `summary`; `history` holds the runs for the chart (this one included)."""
    accounts = _accounts(summary)

    def named(account_id: str) -> NamedAccount:
        view = accounts.get(account_id)
        return NamedAccount(account_id, view.name if view else summary.account_name(account_id))

    def blind(spot: BlindSpot) -> BlindSpotView:
        return BlindSpotView(
            spot.account_id, named(spot.account_id).name, spot.region, spot.kind.value, spot.detail, spot.fix
        )

    deletions = sorted(
        (
            DeletionView(row.account_id, named(row.account_id).name, InstanceView.of(row))
            for row in summary.rows
            if row.deletion_due is not None
        ),
        key=lambda d: (d.instance.deletion or "", d.account_id),
    )
    coverage = summary.coverage
    posture = summary.posture
    return ReportView(
        title=f"Account instances: sweep {summary.run_id}",
        generated_at=_when(generated_at),
        run_id=summary.run_id,
        finished_at=_when(summary.finished_at),
        duration=f"{summary.duration_seconds:.1f} s",
        organization_id=summary.organization.organization_id if summary.organization else None,
        accounting=accounting(summary),
        instances=summary.instances,
        by_verdict=tuple(
            (verdict, n, tone(verdict, "high" if verdict == "violation" else "info"))
            for verdict, n in summary.by_verdict.items()
        ),
        tree=_tree(summary, accounts),
        tree_known=summary.organization is not None,
        not_swept=summary.not_swept,
        unreadable=tuple(NamedAccount(u.account_id, u.name) for u in summary.unreadable),
        unprotected=tuple(named(a) for a in posture.unprotected_accounts),
        exempted=tuple(named(a) for a in posture.exempted_accounts),
        blind_spots=tuple(blind(s) for s in coverage.blind_spots) if coverage is not None else None,
        unchecked=len(coverage.unchecked) if coverage is not None else 0,
        suspended_or_closed=posture.suspended_or_closed,
        ending_within_days=posture.ending_within_days,
        ending=posture.ending,
        deletions=tuple(deletions),
        chart=chart(history),
        failed_batches=summary.failed_batches,
        alerts=dict(summary.alerts),
    )
