"""Each sample event's alert as every subscriber receives it: the email text, the JSON alert, the
chat notification, the Security Hub findings, and the findings' lifecycle when a violation ends;
who made the call (a CloudFormation stack, a product provider with delegated access) and the
order of the findings, the same in every channel."""

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
from emulator.function_environment import handler_environment
from emulator.organization import OUTSIDE_ACCOUNT_ID, SECURITY_ACCOUNT_ID, administrator_client
from guardrail.channels.chat import ChatPublisher
from guardrail.channels.delivery import UndeliveredAlert
from guardrail.channels.securityhub import FACTS_MISSING, LABELS, Importer, finding_id
from guardrail.channels.securityhub import findings as securityhub_findings
from guardrail.core.alert import Alert
from guardrail.core.catalogue import RULES_BY_ID
from guardrail.core.policy import Exemption, Mode, Policy, RuleSettings, policy_data
from guardrail.core.render.context import STACK_FIX, judges_state
from guardrail.handlers import detect
from guardrail_cli.replay import LambdaContextStub
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
    # An exemption is offered only for what an existing instance is.
    keepable = body["instance"] is not None and any(judges_state(f["rule"]) for f in body["findings"])
    assert ("exemptions:" in text) is keepable
    assert "{" not in text.split("exemptions:")[0]  # no JSON in what a person reads

    # Chat: every field of a custom notification, in the instance's thread.
    (chat,) = world.received_chat()
    assert (chat["version"], chat["source"]) == ("1.0", "custom")
    content, metadata = chat["content"], chat["metadata"]
    assert content["textType"] == "client-markdown"
    assert content["title"].endswith(subject)  # nothing in a sample's subject is chat markup
    assert content["description"]
    assert isinstance(content["nextSteps"], list)
    assert subject.split("]")[0].lstrip("[") in content["keywords"]  # the same severity word
    assert metadata["threadId"] == (body["instance_arn"] or f"{body['account_id']}/{body['region']}")
    assert metadata["summary"] == subject
    assert metadata["eventType"] == body["event_name"]

    # Security Hub: one finding per rule that fired, with every field ASFF requires; the one for
    # missing facts is there, archived, as every fact was read.
    hub = findings_in_hub(world)
    active = {i for i, f in hub.items() if f["RecordState"] == "ACTIVE"}
    assert active == {finding_id(body, f["rule"]) for f in body["findings"]}
    assert hub[finding_id(body, FACTS_MISSING)]["RecordState"] == "ARCHIVED"
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
        # The title is this instance's (or attempt's), in this account: not the rule's text alone.
        assert asff["Title"].startswith(f"{finding['rule']}: ")
        assert body["account_id"] in asff["Title"]
        assert (body["instance_arn"] or "").rsplit("/", 1)[-1] in asff["Title"]
        # A compliance status only for what an existing instance is; a call is behaviour.
        if body["instance"] is not None and judges_state(finding["rule"]):
            assert asff["Compliance"] == {"Status": "FAILED"}
        else:
            assert "Compliance" not in asff


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
    resolved = {i: f for i, f in hub.items() if not i.endswith(f"/{FACTS_MISSING}")}
    assert set(resolved) == {
        finding_id({"instance_arn": PROD_INSTANCE_ARN}, rule)
        for rule in ("account-not-approved", "missing-justification")
    }
    assert {f["Workflow"]["Status"] for f in resolved.values()} == {"RESOLVED"}
    assert {f["RecordState"] for f in hub.values()} == {"ARCHIVED"}
    assert {f["Note"]["Text"] for f in resolved.values()} == {"The instance no longer exists."}
    assert {f["Compliance"]["Status"] for f in resolved.values()} == {"PASSED"}


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
    assert len(findings_in_hub(world)) == 3  # so did Security Hub (two findings, facts-missing archived)
    assert world.received_chat() == []
    # Lambda retries the invocation: only chat is sent, once.
    assert detect.process(event, runtime)["status"] == "alerted"
    assert world.received_alerts() == []
    assert len(world.received_chat()) == 1


# -- who made the call, in every channel ----------------------------------------------------------


def delivered(
    world: EmulatedEnvironment, tmp_path: Path, policy: Policy, event: dict[str, Any]
) -> tuple[dict[str, Any], str, dict[str, Any], dict[str, dict[str, Any]]]:
    """The one alert an event gives, as the JSON body, the email, the chat notification and the
    Security Hub findings (by id) received."""
    detect.process(event, runtime_for(world, tmp_path, policy))
    (received,) = world.received_alerts()
    (chat,) = world.received_chat()
    email = Alert(received["subject"], received["body"], received["attributes"]).email()
    return received["body"], email, chat, findings_in_hub(world)


