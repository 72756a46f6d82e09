"""The policy test cases under policy/tests, run against policy/policy.yaml as CI runs them.

Every rule of the catalogue has a directory named after it holding at least one case that fires
the rule (`fires-*.yaml`) and one near miss that does not (`near-miss-*.yaml`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from guardrail.core.catalogue import RULE_IDS
from guardrail.core.policy_file import load_policy
from guardrail_cli.cases import case_files, load_case, run_case
from guardrail_cli.main import diff, main

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "policy" / "tests"
POLICY = load_policy(ROOT / "policy" / "policy.yaml")
FILES = case_files(CASES)


@pytest.mark.parametrize("path", FILES, ids=[str(path.relative_to(CASES)) for path in FILES])
def test_case(path: Path) -> None:
    result = run_case(path, POLICY)
    assert result.passed, "\n".join([*diff(result.expected, result.actual), *result.reasons])


def test_the_cases_pass_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(CASES)]) == 0
    assert capsys.readouterr().out.endswith(f"{len(FILES)} passed, 0 failed\n")


def test_cases_are_filed_by_rule_and_kind() -> None:
    assert {path.parent for path in FILES} == {CASES / rule for rule in RULE_IDS}
    for path in FILES:
        assert path.name.startswith(("fires-", "near-miss-")), path


@pytest.mark.parametrize("rule", sorted(RULE_IDS))
def test_every_rule_has_a_firing_case_and_a_near_miss(rule: str) -> None:
    fires = sorted((CASES / rule).glob("fires-*.yaml"))
    near_misses = sorted((CASES / rule).glob("near-miss-*.yaml"))
    assert fires, f"no case fires {rule}"
    assert near_misses, f"no near miss for {rule}"
    # The expectations are checked against the decision by test_case, so these say what happens.
    for path in fires:
        expect = load_case(path).expect
        assert rule in expect.rules, path
        assert expect.verdict.value == "violation", path
    for path in near_misses:
        assert rule not in load_case(path).expect.rules, path


def test_a_wrong_expectation_fails_with_a_diff_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = CASES / "account-not-approved" / "fires-ou-not-approved.yaml"
    case = yaml.safe_load(source.read_text())
    case["event"] = json.loads(
        (source.parent / case["event"]).resolve().read_text()
    )  # a path would not resolve
    case["expect"] = {"verdict": "compliant", "rules": []}
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(yaml.safe_dump(case))

    result = run_case(wrong, POLICY)
    assert not result.passed
    assert result.expected == {"verdict": "compliant", "rules": []}
    assert result.actual == {"verdict": "violation", "rules": ["account-not-approved"]}

    assert main(["test", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"FAIL {wrong}: " in out
    assert "  verdict: expected compliant, got violation\n" in out
    assert "  rules: expected [], got [account-not-approved] (unexpected account-not-approved)\n" in out
    assert out.endswith("0 passed, 1 failed\n")
