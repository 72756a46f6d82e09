"""The forwarding StackSet's stack instances in the emulated organization: in each member account and
watched Region it has enabled, a rule on the default bus that hands instance events to the central
bus, and the queue where EventBridge parks what it could not deliver.

As `infra/constructs/event_forwarding.py` deploys them: the rule with the central rules' pattern
and one target, the central bus, with the forwarding role and the dead-letter queue. A stack
instance fails in an opt-in Region the account has not enabled, so none is made there.
`deploy_forwarding` writes them straight into moto's EventBridge and SQS backends (per account and
Region, the state the APIs would leave): through the APIs, the clients alone for a hundred stack
instances cost seconds of every test that builds the sweep's example. `ForwardingStack` acts on one
through the APIs, and breaks it the ways a sweep must notice: disabled, deleted, retargeted, events
left undelivered.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from moto.events.models import events_backends
from moto.sqs.models import sqs_backends

from emulator.organization import CENTRAL_REGION, SECURITY_ACCOUNT_ID, administrator_credentials
from guardrail.pipeline.patterns import INSTANCE_EVENT_PATTERN

if TYPE_CHECKING:
    from emulator.environment import EmulatedEnvironment

__all__ = [
    "CENTRAL_BUS_NAME",
    "FORWARDING_DEAD_LETTER_QUEUE_NAME",
    "FORWARDING_RULE_NAME",
    "ForwardingStack",
    "central_bus_arn",
    "deploy_forwarding",
    "undeliverable_event",
]

# As infra/config.py and infra/constructs/event_forwarding.py name them (tests/unit/test_doctor.py
# checks the rule's name against the construct's).
FORWARDING_RULE_NAME = "IdentityCenterGuardrail-ForwardInstanceEvents"
FORWARDING_TARGET_ID = "CentralBus"
FORWARDING_DEAD_LETTER_QUEUE_NAME = "IdentityCenterGuardrail-ForwardingDeadLetters"
FORWARDING_ROLE_NAME = "IdentityCenterGuardrailEventForwarder"
CENTRAL_BUS_NAME = "identity-center-guardrail"


def central_bus_arn(region: str = CENTRAL_REGION, account_id: str = SECURITY_ACCOUNT_ID) -> str:
    return f"arn:aws:events:{region}:{account_id}:event-bus/{CENTRAL_BUS_NAME}"


class ForwardingStack:
    """One account's forwarding in one Region, acted on as an administrator of the account."""

    def __init__(self, account_id: str, region: str, credentials: dict[str, Any] | None = None) -> None:
        self.account_id = account_id
        self.region = region
        creds = credentials or administrator_credentials(account_id, region=region)
        self.events: Any = boto3.client("events", region_name=region, **creds)
        self.sqs: Any = boto3.client("sqs", region_name=region, **creds)

    def deploy(self) -> None:
        """Create the queue and the rule with its target, as the stack instance does."""
        url = self.sqs.create_queue(
            QueueName=FORWARDING_DEAD_LETTER_QUEUE_NAME,
            Attributes={"SqsManagedSseEnabled": "true", "MessageRetentionPeriod": "1209600"},
        )["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.events.put_rule(
            Name=FORWARDING_RULE_NAME,
            EventPattern=json.dumps(INSTANCE_EVENT_PATTERN),
            State="ENABLED",
            Description="Forwards IAM Identity Center instance calls to the guardrail's central event bus",
        )
        self.events.put_targets(
            Rule=FORWARDING_RULE_NAME,
            Targets=[
                {
                    "Id": FORWARDING_TARGET_ID,
                    "Arn": central_bus_arn(),
                    "RoleArn": f"arn:aws:iam::{self.account_id}:role/{FORWARDING_ROLE_NAME}",
                    "DeadLetterConfig": {"Arn": queue_arn},
                }
            ],
        )

    # -- the ways it breaks ---------------------------------------------------------------------------
    def disable(self) -> None:
        self.events.disable_rule(Name=FORWARDING_RULE_NAME)

    def enable(self) -> None:
        self.events.enable_rule(Name=FORWARDING_RULE_NAME)

    def delete_rule(self) -> None:
        self.events.remove_targets(Rule=FORWARDING_RULE_NAME, Ids=[FORWARDING_TARGET_ID])
        self.events.delete_rule(Name=FORWARDING_RULE_NAME)

    def retarget(self, arn: str) -> None:
        """Point the rule's one target somewhere else (a bus of another account, say)."""
        self.events.put_targets(Rule=FORWARDING_RULE_NAME, Targets=[{"Id": FORWARDING_TARGET_ID, "Arn": arn}])

    def delete_queue(self) -> None:
        self.sqs.delete_queue(QueueUrl=self._queue_url())

    def undeliverable(self, event: dict[str, Any], count: int = 1) -> None:
        """Park `event` in the dead-letter queue `count` times, as EventBridge does once its retries
        to the central bus are spent (the event as body, the failure as attributes)."""
        rule_arn = f"arn:aws:events:{self.region}:{self.account_id}:rule/{FORWARDING_RULE_NAME}"
        attributes = {
            "RULE_ARN": rule_arn,
            "TARGET_ARN": central_bus_arn(),
            "ERROR_CODE": "NO_PERMISSIONS",
            "ERROR_MESSAGE": "EventBridge is not authorized to put events on the target event bus",
            "EXHAUSTED_RETRY_CONDITION": "MaximumEventAgeInSeconds",
        }
        for _ in range(count):
            self.sqs.send_message(
                QueueUrl=self._queue_url(),
                MessageBody=json.dumps(event),
                MessageAttributes={
                    k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
                },
            )

    def drain(self) -> int:
        """Delete what waits in the dead-letter queue (a person replayed it); how many there were."""
        url, drained = self._queue_url(), 0
        while batch := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            drained += len(batch)
        return drained

    def _queue_url(self) -> str:
        return str(self.sqs.get_queue_url(QueueName=FORWARDING_DEAD_LETTER_QUEUE_NAME)["QueueUrl"])


