"""The documentation says what the code does: the rule catalogue page's table is the catalogue's, row
for row; and the README stays the front door (short, the two commands, a link to every page)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from guardrail_cli.main import rules_table

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
RULES_PAGE = ROOT / "docs" / "rules.md"


def test_the_rule_catalogue_page_table_is_the_catalogue() -> None:
    text = RULES_PAGE.read_text(encoding="utf-8")
    table = rules_table()
    header = table.splitlines()[0]
    assert header in text, "docs/rules.md has no rule table"
    start = text.index(header)
    rows = []
    for line in text[start:].splitlines():
        if not line.startswith("|"):
            break
        rows.append(line)
    assert "\n".join(rows) == table, "regenerate the table in docs/rules.md with `guardrail rules`"


def test_the_readme_is_a_front_door() -> None:
    """Under 200 lines, the two commands of the quick start as the Makefile names them, and a way
    on to every page of the site's navigation."""
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 200
    quick_start = text[text.index("## Quick start") :]
    commands = re.findall(
        r"^make (\w+)\s", quick_start.split("```bash\n", 1)[1].split("```", 1)[0], re.MULTILINE
    )
    assert commands == ["demo", "test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert all(re.search(rf"^{command}:", makefile, re.MULTILINE) for command in commands)

    def pages(node: object) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, list):
            return [page for item in node for page in pages(item)]
        if isinstance(node, dict):
            return [page for value in node.values() for page in pages(value)]
        return []

    nav = pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"])
    linked = set(re.findall(r"\]\(docs/([\w.-]+\.md)", text))
    assert set(nav) - linked == set(), "pages of the site the README does not lead to"
