"""The end-of-session check: every recorded call decided on the templates, and the call record kept.

The templates are synthesized for `permissions_config_data`: the example configuration with every
option that grants something switched on (remediation, both alert channels, both guard SCPs),
which is what the emulation runs (it deletes, schedules deletions, alerts on every channel).

A session fails when a call the functions made would be denied by the templates (naming the role,
the action, the resource and why), when a call cannot be evaluated, or when it made a call that
tests/iam/calls.json (and so docs/least-privilege.md) does not account for. When every test that
made calls when the record was written ran again, a recorded call that no test made any more is
reported as stale.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.iam.catalogue import UPDATE_COMMAND, Catalogue
from tests.iam.deployment import FORWARDING_TEMPLATE, ROLES_TEMPLATE, Deployment
from tests.iam.evaluate import Evaluation, evaluate
from tests.iam.recording import Recording, read
from tests.iam.report import Report, build
from tests.iam.simulator import shared_simulator

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "least-privilege.md"
# The folder a run's processes share (`tests.iam.plugin`): their recorded calls, and the templates
# the first process to need them synthesized, so that the others (the controller at the end) reuse them.
ENVIRONMENT = "GUARDRAIL_IAM_CALLS"
TEMPLATES = "templates.json"


def permissions_config_data() -> dict[str, Any]:
    """The example configuration with every option that grants something on."""
    from tests.infra.support import EXAMPLE_POLICY, example_config_data

    data = example_config_data()
    data.update(
        policy_file=str(EXAMPLE_POLICY),
        remediation_enabled=True,
        chat={"enabled": True},
        security_hub={"enabled": True},
        guard={"central_account": True, "member_accounts": True},
    )
    return data


@functools.cache
def permissions_deployment() -> Deployment:
    """The templates of `permissions_config_data`, synthesized once per run (once per process when
    the processes share no folder)."""
    from infra.config import parse_config
    from tests.infra.support import synthesize, write_yaml

    shared = os.environ.get(ENVIRONMENT)
    cached = Path(shared) / TEMPLATES if shared else None
    if cached is not None and cached.is_file():
        config = parse_config(permissions_config_data(), source="the permissions configuration")
        return Deployment(config, json.loads(cached.read_text(encoding="utf-8")))
    with tempfile.TemporaryDirectory(prefix="guardrail-iam-synth-") as folder:
        config_path = write_yaml(Path(folder) / "guardrail.yaml", permissions_config_data())
        synthesized = synthesize(config_path, Path(folder) / "cdk.out")
        templates = {name: synthesized.stack_document(name) for name in synthesized.stack_names()}
        templates[ROLES_TEMPLATE] = synthesized.member_template("IdentityCenterGuardrail-MemberRoles")
        templates[FORWARDING_TEMPLATE] = synthesized.member_template(
            "IdentityCenterGuardrail-EventForwarding"
        )
    if cached is not None:
        partial = cached.with_suffix(f".{os.getpid()}")
        partial.write_text(json.dumps(templates), encoding="utf-8")
        partial.replace(cached)  # whole, or not at all, for a process reading it
    return Deployment(synthesized.config, templates)


def render(deployment: Deployment, catalogue: Catalogue) -> Report:
    """docs/least-privilege.md for these templates and these calls."""
    return build(deployment, evaluate(deployment, list(catalogue.calls), shared_simulator()))


@dataclass
class Outcome:
    lines: list[str] = field(default_factory=list)
    failed: bool = False
    evaluation: Evaluation | None = None
    # The calls of this session, as the record would keep them.
    recorded: Catalogue | None = None


def verdict(deployment: Deployment, recording: Recording, catalogue: Catalogue) -> Outcome:
    """What a session's calls say about `deployment` and the call record."""
    started = time.perf_counter()
    evaluation = evaluate(deployment, recording.records, shared_simulator())
    outcome = Outcome(evaluation=evaluation)
    checked = evaluation.checked
    outcome.lines.append(
        f"{len(checked)} distinct authorizations of {len({c.recorded.call for c in checked})} operations "
        f"decided in {time.perf_counter() - started:.1f} s; {len(evaluation.expected_denials)} denied "
        "where the emulation refused the call too"
    )
    outcome.lines += [f"NOT ALLOWED: {c.describe()}" for c in evaluation.failures]
    outcome.lines += [
        f"NOT CHECKED: the {p.function} function's {p.call}: {p.reason} ({p.test or 'a fixture'})"
        for p in recording.problems
    ]
    current = Catalogue.of(
        [c.recorded for c in checked if c.allowed], recording.calling_tests & recording.tests
    )
    outcome.recorded = current
    known = catalogue.keys
    new = [call for call in current.calls if call.key() not in known]
    outcome.lines += [
        f"NOT IN tests/iam/calls.json: {call.action} on {call.resource} by the {call.function} function"
        + (f" as {call.role}" if call.role else "")
        + (f", context {json.dumps(call.context, default=str)}" if call.context else "")
        for call in new
    ]
    if new:
        outcome.lines.append(
            f"docs/least-privilege.md does not account for these calls; run: {UPDATE_COMMAND}"
        )
    outcome.failed = bool(evaluation.failures or recording.problems or new)
    if catalogue.tests and all(t in recording.tests or recording.gone(t) for t in catalogue.tests):
        recorded = current.keys
        stale = [call for call in catalogue.calls if call.key() not in recorded]
        outcome.lines += [
            f"STALE (no test made it): {call.action} on {call.resource} by the {call.function} function; "
            f"run: {UPDATE_COMMAND}"
            for call in stale
        ]
    return outcome