def deploy_forwarding(
    env: EmulatedEnvironment, regions: Iterable[str], accounts: Iterable[str] | None = None
) -> None:
    """The forwarding stack instances of `accounts` (default: every member account with the member
    role) in each of `regions` the account has enabled."""
    regions = tuple(regions)
    for account_id in accounts if accounts is not None else env.organization.member_account_ids:
        for region in regions:
            if env.account_regions.is_enabled(account_id, region):
                _deploy_in_backends(account_id, region)


def _deploy_in_backends(account_id: str, region: str) -> None:
    """What `ForwardingStack.deploy` creates, without the API round trips."""
    queue = sqs_backends[account_id][region].create_queue(
        FORWARDING_DEAD_LETTER_QUEUE_NAME, None, SqsManagedSseEnabled="true", MessageRetentionPeriod="1209600"
    )
    events = events_backends[account_id][region]
    events.put_rule(
        FORWARDING_RULE_NAME,
        description="Forwards IAM Identity Center instance calls to the guardrail's central event bus",
        event_pattern=json.dumps(INSTANCE_EVENT_PATTERN),
        state="ENABLED",
    )
    events.put_targets(
        FORWARDING_RULE_NAME,
        None,
        [
            {
                "Id": FORWARDING_TARGET_ID,
                "Arn": central_bus_arn(),
                "RoleArn": f"arn:aws:iam::{account_id}:role/{FORWARDING_ROLE_NAME}",
                "DeadLetterConfig": {"Arn": queue.queue_arn},
            }
        ],
    )


def undeliverable_event(account_id: str, region: str) -> dict[str, Any]:
    """An instance event as the forwarding rule matched it: what its dead-letter queue would hold."""
    return {
        "version": "0",
        "id": "5b1c0c5e-0a5d-4b43-9e4e-000000000001",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sso",
        "account": account_id,
        "time": datetime(2026, 11, 30, 12, tzinfo=UTC).isoformat().replace("+00:00", "Z"),
        "region": region,
        "resources": [],
        "detail": {
            "eventSource": "sso.amazonaws.com",
            "eventName": "CreateInstance",
            "awsRegion": region,
            "recipientAccountId": account_id,
        },
    }
