"""The README documents what the code does: its rule table is the catalogue's, row for row."""

from __future__ import annotations

from pathlib import Path

from guardrail_cli.main import rules_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_rule_table_is_the_catalogue() -> None:
    text = README.read_text(encoding="utf-8")
    table = rules_table()
    header = table.splitlines()[0]
    assert header in text, "the README has no rule table"
    start = text.index(header)
    rows = []
    for line in text[start:].splitlines():
        if not line.startswith("|"):
            break
        rows.append(line)
    assert "\n".join(rows) == table, "regenerate the table in the README with `guardrail rules`"
