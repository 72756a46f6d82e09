"""`guardrail sweep --show`: the deployed sweep's own alerts, previewed as each subscriber gets them;
and `guardrail report`, the report from sweep results."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from emulator.environment import PROD_INSTANCE_ARN
from emulator.sweep_example import CAROL_INSTANCE_ARN, DAVE_INSTANCE_ARNS
from guardrail_cli.main import main
from guardrail_cli.preview import State
from tests.browser.hostile import hostile_summary

Capture = pytest.CaptureFixture[str]
GONE_ARN = "arn:aws:sso:::instance/ssoins-4444dddd4444dddd"


def run(capsys: Capture, *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def headers(out: str) -> list[str]:
    return [line.removeprefix("== ") for line in out.splitlines() if line.startswith("== ")]


def test_a_first_preview_says_every_violation_is_new_then_the_summary_and_the_coverage(
    capsys: Capture, tmp_path: Path
) -> None:
    state = tmp_path / "inventory.json"
    code, out, err = run(capsys, "sweep", "--emulated", "--show", "email", "--inventory", state)
    assert code == 1  # Legacy Tools cannot be read
    assert err == ""
    assert headers(out) == [
        f"new 444444444444 {PROD_INSTANCE_ARN}",
        f"new 777777777777 {CAROL_INSTANCE_ARN}",
        *(f"new 888888888888 {arn}" for arn in sorted(DAVE_INSTANCE_ARNS)),
        "summary",
        "coverage",
    ]
    assert "Subject: [HIGH] Account instance found in 444444444444 Prod Analytics (eu-west-1)" in out
    assert "Subject: [SWEEP] 26 of 27 accounts read: 6 account instances, 4 in violation" in out
    assert "accounts: 29 listed = 27 swept (26 read, 1 not readable) + 2 not swept" in out
    assert "Subject: [COVERAGE] 1 new blind spot: 666666666666 role-not-assumable" in out

    # What the next preview compares with: the inventory the deployed recorder kept, and the blind
    # spots said. Prod's violation is made to read differently, and an instance it no longer lists
    # is added to Prod's account: the next preview says one changed and one resolved, and nothing
    # of the unchanged violations or the blind spot already said.
    kept = msgspec.json.decode(state.read_bytes(), type=State)
    assert {r.instance_arn for r in kept.inventory} >= {PROD_INSTANCE_ARN, CAROL_INSTANCE_ARN}
    prod = next(r for r in kept.inventory if r.instance_arn == PROD_INSTANCE_ARN)
    edited = [
        msgspec.structs.replace(prod, fingerprint="0" * 32) if r is prod else r for r in kept.inventory
    ] + [msgspec.structs.replace(prod, instance_arn=GONE_ARN, first_seen=prod.first_seen - timedelta(days=9))]
    state.write_bytes(msgspec.json.encode(msgspec.structs.replace(kept, inventory=tuple(edited))))

    code, out, _ = run(capsys, "sweep", "--emulated", "--show", "chat", "--inventory", state)
    assert headers(out) == [
        f"changed 444444444444 {PROD_INSTANCE_ARN}",
        f"resolved 444444444444 {GONE_ARN}",
        "summary",
    ]
    blocks = re.split(r"^== .*$", out, flags=re.MULTILINE)[1:]
    changed, resolved = (json.loads(block) for block in blocks[:2])
    assert changed["source"] == "custom"
    assert changed["metadata"]["threadId"] == PROD_INSTANCE_ARN
    assert "resolved" in resolved["content"]["title"].lower()
    assert "(not sent to chat: the sweep's summary and coverage alerts go to the alert topic)" in blocks[2]


def test_a_preview_for_security_hub_shows_the_findings_it_would_import(capsys: Capture) -> None:
    code, out, _ = run(capsys, "sweep", "--emulated", "--show", "securityhub")
    assert code == 1
    blocks = dict(zip(headers(out), re.split(r"^== .*$", out, flags=re.MULTILINE)[1:], strict=True))
    calls = json.loads(blocks[f"new 444444444444 {PROD_INSTANCE_ARN}"])
    findings = calls["BatchImportFindings"]["Findings"]
    assert {f["ProductArn"] for f in findings} == {
        "arn:aws:securityhub:us-east-1:222222222222:product/222222222222/default"
    }
    assert {f["GeneratorId"] for f in findings} >= {"identity-center-guardrail/account-not-approved"}
    assert "(not sent to Security Hub" in blocks["summary"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--show", "email", "--json"), "--show prints the alerts; it cannot go with --json"),
        (("--inventory", "x.json"), "--inventory keeps a preview's inventory: it goes with --show"),
    ],
)
def test_preview_options_that_do_not_go_together_are_refused_in_one_line(
    capsys: Capture, argv: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, "sweep", "--emulated", *argv)
    assert (code, out) == (2, "")
    assert err.startswith(f"guardrail sweep: {message}")
    assert err.count("\n") == 1


def test_a_preview_inventory_that_is_not_one_is_named(capsys: Capture, tmp_path: Path) -> None:
    state = tmp_path / "inventory.json"
    state.write_text('{"inventory": [{"instance_arn": 1}]}')
    code, _, err = run(capsys, "sweep", "--emulated", "--show", "email", "--inventory", state)
    assert code == 2
    assert err.startswith(f"guardrail sweep: {state} is not a preview's inventory: ")
    assert "$.inventory[0]" in err


# -- guardrail report ------------------------------------------------------------------------------


def test_the_report_of_several_results_draws_each_and_reports_the_newest(
    capsys: Capture, tmp_path: Path
) -> None:
    summary = hostile_summary()
    older = msgspec.structs.replace(
        summary, run_id="run-older", finished_at=summary.finished_at - timedelta(days=1)
    )
    paths = []
    for s in (summary, older):
        path = tmp_path / f"{s.run_id}.json"
        path.write_bytes(msgspec.json.encode(s))
        paths.append(path)
    output = tmp_path / "report.html"
    code, out, err = run(capsys, "report", *paths, "--output", output)
    assert (code, out) == (0, "")
    assert err == f"guardrail report: {output}: sweep run-hostile, 2 account instances, 2 runs drawn\n"
    html = output.read_text(encoding="utf-8")
    assert "Account instances: sweep run-hostile" in html
    assert html.count("<polyline") == 2
    assert "run-older" in html


def test_a_file_that_is_no_sweep_result_is_named_in_one_line(capsys: Capture, tmp_path: Path) -> None:
    bad = tmp_path / "events.json"
    bad.write_text(json.dumps({"Records": []}))
    code, _, err = run(capsys, "report", bad, "--output", tmp_path / "r.html")
    assert code == 2
    assert err.startswith(
        f"guardrail report: {bad} is not a sweep result (guardrail sweep --json, or a run's summary.json): "
    )
    assert err.count("\n") == 1
    assert not (tmp_path / "r.html").exists()
    code, _, err = run(capsys, "report", tmp_path / "absent.json")
    assert code == 2
    assert err.startswith("guardrail report: cannot read ")
    code, _, err = run(capsys, "report")
    assert code == 2
    assert "name sweep results" in err


def test_the_report_of_an_organization_snapshot_sweeps_it_offline(capsys: Capture, tmp_path: Path) -> None:
    from emulator.environment import EmulatedEnvironment
    from tests.integration.test_replay_live import _config

    snapshot = tmp_path / "org.json.gz"
    with EmulatedEnvironment() as env:
        config = _config(tmp_path, env)
        assert main(["snapshot", "--config", str(config), "--output", str(snapshot)]) == 0
    capsys.readouterr()
    output = tmp_path / "report.html"
    code, _, err = run(capsys, "report", "--org", snapshot, "--output", output)
    assert code == 0
    assert err.startswith(f"guardrail report: {output}: sweep snapshot-")
    html = output.read_text(encoding="utf-8")
    assert f'data-instance-arn="{PROD_INSTANCE_ARN}"' in html
    assert "Prod Analytics" in html
    assert 'data-unit-id="' in html


def test_each_row_carries_the_owner_tag_and_the_reason_a_person_reads_first() -> None:
    import boto3

    from emulator.environment import SANDBOX_INSTANCE_ARN, EmulatedEnvironment
    from emulator.organization import administrator_client
    from emulator.sweep_example import CAROL_ACCOUNT_ID, SWEEP_REGIONS, add_sweep_example
    from guardrail.adapters.clients import AwsClients
    from guardrail.core.policy_file import load_policy
    from guardrail_cli.sweep import SweepSettings, sweep
    from tests.browser.example import ROOT

    with EmulatedEnvironment(region="us-east-1") as env:
        add_sweep_example(env)
        # Bob (Sandbox, approved) replaces his instance: the new one is still being created.
        bob = administrator_client("333333333333", "sso-admin", region="us-east-1")
        bob.delete_instance(InstanceArn=SANDBOX_INSTANCE_ARN)
        creating = env.identity_center.seed_instance(
            "333333333333", "eu-west-1", name="being-created", status="CREATE_IN_PROGRESS"
        )
        org = env.organization
        settings = SweepSettings(
            member_role_name=org.member_role_name,
            regions=SWEEP_REGIONS,
            near_region="us-east-1",
            organizations_role_arn=org.organizations_reader_role_arn,
            organization_instance_region="us-east-1",
        )
        summary = sweep(
            AwsClients(boto3.session.Session()), settings, load_policy(ROOT / "policy" / "policy.yaml")
        )
    rows = {row.instance_arn: row for row in summary.rows}
    carol = rows[CAROL_INSTANCE_ARN]
    assert (carol.account_id, carol.owner) == (CAROL_ACCOUNT_ID, "carol@example.com")
    assert (
        carol.reason
        == "The instance is in ap-southeast-2; the policy allows us-east-1, eu-west-1, eu-central-1"
    )
    prod = rows[PROD_INSTANCE_ARN]
    assert prod.owner is None
    assert prod.reason is not None
    assert "is not approved" in prod.reason  # account-not-approved (high) before missing-justification
    assert rows[creating].verdict == "incomplete"
    assert (rows[creating].reason or "").startswith("instance not known: the instance is CREATE_IN_PROGRESS")
