"""The `guardrail` command as policy authors use it: exit codes, output and one-line errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from guardrail.core.catalogue import RULES
from guardrail_cli.cases import case_files
from guardrail_cli.main import diff, main

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policy" / "policy.yaml"
SCHEMA = ROOT / "policy" / "policy.schema.json"
EVENTS = ROOT / "samples" / "events"
CONSOLE_EVENT = EVENTS / "create-instance-console-success.json"
TRIAL_EVENT = EVENTS / "create-instance-cli-trial-tagged.json"
PROD_FACTS = ROOT / "samples" / "facts" / "console-success-prod.json"
CASES = ROOT / "policy" / "tests"

Capture = pytest.CaptureFixture[str]


def run(capsys: Capture, *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(err: str, command: str) -> str:
    assert err.startswith(f"guardrail {command}: ")
    assert err.count("\n") == 1, err
    return err


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data, default=str))
    return path


def prod_facts() -> dict[str, Any]:
    facts: dict[str, Any] = json.loads(PROD_FACTS.read_text())
    return facts


# -- validate ------------------------------------------------------------------------------------


def test_validate_accepts_the_example_policy(capsys: Capture) -> None:
    code, out, err = run(capsys, "validate", POLICY)
    assert code == 0
    assert out == f"{POLICY}: valid (mode dry-run; attempt-denied, trial-expired)\n"
    assert err == ""


def test_validate_of_a_policy_without_overrides(tmp_path: Path, capsys: Capture) -> None:
    code, out, _ = run(capsys, "validate", write(tmp_path / "policy.yaml", "mode: enforce\n"))
    assert code == 0
    assert "(mode enforce; defaults for every rule)" in out


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("max_trial_days: 0\n", "max_trial_days"),
        ("approved:\n  acounts: []\n", "approved.acounts"),
        ("rules:\n  attempt-refused: {}\n", "rules.attempt-refused"),
        (
            "exemptions:\n  - {account_id: '555555555555', expires: 2027-01-01, ticket: T}\n",
            "exemptions[0].reason",
        ),
    ],
)
def test_validate_rejects_a_bad_policy_naming_the_field(
    tmp_path: Path, capsys: Capture, text: str, field: str
) -> None:
    code, out, err = run(capsys, "validate", write(tmp_path / "policy.yaml", text))
    assert code == 2
    assert out == ""
    assert f"is invalid: {field}" in one_line_error(err, "validate")


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("absent.yaml", None, "cannot read policy"),
        ("broken.yaml", "mode: [dry-run\napproved: {\n", "is not valid YAML"),
        ("broken.json", '{"mode": ', "is not valid JSON"),
    ],
)
def test_validate_of_an_unreadable_file_is_one_line(
    tmp_path: Path, capsys: Capture, name: str, text: str | None, says: str
) -> None:
    path = tmp_path / name
    if text is not None:
        write(path, text)
    code, _, err = run(capsys, "validate", path)
    assert code == 2
    assert says in one_line_error(err, "validate")


def test_validate_lists_the_valid_values_of_a_choice(tmp_path: Path, capsys: Capture) -> None:
    code, _, err = run(capsys, "validate", write(tmp_path / "policy.yaml", "version: 1\nmode: enforced\n"))
    assert code == 2
    assert one_line_error(err, "validate").endswith(
        "policy.yaml is invalid: mode: 'enforced' is not one of dry-run, enforce (did you mean enforce?)\n"
    )


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path, capsys: Capture) -> None:
    latin1 = "# r\u00e9vis\u00e9e\n".encode("latin-1")
    policy = tmp_path / "policy.yaml"
    policy.write_bytes(b"version: 1\n" + latin1)
    event = tmp_path / "event.json"
    event.write_bytes(CONSOLE_EVENT.read_bytes().replace(b'"version"', b'"note": "\xe9", "version"', 1))
    facts = tmp_path / "facts.json"
    facts.write_bytes(b'{"organization": null, "note": "\xe9"}')
    config = tmp_path / "guardrail.yaml"
    config.write_bytes(b"organization_id: o-exampleorg1\n" + latin1)
    for argv, path, line in [
        (("sweep", "--config", config), config, 2),
        (("validate", policy), policy, 2),
        (("evaluate", "--event", event), event, 2),
        (("evaluate", "--event", CONSOLE_EVENT, "--facts", facts), facts, 1),
        (("evaluate", "--event", CONSOLE_EVENT, "--policy", policy), policy, 2),
    ]:
        code, out, err = run(capsys, *argv)
        assert (code, out) == (2, ""), argv
        assert f"{path} is not UTF-8 text: byte 0xe9 on line {line} cannot be read" in one_line_error(
            err, str(argv[0])
        )


def test_version_prints_the_version(capsys: Capture) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert capsys.readouterr().out == f"guardrail {project['version']}\n"


# -- evaluate ------------------------------------------------------------------------------------


def test_evaluate_prints_a_table(capsys: Capture) -> None:
    code, out, _ = run(capsys, "evaluate", "--event", CONSOLE_EVENT, "--facts", PROD_FACTS)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(
        "subject   [HIGH] Account instance created in 444444444444 Prod Analytics (eu-west-1)"
    )
    assert "verdict   violation (high)" in lines
    assert "account   444444444444 Prod Analytics Workloads/Prod" in lines
    assert "action    alert: the policy asks only for an alert [mode dry-run]" in lines
    findings = [line.split()[1] for line in lines if line.startswith("finding ")]
    assert findings == ["account-not-approved", "missing-justification"]


def test_evaluate_json_is_the_alert_body(capsys: Capture) -> None:
    code, out, _ = run(
        capsys, "evaluate", "--event", CONSOLE_EVENT, "--facts", PROD_FACTS, "--policy", POLICY, "--json"
    )
    assert code == 0
    body = json.loads(out)
    assert body["verdict"] == "violation"
    assert body["severity"] == "high"
    assert body["instance"]["owner_account_id"] == "444444444444"
    assert [f["rule"] for f in body["findings"]] == ["account-not-approved", "missing-justification"]
    # Findings carry the facts they used.
    assert body["findings"][0]["facts"] == {"account_id": "444444444444", "ou_path": "Workloads/Prod"}
    assert body["findings"][1]["facts"]["tags"] == {}
    assert body["suppressed"] == []
    assert body["undetermined"] == []


def test_the_sample_facts_close_the_scp_gap_only_through_the_workloads_deny(
    tmp_path: Path, capsys: Capture
) -> None:
    facts = prod_facts()
    facts["service_control_policies"] = [
        p for p in facts["service_control_policies"] if p["target_id"] == "r-ab12"
    ]
    code, out, _ = run(
        capsys, "evaluate", "--event", CONSOLE_EVENT, "--facts", write(tmp_path / "f.json", facts), "--json"
    )
    assert code == 0
    assert "scp-gap" in [f["rule"] for f in json.loads(out)["findings"]]


def test_evaluate_shows_exemptions_unknowns_and_missing_facts(tmp_path: Path, capsys: Capture) -> None:
    policy = write(
        tmp_path / "policy.yaml",
        "exemptions:\n  - {account_id: '444444444444', expires: 2026-12-31, ticket: SEC-9, reason: pilot,"
        " rules: [account-not-approved]}\n",
    )
    facts = prod_facts()
    del facts["account_instances"]
    facts["missing"] = [{"fact": "account_instances", "reason": "AccessDenied"}]
    facts_file = write(tmp_path / "facts.json", facts)
    code, out, _ = run(
        capsys, "evaluate", "--event", CONSOLE_EVENT, "--facts", facts_file, "--policy", policy
    )
    assert code == 0
    assert "exempted  account-not-approved by SEC-9 until 2026-12-31: pilot" in out
    assert "unknown   second-instance: needs account_instances" in out
    assert "missing   account_instances: AccessDenied" in out


def test_evaluate_without_facts_is_incomplete(capsys: Capture) -> None:
    code, out, _ = run(capsys, "evaluate", "--event", CONSOLE_EVENT, "--json")
    assert code == 0
    body = json.loads(out)
    assert body["verdict"] == "incomplete"
    assert body["action"] == "alert"


def test_evaluate_at_a_given_time(tmp_path: Path, capsys: Capture) -> None:
    case = yaml.safe_load((CASES / "trial-expired" / "fires-expired-yesterday.yaml").read_text())
    facts_file = write(tmp_path / "facts.json", case["facts"])
    args = ("evaluate", "--event", TRIAL_EVENT, "--facts", facts_file, "--json")
    assert json.loads(run(capsys, *args)[1])["verdict"] == "compliant"  # at the event's time
    code, out, _ = run(capsys, *args, "--now", "2026-12-16T08:00:00+00:00")
    assert code == 0
    body = json.loads(out)
    assert [f["rule"] for f in body["findings"]] == ["trial-expired"]
    assert body["action"] == "would-delete-instance"


@pytest.mark.parametrize(
    ("event", "facts", "says"),
    [
        ("absent.json", None, "cannot read"),
        ("broken.json", None, "is not valid JSON"),
        (CONSOLE_EVENT, "broken.json", "is not valid JSON"),
        (CONSOLE_EVENT, [1, 2], "must hold a JSON object of facts"),
        (CONSOLE_EVENT, {"account": {"account_id": "4444"}}, "the facts are invalid: account.account_id: "),
        (
            CONSOLE_EVENT,
            {"instance": {"region": "eu-west-1"}},
            "the facts are invalid: instance.instance_arn: ",
        ),
        (CONSOLE_EVENT, {"organisation": {}}, "the facts are invalid: organisation: "),
        (EVENTS / "not-an-instance-event-permission-set.json", None, "eventName"),
    ],
)
def test_evaluate_rejects_bad_inputs_in_one_line(
    tmp_path: Path, capsys: Capture, event: str | Path, facts: Any, says: str
) -> None:
    if event == "broken.json":
        event = write(tmp_path / "broken.json", "{")
    argv: list[str | Path] = ["evaluate", "--event", event if isinstance(event, Path) else tmp_path / event]
    if facts == "broken.json":
        argv += ["--facts", write(tmp_path / "facts.json", '{"account": ')]
    elif facts is not None:
        argv += ["--facts", write(tmp_path / "facts.json", facts)]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert says in one_line_error(err, "evaluate")


def test_evaluate_rejects_a_bad_time(capsys: Capture) -> None:
    code, _, err = run(capsys, "evaluate", "--event", CONSOLE_EVENT, "--now", "next tuesday")
    assert code == 2
    assert "--now 'next tuesday' is not an ISO 8601 time" in one_line_error(err, "evaluate")


def test_evaluate_with_a_bad_policy_names_the_field(tmp_path: Path, capsys: Capture) -> None:
    policy = write(tmp_path / "policy.yaml", "mode: enforced\n")
    code, _, err = run(capsys, "evaluate", "--event", CONSOLE_EVENT, "--policy", policy)
    assert code == 2
    assert "is invalid: mode: " in one_line_error(err, "evaluate")


# -- test ----------------------------------------------------------------------------------------


def test_test_passes_on_the_repository_cases(capsys: Capture) -> None:
    code, out, _ = run(capsys, "test", CASES)
    assert code == 0
    total = len(case_files(CASES))
    assert out.endswith(f"{total} passed, 0 failed\n")
    assert out.count("PASS ") == total


def copy_case(source: Path, target: Path, **expect: Any) -> Path:
    """A repository case with the event inlined (its relative path would not resolve elsewhere)."""
    case = yaml.safe_load(source.read_text())
    case["event"] = json.loads((source.parent / case["event"]).resolve().read_text())
    case["expect"].update(expect)
    target.write_text(yaml.safe_dump(case))
    return target


def test_test_reports_each_differing_field_and_exits_1(tmp_path: Path, capsys: Capture) -> None:
    good = CASES / "exemption-expired" / "near-miss-expires-today.yaml"
    case = yaml.safe_load(good.read_text())
    case["expect"].update(suppressed=["scp-gap"], severity="high", action="would-delete-instance")
    write(tmp_path / "wrong.yaml", yaml.safe_dump(case))
    copy_case(CASES / "scp-gap" / "near-miss-deny-without-condition.yaml", tmp_path / "right.yaml")
    code, out, _ = run(capsys, "test", tmp_path)
    assert code == 1
    assert "PASS " in out
    assert f"FAIL {tmp_path / 'wrong.yaml'}: an exemption on its last day" in out
    suppressed = "expected [scp-gap], got [account-not-approved, scp-gap] (unexpected account-not-approved)"
    assert f"  suppressed: {suppressed}\n" in out
    assert "  severity: expected high, got info" in out
    assert "  action: expected would-delete-instance, got none" in out
    assert "verdict:" not in out  # only the fields that differ
    assert out.endswith("1 passed, 1 failed\n")


def test_a_failure_shows_why_the_rules_fired(tmp_path: Path, capsys: Capture) -> None:
    copy_case(
        CASES / "scp-gap" / "fires-no-deny-scp.yaml", tmp_path / "case.yaml", rules=["account-not-approved"]
    )
    code, out, _ = run(capsys, "test", tmp_path)
    assert code == 1
    assert (
        "  rules: expected [account-not-approved], got [account-not-approved, scp-gap] (unexpected scp-gap)"
        in out
    )
    assert "    scp-gap: Account 444444444444 is not approved, yet none of the 1 SCPs" in out


def test_diff_of_lists_names_what_is_missing_and_unexpected() -> None:
    assert diff({"rules": ["a", "b"]}, {"rules": ["b", "c"]}) == [
        "  rules: expected [a, b], got [b, c] (missing a; unexpected c)"
    ]
    assert diff({"rules": ["a", "a"]}, {"rules": ["a"]}) == ["  rules: expected [a, a], got [a]"]
    assert diff({"verdict": "compliant"}, {"verdict": "compliant"}) == []


def test_test_without_cases_is_a_one_line_error(tmp_path: Path, capsys: Capture) -> None:
    code, _, err = run(capsys, "test", tmp_path)
    assert code == 2
    assert "no test cases (*.yaml) under" in one_line_error(err, "test")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("name: [unclosed\n", "case.yaml: while parsing"),
        (
            "name: x\nevent: {}\nexpect: {verdict: fine}\n",
            "case.yaml: expect.verdict: 'fine' is not one of violation, compliant, info, incomplete",
        ),
        (
            "name: x\nevent: {}\nexpect: {verdict: compliant, rules: [scp_gap]}\n",
            "expect.rules[0]: unknown rule id",
        ),
        ("name: x\nevent: none.json\nexpect: {verdict: compliant}\n", "case.yaml: cannot read event"),
        ("name: x\nevent: {}\nexpect: {verdict: compliant}\n", "case.yaml: "),
        (
            b"name: caf\xe9\nevent: {}\nexpect: {verdict: compliant}\n",
            "case.yaml is not UTF-8 text: byte 0xe9",
        ),
    ],
)
def test_test_reports_every_case_when_one_cannot_be_run(
    tmp_path: Path, capsys: Capture, text: str | bytes, says: str
) -> None:
    """The broken case is named with why, on one line; the others are still run and reported."""
    copy_case(CASES / "scp-gap" / "near-miss-deny-without-condition.yaml", tmp_path / "a-good.yaml")
    broken = tmp_path / "case.yaml"
    broken.write_bytes(text) if isinstance(text, bytes) else broken.write_text(text)
    copy_case(CASES / "root-user" / "near-miss-iam-user.yaml", tmp_path / "z-good.yaml", verdict="info")
    code, out, err = run(capsys, "test", tmp_path)
    assert code == 2
    lines = out.splitlines()
    assert lines[0].startswith(f"PASS {tmp_path / 'a-good.yaml'}: ")
    assert lines[1].startswith(f"ERROR {broken}: ")
    assert says in lines[1]
    assert lines[2].startswith(f"FAIL {tmp_path / 'z-good.yaml'}: ")  # run after the broken one
    assert lines[-1] == "1 passed, 1 failed, 1 not run"
    assert one_line_error(err, "test") == "guardrail test: 1 of 3 cases could not be run (ERROR above)\n"


def test_test_of_a_missing_directory(tmp_path: Path, capsys: Capture) -> None:
    code, _, err = run(capsys, "test", tmp_path / "nowhere")
    assert code == 2
    assert "is not a directory" in one_line_error(err, "test")


# -- schema and rules ----------------------------------------------------------------------------


def test_schema_prints_the_committed_schema(capsys: Capture) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    assert out == SCHEMA.read_text(encoding="utf-8"), (
        "regenerate: guardrail schema > policy/policy.schema.json"
    )
    assert json.loads(out)["title"] == "Policy"


def test_rules_prints_the_catalogue_as_a_markdown_table(capsys: Capture) -> None:
    code, out, _ = run(capsys, "rules")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "| id | default severity | applies to | what it checks | fix |"
    assert lines[1] == "| --- | --- | --- | --- | --- |"
    rows = [line.split(" | ") for line in lines[2:]]
    assert [row[0] for row in rows] == [f"| `{rule.id}`" for rule in RULES]
    assert all(line.count(" | ") == 4 and line.endswith(" |") for line in lines)
    by_id = {rule.id: row for rule, row in zip(RULES, rows, strict=True)}
    assert by_id["attempt-denied"][1:3] == ["low", "CreateInstance (failed)"]
    assert by_id["scp-gap"][2] == (
        "CreateInstance (succeeded or failed), TagResource (succeeded), UntagResource (succeeded), sweep, "
        "grace period ended"
    )
    assert by_id["account-not-approved"][1:3] == [
        "high",
        "CreateInstance (succeeded), TagResource (succeeded), UntagResource (succeeded), sweep, grace period ended",
    ]
    assert "Why: An account can hold only one instance" in by_id["second-instance"][3]


# -- sweep -----------------------------------------------------------------------------------------


def test_an_emulated_sweep_prints_every_instance_the_unreadable_account_and_the_posture(
    capsys: Capture,
) -> None:
    code, out, err = run(capsys, "sweep", "--emulated")
    assert code == 1  # one account could not be read
    assert err == ""  # no progress line off a terminal
    lines = out.splitlines()
    assert lines[0].startswith("sweep local-")
    assert "27 swept, 26 read, 1 not readable; 6 account instances" in lines[0]
    assert (
        lines[1]
        == "accounts: 29 listed = 27 swept (26 read, 1 not readable) + 2 not swept (1 management account, 1 suspended)"
    )
    table = "\n".join(lines[3:11])
    for expected in (
        "444444444444   Prod Analytics",
        "analytics-team",
        "violation (high)",
        "not approved for account instances",
        "ap-southeast-2",
        "carol@example.com",
        "already has another instance",
    ):
        assert expected in table
    assert re.search(r"666666666666 +Legacy Tools +cannot assume the member role: AccessDenied", out)
    assert re.search(r"999000000001 +Retired +SUSPENDED +suspended", out)
    assert re.search(
        r"not approved, and no SCP denies sso:CreateInstance +222222222222 Security Tooling", out
    )
    assert re.search(r"exempted +555555555555 Data Science PoC", out)


def test_an_emulated_sweep_as_json_is_one_document(capsys: Capture) -> None:
    code, out, _ = run(capsys, "sweep", "--emulated", "--json")
    assert code == 1
    summary = json.loads(out)
    assert summary["instances"] == 6
    assert summary["accounts_by_state"] == {"ACTIVE": 28, "SUSPENDED": 1}
    assert {row["verdict"] for row in summary["rows"]} == {"violation", "compliant"}


@pytest.mark.parametrize(("days", "code"), [("-5", 2), ("-1", 2), ("3651", 2), ("100000000", 2)])
def test_a_sweep_refuses_a_window_that_is_not_days_ahead(capsys: Capture, days: str, code: int) -> None:
    returned, out, err = run(capsys, "sweep", "--emulated", "--ending-within-days", days)
    assert (returned, out) == (code, "")
    assert one_line_error(err, "sweep") == (
        f"guardrail sweep: --ending-within-days must be 0 to 3650 (days from today), not {days}\n"
    )


def test_a_live_sweep_needs_a_readable_configuration(capsys: Capture, tmp_path: Path) -> None:
    code, _, err = run(capsys, "sweep", "--config", tmp_path / "absent.yaml")
    assert code == 2
    assert "cannot read configuration" in one_line_error(err, "sweep")


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    """`guardrail rules | head -1`: no traceback when the pipe closes before the output is written."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before a byte is written
    with os.fdopen(write, "w") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "guardrail_cli.main", "rules"],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert (done.returncode, done.stderr) == (141, "")
