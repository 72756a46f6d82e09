"""The terminal drawn by rich: the sweep's table, colour by severity on a terminal and plain text
when piped, names shown as written and never as markup or control codes, and the progress bar."""

from __future__ import annotations

import io
import re

from rich.console import Console

from guardrail_cli.progress import progress_bar
from guardrail_cli.render import emit, plain, print_sweep, sweep_view
from tests.browser.hostile import hostile_summary

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_piped_output_is_plain_text_with_the_account_name_owner_and_most_severe_reason() -> None:
    out = io.StringIO()
    print_sweep(hostile_summary(), out)
    text = out.getvalue()
    assert "\x1b" not in text
    assert not [line for line in text.splitlines() if line != line.rstrip()]
    header = next(line for line in text.splitlines() if line.startswith("account "))
    assert re.findall(r"\S+(?: \S+)*", header) == [
        "account",
        "account name",
        "owner",
        "region",
        "instance",
        "verdict",
        "deletion",
        "most severe reason",
    ]
    row = next(line for line in text.splitlines() if "violation (high)" in line)
    assert row.startswith("333333333333")
    assert "due 2026-12-04 06:00Z" in row
    assert "accounts: 4 listed = 2 swept (1 read, 1 not readable) + 2 not swept" in text


def test_a_terminal_gets_colour_by_severity() -> None:
    console = Console(file=Terminal(), force_terminal=True, color_system="standard", width=300)
    emit(console, *sweep_view(hostile_summary()))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    high = next(line for line in text.splitlines() if "violation (high)" in line)
    assert "\x1b[1;31mviolation (high)" in high  # bold red
    compliant = next(
        line for line in text.splitlines() if "compliant" in ANSI.sub("", line) and "eu-west-1" in line
    )
    assert "\x1b[32mcompliant" in compliant  # green


def test_names_are_never_read_as_markup_or_sent_as_control_codes() -> None:
    assert plain("[bold red]x[/] [link=https://example.com]y[/link]").plain == (
        "[bold red]x[/] [link=https://example.com]y[/link]"
    )
    assert plain("a\x1b[2Jb\nc\u202ed").plain == "a\ufffd[2Jb\ufffdc\ufffdd"
    assert plain(None).plain == "-"
    console = Console(file=Terminal(), force_terminal=True, width=200)
    emit(console, plain("[red]owner[/red]\x1b]8;;http://x\x07"))
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "[red]owner[/red]" in shown
    assert "\x1b]8" not in shown
    assert "\x07" not in shown


def test_the_progress_bar_shows_done_of_total_and_the_time_left_on_a_terminal_only() -> None:
    terminal = Terminal()
    with progress_bar(terminal, "sweeping", "accounts") as update:
        update(0, 27)
        update(27, 27)
    drawn = ANSI.sub("", terminal.getvalue())
    assert "sweeping" in drawn
    assert "27/27 accounts" in drawn
    assert "left" in drawn
    assert "elapsed" in drawn
    piped = io.StringIO()
    with progress_bar(piped, "sweeping", "accounts") as update:
        update(3, 27)
    assert piped.getvalue() == ""
