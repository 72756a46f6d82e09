"""Each sample event's alert as every subscriber receives it: the email text, the JSON alert, the
chat notification, the Security Hub findings, and the findings' lifecycle when a violation ends."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import msgspec
import pytest

from emulator.environment import PROD_INSTANCE_ARN, EmulatedEnvironment
from emulator.organization import SECURITY_ACCOUNT_ID, administrator_client
from guardrail.adapters.chat import ChatPublisher
from guardrail.core.alert import Alert
from guardrail.core.channels.securityhub import LABELS, Importer, finding_id
from guardrail.core.policy import Exemption, Policy, policy_data
from guardrail.delivery import UndeliveredAlert
from guardrail.handlers import detect
from guardrail_cli.replay import LambdaContextStub, handler_environment
from tests.builders import NOW, SAMPLES, sample

INSTANCE_SAMPLES = sorted(p.stem for p in SAMPLES.glob("*.json") if "permission-set" not in p.stem)
IMPORTER = Importer(SECURITY_ACCOUNT_ID, "us-east-1")


@pytest.fixture
def world(tmp_path: Path, policy: Policy) -> Iterator[EmulatedEnvironment]:
    with EmulatedEnvironment() as env:
        yield env


def runtime_for(world: EmulatedEnvironment, tmp_path: Path, policy: Policy) -> detect.Runtime:
    policy_path = tmp_path / f"policy-{uuid.uuid4()}.json"
    policy_path.write_text(json.dumps(policy_data(policy)))
    variables = {
        **handler_environment(world, policy_path),
        "CHAT_TOPIC_ARN": world.chat_topic_arn,
        "SECURITY_HUB_ACCOUNT_ID": SECURITY_ACCOUNT_ID,
    }
    with mock.patch.dict(os.environ, variables):
        runtime = detect.build_runtime(clock=lambda: NOW)
    runtime.once.register(LambdaContextStub())  # type: ignore[arg-type]
    return runtime


def findings_in_hub(world: EmulatedEnvironment) -> dict[str, dict[str, Any]]:
    hub = boto3.client("securityhub", region_name="us-east-1")
    return {f["Id"]: f for f in hub.get_findings()["Findings"]}


@pytest.mark.parametrize("name", INSTANCE_SAMPLES)
def test_each_sample_alert_in_every_form(
    name: str, world: EmulatedEnvironment, tmp_path: Path, policy: Policy
) -> None:
    runtime = runtime_for(world, tmp_path, policy)
    event = sample(name)
    assert detect.process(event, runtime)["status"] == "alerted"
    (received,) = world.received_alerts()
    body, subject = received["body"], received["subject"]
    alert = Alert(subject, body, received["attributes"])

    # Email: a person's text holding what they act on.
    text = alert.email()
    assert text.startswith(subject + "\n")
    assert body["region"] in text
    assert body["account_id"] in text
    if body["account_name"]:
        assert body["account_name"] in text
    assert body["action"] in text or body["action_reason"][1:] in text
    for finding in body["findings"]:
        assert finding["rule"] in text
        assert finding["reason"][:80] in text
        assert "Fix:" in text
    assert (
        f"https://{body['region']}.console.aws.amazon.com/singlesignon/home?region={body['region']}" in text
    )
    assert f"cloudtrailv2/home?region={body['region']}#/events/{body['event_id']}" in text
    if body["findings"]:
        assert "exemptions:" in text
    assert "{" not in text.split("exemptions:")[0]  # no JSON in what a person reads

    # Chat: every field of a custom notification, in the instance's thread.
    (chat,) = world.received_chat()
    assert (chat["version"], chat["source"]) == ("1.0", "custom")
    content, metadata = chat["content"], chat["metadata"]
    assert content["textType"] == "client-markdown"
    assert content["title"].endswith(subject)
    assert content["description"]
    assert isinstance(content["nextSteps"], list)
    assert subject.split("]")[0].lstrip("[") in content["keywords"]  # the same severity word
    assert metadata["threadId"] == (body["instance_arn"] or f"{body['account_id']}/{body['region']}")
    assert metadata["summary"] == subject
    assert metadata["eventType"] == body["event_name"]

    # Security Hub: one finding per rule that fired, with every field ASFF requires.
    hub = findings_in_hub(world)
    assert set(hub) == {finding_id(body, f["rule"]) for f in body["findings"]}
    for finding in body["findings"]:
        asff = hub[finding_id(body, finding["rule"])]
        for field in (
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
            "Severity",
            "Types",
        ):
            assert asff[field], field
        assert asff["ProductArn"] == IMPORTER.product_arn
        assert asff["AwsAccountId"] == SECURITY_ACCOUNT_ID
        assert asff["Severity"]["Label"] == LABELS[finding["severity"]]  # "info" is INFORMATIONAL
        assert asff["Resources"][0]["Region"] == body["region"]
        assert asff["Resources"][0]["Details"]["Other"]["account_id"] == body["account_id"]
        assert asff["Workflow"] == {"Status": "NEW"}
        assert asff["Compliance"] == {"Status": "FAILED"}


def test_a_deleted_instance_resolves_its_findings(
    world: EmulatedEnvironment, tmp_path: Path, policy: Policy
) -> None:
    runtime = runtime_for(world, tmp_path, policy)
    create = sample("create-instance-console-success")  # Prod: account-not-approved, missing-justification
    detect.process(create, runtime)
    delete = sample("delete-instance")
    for where, value in (("account", "444444444444"), ("region", "eu-west-1")):
        delete[where] = value
    delete["detail"].update(
        recipientAccountId="444444444444", awsRegion="eu-west-1", eventID=str(uuid.uuid4())
    )
    delete["detail"]["requestParameters"]["instanceArn"] = PROD_INSTANCE_ARN
    administrator_client("444444444444", "sso-admin", region="eu-west-1").delete_instance(
        InstanceArn=PROD_INSTANCE_ARN
    )
    detect.process(delete, runtime)
    hub = findings_in_hub(world)
    assert {f["Workflow"]["Status"] for f in hub.values()} == {"RESOLVED"}
    assert {f["RecordState"] for f in hub.values()} == {"ARCHIVED"}
    assert {f["Note"]["Text"] for f in hub.values()} == {"The instance no longer exists."}


def test_an_exemption_suppresses_the_finding_with_its_ticket(
    world: EmulatedEnvironment, tmp_path: Path, policy: Policy
) -> None:
    detect.process(sample("create-instance-console-success"), runtime_for(world, tmp_path, policy))
    exemption = Exemption(
        instance_arn=PROD_INSTANCE_ARN,
        expires=NOW.date().replace(year=NOW.year + 1),
        ticket="SEC-77",
        reason="analytics pilot",
        rules=("account-not-approved",),
    )
    exempted = msgspec.structs.replace(policy, exemptions=(*policy.exemptions, exemption))
    again = sample("create-instance-console-success")
    again["detail"]["eventID"] = str(uuid.uuid4())
    detect.process(again, runtime_for(world, tmp_path, exempted))
    hub = findings_in_hub(world)
    suppressed = hub[finding_id({"instance_arn": PROD_INSTANCE_ARN}, "account-not-approved")]
    assert suppressed["Workflow"]["Status"] == "SUPPRESSED"
    assert suppressed["Note"]["Text"].startswith("Exempted by SEC-77")
    still = hub[finding_id({"instance_arn": PROD_INSTANCE_ARN}, "missing-justification")]
    assert still["Workflow"]["Status"] == "NEW"


def test_a_broken_channel_blocks_no_other_and_its_retry_sends_it_alone(
    world: EmulatedEnvironment, tmp_path: Path, policy: Policy
) -> None:
    runtime = runtime_for(world, tmp_path, policy)
    event = sample("create-instance-console-success")
    with (
        mock.patch.object(ChatPublisher, "deliver", side_effect=RuntimeError("chat is down")),
        pytest.raises(UndeliveredAlert, match=r"^chat: "),
    ):
        detect.process(event, runtime)
    assert len(world.received_alerts()) == 1  # the email and JSON subscribers got it
    assert len(findings_in_hub(world)) == 2  # so did Security Hub
    assert world.received_chat() == []
    # Lambda retries the invocation: only chat is sent, once.
    assert detect.process(event, runtime)["status"] == "alerted"
    assert world.received_alerts() == []
    assert len(world.received_chat()) == 1
