"""Your organization, offline: `guardrail snapshot` writes it to one file, read-only, and `--org`
judges on that file exactly as `--live` judges on the organization itself.

An `EmulatedEnvironment` plays the real organization, as in the `--live` tests: the snapshot is
taken from it with the caller's credentials, then the same logs, events and sweep are judged
both ways and compared.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from emulator.environment import PROD_INSTANCE_ARN, SANDBOX_INSTANCE_ARN, EmulatedEnvironment
from emulator.organization import MANAGEMENT_ACCOUNT_ID, PROD_ACCOUNT_ID, SANDBOX_ACCOUNT_ID
from guardrail_cli.main import main
from guardrail_cli.snapshot import FORMAT, load_snapshot
from tests.integration.test_replay import instance_records, sample_record, write_trail
from tests.integration.test_replay_live import _config

Capture = pytest.CaptureFixture[str]
READS = {"ListInstances", "ListTagsForResource", "ListApplications", "DescribeInstance"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmulatedEnvironment, Path, Path]]:
    """The organization, its configuration, and a snapshot of it taken through the command."""
    folder = tmp_path_factory.mktemp("org")
    with EmulatedEnvironment() as env:
        config = _config(folder, env)
        snapshot = folder / "org.json.gz"
        assert main(["snapshot", "--config", str(config), "--output", str(snapshot)]) == 0
        yield env, config, snapshot


def test_a_snapshot_holds_the_organization_and_changes_nothing(
    world: tuple[EmulatedEnvironment, Path, Path],
) -> None:
    env, _, path = world
    snapshot = load_snapshot(path)
    org = env.organization
    assert snapshot.format == FORMAT
    assert snapshot.taken_by == "arn:aws:iam::222222222222:user/guardrail-operator"
    held = snapshot.organization
    assert held.organization.management_account_id == MANAGEMENT_ACCOUNT_ID
    assert set(held.accounts) == {MANAGEMENT_ACCOUNT_ID, *org.member_account_ids}
    assert held.accounts[PROD_ACCOUNT_ID].name == "Prod Analytics"
    assert {unit.name for unit in held.units.values()} >= {"Workloads", "Prod", "Sandbox"}
    assert held.policies
    assert held.attachments
    assert [i.instance_arn for i in held.organization_instances or ()] != []
    assert (
        snapshot.emails[PROD_ACCOUNT_ID].endswith("@example.com") or "@" in snapshot.emails[PROD_ACCOUNT_ID]
    )
    assert set(snapshot.account_tags) == set(held.accounts)
    # The instances, as the sweep's worker reads them: listed, and the tags of each one owned.
    assert snapshot.instances is not None
    sandbox = snapshot.instances[SANDBOX_ACCOUNT_ID]
    assert SANDBOX_INSTANCE_ARN in {i.instance_arn for i in sandbox.listed or ()}
    assert sandbox.details[SANDBOX_INSTANCE_ARN].tags == {
        "purpose": "trial",
        "owner": "bob@example.com",
        "expires": "2026-12-15",
    }
    assert MANAGEMENT_ACCOUNT_ID not in snapshot.instances  # it holds the organization instance only
    # Read-only: nothing but reads reached Identity Center.
    assert {call.operation for call in env.identity_center.calls} <= READS


def test_redact_leaves_names_and_addresses_out(
    world: tuple[EmulatedEnvironment, Path, Path], tmp_path: Path
) -> None:
    _, config, _ = world
    path = tmp_path / "redacted.json"
    args = ["snapshot", "--config", str(config), "--output", str(path), "--redact", "--organization-only"]
    assert main(args) == 0
    text = path.read_text(encoding="utf-8")
    assert "Prod Analytics" not in text
    assert "@example.com" not in text
    snapshot = load_snapshot(path)
    assert snapshot.redacted
    assert snapshot.instances is None
    assert {account.name for account in snapshot.organization.accounts.values()} == {None}


def _records(now: datetime) -> list[Mapping[str, Any]]:
    records = instance_records(now)
    when = records["prod"]["eventTime"]
    tag = sample_record(
        "create-instance-cli-trial-tagged",
        eventID="7a7a7a7a-0000-4000-8000-000000000001",
        eventName="UntagResource",
        eventTime=when,
        requestParameters={"resourceArn": SANDBOX_INSTANCE_ARN, "tagKeys": ["owner"]},
        responseElements=None,
    )
    return [
        records["prod"],
        records["sandbox"],
        records["outside"],
        records["delete"],
        tag,
        sample_record("create-instance-denied-by-scp", eventTime=when),
        sample_record("create-instance-management-account", eventTime=when),
    ]


def _judged(lines: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    """What each event came to: its outcome, and the decision with the facts it stood on."""
    keep = (
        *("verdict", "severity", "findings", "suppressed", "undetermined", "action", "missing_facts"),
        *("account_name", "ou_path", "instance", "instance_arn", "subject"),
    )
    judged = {}
    for line in lines:
        body = {key: (line["body"] or {}).get(key) for key in keep}
        # Which facts were missing; why is said in the snapshot's words ("not in the snapshot").
        body["missing_facts"] = sorted(m["fact"] for m in body["missing_facts"] or ())
        judged[line["event_id"]] = (line["status"], line["subject"], body)
    return judged


def test_replay_on_a_snapshot_judges_as_live_does(
    capsys: Capture, world: tuple[EmulatedEnvironment, Path, Path], tmp_path: Path
) -> None:
    _, config, snapshot = world
    write_trail(tmp_path / "logs", _records(datetime.now(UTC)), corrupt=False)
    live = main(["replay", str(tmp_path / "logs"), "--live", "--config", str(config), "--json"])
    live_out, _ = capsys.readouterr()
    offline = main(["replay", str(tmp_path / "logs"), "--org", str(snapshot), "--json"])
    offline_out, offline_err = capsys.readouterr()
    assert (live, offline) == (0, 0)
    assert offline_err.splitlines()[0].startswith("guardrail replay: judging on the organization ")
    on_live = _judged([json.loads(line) for line in live_out.splitlines()])
    on_snapshot = _judged([json.loads(line) for line in offline_out.splitlines()])
    assert len(on_live) == 7
    assert on_snapshot.keys() == on_live.keys()
    for key in on_live:
        assert on_snapshot[key] == on_live[key], key
    # Judged in full where the organization holds the facts, and missing where it does not.
    prod = on_snapshot[instance_records(datetime.now(UTC))["prod"]["eventID"]][2]
    assert (prod["account_name"], prod["ou_path"], prod["missing_facts"]) == (
        "Prod Analytics",
        "Workloads/Prod",
        [],
    )
    assert prod["instance"]["name"] == "analytics-team"


def test_evaluate_on_a_snapshot_takes_a_raw_record_and_fails_on_a_violation(
    capsys: Capture, world: tuple[EmulatedEnvironment, Path, Path], tmp_path: Path
) -> None:
    _, _, snapshot = world
    record = sample_record("create-instance-console-success")  # a raw CloudTrail record
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    code = main(["evaluate", "--event", str(path), "--org", str(snapshot), "--json"])
    body = json.loads(capsys.readouterr().out)
    assert code == 0
    assert body["instance_arn"] == PROD_INSTANCE_ARN
    assert body["missing_facts"] == []
    assert {f["rule"] for f in body["findings"]} >= {"account-not-approved"}
    assert body["severity"] == "high"
    assert main(["evaluate", "--event", str(path), "--org", str(snapshot), "--fail-on", "high"]) == 3
    assert main(["evaluate", "--event", str(path), "--org", str(snapshot), "--fail-on", "critical"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--event", str(path), "--org", str(snapshot), "--facts", str(path)]) == 2
    assert (
        capsys.readouterr().err
        == "guardrail evaluate: --facts and --org are two sources of facts: name one\n"
    )


def _rows(summary: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (r["instance_arn"], r["account_id"], r["verdict"], r["severity"], tuple(r["rules"]), r["action"])
        for r in summary["rows"]
    )


def test_sweep_on_a_snapshot_finds_what_the_live_sweep_finds(
    capsys: Capture, world: tuple[EmulatedEnvironment, Path, Path]
) -> None:
    _, config, snapshot = world
    live = main(["sweep", "--config", str(config), "--json"])
    live_summary = json.loads(capsys.readouterr().out)
    offline = main(["sweep", "--org", str(snapshot), "--json"])
    offline_summary = json.loads(capsys.readouterr().out)
    assert offline == live
    assert _rows(offline_summary) == _rows(live_summary)
    assert PROD_INSTANCE_ARN in {row[0] for row in _rows(offline_summary)}
    for key in ("accounts_listed", "accounts_by_state", "accounts_swept", "accounts_read", "by_verdict"):
        assert offline_summary[key] == live_summary[key], key
    assert offline_summary["unreadable"] == live_summary["unreadable"]
    # --fail-on: the prod instance is a high violation.
    assert main(["sweep", "--org", str(snapshot), "--fail-on", "high", "--json"]) == 3
    capsys.readouterr()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            b'{"hello": "world"}',
            "is not an organization snapshot (format None); take one with guardrail snapshot",
        ),
        (json.dumps({"format": FORMAT, "version": 99}).encode(), "is a snapshot of version 99"),
        (b"not json", "is not an organization snapshot: "),
        (json.dumps({"format": FORMAT, "version": 1}).encode(), "Object missing required field"),
    ],
)
def test_a_file_that_is_no_snapshot_is_one_line(
    capsys: Capture, tmp_path: Path, content: bytes, says: str
) -> None:
    path = tmp_path / "org.json"
    path.write_bytes(content)
    code = main(["sweep", "--org", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith(f"guardrail sweep: {path}")
    assert says in err


def test_live_and_org_together_are_a_usage_error(capsys: Capture, tmp_path: Path) -> None:
    code = main(["replay", "--live", "--org", str(tmp_path / "org.json")])
    assert code == 2
    assert capsys.readouterr().err == (
        "guardrail replay: --live reads your organization now, --org a snapshot of it: name one\n"
    )
