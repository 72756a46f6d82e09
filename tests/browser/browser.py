"""Opening a page in the distribution's headless Chromium, as a person would, and what it showed.

Playwright drives `/usr/bin/chromium` (Debian's package, which `.ci/run` installs); its own browser
download is never used. The flags are those that run headless as root in a container without a
GPU, network or first-run chatter, with a fresh profile each time.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Dialog, Request

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@dataclass
class Seen:
    """What the page did while it loaded, and what the check found in it."""

    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    found: Any = None


def open_report(
    page_file: Path, *, screenshot: Path | None = None, check: Callable[[Any], Any] | None = None
) -> Seen:
    """Load `page_file` in headless Chromium: console errors, uncaught errors, dialogs and every
    request beyond the file itself are problems; `check(page)` runs on the loaded page."""
    from playwright.sync_api import sync_playwright

    seen = Seen()
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=list(FLAGS),
            viewport={"width": 1280, "height": 900},
        )
        try:
            page = context.new_page()
            url = page_file.resolve().as_uri()

            def console(message: ConsoleMessage) -> None:
                if message.type in ("error", "warning", "assert"):
                    seen.problems.append(f"console {message.type}: {message.text}")

            def dialog(opened: Dialog) -> None:
                seen.problems.append(f"dialog: {opened.message}")
                opened.dismiss()

            def request(made: Request) -> None:
                if made.url != url:
                    seen.requests.append(made.url)

            page.on("console", console)
            page.on("pageerror", lambda error: seen.problems.append(f"page error: {error}"))
            page.on("dialog", dialog)
            page.on("request", request)
            page.goto(url, wait_until="load")
            if check is not None:
                seen.found = check(page)
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            context.close()
    seen.problems += [f"request beyond the file: {r}" for r in seen.requests]
    return seen
