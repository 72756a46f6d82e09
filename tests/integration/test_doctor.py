"""`guardrail doctor` against an emulated deployment: healthy, it passes; each piece broken, the
check that reads it says WRONG with its fix, and the others stay ok."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from emulator.central import CentralStack, deploy_central_stack
from emulator.environment import EmulatedEnvironment
from emulator.forwarding import ForwardingStack, deploy_forwarding, undeliverable_event
from emulator.organization import administrator_client, administrator_credentials
from guardrail.adapters.clients import AwsClients
from guardrail.adapters.forwarding import ForwardingReader
from guardrail_cli.doctor import Check, DoctorSettings, diagnose
from guardrail_cli.emulated import doctor_settings
from guardrail_cli.main import main

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ("us-east-1", "eu-west-1")
SANDBOX, PROD = "333333333333", "444444444444"
Capture = pytest.CaptureFixture[str]


@dataclass
class Deployment:
    env: EmulatedEnvironment
    central: CentralStack
    settings: DoctorSettings

    def diagnose(self) -> dict[str, Check]:
        return {c.name: c for c in diagnose(AwsClients(boto3.session.Session()), self.settings)}


@pytest.fixture
def deployed() -> Iterator[Deployment]:
    """The example organization with the guardrail deployed: the central stack, and in each member
    account the member role and the forwarding in both watched Regions."""
    with EmulatedEnvironment() as env:
        deploy_forwarding(env, REGIONS)
        central = deploy_central_stack(env)
        settings = doctor_settings(env, REGIONS)
        yield Deployment(env, central, settings)


def wrong(checks: dict[str, Check]) -> dict[str, Check]:
    return {name: check for name, check in checks.items() if not check.ok}


def test_a_healthy_deployment_passes_every_check(deployed: Deployment) -> None:
    checks = deployed.diagnose()
    assert wrong(checks) == {}
    assert list(checks) == [
        "central stack",
        "detect function",
        "central rules",
        "alert subscriptions",
        "alarms",
        "alarms in ALARM",
        "dead-letter queue",
        "member roles",
        "forwarding rules",
        "forwarding dead-letter queues",
        "coverage reads",
    ]
    assert checks["detect function"].detail == "identity-center-guardrail-detect Active"
    assert checks["alarms"].detail == "all 7 alarms of the stack exist"
    assert checks["member roles"].detail == "assumable in all 3 accounts"
    assert "in 6 account-Regions" in checks["forwarding rules"].detail


def delete_member_role(d: Deployment) -> None:
    iam = administrator_client(SANDBOX, "iam")
    iam.delete_role_policy(RoleName=d.settings.member_role_name, PolicyName="guardrail")
    iam.delete_role(RoleName=d.settings.member_role_name)


# What breaks, the checks that must then say WRONG, and what one of their problems says (its what
# or its fix).
BROKEN: dict[str, tuple[Callable[[Deployment], None], set[str], str]] = {
    "function failed": (
        lambda d: d.central.function_state("Failed"),
        {"detect function"},
        "a Failed one needs its cause fixed",
    ),
    "function deleted": (
        lambda d: d.central.delete_function(),
        {"detect function", "central rules"},
        "identity-center-guardrail-detect does not exist",
    ),
    "central rule disabled": (
        lambda d: d.central.disable_rule(),
        {"central rules"},
        "--event-bus-name identity-center-guardrail --region us-east-1",
    ),
    "central rule without its target": (
        lambda d: d.central.remove_rule_target(),
        {"central rules"},
        "does not target the detect function arn:aws:lambda:us-east-1:222222222222:function:",
    ),
    "central rule deleted": (
        lambda d: d.central.delete_rule(),
        {"central rules"},
        "does not exist (deleted outside CloudFormation)",
    ),
    "no confirmed subscription": (
        lambda d: d.central.pending_emails(),
        {"alert subscriptions"},
        "aws sns subscribe --topic-arn arn:aws:sns:us-east-1:222222222222:",
    ),
    "an alarm in ALARM": (
        lambda d: d.central.raise_alarm("DeadLetterMessages"),
        {"alarms in ALARM"},
        "describe-alarm-history --alarm-name IdentityCenterGuardrailCentral-MonitoringDeadLetterMessagesAlarm",
    ),
    "an alarm deleted": (
        lambda d: d.central.delete_alarm("FunctionErrors"),
        {"alarms"},
        "-MonitoringFunctionErrorsAlarm",
    ),
    "events in the dead-letter queue": (
        lambda d: d.central.dead_letter(),
        {"dead-letter queue"},
        "replay it to the detect function",
    ),
    "the stack gone": (
        lambda d: d.central.delete_stack(),
        {
            "central stack",
            "detect function",
            "central rules",
            "alert subscriptions",
            "alarms",
            "dead-letter queue",
        },
        "npx cdk deploy IdentityCenterGuardrailCentral",
    ),
    "a member role gone": (
        delete_member_role,
        {"member roles"},
        f"{SANDBOX}: the member role cannot be assumed",
    ),
    "a forwarding rule disabled": (
        lambda d: ForwardingStack(PROD, "eu-west-1").disable(),
        {"forwarding rules"},
        f"in account {PROD}: aws events enable-rule --name IdentityCenterGuardrail-ForwardInstanceEvents "
        "--region eu-west-1",
    ),
    "a forwarding rule retargeted": (
        lambda d: ForwardingStack(PROD, "us-east-1").retarget(
            "arn:aws:events:us-east-1:999999999999:event-bus/x"
        ),
        {"forwarding rules"},
        "not to the central bus arn:aws:events:us-east-1:222222222222:event-bus/identity-center-guardrail",
    ),
    "events not forwarded": (
        lambda d: ForwardingStack(SANDBOX, "us-east-1").undeliverable(
            undeliverable_event(SANDBOX, "us-east-1")
        ),
        {"forwarding dead-letter queues"},
        f"{SANDBOX} us-east-1: 1 events could not be forwarded",
    ),
    "a forwarding queue deleted": (
        lambda d: ForwardingStack(SANDBOX, "eu-west-1").delete_queue(),
        {"forwarding dead-letter queues"},
        "no dead-letter queue IdentityCenterGuardrail-ForwardingDeadLetters",
    ),
}


@pytest.mark.parametrize("broken", BROKEN)
def test_each_broken_piece_is_reported_with_its_fix(deployed: Deployment, broken: str) -> None:
    breaks, checks, says = BROKEN[broken]
    breaks(deployed)
    found = wrong(deployed.diagnose())
    assert set(found) == checks
    said = [f"{p.what} / {p.fix}" for check in found.values() for p in check.problems]
    assert any(says in line for line in said), said


def test_a_refused_coverage_read_is_neither_healthy_nor_blind(deployed: Deployment) -> None:
    def refused(self: ForwardingReader, queue_name: str) -> int | None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no sqs:GetQueueUrl"}}, "GetQueueUrl")

    with mock.patch.object(ForwardingReader, "queue_depth", refused):
        found = wrong(deployed.diagnose())
    assert set(found) == {"coverage reads"}
    problems = found["coverage reads"].problems
    assert len(problems) == 6  # 3 accounts, 2 Regions
    assert "sqs:GetQueueUrl and sqs:GetQueueAttributes" in problems[0].fix


# -- the command ----------------------------------------------------------------------------------------


def run(capsys: Capture, *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_emulated_doctor_reports_the_account_without_a_member_role(capsys: Capture) -> None:
    code, out, _ = run(capsys, "doctor", "--emulated")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("ok     central stack: IdentityCenterGuardrailCentral CREATE_COMPLETE")
    [line] = [i for i, text in enumerate(lines) if text.startswith("WRONG")]
    assert lines[line] == "WRONG  member roles: wrong in 1 of 27 accounts"
    assert lines[line + 1].startswith(
        "         666666666666: the member role cannot be assumed: AccessDenied"
    )
    assert lines[line + 2].startswith("           fix: the member role is missing")
    assert lines[-1] == "1 of 11 checks WRONG"

    code, out, _ = run(capsys, "doctor", "--emulated", "--json")
    document = json.loads(out)
    assert (code, document["ok"]) == (1, False)
    [failed] = [c for c in document["checks"] if not c["ok"]]
    assert failed["check"] == "member roles"
    assert failed["problems"][0]["what"].startswith("666666666666: ")


def config_file(tmp_path: Path, **changes: Any) -> Path:
    data = yaml.safe_load((ROOT / "config" / "guardrail.yaml").read_text())
    data.update({"regions": list(REGIONS), "policy_file": str(ROOT / "policy" / "policy.yaml"), **changes})
    path = tmp_path / "guardrail.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_doctor_reads_a_deployment_named_by_its_configuration(
    deployed: Deployment, tmp_path: Path, capsys: Capture
) -> None:
    code, out, err = run(capsys, "doctor", "--config", config_file(tmp_path))
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "all ok"
    ForwardingStack(PROD, "eu-west-1").disable()
    code, out, _ = run(capsys, "doctor", "--config", config_file(tmp_path), "--json")
    assert code == 1
    assert [c["check"] for c in json.loads(out)["checks"] if not c["ok"]] == ["forwarding rules"]


def test_the_doctor_needs_central_credentials(deployed: Deployment, tmp_path: Path, capsys: Capture) -> None:
    member = administrator_credentials(SANDBOX)
    variables = {name.upper(): value for name, value in member.items()}
    with mock.patch.dict(os.environ, variables):
        code, out, err = run(capsys, "doctor", "--config", config_file(tmp_path))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith("guardrail doctor: the central checks read the central account 222222222222, ")
    assert "credentials are of 333333333333" in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("--emulated", "--member-role", "Audit"), "--member-role is for --config"),
        (("--config", "absent.yaml"), "cannot read configuration"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    capsys: Capture, tmp_path: Path, argv: tuple[str, ...], says: str
) -> None:
    argv = tuple(str(tmp_path / a) if a.endswith(".yaml") else a for a in argv)
    code, out, err = run(capsys, "doctor", *argv)
    assert (code, out) == (2, "")
    assert err.startswith("guardrail doctor: ")
    assert err.count("\n") == 1
    assert says in err
