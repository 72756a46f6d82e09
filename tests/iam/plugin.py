"""The pytest plugin that proves the permissions: record the functions' AWS calls, then decide each
on the synthesized templates with the IAM simulator.

Every test process records the calls its tests make (`tests.iam.recording`) and writes them to a
file of its own in a folder the whole run shares: under pytest-xdist the controller makes the
folder and the workers inherit it through `GUARDRAIL_IAM_CALLS`, so a run of one process, or of
several, ends with the same files. At the end of the session the controller (or the only process)
reads them all and evaluates the calls once (`tests.iam.check`): a call the templates would deny
fails the run, naming the role, the action, the resource and why.

A test marked `not_deployed` runs a function with what the templates do not hold (a test-only
channel's row): its calls are not recorded, as no deployment makes them.

`--no-permissions` skips the evaluation (a quick local run); `--update-permissions` rewrites the
record of the calls the functions make (tests/iam/calls.json) and the least-privilege report from
this run's calls: run it with the whole suite.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.iam.check import ENVIRONMENT, Outcome, check_session, write
from tests.iam.recording import Recorder, recording


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("permissions", "AWS calls checked against the templates' IAM")
    group.addoption(
        "--no-permissions",
        action="store_true",
        help="do not check the AWS calls the functions made against the templates",
    )
    group.addoption(
        "--update-permissions",
        action="store_true",
        help="rewrite tests/iam/calls.json and docs/least-privilege.md from the calls this run recorded",
    )
    group.addoption(
        "--permissions-keep",
        metavar="DIR",
        help="also keep the recorded calls (one JSON-lines file per test process) in DIR",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(PermissionsPlugin(config), "guardrail-permissions")


class PermissionsPlugin:
    """One per test process: records while the session runs, writes (and evaluates) at its end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.worker = hasattr(config, "workerinput")
        shared = os.environ.get(ENVIRONMENT)
        # The controller, or a run of one process, makes the folder and removes it at the end.
        self.owned = shared is None or not self.worker
        self.folder = (
            Path(tempfile.mkdtemp(prefix="guardrail-iam-calls-")) if self.owned else Path(str(shared))
        )
        if self.owned:
            os.environ[ENVIRONMENT] = str(self.folder)
        self.recorder = Recorder()
        self.outcome: Outcome | None = None
        self._stack = ExitStack()
        self._stack.enter_context(recording(self.recorder))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.recorder.collected.update(item.nodeid for item in session.items)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Any:
        self.recorder.paused = item.get_closest_marker("not_deployed") is not None
        try:
            return (yield)
        finally:
            self.recorder.paused = False

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" and report.passed:
            self.recorder.tests.add(report.nodeid)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._stack.close()
        name = os.environ.get("PYTEST_XDIST_WORKER", "main") if self.worker else "controller"
        self.recorder.write(self.folder / f"{name}.jsonl")
        if self.worker:
            return
        keep = self.config.getoption("permissions_keep")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            for path in self.folder.glob("*.jsonl"):
                shutil.copy(path, Path(keep) / path.name)
        try:
            if not self.config.getoption("no_permissions"):
                self.outcome = check_session(
                    session,
                    sorted(self.folder.glob("*.jsonl")),
                    update=bool(self.config.getoption("update_permissions")),
                )
        finally:
            if self.owned:
                shutil.rmtree(self.folder, ignore_errors=True)
                os.environ.pop(ENVIRONMENT, None)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.outcome is not None:
            write(terminalreporter, self.outcome)
