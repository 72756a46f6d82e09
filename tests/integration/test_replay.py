"""`guardrail replay` over an organization trail's folder, on the embedded emulation.

The folder is what `aws s3 sync` of an organization trail gives: gzipped files in the AWSLogs
layout, records of many services, a few instance calls among them, a digest, and here one
corrupt file. Checked: the counts, the alerts, the exit status, and that `--json` prints JSON
only.
"""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from emulator.environment import PROD_INSTANCE_ARN, SANDBOX_INSTANCE_ARN
from emulator.trail import TrailLayout, TrailWritten, write_organization_trail
from guardrail_cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "events"
BACKGROUND = 3_000
NEW_SANDBOX_INSTANCE = "arn:aws:sso:::instance/ssoins-5a4db0b5a4db0b01"
OUTSIDE_INSTANCE = "arn:aws:sso:::instance/ssoins-0e7a1de0e7a1de01"
Capture = pytest.CaptureFixture[str]


def sample_record(name: str, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))["detail"]
    record.update(changes)
    return record


def trial_request(name: str, created: datetime) -> dict[str, Any]:
    """A CreateInstance request that the example policy approves in Sandbox, dated near ``created``."""
    expires = (created + timedelta(days=30)).date().isoformat()
    return {
        "name": name,
        "tags": [
            {"key": "purpose", "value": "trial"},
            {"key": "owner", "value": "bob@example.com"},
            {"key": "expires", "value": expires},
        ],
    }


def instance_records(now: datetime) -> dict[str, Mapping[str, Any]]:
    """The instance calls hidden in the trail, by what they test."""
    when = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        # Prod creates the instance the emulation already holds: not approved there.
        "prod": sample_record("create-instance-console-success", eventTime=when),
        # Bob's own new instance in Sandbox: the emulation's Sandbox instance must give way.
        "sandbox": sample_record(
            "create-instance-console-success",
            eventID="0b0b0b0b-0000-4000-8000-000000000001",
            eventTime=when,
            recipientAccountId="333333333333",
            awsRegion="eu-central-1",
            requestParameters=trial_request("bobs-own-trial", now),
            responseElements={"instanceArn": NEW_SANDBOX_INSTANCE},
        ),
        # An account the emulated organization does not know.
        "outside": sample_record(
            "create-instance-console-success",
            eventID="0e0e0e0e-0000-4000-8000-000000000002",
            eventTime=when,
            recipientAccountId="777777777777",
            responseElements={"instanceArn": OUTSIDE_INSTANCE},
        ),
        "delete": sample_record("delete-instance", eventTime=when),
    }


def malformed_record(now: datetime) -> dict[str, Any]:
    """An instance call the rules deliver but the function cannot use: it is rejected."""
    return sample_record(
        "create-instance-console-success",
        eventID="0bad0bad-0000-4000-8000-000000000003",
        eventTime=(now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        responseElements={"instanceArn": 12345},
    )


def write_trail(root: Path, records: list[Mapping[str, Any]], *, corrupt: bool) -> TrailWritten:
    layout = TrailLayout(accounts=("111111111111", "333333333333", "444444444444"))
    written = write_organization_trail(
        root, records=BACKGROUND, instance_records=records, records_per_file=200, layout=layout
    )
    if corrupt:  # a copy of a log cut short, as an interrupted download leaves it
        first = written.files[0]
        first.with_name("111111111111_CloudTrail_us-east-1_20261102T2355Z_PARTIAL.json.gz").write_bytes(
            first.read_bytes()[:300]
        )
    return written


@pytest.fixture(scope="module")
def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory, now: datetime) -> tuple[Path, TrailWritten]:
    """An organization trail with the instance calls above, a duplicate, a malformed one and a corrupt file."""
    root = tmp_path_factory.mktemp("trail")
    records = [*instance_records(now).values(), malformed_record(now)]
    written = write_trail(root, records, corrupt=True)
    # The same record delivered twice (the organization trail and an account's own trail).
    duplicate = root / "AWSLogs" / "444444444444" / "CloudTrail" / "eu-west-1" / "2026" / "11" / "02"
    duplicate.mkdir(parents=True)
    (duplicate / "444444444444_CloudTrail_eu-west-1_20261102T0915Z_OWNTRAIL.json.gz").write_bytes(
        gzip.compress(json.dumps({"Records": [instance_records(now)["prod"]]}).encode())
    )
    return root, written


