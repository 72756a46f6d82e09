"""What a person reads at a terminal: an alert (one row a fact, one line a finding), and the sweep,
drawn with `rich` (tables, colour by severity on a terminal, plain text when piped).

`rich` is the command's only: the function's package never imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from guardrail.core.alert import Alert
from guardrail.sweep.report.view import deletion_text, tone
from guardrail.sweep.summary import Summary, accounting, ending_text, summary_text
from guardrail.sweep.worker import InstanceRow


def render(alert: Alert) -> str:
    """A readable table of one alert."""
    body = alert.body
    rows = [
        ("subject", alert.subject),
        ("verdict", f"{body['verdict']} ({body['severity']})"),
        ("action", f"{body['action']}: {body['action_reason']} [mode {body['mode']}]"),
    ]
    trigger = body.get("trigger") or {"kind": "api-call"}
    if trigger["kind"] == "sweep":
        rows.append(("seen", f"by sweep {trigger['run_id']} at {trigger['observed_at']}"))
    else:
        rows.append(("call", f"{body['event_name']} {body['outcome']} at {body['event_time']}"))
    rows += [
        ("account", f"{body['account_id']} {body['account_name'] or ''} {body['ou_path'] or ''}".rstrip()),
        ("region", body["region"]),
        ("instance", body["instance_arn"] or "-"),
    ]
    if body.get("actor"):
        rows.append(("actor", f"{body['actor']['arn'] or '-'} from {body['actor']['source_ip'] or '-'}"))
    if body.get("applications"):
        rows.append(("apps", ", ".join(a["name"] or a["arn"] for a in body["applications"])))
    lines = [f"{name:<9} {value}" for name, value in rows]
    for finding in body["findings"]:
        lines.append(f"finding   {finding['rule']} [{finding['severity']}]: {finding['reason']}")
    for item in body["suppressed"]:
        until = f"{item['ticket']} until {item['expires']}"
        lines.append(f"exempted  {item['rule']} by {until}: {item['reason']}")
    for item in body["undetermined"]:
        lines.append(f"unknown   {item['rule']}: needs {item['missing_fact']}")
    for item in body["missing_facts"]:
        lines.append(f"missing   {item['fact']}: {item['reason']}")
    return "\n".join(lines)


# -- the sweep, drawn with rich ---------------------------------------------------------------------

# Colour by severity (a violation's), or by what the verdict means; on a terminal only.
STYLES = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "blue",
    "ok": "green",
    "unknown": "magenta",
}
# Piped output is never folded: a line is as long as its content.
PIPED_WIDTH = 10_000
# Control characters in a name or tag would drive the terminal (escape sequences), forge lines (a
# newline) or reorder what is shown (bidirectional overrides): each is shown as U+FFFD instead.
_CONTROLS = dict.fromkeys(
    (*range(0x00, 0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)), "\ufffd"
)


def plain(value: object) -> Text:
    """A value a creator controls as literal text: no rich markup read in it, no control character."""
    return Text("-" if value is None or value == "" else str(value).translate(_CONTROLS))


def console_for(stream: TextIO) -> Console:
    """Colour and the terminal's width on a terminal; plain text, unfolded, when piped."""
    if stream.isatty():
        return Console(file=stream, highlight=False, emoji=False)
    return Console(file=stream, width=PIPED_WIDTH, color_system=None, highlight=False, emoji=False)


def emit(console: Console, *renderables: RenderableType) -> None:
    """Print each on lines of its own, trimming the spaces rich pads table lines with when the output
    is not a terminal."""
    if console.is_terminal:
        for renderable in renderables:
            console.print(renderable)
        return
    with console.capture() as captured:
        for renderable in renderables:
            console.print(renderable)
    console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def _verdict(row: InstanceRow) -> Text:
    look = tone(row.verdict, row.severity)
    label = f"{row.verdict} ({row.severity})" if row.verdict == "violation" else row.verdict
    return Text(label, style=STYLES.get(look, ""))


