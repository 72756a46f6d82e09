"""An instance event travels from a member account's default bus to the central bus, on moto.

The rules are built from the synthesized templates, not written out here: the member rule (name,
pattern, target, role) from the forwarding StackSet's TemplateBody, or from the management Region
stack for the management account; the central bus's name and its rule's pattern from the central
stack. An SQS queue stands in for the detect function as the central rule's target (moto's
put_events fails with a Lambda target).

What moto does and does not emulate, precisely:
- It delivers across accounts and Regions: a rule whose target is another account's bus ARN puts
  the event into that account's backend for that Region (moto.events.models.Rule.send_to_targets),
  so the hop is moto's, not re-created by this test.
- It checks neither the target's RoleArn nor the central bus's policy (aws:PrincipalOrgID): those
  are asserted on the templates in test_stacksets.py and test_central_stack.py.
- The event is put with PutEvents as CloudTrail's stand-in; AWS refuses `aws.*` sources from
  PutEvents, moto does not.
- The forwarded copy carries the central Region in `region` and no `account`, where AWS keeps the
  sender's `account` and `region`; so the assertions compare `source`, `detail-type` and `detail`
  (whose recipientAccountId and awsRegion the detect function reads).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from emulator.organization import administrator_client
from infra.constructs.member_stacksets import FORWARDING_STACKSET_NAME
from tests.infra.support import (
    SAMPLE_EVENTS,
    Document,
    Synthesized,
    load_event,
    only,
    pseudo_parameters,
    resolve,
    resources,
)

CENTRAL_ACCOUNT = "222222222222"
CENTRAL_REGION = "us-east-1"
MANAGEMENT_ACCOUNT = "111111111111"
INSTANCE_SAMPLES = sorted(
    p.name for p in SAMPLE_EVENTS.glob("*.json") if "not-an-instance-event" not in p.name
)


class Organization:
    """The central bus with the central rule, and the forwarding rules put in member accounts."""

    def __init__(self, synthesized: Synthesized) -> None:
        self._synthesized = synthesized
        self._events = administrator_client(CENTRAL_ACCOUNT, "events", region=CENTRAL_REGION)
        self._sqs = administrator_client(CENTRAL_ACCOUNT, "sqs", region=CENTRAL_REGION)
        bus = only(synthesized.document, "AWS::Events::EventBus")["Properties"]["Name"]
        self.bus_arn = self._events.create_event_bus(Name=bus)["EventBusArn"]
        self.queue_url = self._sqs.create_queue(QueueName="detect-function-stand-in")["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        (central_rule,) = [
            rule["Properties"]
            for rule in synthesized.resources("AWS::Events::Rule").values()
            if "EventBusName" in rule["Properties"]
        ]
        self._events.put_rule(
            Name="CentralBusRule", EventBusName=bus, EventPattern=json.dumps(central_rule["EventPattern"])
        )
        self._events.put_targets(
            Rule="CentralBusRule", EventBusName=bus, Targets=[{"Id": "DetectFunction", "Arn": queue_arn}]
        )

    def _forwarding_template(self, account_id: str) -> Document:
        """What the deployment puts in this account in each Region: the StackSet's template, or for
        the management account its Region stacks' (the same resources)."""
        if account_id == MANAGEMENT_ACCOUNT:
            return self._synthesized.management_region(CENTRAL_REGION)
        return self._synthesized.member_template(FORWARDING_STACKSET_NAME)

    def member_events(self, account_id: str, region: str) -> Any:
        """The account's EventBridge, with the forwarding rule and its dead-letter queue in place."""
        template = self._forwarding_template(account_id)
        pseudo = pseudo_parameters(account_id, region)
        ((queue_id, queue),) = resources(template, "AWS::SQS::Queue").items()
        sqs = administrator_client(account_id, "sqs", region=region)
        url = sqs.create_queue(QueueName=queue["Properties"]["QueueName"])["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        rule = dict(resolve(only(template, "AWS::Events::Rule")["Properties"], pseudo))
        (target,) = rule["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
        target = {**target, "DeadLetterConfig": {"Arn": queue_arn}}
        client = administrator_client(account_id, "events", region=region)
        client.put_rule(Name=rule["Name"], EventPattern=json.dumps(rule["EventPattern"]), State=rule["State"])
        client.put_targets(Rule=rule["Name"], Targets=[target])
        return client

    def delivered(self) -> list[dict[str, Any]]:
        """What the central rule handed to its target."""
        messages = self._sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def _as_entry(event: dict[str, Any]) -> dict[str, str]:
    """What CloudTrail puts on the default bus, as a PutEvents entry."""
    return {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
    }


@pytest.fixture
def organization(synthesized: Synthesized) -> Iterator[Organization]:
    with mock_aws():
        yield Organization(synthesized)


def test_a_member_accounts_create_instance_reaches_the_central_bus(organization: Organization) -> None:
    event = load_event("create-instance-console-success.json")
    assert (event["account"], event["region"]) == ("444444444444", "eu-west-1")
    member = organization.member_events("444444444444", "eu-west-1")
    (target,) = member.list_targets_by_rule(Rule="IdentityCenterGuardrail-ForwardInstanceEvents")["Targets"]
    assert target["Arn"] == organization.bus_arn  # the template's ARN names the bus created here
    assert target["RoleArn"] == "arn:aws:iam::444444444444:role/IdentityCenterGuardrailEventForwarder"

    result = member.put_events(Entries=[_as_entry(event)])
    assert result["FailedEntryCount"] == 0

    (delivered,) = organization.delivered()
    assert delivered["source"] == "aws.sso"
    assert delivered["detail-type"] == "AWS API Call via CloudTrail"
    assert delivered["detail"] == event["detail"]
    assert delivered["detail"]["recipientAccountId"] == "444444444444"


def test_a_permission_set_call_is_not_forwarded(organization: Organization) -> None:
    event = load_event("not-an-instance-event-permission-set.json")
    member = organization.member_events(event["account"], event["region"])
    assert member.put_events(Entries=[_as_entry(event)])["FailedEntryCount"] == 0
    assert organization.delivered() == []


@pytest.mark.parametrize("name", INSTANCE_SAMPLES)
def test_every_instance_sample_is_forwarded_from_where_it_happened(
    organization: Organization, name: str
) -> None:
    """Management account included: its Region stacks carry the same rule as member accounts."""
    event = load_event(name)
    member = organization.member_events(event["account"], event["region"])
    member.put_events(Entries=[_as_entry(event)])
    assert [d["detail"] for d in organization.delivered()] == [event["detail"]]


@pytest.mark.parametrize("region", [CENTRAL_REGION, "eu-west-1"])
def test_the_central_accounts_own_calls_are_forwarded_like_a_members(
    organization: Organization, region: str
) -> None:
    """In the central Region too: its forwarding rule targets the central bus of its own account and
    Region, and the central bus's rule hands the event on once (no rule on the default bus)."""
    event = load_event("create-instance-console-success.json")
    event["detail"]["recipientAccountId"] = CENTRAL_ACCOUNT
    event["detail"]["awsRegion"] = region
    central = organization.member_events(CENTRAL_ACCOUNT, region)
    assert central.put_events(Entries=[_as_entry(event)])["FailedEntryCount"] == 0
    assert [d["detail"] for d in organization.delivered()] == [event["detail"]]