def test_a_stack_made_instance_is_said_to_belong_to_its_stack_in_every_channel(
    world: EmulatedEnvironment, tmp_path: Path, policy: Policy
) -> None:
    body, email, chat, hub = delivered(world, tmp_path, policy, sample("create-instance-from-cloudformation"))

    assert body["actor"]["invoked_by"] == "cloudformation.amazonaws.com"
    assert (
        "  Through:   cloudformation.amazonaws.com, on the caller's behalf (a CloudFormation stack)" in email
    )
    assert f"  {STACK_FIX}" in email.split("What happens next")[0]  # with the fixes
    content = chat["content"]
    assert "*Through* cloudformation.amazonaws.com" in content["description"]
    assert content["nextSteps"][0] == STACK_FIX
    for finding in body["findings"]:
        asff = hub[finding_id(body, finding["rule"])]
        assert STACK_FIX in asff["Remediation"]["Recommendation"]["Text"]
        assert asff["ProductFields"]["guardrail/invoked_by"] == "cloudformation.amazonaws.com"
        assert "through: cloudformation.amazonaws.com" in asff["Description"]


def test_deleting_a_stack_made_instance_says_the_stack_drifts(
    world: EmulatedEnvironment, tmp_path: Path, policy: Policy
) -> None:
    enforcing = msgspec.structs.replace(
        policy,
        mode=Mode.ENFORCE,
        enforcement=msgspec.structs.replace(policy.enforcement, grace_period_hours=0),
        rules={**policy.rules, "account-not-approved": RuleSettings(action="remediate")},
    )
    body, email, chat, _ = delivered(
        world, tmp_path, enforcing, sample("create-instance-from-cloudformation")
    )

    assert body["remediation"]["status"] == "deleted"
    next_part = email.split("What happens next\n")[1].split("\n\n")[0]
    assert "belonged to a CloudFormation stack: the stack has drifted" in next_part
    closing = chat["content"]["description"].split("*Action* ")[1]
    assert "the stack has drifted" in closing
    assert "To keep it" not in email  # nothing is left to keep


def test_a_provider_acting_with_delegated_access_leads_the_actor_in_every_channel(
    world: EmulatedEnvironment, tmp_path: Path, policy: Policy
) -> None:
    body, email, chat, hub = delivered(
        world, tmp_path, policy, sample("create-instance-by-delegated-provider")
    )

    assert body["actor"]["invoked_by_delegate"] == "888888888888"
    assert [f["rule"] for f in body["findings"]] == ["delegated-access"]
    who = email.split("Who and when\n")[1].split("\n\n")[0].splitlines()
    assert who[1].startswith("  Provider:  account 888888888888, a product provider outside the organization")
    assert who[2].startswith("  Caller:    ")
    description = chat["content"]["description"].splitlines()
    provider = next(
        i for i, line in enumerate(description) if line.startswith("*Provider* account 888888888888")
    )
    assert description[provider + 1].startswith("*Caller* ")
    asff = hub[finding_id(body, "delegated-access")]
    assert asff["ProductFields"]["guardrail/invoked_by_delegate"] == "888888888888"
    assert asff["Types"] == ["Unusual Behaviors/User"]  # what a caller did, not what the instance is
    assert "Compliance" not in asff


def test_a_trusted_provider_raises_nothing(
    world: EmulatedEnvironment, tmp_path: Path, policy: Policy
) -> None:
    trusting = msgspec.structs.replace(policy, trusted_providers=("888888888888",))
    body, email, _, _ = delivered(world, tmp_path, trusting, sample("create-instance-by-delegated-provider"))
    assert body["verdict"] == "compliant"
    assert "  Provider:  account 888888888888" in email  # still said: who acted is a fact


# -- the most severe finding leads, in every channel ----------------------------------------------