def _table(*columns: str) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _named(summary: Summary, account_ids: Sequence[str]) -> str:
    return ", ".join(" ".join(filter(None, (a, summary.account_name(a)))) for a in account_ids)


def sweep_view(summary: Summary) -> list[RenderableType]:
    """What `guardrail sweep` prints: every instance (the most severe first), then what was not read
    or not swept, the coverage and the posture."""
    parts: list[RenderableType] = [
        plain(summary_text(summary).splitlines()[0]),
        Text(accounting(summary), style="bold"),
        Text(""),
    ]
    instances = _table(
        "account", "account name", "owner", "region", "instance", "verdict", "deletion", "most severe reason"
    )
    order = ("critical", "high", "medium", "low", "unknown", "info", "ok")
    for row in sorted(
        summary.rows,
        key=lambda r: (order.index(tone(r.verdict, r.severity)), r.account_id, r.instance_arn),
    ):
        instances.add_row(
            plain(row.account_id),
            plain(summary.account_name(row.account_id)),
            plain(row.owner),
            plain(row.region),
            plain(" ".join(filter(None, (row.name, row.instance_arn.rsplit("/", 1)[-1])))),
            _verdict(row),
            plain(deletion_text(row)),
            plain(row.reason),
        )
    parts.append(instances if summary.rows else Text("No account instance found."))
    if summary.unreadable:
        unreadable = _table("account", "account name", "why")
        for u in summary.unreadable:
            unreadable.add_row(plain(u.account_id), plain(u.name), plain(u.reason))
        parts += [
            Text(""),
            Text("Not readable (their instances are unknown, not absent):", style="bold"),
            unreadable,
        ]
    if summary.not_swept:
        not_swept = _table("account", "account name", "state", "why")
        for n in summary.not_swept:
            not_swept.add_row(plain(n.account_id), plain(n.name), plain(n.state), plain(n.reason))
        parts += [Text(""), Text("Not swept:", style="bold"), not_swept]
    coverage = summary.coverage
    if coverage is not None:
        parts.append(Text(""))
        parts.append(
            Text(
                f"Coverage: {coverage.accounts_checked} accounts, {coverage.regions_checked} account-Regions "
                f"read; {len(coverage.blind_spots)} blind spots, {len(coverage.unchecked)} not checked",
                style="bold",
            )
        )
        if coverage.blind_spots:
            spots = _table("account", "account name", "region", "blind spot", "detail")
            for spot in coverage.blind_spots:
                spots.add_row(
                    plain(spot.account_id),
                    plain(summary.account_name(spot.account_id)),
                    plain(spot.region),
                    Text(spot.kind.value, style=STYLES["high"]),
                    plain(spot.detail),
                )
            parts.append(spots)
    posture = summary.posture
    lines = [
        ("not approved, and no SCP denies sso:CreateInstance", _named(summary, posture.unprotected_accounts)),
        ("exempted", _named(summary, posture.exempted_accounts)),
        *(
            [("where the guardrail is blind", _named(summary, posture.blind_accounts))]
            if coverage is not None
            else []
        ),
        (
            "suspended or closed, not swept",
            ", ".join(f"{n.account_id} {n.name or '-'} ({n.state})" for n in posture.suspended_or_closed),
        ),
        (
            f"ending within {posture.ending_within_days} days",
            "; ".join(ending_text(e) for e in posture.ending),
        ),
    ]
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in lines:
        table.add_row(label, plain(value or "none"))
    parts += [Text(""), Text("Posture:", style="bold"), table, Text("")]
    verdicts = ", ".join(f"{n} {v}" for v, n in summary.by_verdict.items()) or "none"
    rules = ", ".join(f"{r} {n}" for r, n in summary.violations_by_rule.items()) or "none"
    parts.append(plain(f"verdicts: {verdicts}; violations by rule: {rules}"))
    return parts


def print_sweep(summary: Summary, stream: TextIO) -> None:
    emit(console_for(stream), *sweep_view(summary))
