"""Hostile instance content through the real handler: whatever a creator puts in, one alert goes out.

Identity Center lets whoever creates an instance give it 75 tags, keys of up to 128 and values of up
to 256 characters of any script. Such tags used to make an alert too large for SNS (a CJK character
was escaped to 6 bytes, and the tags were in the message twice), so every retry failed and the
event ended in the dead-letter queue with no alert; in enforce mode the instance was deleted with
no alert describing it. Here the emulated SNS enforces the real limit, which moto does not (it
counts the message's characters and ignores the attributes): 262,144 bytes of message and message
attributes, in UTF-8.

Deleting the organization instance, the act an insider could least afford to go unnoticed, must
page as well: it is checked here end to end, on the facts the function really gathers for it.

And whatever text a creator may give, at the worst AWS allows (line breaks in OU and application
names, chat markup in an account name, U+2028 in a tag value), no channel shows a line, mention
or link the guardrail did not write.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.sns.exceptions import InvalidParameterValue
from moto.sns.models import SNSBackend

from emulator.environment import ORGANIZATION_INSTANCE_ARN, EmulatedEnvironment
from emulator.organization import MANAGEMENT_ACCOUNT_ID, add_member_accounts, administrator_client
from guardrail.core.alert import SNS_MESSAGE_LIMIT, Alert
from guardrail.core.policy import Mode, policy_data
from guardrail.core.policy_file import load_policy
from guardrail.handlers import detect
from tests.reliability.conftest import EXAMPLE_POLICY, REMEDIATE_RULE, fresh, invoke_like_lambda

pytestmark = pytest.mark.usefixtures("clean")

MAX_TAGS, MAX_KEY, MAX_VALUE = 75, 128, 256
CJK = "漢"  # 3 bytes in UTF-8; 6 as the ASCII escape \u6f22
LETTER4 = "\U00020000"  # a CJK letter outside the BMP: 4 bytes in UTF-8, 12 as escapes


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))


@pytest.fixture
def sns_limit() -> Iterator[list[int]]:
    """SNS as AWS runs it: a message whose bytes, attributes included, exceed the limit is refused.

    Yields the size of each message published, as SNS counts it.
    """
    published: list[int] = []
    original = SNSBackend.publish

    def publish(self: SNSBackend, message: str, *args: Any, **kwargs: Any) -> str:
        attributes = kwargs.get("message_attributes") or {}
        size = _utf8(message) + sum(
            _utf8(name) + _utf8(attribute["Type"]) + _utf8(attribute["Value"])
            for name, attribute in attributes.items()
        )
        if size > SNS_MESSAGE_LIMIT:
            raise InvalidParameterValue("Invalid parameter: Message too long")
        published.append(size)
        return original(self, message, *args, **kwargs)

    with mock.patch.object(SNSBackend, "publish", publish):
        yield published


def hostile_tags(char: str) -> dict[str, str]:
    """As many tags as allowed, each as long as allowed, and no owner tag."""
    tags = {"purpose": char * MAX_VALUE}
    for index in range(MAX_TAGS - len(tags)):
        tags[f"{index:02d}" + char * (MAX_KEY - 2)] = char * MAX_VALUE
    return tags


def create_hostile_instance(world: EmulatedEnvironment, char: str) -> tuple[str, dict[str, Any]]:
    """A new member account creates an instance with the hostile tags; return its ARN and the event."""
    [account] = world.add_member_accounts(1, ou_path="Hostile")
    tags = hostile_tags(char)
    sso = administrator_client(account, "sso-admin", region="us-east-1")
    arn = sso.create_instance(
        Name="hostile", Tags=[{"Key": key, "Value": value} for key, value in tags.items()]
    )["InstanceArn"]
    event = fresh(
        "create-instance-cli-trial-tagged",
        recipientAccountId=account,
        requestParameters={"name": "hostile", "tags": [{"key": k, "value": v} for k, v in tags.items()]},
        responseElements={"instanceArn": arn},
    )
    # CloudTrail delivers it through EventBridge, whose events hold at most 256 KB.
    assert _utf8(json.dumps(event, ensure_ascii=False)) < 256 * 1024
    return arn, event


def test_the_emulated_sns_refuses_what_aws_refuses(world: EmulatedEnvironment, sns_limit: list[int]) -> None:
    """A check of the test itself: moto alone would take both refused messages."""
    sns = boto3.client("sns", region_name=world.region)
    topic = sns.create_topic(Name=f"size-check-{uuid.uuid4().hex[:8]}")["TopicArn"]  # no subscriber
    with pytest.raises(ClientError, match="Message too long"):
        sns.publish(TopicArn=topic, Message=CJK * 90_000)  # 90,000 characters, 270,000 bytes
    attributes: Any = {"a": {"DataType": "String", "StringValue": "x" * 2_000}}  # 1 + 6 + 2,000 bytes
    with pytest.raises(ClientError, match="Message too long"):
        sns.publish(TopicArn=topic, Message="x" * (SNS_MESSAGE_LIMIT - 2_006), MessageAttributes=attributes)
    sns.publish(TopicArn=topic, Message="x" * (SNS_MESSAGE_LIMIT - 2_007), MessageAttributes=attributes)
    assert sns_limit == [SNS_MESSAGE_LIMIT]


@pytest.mark.parametrize("char", [CJK, LETTER4], ids=["cjk", "4-byte-letters"])
def test_75_huge_tags_and_no_owner_give_exactly_one_alert(
    world: EmulatedEnvironment, sns_limit: list[int], char: str
) -> None:
    arn, event = create_hostile_instance(world, char)

    invocation = invoke_like_lambda(world, event)

    assert (invocation.status, invocation.attempts) == ("succeeded", 1)
    assert world.dead_letters() == []
    [alert] = world.received_alerts()
    [size] = sns_limit
    assert size <= SNS_MESSAGE_LIMIT
    body = alert["body"]
    assert body["event_id"] == event["detail"]["eventID"]
    assert (body["instance_arn"], body["verdict"]) == (arn, "violation")
    rules = {finding["rule"]: finding for finding in body["findings"]}
    assert {"account-not-approved", "missing-justification"} <= set(rules)
    assert rules["missing-justification"]["facts"]["missing_tags"] == ["owner"]
    assert list(rules["missing-justification"]["facts"]["tags"]) == ["purpose"]  # not all 75 again
    assert body["instance"]["tags"] == hostile_tags(char)  # UTF-8 leaves room for every tag
    assert body["truncated"] == []
    assert body["action"] == "would-delete-instance"  # the example policy, dry-run
    assert alert["attributes"]["verdict"] == "violation"
    assert alert["subject"].startswith("[HIGH] Account instance created in ")


def test_in_enforce_mode_the_deleted_instance_is_described_by_its_alert(
    world: EmulatedEnvironment, sns_limit: list[int], tmp_path: Path
) -> None:
    data = policy_data(load_policy(EXAMPLE_POLICY))
    data["mode"] = Mode.ENFORCE.value
    data["enforcement"]["grace_period_hours"] = 0
    data["rules"][REMEDIATE_RULE] = {"action": "remediate"}
    enforcing = tmp_path / "enforce.json"
    enforcing.write_text(json.dumps(data))
    arn, event = create_hostile_instance(world, LETTER4)

    with mock.patch.dict("os.environ", {"POLICY_PATH": str(enforcing)}):
        detect.runtime.cache_clear()
        try:
            invocation = invoke_like_lambda(world, event)
        finally:
            detect.runtime.cache_clear()

    assert invocation.status == "succeeded"
    assert world.dead_letters() == []
    [alert] = world.received_alerts()
    body = alert["body"]
    assert (body["action"], body["mode"]) == ("delete-instance", "enforce")
    assert body["remediation"]["status"] == "deleted"
    assert body["instance_arn"] == arn
    assert len(body["instance"]["tags"]) == MAX_TAGS
    assert arn not in {record.instance_arn for record in world.identity_center.instances()}
    assert len(sns_limit) == 1


def test_deleting_the_organization_instance_pages(world: EmulatedEnvironment, sns_limit: list[int]) -> None:
    event = fresh(
        "delete-instance",
        recipientAccountId=MANAGEMENT_ACCOUNT_ID,
        requestParameters={"instanceArn": ORGANIZATION_INSTANCE_ARN},
        userIdentity={
            "type": "AssumedRole",
            "arn": f"arn:aws:sts::{MANAGEMENT_ACCOUNT_ID}:assumed-role/Admin/mallory",
            "accountId": MANAGEMENT_ACCOUNT_ID,
        },
    )

    assert invoke_like_lambda(world, event).status == "succeeded"

    [alert] = world.received_alerts()
    assert alert["subject"].startswith(f"[HIGH] Organization instance deleted in {MANAGEMENT_ACCOUNT_ID} ")
    assert alert["attributes"]["verdict"] == "violation"
    assert alert["attributes"]["severity"] == "high"
    assert json.loads(alert["attributes"]["rules"]) == ["org-instance-deleted"]
    assert alert["body"]["findings"][0]["facts"]["instance_arn"] == ORGANIZATION_INSTANCE_ARN


# -- creator text, at the worst AWS allows, forges nothing in any channel -------------------------

# Organizations takes any character in an OU name and printable ASCII in an account name;
# Identity Center any character in an application name, and U+2028 in a tag value.
HOSTILE_OU = "Ops\n*Deleted?* skipped\u2028<!here>"
HOSTILE_ACCOUNT = "<!channel> *Deleted?* [x](https://e.example)"
HOSTILE_APPLICATION = "Q\n*Deleted?* skipped <!channel> [click](https://evil.example)"
HOSTILE_TAGS = {"purpose": "trial\u2028  Deletion: deleted", "owner": "@here"}


def hostile_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in hostile_strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in hostile_strings(item)]
    return []


def test_creator_text_at_its_worst_forges_no_line_mention_or_link(
    world: EmulatedEnvironment, sns_limit: list[int], tmp_path: Path
) -> None:
    before = set(world.organization.member_account_ids)
    world.organization = add_member_accounts(
        world.organization, 1, ou_path=HOSTILE_OU, account_names=[HOSTILE_ACCOUNT]
    )
    [account] = [a for a in world.organization.member_account_ids if a not in before]
    sso = administrator_client(account, "sso-admin", region="us-east-1")
    arn = sso.create_instance(Name="team", Tags=[{"Key": k, "Value": v} for k, v in HOSTILE_TAGS.items()])[
        "InstanceArn"
    ]
    world.identity_center.attach_application(arn, name=HOSTILE_APPLICATION)
    event = fresh(
        "create-instance-cli-trial-tagged",
        recipientAccountId=account,
        requestParameters={"name": "team"},
        responseElements={"instanceArn": arn},
        userAgent="cli\n*Deleted?* deleted <@U024BE7LH>",
    )
    data = policy_data(load_policy(EXAMPLE_POLICY))
    data["mode"] = Mode.ENFORCE.value
    data["enforcement"]["grace_period_hours"] = 0
    data["rules"][REMEDIATE_RULE] = {"action": "remediate"}
    enforcing = tmp_path / "enforce.json"
    enforcing.write_text(json.dumps(data))
    channels = {
        "POLICY_PATH": str(enforcing),
        "CHAT_TOPIC_ARN": world.chat_topic_arn,
        "SECURITY_HUB_ACCOUNT_ID": world.central_account_id,
    }
    with mock.patch.dict("os.environ", channels):
        detect.runtime.cache_clear()
        try:
            assert invoke_like_lambda(world, event).status == "succeeded"
        finally:
            detect.runtime.cache_clear()

    [alert] = world.received_alerts()
    body = alert["body"]
    assert body["action_reason"].startswith("remediation withheld: the instance serves 1 application(s) (Q\n")
    assert body["account_name"] == HOSTILE_ACCOUNT  # the JSON keeps what was recorded

    email = Alert(alert["subject"], body, alert["attributes"]).email()
    next_part = email.split("What happens next\n")[1].split("\n\n")[0].split("\n")
    assert len(next_part) == 2
    assert next_part[1] == "  Policy mode: enforce."
    assert "*Deleted?* skipped <!channel>" in next_part[0]  # inline, where it cannot pass for a line
    assert not [line for line in email.splitlines() if line.lstrip().startswith(("*Deleted?*", "Deletion:"))]
    assert len(email.splitlines()) == email.count("\n")

    [chat] = world.received_chat()
    content = chat["content"]
    shown = [content["title"], content["description"], *content["nextSteps"], chat["metadata"]["summary"]]
    for text in shown:
        assert "<" not in text
        assert ">" not in text
        assert "](" not in text
        assert "://evil" not in text  # no link a client would make of it either
    labels = {line.split("*")[1] for line in content["description"].splitlines() if line.startswith("*")}
    assert labels == {"Account", "Instance", "Caller", "Action"}
    assert "\u2039!channel\u203a" in content["title"]  # the account name, shown, inert

    hub = boto3.client("securityhub", region_name="us-east-1").get_findings()["Findings"]
    mine = [f for f in hub if f["Resources"][0]["Id"] == arn]
    assert mine
    for finding in mine:
        for text in hostile_strings(finding):
            assert "\n" not in text
            assert "\u2028" not in text