def write(reporter: Any, outcome: Outcome) -> None:
    """The outcome in the terminal summary."""
    reporter.write_sep(
        "-", "AWS calls against the templates' IAM", red=outcome.failed, green=not outcome.failed
    )
    for line in outcome.lines:
        reporter.write_line(line)


def check_session(session: pytest.Session, files: list[Path], *, update: bool) -> Outcome | None:
    """The session's verdict (None when no function made a call); a failed one fails the session."""
    recording = read(files)
    if not recording.records and not recording.problems:
        return None
    started = time.perf_counter()
    deployment = permissions_deployment()
    synthesized = time.perf_counter() - started
    catalogue = Catalogue.load()
    outcome = verdict(deployment, recording, catalogue)
    outcome.lines[0] += f" (templates synthesized in {synthesized:.1f} s)"
    if update:
        _update(recording, catalogue, outcome)
    if outcome.failed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    return outcome


def _update(recording: Recording, catalogue: Catalogue, outcome: Outcome) -> None:
    """Rewrite the record from this session's calls if it ran every test that made one (else keep
    it), and the page from the record."""
    assert outcome.evaluation is not None
    assert outcome.recorded is not None
    if outcome.evaluation.failures or recording.problems:
        outcome.lines.append("NOT UPDATED: calls the templates would deny, or that could not be evaluated")
        return
    missing = sorted(t for t in set(catalogue.tests) - recording.tests if not recording.gone(t))
    if missing:
        outcome.lines.append(
            f"KEPT tests/iam/calls.json: {len(missing)} tests that made calls did not pass in this session "
            f"(e.g. {missing[0]}); to rewrite it, run: {UPDATE_COMMAND}"
        )
    else:
        catalogue = outcome.recorded
        catalogue.write()
        outcome.lines = [line for line in outcome.lines if not line.startswith(("NOT IN", "STALE", "docs/"))]
        outcome.failed = False
        outcome.lines.append(f"UPDATED tests/iam/calls.json: {len(catalogue.calls)} calls")
    report = render(permissions_deployment(), catalogue)
    PAGE.parent.mkdir(exist_ok=True)
    PAGE.write_text(report.text, encoding="utf-8")
    outcome.failed = outcome.failed or bool(report.unjustified)
    outcome.lines.append(
        f"UPDATED docs/least-privilege.md: {report.counts.get('needed', 0)} statements needed, "
        f"{report.counts.get('kept', 0)} kept, {len(report.unjustified)} unjustified"
    )
