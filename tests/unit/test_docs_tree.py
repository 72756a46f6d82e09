"""The Development and Extending pages match the tree: every path they name exists, and the
Development page names every package folder and every top-level folder a contributor works in."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "lambdas" / "guardrail"
DEVELOPMENT = ROOT / "docs" / "development.md"
EXTENDING = ROOT / "docs" / "extending.md"
# The trees of Python packages the repository holds.
PACKAGE_TREES = ("lambdas/guardrail", "guardrail_cli", "emulator", "benchmarks", "infra", "tests")
# What a code span names when it is a path: a folder (a trailing slash) or a file of these kinds.
FILE_KINDS = (".py", ".md", ".json", ".yaml", ".yml", ".txt", ".toml", ".mjs", ".j2")


def named_paths(page: Path) -> set[str]:
    """The repository paths a page names in code spans, e.g. `infra/config.py` or `tests/unit/`."""
    spans = re.findall(r"`([^`\s]+)`", page.read_text(encoding="utf-8"))
    return {
        span
        for span in spans
        if "://" not in span
        and not span.startswith("-")
        and (span.endswith("/") or span.endswith(FILE_KINDS))
    }


def generated(path: str) -> bool:
    """Made by the commands, never committed: what .gitignore leaves out."""
    patterns = [
        line.strip().rstrip("/")
        for line in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    first = path.split("/")[0]
    return any(fnmatch.fnmatch(first, pattern) for pattern in patterns)


def where(path: str) -> Path:
    """The part of a path before a placeholder (`policy/tests/<rule-id>/` is `policy/tests/`)."""
    fixed = re.split(r"[<*]", path, maxsplit=1)[0]
    return ROOT / fixed[: fixed.rfind("/") + 1] if fixed != path else ROOT / path


def exists(path: str) -> bool:
    """In the repository, or in the functions' package: the pages name its folders short
    (`gather/`) where they speak of the package."""
    return where(path).exists() or (PACKAGE / where(path).relative_to(ROOT)).exists()


@pytest.mark.parametrize("page", [DEVELOPMENT, EXTENDING], ids=lambda page: page.name)
def test_every_path_a_page_names_exists(page: Path) -> None:
    paths = named_paths(page)
    assert len(paths) > 10, "the page names no paths: has its format changed?"
    absent = sorted(path for path in paths if not generated(path) and not exists(path))
    assert absent == [], f"{page.relative_to(ROOT)} names paths that do not exist"


def test_the_development_page_names_every_package_folder() -> None:
    named = named_paths(DEVELOPMENT)
    packages = sorted(
        f"{init.parent.relative_to(ROOT).as_posix()}/"
        for tree in PACKAGE_TREES
        for init in (ROOT / tree).rglob("__init__.py")
    )
    assert "lambdas/guardrail/core/" in packages  # the walk did find the packages
    assert [folder for folder in packages if folder not in named] == []


def test_the_development_page_names_every_top_level_folder() -> None:
    named = named_paths(DEVELOPMENT)
    folders = sorted(
        f"{path.name}/"
        for path in ROOT.iterdir()
        if path.is_dir()
        and (not path.name.startswith(".") or path.name == ".ci")
        and not generated(path.name)
        and path.name != "lambdas"  # named by its package, `lambdas/guardrail/`
    )
    assert "policy/" in folders
    assert [folder for folder in folders if folder not in named] == []


def test_named_paths_reads_paths_and_placeholders() -> None:
    """The reading the tests above rely on: paths in code spans, never commands or options."""
    named = named_paths(DEVELOPMENT)
    assert {"lambdas/guardrail/core/", "infra/config.py"} <= named
    assert not any(path.startswith(("make", "-")) or " " in path for path in named)
    assert where("policy/tests/<rule-id>/") == ROOT / "policy" / "tests"
    assert exists("gather/")
    assert not exists("core/channels/")
    assert generated("build/site/")
    assert generated("cdk.out/")
    assert not generated("docs/")
