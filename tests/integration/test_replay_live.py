"""`guardrail replay --live`: a backtest on facts read from "the real organization", read-only.

An `EmulatedEnvironment` plays the real organization: moto answers the caller's credentials, as
AWS would answer an engineer's. The live path reads it with `FactGatherer` and decides with the
function's `Guardrail`; it must not use the replay's emulation (which would create the instances
a log announces), must delete nothing and publish nothing, even under an enforcing policy.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulator.environment import PROD_INSTANCE_ARN, SANDBOX_INSTANCE_ARN, EmulatedEnvironment
from guardrail_cli.main import main
from tests.integration.test_replay import NEW_SANDBOX_INSTANCE, instance_records, write_trail

ROOT = Path(__file__).resolve().parents[2]
Capture = pytest.CaptureFixture[str]


class _NotTheEmulation:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("the live path used the replay's emulation")


def _config(tmp_path: Path, env: EmulatedEnvironment) -> Path:
    data = yaml.safe_load((ROOT / "config" / "guardrail.yaml").read_text(encoding="utf-8"))
    org = env.organization
    data.update(
        organization_id=org.organization_id,
        root_id=org.root_id,
        organizations_role_arn=org.organizations_reader_role_arn,
        member_role_name=org.member_role_name,
        regions=["us-east-1", "eu-west-1", "eu-central-1"],
        policy_file=str(ROOT / "policy" / "policy.yaml"),
        scp={"enabled": False, "targets": [org.root_id]},
    )
    path = tmp_path / "guardrail.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _enforcing_policy(tmp_path: Path) -> Path:
    """The example policy, enforcing at once, deleting instances of accounts that are not approved."""
    data = yaml.safe_load((ROOT / "policy" / "policy.yaml").read_text(encoding="utf-8"))
    data["mode"] = "enforce"
    data["enforcement"]["grace_period_hours"] = 0
    data["rules"]["account-not-approved"] = {"action": "remediate"}
    path = tmp_path / "enforce.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_backtest_reads_the_organization_and_changes_nothing(
    capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("guardrail_cli.emulated.EmulatedRunner", _NotTheEmulation)
    monkeypatch.setattr("emulator.announced.AnnouncedInstances", _NotTheEmulation)
    records = instance_records(datetime.now(UTC))
    write_trail(tmp_path / "logs", [records["prod"], records["sandbox"], records["delete"]], corrupt=False)
    with EmulatedEnvironment() as org:
        before = {r.instance_arn for r in org.identity_center.instances()}
        code = main(
            [
                "replay",
                str(tmp_path / "logs"),
                "--live",
                "--config",
                str(_config(tmp_path, org)),
                "--policy",
                str(_enforcing_policy(tmp_path)),
                "--json",
            ]
        )
        out, err = capsys.readouterr()
        after = {r.instance_arn for r in org.identity_center.instances()}
        operations = {call.operation for call in org.identity_center.calls}
        published = org.received_alerts()

    assert code == 0, err
    assert after == before  # nothing deleted, nothing created
    assert "DeleteInstance" not in operations
    assert published == []  # nothing published to the topic
    assert err.splitlines()[0] == (
        "guardrail replay: judging on facts read as arn:aws:iam::222222222222:user/guardrail-operator "
        "(member role IdentityCenterGuardrailMemberRole); nothing is deleted or published"
    )

    lines = {json.loads(line)["event_id"]: json.loads(line) for line in out.splitlines()}
    assert {line["status"] for line in lines.values()} == {"alerted"}
    prod = lines[records["prod"]["eventID"]]["body"]
    # Facts from the organization: its OU path, and the instance as sso-admin describes it.
    assert (prod["account_name"], prod["ou_path"]) == ("Prod Analytics", "Workloads/Prod")
    assert prod["instance"]["name"] == "analytics-team"
    assert prod["instance_arn"] == PROD_INSTANCE_ARN
    # The policy would delete it; the backtest only says so.
    assert prod["action"] == "delete-instance"
    assert prod["remediation"]["status"] == "skipped"

    sandbox = lines[records["sandbox"]["eventID"]]["body"]
    # The organization does not hold the instance the log announces, and the backtest does not
    # pretend it does: the instance is missing, and the account's real instance is a second one.
    assert {m["fact"] for m in sandbox["missing_facts"]} >= {"instance"}
    assert NEW_SANDBOX_INSTANCE not in after
    assert SANDBOX_INSTANCE_ARN in json.dumps(sandbox["findings"])


def test_live_needs_a_configuration(capsys: Capture) -> None:
    code = main(["replay", "--live"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err == (
        "guardrail replay: --live needs the deployment's configuration: --config config/guardrail.yaml\n"
    )


def test_live_without_credentials_is_one_line(
    capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    code = main(["replay", "--live", "--config", str(ROOT / "config" / "guardrail.yaml")])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err == "guardrail replay: AWS: Unable to locate credentials\n"
