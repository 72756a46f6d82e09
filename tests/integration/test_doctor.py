"""`guardrail doctor` against an emulated deployment: healthy, it passes; each piece broken, the
check that reads it says WRONG with its fix, and the others stay ok. The test event goes end to end:
the emulated central bus delivers it to the real detect handler."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from emulator.central import CentralStack, deploy_central_stack
from emulator.cloudtrail import ORGANIZATION_TRAIL_NAME, create_organization_trail
from emulator.environment import EmulatedEnvironment
from emulator.forwarding import ForwardingStack, deploy_forwarding, undeliverable_event
from emulator.organization import MANAGEMENT_ACCOUNT_ID, administrator_client, administrator_credentials
from guardrail.adapters.clients import AwsClients
from guardrail.adapters.forwarding import ForwardingReader
from guardrail.core.alert import Alert
from guardrail.core.facts import ApiCall
from guardrail.pipeline.synthetic import SyntheticEvents
from guardrail_cli.central import CentralReader, claim_key
from guardrail_cli.doctor import Check, DoctorSettings, SendTestEvent, diagnose
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
    # When the doctor looks: a test moves it on to age the last sweep.
    later: timedelta = field(default_factory=timedelta)

    def diagnose(self, send: SendTestEvent | None = None) -> dict[str, Check]:
        checks = diagnose(
            AwsClients(boto3.session.Session()), self.settings, now=datetime.now(UTC) + self.later, send=send
        )
        return {c.name: c for c in checks}


def deploy(**options: Any) -> Iterator[Deployment]:
    """The example organization with the guardrail deployed: the central stack, in each member
    account the member role and the forwarding in both watched Regions, and the organization's
    trail (multi-Region, logging, its default selectors)."""
    with EmulatedEnvironment() as env:
        deploy_forwarding(env, REGIONS)
        central = deploy_central_stack(env, **options)
        create_organization_trail(env.region)
        settings = doctor_settings(env, REGIONS)
        yield Deployment(env, central, settings)


@pytest.fixture
def deployed() -> Iterator[Deployment]:
    yield from deploy()


@pytest.fixture
def with_channels() -> Iterator[Deployment]:
    """Chat and Security Hub on, as `chat.enabled` and `security_hub.enabled` deploy them."""
    yield from deploy(chat=True, security_hub=True)


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
        "chat subscriptions",
        "security hub",
        "alarms",
        "alarms in ALARM",
        "dead-letter queue",
        "sweep schedule",
        "last sweep",
        "trail",
        "member roles",
        "forwarding rules",
        "forwarding dead-letter queues",
        "coverage reads",
    ]
    assert checks["detect function"].detail == "identity-center-guardrail-detect Active"
    assert checks["alarms"].detail == "all 7 alarms of the stack exist"
    assert checks["member roles"].detail == "assumable in all 3 accounts"
    assert "in 6 account-Regions" in checks["forwarding rules"].detail
    assert checks["chat subscriptions"].detail == "chat is off (chat.enabled: false)"
    assert checks["security hub"].detail == "the Security Hub channel is off (security_hub.enabled: false)"
    assert checks["sweep schedule"].detail == "IdentityCenterGuardrail-Sweep ENABLED: cron(0 6 * * ? *) UTC"
    assert checks["last sweep"].detail.endswith("SUCCEEDED, ended 3.0 h ago")
    assert checks["trail"].detail == (
        "organization-trail (organization trail, multi-Region) is logging and records the instance calls"
    )


def test_chat_and_security_hub_are_checked_where_they_are_on(with_channels: Deployment) -> None:
    checks = with_channels.diagnose()
    assert wrong(checks) == {}
    assert checks["chat subscriptions"].detail == "1 confirmed (sqs)"
    assert checks["security hub"].detail == "Security Hub CSPM enabled in 222222222222 us-east-1"


CHANNELS_BROKEN: dict[str, tuple[Callable[[Deployment], None], str, str]] = {
    "nothing reads the chat topic": (
        lambda d: d.central.unsubscribe_chat(),
        "chat subscriptions",
        "aws chatbot update-slack-channel-configuration",
    ),
    "security hub off": (
        lambda d: d.central.disable_security_hub(),
        "security hub",
        "aws securityhub enable-security-hub --no-enable-default-standards --region us-east-1",
    ),
}


@pytest.mark.parametrize("broken", CHANNELS_BROKEN)
def test_a_channel_that_cannot_receive_is_reported_with_its_fix(
    with_channels: Deployment, broken: str
) -> None:
    breaks, check, says = CHANNELS_BROKEN[broken]
    breaks(with_channels)
    found = wrong(with_channels.diagnose())
    assert set(found) == {check}
    assert says in found[check].problems[0].fix


def test_a_sweep_that_never_succeeded_is_wrong() -> None:
    for deployment in deploy(last_sweep=None):
        found = wrong(deployment.diagnose())
        assert set(found) == {"last sweep"}
        assert found["last sweep"].detail == "no run has succeeded yet"
        assert "aws stepfunctions start-execution --state-machine-arn arn:aws:states:" in (
            found["last sweep"].problems[0].fix
        )


def test_a_run_in_progress_after_a_recent_success_is_fine(deployed: Deployment) -> None:
    deployed.central.record_run("RUNNING", timedelta(minutes=5), name="now-running")
    check = deployed.diagnose()["last sweep"]
    assert check.ok
    assert check.detail.endswith("; now-running running since 0.1 h ago")
    # A success 35 hours old is recent enough for a daily schedule (up to 36); see BROKEN for 37.
    deployed.later = timedelta(hours=32)
    assert deployed.diagnose()["last sweep"].ok


def test_this_accounts_own_trail_is_enough_here_and_says_members_need_theirs(deployed: Deployment) -> None:
    organization = administrator_client(MANAGEMENT_ACCOUNT_ID, "cloudtrail")
    organization.delete_trail(Name=ORGANIZATION_TRAIL_NAME)
    s3 = deployed.env.central_client("s3")
    s3.create_bucket(Bucket="central-trail")
    cloudtrail = deployed.env.central_client("cloudtrail")
    cloudtrail.create_trail(Name="central-trail", S3BucketName="central-trail", IsMultiRegionTrail=True)
    cloudtrail.start_logging(Name="central-trail")
    check = deployed.diagnose()["trail"]
    assert check.ok
    assert check.detail.startswith("central-trail (this account's trail, multi-Region) logging and recording")
    assert "each member account needs one too" in check.detail


def test_single_region_trails_cover_the_regions_they_are_in(deployed: Deployment) -> None:
    organization = administrator_client(MANAGEMENT_ACCOUNT_ID, "cloudtrail")
    organization.update_trail(Name=ORGANIZATION_TRAIL_NAME, IsMultiRegionTrail=False)
    found = wrong(deployed.diagnose())
    assert set(found) == {"trail"}
    assert found["trail"].detail == (
        "1 trails seen; the instance calls are recorded in 1 of 2 watched Regions: elsewhere no instance "
        "event reaches the guardrail"
    )
    assert found["trail"].problems[-1].what == "no logging trail records the instance calls in eu-west-1"
    # One trail of the organization's in the other Region too covers both.
    create_organization_trail("eu-west-1", name="organization-trail-eu", multi_region=False)
    assert "trail" not in wrong(deployed.diagnose())


def delete_member_role(d: Deployment) -> None:
    iam = administrator_client(SANDBOX, "iam")
    iam.delete_role_policy(RoleName=d.settings.member_role_name, PolicyName="guardrail")
    iam.delete_role(RoleName=d.settings.member_role_name)


# What breaks, the checks that must then say WRONG, and what one of their problems says (its what
# or its fix).
BROKEN: dict[str, tuple[Callable[[Deployment], object], set[str], str]] = {
    "function failed": (
        lambda d: d.central.function_state("Failed"),
        {"detect function"},
        "a Failed one needs its cause fixed",
    ),
    "function deleted": (
        lambda d: d.central.delete_function(),
        {"detect function", "central rules", "security hub"},
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
            "chat subscriptions",
            "security hub",
            "alarms",
            "dead-letter queue",
            "sweep schedule",
            "last sweep",
        },
        "npx cdk deploy IdentityCenterGuardrailCentral",
    ),
    "the sweep schedule disabled": (
        lambda d: d.central.disable_schedule(),
        {"sweep schedule"},
        "set sweep.enabled: true in the configuration",
    ),
    "the sweep schedule deleted": (
        lambda d: d.central.delete_schedule(),
        {"sweep schedule"},
        "IdentityCenterGuardrail-Sweep does not exist",
    ),
    "the last sweep failed": (
        lambda d: d.central.record_run("FAILED", timedelta(hours=1)),
        {"last sweep"},
        "get-execution-history --execution-arn arn:aws:states:us-east-1:222222222222:execution:",
    ),
    "the last sweep timed out": (
        lambda d: d.central.record_run("TIMED_OUT", timedelta(hours=1), name="slow-run"),
        {"last sweep"},
        "slow-run TIMED_OUT",
    ),
    "the last sweep aborted": (
        lambda d: d.central.record_run("ABORTED", timedelta(hours=1), name="stopped-run"),
        {"last sweep"},
        "stopped-run ABORTED",
    ),
    "no sweep for a day and a half": (
        lambda d: setattr(d, "later", timedelta(hours=34)),  # the last one ended 3 hours before
        {"last sweep"},
        "aws stepfunctions start-execution --state-machine-arn arn:aws:states:us-east-1:222222222222:",
    ),
    "the trail stopped logging": (
        lambda d: administrator_client(MANAGEMENT_ACCOUNT_ID, "cloudtrail").stop_logging(
            Name=ORGANIZATION_TRAIL_NAME
        ),
        {"trail"},
        "with credentials of 111111111111, the account that owns it, in us-east-1: aws cloudtrail "
        "start-logging --name arn:aws:cloudtrail:us-east-1:111111111111:trail/organization-trail",
    ),
    "the trail records reads only": (
        lambda d: administrator_client(MANAGEMENT_ACCOUNT_ID, "cloudtrail").put_event_selectors(
            TrailName=ORGANIZATION_TRAIL_NAME,
            EventSelectors=[{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}],
        ),
        {"trail"},
        "its event selectors leave out CreateInstance, DeleteInstance, UpdateInstance, TagResource, UntagResource",
    ),
    "the trail's advanced selectors leave Identity Center out": (
        lambda d: administrator_client(MANAGEMENT_ACCOUNT_ID, "cloudtrail").put_event_selectors(
            TrailName=ORGANIZATION_TRAIL_NAME,
            AdvancedEventSelectors=[
                {
                    "Name": "Management events but Identity Center's",
                    "FieldSelectors": [
                        {"Field": "eventCategory", "Equals": ["Management"]},
                        {"Field": "eventSource", "NotEquals": ["sso.amazonaws.com"]},
                    ],
                }
            ],
        ),
        {"trail"},
        "put-event-selectors --trail-name arn:aws:cloudtrail:us-east-1:111111111111:trail/organization-trail",
    ),
    "no trail": (
        lambda d: administrator_client(MANAGEMENT_ACCOUNT_ID, "cloudtrail").delete_trail(
            Name=ORGANIZATION_TRAIL_NAME
        ),
        {"trail"},
        "create a multi-Region organization trail in the management account",
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
    code, out, _ = run(capsys, "doctor", "--emulated", "--send-test-event")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("ok     central stack: IdentityCenterGuardrailCentral CREATE_COMPLETE")
    [line] = [i for i, text in enumerate(lines) if text.startswith("WRONG")]
    assert lines[line] == "WRONG  member roles: wrong in 1 of 27 accounts"
    assert lines[line + 1].startswith(
        "         666666666666: the member role cannot be assumed: AccessDenied"
    )
    assert lines[line + 2].startswith("           fix: the member role is missing")
    # The test event, end to end: the emulated bus ran the real detect handler.
    assert lines[-3].startswith("ok     test event: ")
    assert "reached the detect function, judged violation and alerted on every channel in " in lines[-3]
    assert lines[-3].endswith(
        "s: [TEST] [HIGH] Account instance created in 222222222222 Secu... (us-east-1): account-not-approved +1"
    )
    assert lines[-1] == "1 of 17 checks WRONG"

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


def test_the_test_event_option_is_checked(capsys: Capture) -> None:
    for argv, says in (
        (("--test-timeout", "5"), "--test-timeout is for --send-test-event"),
        (
            ("--send-test-event", "--test-timeout", "0"),
            "--test-timeout: 0 is not a positive number of seconds",
        ),
    ):
        code, out, err = run(capsys, "doctor", "--emulated", *argv)
        assert (code, out, err) == (2, "", f"guardrail doctor: {says}\n")


# -- the test event --------------------------------------------------------------------------------------

QUICK = SendTestEvent(timeout_seconds=30, poll_seconds=0.05)


def claims(d: Deployment) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = d.env.central_client("dynamodb").scan(
        TableName=d.env.idempotency_table_name
    )["Items"]
    return items


def test_the_test_event_goes_from_the_bus_to_every_channel(with_channels: Deployment) -> None:
    with with_channels.central.running() as function:
        checks = with_channels.diagnose(QUICK)
    assert wrong(checks) == {}
    check = checks["test event"]
    event_id = check.detail.split(" ", 1)[0]
    assert check.detail.endswith(
        ": [TEST] [HIGH] Account instance created in 222222222222 Secu... (us-east-1): account-not-approved +1"
    )
    # Delivered once, as EventBridge delivers: the test source, the time in ISO 8601.
    [invocation] = function.invocations
    assert (invocation.attempts, invocation.error) == (1, None)
    assert invocation.event["source"] == "identity-center-guardrail.test"
    assert invocation.event["time"].endswith("Z")
    assert (
        invocation.event["detail"]["userIdentity"]["arn"]
        == "arn:aws:iam::222222222222:user/guardrail-operator"
    )
    # What the doctor read: the function's completed claim on the event.
    [claim] = claims(with_channels)
    assert claim["id"]["S"] == claim_key(event_id)
    assert claim["status"]["S"] == "COMPLETED"
    # Every channel got the alert, marked as a test.
    [alert] = with_channels.env.received_alerts()
    assert (alert["body"]["event_id"], alert["body"]["test"], alert["attributes"]["test"]) == (
        event_id,
        True,
        "true",
    )
    [chat] = with_channels.env.received_chat()
    assert "TEST" in chat["content"]["keywords"]
    findings = with_channels.env.central_client("securityhub").get_findings()["Findings"]
    assert findings
    assert all(f["Title"].startswith("[TEST] ") and f["RecordState"] == "ARCHIVED" for f in findings)
    # Nothing else: no dead letter, the synthetic instance unknown to the inventory.
    assert with_channels.env.dead_letters() == []
    inventory = with_channels.env.central_client("dynamodb").scan(
        TableName=with_channels.env.inventory_table_name
    )
    assert inventory["Items"] == []


def test_a_test_event_nothing_delivers_is_wrong_after_the_timeout(deployed: Deployment) -> None:
    deployed.central.disable_rule()
    started = time.monotonic()
    with deployed.central.running() as function:
        found = wrong(deployed.diagnose(SendTestEvent(timeout_seconds=0.5, poll_seconds=0.1)))
    assert time.monotonic() - started >= 0.5
    assert set(found) == {"central rules", "test event"}
    assert function.invocations == []
    check = found["test event"]
    assert check.detail.startswith("no record of ")
    assert check.detail.endswith(
        " after 0.5 s: the event did not reach the detect function, or the function failed on it"
    )
    assert "see the central rules and detect function checks above" in check.problems[0].fix
    assert "aws logs filter-log-events --log-group-name /aws/lambda/identity-center-guardrail-detect" in (
        check.problems[0].fix
    )
    assert claims(deployed) == []


def test_a_test_event_the_function_fails_on_is_retried_then_dead_lettered(deployed: Deployment) -> None:
    def fails(self: SyntheticEvents, call: ApiCall) -> Alert:
        raise RuntimeError("the alert topic refused the alert")

    with mock.patch.object(SyntheticEvents, "handle", fails), deployed.central.running() as function:
        # The doctor's wait lets the invocation and its retries end, however slow the machine.
        found = wrong(deployed.diagnose(SendTestEvent(timeout_seconds=1, sleep=lambda _: function.wait())))
    assert set(found) == {"test event"}
    assert found["test event"].detail.startswith("no record of ")
    [invocation] = function.invocations
    assert invocation.attempts == 3  # Lambda's asynchronous invocation: the first and two retries
    assert claims(deployed) == []  # each failure released the claim for the retry
    [letter] = deployed.env.dead_letters()
    assert letter["body"]["requestContext"]["condition"] == "RetriesExhausted"
    assert letter["body"]["responsePayload"]["errorMessage"] == "the alert topic refused the alert"
    assert letter["body"]["requestPayload"]["source"] == "identity-center-guardrail.test"


def test_a_test_event_still_being_handled_at_the_timeout_says_so(deployed: Deployment) -> None:
    claimed, release = threading.Event(), threading.Event()
    handle = SyntheticEvents.handle

    def slow(self: SyntheticEvents, call: ApiCall) -> Alert:
        claimed.set()  # the function claimed the event before it handles it
        release.wait(30)
        return handle(self, call)

    # The doctor's wait lasts until the function has claimed the event, however slow the machine.
    waiting = SendTestEvent(timeout_seconds=0.5, sleep=lambda _: claimed.wait(30))
    with mock.patch.object(SyntheticEvents, "handle", slow), deployed.central.running():
        try:
            found = wrong(deployed.diagnose(waiting))
        finally:
            release.set()
    assert set(found) == {"test event"}
    assert "but had not finished with it after 0.5 s (INPROGRESS)" in found["test event"].detail
    assert "aws logs filter-log-events" in found["test event"].problems[0].fix


@pytest.mark.parametrize(
    ("method", "grant"),
    [
        (
            "put_event",
            "allow the caller events:PutEvents on the central bus arn:aws:events:us-east-1:222222222222:",
        ),
        (
            "claim",
            "allow the caller dynamodb:GetItem on the idempotency table identity-center-guardrail-idempotency",
        ),
    ],
)
def test_a_refused_test_event_call_names_what_to_allow(deployed: Deployment, method: str, grant: str) -> None:
    def refused(self: CentralReader, *args: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, method)

    with mock.patch.object(CentralReader, method, refused), deployed.central.running():
        found = wrong(deployed.diagnose(QUICK))
    assert set(found) == {"test event"}
    assert found["test event"].problems[0].fix.startswith(grant)


def test_the_emulated_bus_refuses_aws_sources_as_eventbridge_does(deployed: Deployment) -> None:
    """Why the test event has a source of its own: only AWS services put `aws.*` events."""
    events = deployed.env.central_client("events")
    entry = {
        "DetailType": "AWS API Call via CloudTrail",
        "Detail": "{}",
        "EventBusName": "identity-center-guardrail",
    }
    with deployed.central.running() as function:
        answer = events.put_events(Entries=[{**entry, "Source": "aws.sso"}, {**entry, "Source": "my.app"}])
    assert answer["FailedEntryCount"] == 1
    assert answer["Entries"][0]["ErrorCode"] == "NotAuthorizedForSourceException"
    assert "EventId" in answer["Entries"][1]
    assert function.invocations == []  # neither matches the central rule


def test_the_doctor_sends_the_test_event_with_a_configuration(
    deployed: Deployment, tmp_path: Path, capsys: Capture
) -> None:
    with deployed.central.running():
        code, out, err = run(
            capsys,
            "doctor",
            "--config",
            config_file(tmp_path),
            "--send-test-event",
            "--test-timeout",
            "30",
            "--json",
        )
    assert (code, err) == (0, "")
    last = json.loads(out)["checks"][-1]
    assert (last["check"], last["ok"]) == ("test event", True)
