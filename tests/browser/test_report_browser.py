"""The sweep's report opened in a real browser: Debian's headless Chromium, driven by Playwright.

CI installs Chromium (`.ci/run`); where it is missing the tests are skipped, except in CI, where
they fail. Screenshots are kept under build/test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from guardrail.sweep.report import render_report
from tests.browser.browser import CHROMIUM, open_report
from tests.browser.example import ROOT, example_report
from tests.browser.hostile import MARKUP_NAMES, NOW, hostile_summary

ARTIFACTS = ROOT / "build" / "test-artifacts"
PNG = b"\x89PNG\r\n\x1a\n"

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package", pytrace=False)
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)


def write(name: str, html: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    path.write_text(html, encoding="utf-8")
    return path


def test_the_example_report_loads_with_no_console_error_and_shows_the_tree_and_the_chart() -> None:
    page_file = write("report.html", example_report())

    def look(page: Any) -> dict[str, Any]:
        return {
            "accounts": page.locator("#tree li.account").count(),
            "units": page.locator("#tree li.unit").count(),
            "instances": page.locator("#tree tr.instance").count(),
            "lines": page.locator("svg#chart polyline").count(),
            "points": page.locator("svg#chart circle").count(),
            "chart_box": page.locator("svg#chart").bounding_box(),
            "accounting": page.locator("#accounting").inner_text(),
            "deletions": page.locator("#deletions tbody tr").count(),
            "title": page.title(),
        }

    screenshot = ARTIFACTS / "report.png"
    seen = open_report(page_file, screenshot=screenshot, check=look)
    assert seen.problems == []
    found = seen.found
    assert found["units"] == 6  # Root, DataScience, Sandbox, Workloads, Fleet, Prod
    assert found["accounts"] >= 8  # every account with something to say, the quiet ones folded
    assert found["instances"] == 5
    assert (found["lines"], found["points"]) == (2, 10)  # instances and violations over five runs
    assert found["chart_box"]["width"] > 300
    assert found["chart_box"]["height"] > 100
    assert found["accounting"].startswith("accounts: 29 listed = 27 swept")
    assert found["deletions"] == 2
    assert found["title"].startswith("Account instances: sweep ")
    assert screenshot.read_bytes()[:8] == PNG


def test_markup_in_every_name_stays_text_in_the_browser() -> None:
    page_file = write(
        "report-markup.html",
        render_report(hostile_summary(), generated_at=NOW),
    )

    def look(page: Any) -> dict[str, Any]:
        return {
            "pwned": page.evaluate("() => window.__pwned === undefined ? null : window.__pwned"),
            "injected": page.evaluate(
                "() => document.querySelectorAll('script, img, iframe, object, embed, style ~ style, a[href^=javascript]').length"
            ),
            "svgs": page.locator("svg").count(),
            "visible": page.locator("body").is_visible(),
            "text": page.locator("body").inner_text(),
        }

    seen = open_report(page_file, screenshot=ARTIFACTS / "report-markup.png", check=look)
    assert seen.problems == []  # no dialog, no error, nothing fetched
    found = seen.found
    assert found["pwned"] is None
    assert found["injected"] == 0
    assert found["svgs"] == 1
    assert found["visible"]  # no injected style hid the page
    for where, markup in MARKUP_NAMES.items():
        assert markup in found["text"], f"the {where} is not shown as written"
