"""The cold-start probe runs as the benchmark runs it: the function builds its runtime from the
environment the stack sets (a variable it starts to require breaks the probe, not only Lambda)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.cold_start import _probe, function_variables
from benchmarks.harness import EXAMPLE_POLICY
from guardrail.core.policy import policy_data
from guardrail.core.policy_file import load_policy


def test_the_init_probe_builds_the_runtime_from_the_functions_environment(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(policy_data(load_policy(EXAMPLE_POLICY))), encoding="utf-8")
    figures = _probe("init", env=function_variables(policy))
    assert figures["total_ms"] >= figures["import_ms"] > 0
    assert figures["rss_mb"] > 0