def test_every_channel_lists_the_findings_by_severity_then_catalogue_order(
    world: EmulatedEnvironment, tmp_path: Path, policy: Policy
) -> None:
    """The root user creates an instance in an unapproved account: two highs, then a medium.
    Catalogue order alone would put root-user after the medium missing-justification; a channel
    that sorted by rule id would too."""
    event = sample("create-instance-console-success")
    event["detail"]["userIdentity"] = {
        "type": "Root",
        "arn": "arn:aws:iam::444444444444:root",
        "accountId": "444444444444",
    }
    body, email, chat, _ = delivered(world, tmp_path, policy, event)

    expected = ["account-not-approved", "root-user", "missing-justification"]
    assert [(f["rule"], f["severity"]) for f in body["findings"]] == list(
        zip(expected, ["high", "high", "medium"], strict=True)
    )
    email_order = [
        line.split(". ", 1)[1].split(" [")[0]
        for line in email.splitlines()
        if line[:5] in ("  1. ", "  2. ", "  3. ")
    ]
    assert email_order == expected
    description = chat["content"]["description"].splitlines()
    chat_order = [line.split("*")[1] for line in description if line.startswith("• *")]
    assert chat_order == expected
    assert chat["content"]["keywords"][-3:] == expected
    assert chat["content"]["nextSteps"][:3] == [RULES_BY_ID[rule].fix for rule in expected]
    imported = securityhub_findings(body, IMPORTER, "2026-11-10T12:00:00Z")
    assert [
        f["ProductFields"]["guardrail/rule"] for f in imported if f["RecordState"] == "ACTIVE"
    ] == expected
    assert email.splitlines()[0].endswith(": account-not-approved +2")  # the subject


# -- an attempt made nothing: nothing to keep, no compliance of a resource ------------------------


def test_a_failed_attempt_offers_no_exemption_and_fails_no_resource(
    world: EmulatedEnvironment, tmp_path: Path, policy: Policy
) -> None:
    body, email, chat, hub = delivered(world, tmp_path, policy, sample("create-instance-denied-by-scp"))

    assert body["outcome"] == "failed"
    assert body["findings"]
    assert "To keep it" not in email
    assert "exemption" not in email.lower()
    assert "exemption" not in json.dumps(chat).lower()
    for finding in body["findings"]:
        asff = hub[finding_id(body, finding["rule"])]
        assert "Compliance" not in asff
        (resource,) = asff["Resources"]
        assert (resource["Type"], resource["Id"]) == ("AwsAccount", f"AWS::::Account:{body['account_id']}")
        assert asff["Title"] == (
            f"{finding['rule']}: CreateInstance attempt in account Prod Analytics (444444444444), eu-west-1"
        )


# -- Security Hub: a title per instance; missing facts are a finding too --------------------------


def test_each_instance_has_a_title_of_its_own(
    world: EmulatedEnvironment, tmp_path: Path, policy: Policy
) -> None:
    unapproved = msgspec.structs.replace(
        policy, approved=msgspec.structs.replace(policy.approved, organizational_units=())
    )
    runtime = runtime_for(world, tmp_path, unapproved)
    for name in ("create-instance-console-success", "create-instance-cli-trial-tagged"):
        detect.process(sample(name), runtime)
    titles = sorted(
        f["Title"]
        for f in findings_in_hub(world).values()
        if f["GeneratorId"].endswith("/account-not-approved")
    )
    assert titles == [
        "account-not-approved: instance analytics-team (ssoins-7a1c2e9b4d5f6a80) in account Prod Analytics "
        "(444444444444), eu-west-1",
        "account-not-approved: instance q-business-trial (ssoins-3e4f5a6b7c8d9e0f) in account Sandbox Bob "
        "(333333333333), us-east-1",
    ]


def test_missing_facts_are_a_finding_that_says_so(
    world: EmulatedEnvironment, tmp_path: Path, policy: Policy
) -> None:
    """An event from an account outside the organization: its facts cannot be read."""
    event = sample("create-instance-console-success")
    event["account"] = event["detail"]["recipientAccountId"] = OUTSIDE_ACCOUNT_ID
    body, _, _, hub = delivered(world, tmp_path, policy, event)

    assert body["verdict"] == "incomplete"
    asff = hub[finding_id(body, FACTS_MISSING)]
    assert asff["RecordState"] == "ACTIVE"
    assert asff["Compliance"] == {"Status": "NOT_AVAILABLE"}
    assert asff["Severity"]["Label"] == "MEDIUM"
    assert asff["Title"].startswith(
        f"Facts missing: instance ssoins-7a1c2e9b4d5f6a80 in account {OUTSIDE_ACCOUNT_ID}"
    )
    for undetermined in body["undetermined"]:
        assert f"{undetermined['rule']} (needs {undetermined['missing_fact']})" in asff["Description"]