def run(capsys: Capture, *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_an_organization_trail_as_json(capsys: Capture, trail: tuple[Path, TrailWritten]) -> None:
    root, written = trail
    code, out, err = run(capsys, "replay", root, "--json")

    assert code == 1  # one event rejected, one file unreadable
    lines = [json.loads(line) for line in out.splitlines()]  # standard output is JSON only
    assert len(lines) == 6
    by_id = {(line["event_id"], line["file"]): line for line in lines}
    assert len(by_id) == 6
    statuses = sorted(line["status"] for line in lines)
    assert statuses == ["alerted"] * 4 + ["duplicate", "rejected"]

    alerted = {line["body"]["account_id"]: line for line in lines if line["status"] == "alerted"}
    assert alerted.keys() == {"444444444444", "333333333333", "777777777777"}
    prod = next(
        line
        for line in lines
        if line["status"] == "alerted"
        and line["body"]["event_name"] == "CreateInstance"
        and line["body"]["account_id"] == "444444444444"
    )
    assert prod["body"]["instance_arn"] == PROD_INSTANCE_ARN
    assert {f["rule"] for f in prod["body"]["findings"]} == {"account-not-approved", "missing-justification"}
    assert prod["attributes"]["verdict"] == "violation"
    assert prod["file"].endswith(".json.gz")
    assert prod["position"].startswith("Records[")
    rejected = next(line for line in lines if line["status"] == "rejected")
    assert rejected["event_id"] == "0bad0bad-0000-4000-8000-000000000003"
    assert "responseElements.instanceArn" in rejected["reason"]
    assert rejected["body"] is None

    # Standard error: the corrupt file in one line, then the summary; nothing else.
    err_lines = err.splitlines()
    problems = [line for line in err_lines if line.startswith("guardrail replay: ")]
    assert len(problems) == 1
    assert "PARTIAL.json.gz: truncated" in problems[0]
    records = written.records + 1  # the duplicate's own file
    assert err_lines[-1] == (
        f"{len(written.files) + 2:,} files, {records:,} records: {records - 6:,} skipped (not matched by "
        "the deployed rules), 6 instance events: 4 alerted (1 with facts missing), 0 nothing new, 1 duplicates, "
        "1 rejected, 0 failed; "
        "1 could not be read (above)"
    )


def test_the_users_own_instance_is_judged_fully(capsys: Capture, trail: tuple[Path, TrailWritten]) -> None:
    root, _ = trail
    _, out, _ = run(capsys, "replay", root, "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    sandbox = next(line for line in lines if line["event_id"] == "0b0b0b0b-0000-4000-8000-000000000001")
    body = sandbox["body"]
    # Evaluated fully: the instance was read (name and tags from the request), nothing is missing,
    # and the emulation's own Sandbox instance did not make it look like a second one.
    assert body["verdict"] == "compliant", body["findings"]
    assert body["missing_facts"] == []
    assert body["undetermined"] == []
    assert body["instance"]["name"] == "bobs-own-trial"
    assert body["instance"]["tags"]["purpose"] == "trial"
    assert body["region"] == "eu-central-1"
    assert any(SANDBOX_INSTANCE_ARN in note and "gave way" in note for note in sandbox["notes"])

    outside = next(line for line in lines if line["event_id"] == "0e0e0e0e-0000-4000-8000-000000000002")
    assert outside["notes"] == [
        "account 777777777777 is not in the emulated organization, so its facts are missing "
        "(replay --live or --org judges on your own organization)"
    ]
    assert outside["body"]["verdict"] == "incomplete"
    assert {m["fact"] for m in outside["body"]["missing_facts"]} >= {"account", "instance"}


def test_a_clean_trail_as_text_exits_0(capsys: Capture, tmp_path: Path, now: datetime) -> None:
    records = instance_records(now)
    written = write_trail(tmp_path, [records["prod"], records["delete"]], corrupt=False)
    code, out, err = run(capsys, "replay", tmp_path / "AWSLogs")
    assert code == 0
    assert err == ""  # no progress line off a terminal, nothing to complain about
    headers = [line for line in out.splitlines() if line.startswith("== ")]
    assert len(headers) == 2
    # In time order (both at one time, then by eventID), not in path order: account
    # 333333333333's folder comes before 444444444444's.
    assert headers[0].endswith("CreateInstance alerted")
    assert headers[1].endswith("DeleteInstance alerted")
    assert "[HIGH] Account instance created in 444444444444" in out
    assert "[INFO] Account instance deleted in 333333333333" in out
    assert out.splitlines()[-1] == (
        f"{len(written.files):,} files, {written.records:,} records: {written.records - 2:,} skipped (not "
        "matched by the deployed rules), 2 instance events: 2 alerted, 0 nothing new, 0 duplicates, 0 rejected, "
        "0 failed"
    )


SAMPLE_FILES = sorted(SAMPLES.glob("*.json"))
# The permission-set call is not an instance event: skipped.
INSTANCE_SAMPLES = [p for p in SAMPLE_FILES if "not-an-instance-event" not in p.name]


def test_the_sample_events_still_replay(capsys: Capture) -> None:
    code, out, err = run(capsys, "replay")
    assert code == 0
    assert err == ""
    assert out.count("\n== ") + out.startswith("== ") == len(INSTANCE_SAMPLES)
    assert out.splitlines()[-1].startswith(
        f"{len(SAMPLE_FILES)} files, {len(SAMPLE_FILES)} records: {len(SAMPLE_FILES) - len(INSTANCE_SAMPLES)} skipped"
    )


def test_missing_paths_do_not_stop_the_others(capsys: Capture, tmp_path: Path) -> None:
    event = copy.deepcopy(json.loads((SAMPLES / "update-instance.json").read_text()))
    good = tmp_path / "event.json"
    good.write_text(json.dumps(event))
    code, out, err = run(capsys, "replay", tmp_path / "absent", good, "--json")
    assert code == 1
    assert [json.loads(line)["status"] for line in out.splitlines()] == ["alerted"]
    assert err.splitlines()[0] == f"guardrail replay: {tmp_path / 'absent'}: no such file or folder"


@pytest.mark.parametrize("option", [["--config", "config/guardrail.yaml"], ["--member-role", "Audit"]])
def test_live_options_without_live_are_a_usage_error(capsys: Capture, option: list[str]) -> None:
    code, out, err = run(capsys, "replay", *option)
    assert code == 2
    assert out == ""
    assert err == f"guardrail replay: {option[0]} is for --live\n"


def test_a_failed_invocation_is_counted_and_powertools_stays_quiet(
    recwarn: pytest.WarningsRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An invocation that fails before recording a metric makes Powertools warn that there was
    none to publish, which means nothing locally."""
    from guardrail.core.policy_file import load_policy
    from guardrail.handlers import detect
    from guardrail_cli.emulated import EmulatedRunner

    def fail(event: Any, runtime: Any) -> dict[str, Any]:
        raise ConnectionError("the network went away")

    monkeypatch.setattr(detect, "process", fail)
    event = json.loads((SAMPLES / "delete-instance.json").read_text())
    with EmulatedRunner(load_policy(ROOT / "policy" / "policy.yaml")) as runner:
        outcome = runner.handle(event)
    assert outcome.status == "failed"
    assert outcome.reason == "invocation failed: ConnectionError: the network went away"
    assert not [w for w in recwarn if "No application metrics" in str(w.message)]


def _blocks(out: str) -> dict[str, str]:
    """What `--show` printed, by sample file name."""
    blocks: dict[str, str] = {}
    for block in out.split("== ")[1:]:
        where, _, rest = block.partition("\n")
        blocks[Path(where.split(":", 1)[0]).name] = rest
    return blocks


def test_show_email_prints_what_an_email_subscriber_reads(capsys: Capture) -> None:
    code, out, err = run(capsys, "replay", "--show", "email")
    assert code == 0
    # The summary leaves standard output to the forms.
    assert err.splitlines()[-1].startswith(f"{len(SAMPLE_FILES)} files, {len(SAMPLE_FILES)} records")
    email = _blocks(out)["create-instance-console-success.json"]
    assert email.startswith("Subject: [HIGH] Account instance created in 444444444444 Prod Analytics")
    for text in (
        "Account:   Prod Analytics (444444444444), OU Workloads/Prod",
        "Region:    eu-west-1",
        "account-not-approved [high]",
        "Why:  Account 444444444444 in OU path 'Workloads/Prod' is not approved",
        "Fix:  Delete the instance, or approve the account or its OU in the policy.",
        "What happens next",
        "exemptions:",
        "https://eu-west-1.console.aws.amazon.com/singlesignon/home?region=eu-west-1",
        "#/events/84f3608f-f4b7-5200-8acd-e415c806d505",
    ):
        assert text in email, text


def test_show_chat_prints_each_custom_notification(capsys: Capture) -> None:
    code, out, _ = run(capsys, "replay", "--show", "chat")
    assert code == 0
    blocks = _blocks(out)
    assert len(blocks) == len(INSTANCE_SAMPLES)
    for block in blocks.values():
        notification = json.loads(block)
        assert (notification["version"], notification["source"]) == ("1.0", "custom")
        assert notification["content"]["textType"] == "client-markdown"
        assert notification["content"]["title"]
        assert notification["content"]["description"]
        assert notification["metadata"]["threadId"]
    prod = json.loads(blocks["create-instance-console-success.json"])
    assert prod["metadata"]["threadId"] == PROD_INSTANCE_ARN  # later alerts about it join this thread
    assert prod["content"]["title"].startswith(":red_circle: [HIGH] ")  # the email's severity word


REQUIRED_ASFF = {
    "SchemaVersion",
    "Id",
    "ProductArn",
    "GeneratorId",
    "AwsAccountId",
    "CreatedAt",
    "UpdatedAt",
    "Title",
    "Description",
    "Resources",
}


def test_show_securityhub_prints_the_findings_and_workflow_updates(capsys: Capture) -> None:
    code, out, _ = run(capsys, "replay", "--show", "securityhub")
    assert code == 0
    blocks = _blocks(out)
    created = json.loads(blocks["create-instance-console-success.json"])
    found = created["BatchImportFindings"]["Findings"]
    failed = [f for f in found if (f.get("Compliance") or {}).get("Status") == "FAILED"]
    assert [f["ProductFields"]["guardrail/rule"] for f in failed] == [
        "account-not-approved",
        "missing-justification",
    ]
    for finding in found:
        assert set(finding) >= REQUIRED_ASFF
        assert finding["AwsAccountId"] == "222222222222"  # the central account imports
        assert finding["Resources"][0]["Id"] == PROD_INSTANCE_ARN
    assert created["BatchUpdateFindings"] == []
    compliant = json.loads(blocks["create-instance-cli-trial-tagged.json"])
    compliant_failed = [
        f
        for f in compliant["BatchImportFindings"]["Findings"]
        if (f.get("Compliance") or {}).get("Status") == "FAILED"
    ]
    assert compliant_failed == []


def test_json_and_another_form_are_a_usage_error(capsys: Capture) -> None:
    code, out, err = run(capsys, "replay", "--json", "--show", "email")
    assert (code, out) == (2, "")
    assert err == "guardrail replay: --json is --show json; it cannot go with --show email\n"
