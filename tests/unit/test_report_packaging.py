"""What the report needs, where it needs it: Jinja2 and MarkupSafe in the function's asset (pinned by
hash, the versions tested), rich in the command only, Chromium in CI, the screenshot in the README
and on the report page."""

from __future__ import annotations

import ast
import re
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "lambdas" / "guardrail"


def pins(path: Path) -> dict[str, tuple[str, str | None]]:
    """name (lower case) -> (version, sha256 or None)."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    found = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)(?:.*--hash=sha256:([0-9a-f]{64}))?", line.strip())
        if match:
            found[match.group(1).lower()] = (match.group(2), match.group(3))
    return found


@pytest.mark.parametrize("package", ["jinja2", "markupsafe"])
def test_the_asset_pins_the_report_libraries_by_hash_at_the_versions_tested(package: str) -> None:
    asset, runtime = pins(ROOT / "lambdas" / "requirements.txt"), pins(ROOT / "requirements.txt")
    shipped, digest = asset[package]
    assert digest is not None, f"{package} has no hash in lambdas/requirements.txt"
    assert shipped == runtime[package][0] == version(package)


def test_the_functions_package_never_imports_rich() -> None:
    importers = []
    for module in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name == "rich" or name.startswith("rich.") for name in names):
                importers.append(module.relative_to(ROOT).as_posix())
    assert importers == []
    assert "rich" not in pins(ROOT / "requirements.txt")
    assert "rich" in pins(ROOT / "requirements-dev.txt")


def test_ci_installs_the_distributions_chromium_only_when_missing_before_the_tests() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    guard = script.index("if [ ! -x /usr/bin/chromium ]")
    install = script.index("apt-get install -y -qq chromium")
    assert guard < install < script.index("\nmake test")
    assert "playwright install" not in script


def test_the_readme_and_the_report_page_show_the_example_organizations_report() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/images/report.png)" in readme
    page = (ROOT / "docs" / "report.md").read_text(encoding="utf-8")
    assert "](images/report.png)" in page
    image = ROOT / "docs" / "images" / "report.png"
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
