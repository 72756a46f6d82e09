"""Reads of the central stack's pieces in the central account: what `guardrail doctor` checks.

Each read answers None when the thing does not exist, and raises on any other failure, so that a
missing piece and a read that was refused are never confused. Two calls are not reads: `put_event`
puts the doctor's test event on the central bus (`--send-test-event`), and `claim` reads the
detect function's record of it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from guardrail.adapters.clients import AwsClients, pages
from guardrail.adapters.forwarding import queue_messages


@dataclass(frozen=True)
class Stack:
    status: str
    outputs: dict[str, str]


@dataclass(frozen=True)
class StackResource:
    type: str
    logical_id: str
    physical_id: str


@dataclass(frozen=True)
class Subscription:
    protocol: str
    endpoint: str
    # "PendingConfirmation" until the endpoint confirms (an email address must accept SNS's email).
    arn: str

    @property
    def confirmed(self) -> bool:
        return self.arn.startswith("arn:")


@dataclass(frozen=True)
class Claim:
    """The detect function's record of one event in its idempotency table: `INPROGRESS` while an
    invocation handles it, `COMPLETED` once the alert went out on every channel (a channel that
    refused it fails the invocation, which deletes the record for the retry); `summary` is what
    the invocation returned (event id, verdict, subject)."""

    status: str
    summary: dict[str, Any]


# The key prefix `guardrail.adapters.idempotency.OncePerEvent` claims events under.
CLAIM_KEY_PREFIX = "instance-api-call"


def claim_key(event_id: str) -> str:
    """The idempotency table's key of the claim on `event_id`, as Powertools' idempotency utility
    makes it: the prefix and the MD5 of the key's JSON (tests hold it to the utility's own)."""
    digest = hashlib.md5(json.dumps(event_id, sort_keys=True).encode(), usedforsecurity=False)
    return f"{CLAIM_KEY_PREFIX}#{digest.hexdigest()}"


@dataclass(frozen=True)
class AlarmState:
    name: str
    state: str
    description: str


def _absent(error: ClientError, *codes: str, message: str = "") -> bool:
    err = error.response.get("Error", {})
    return err.get("Code") in codes and message in str(err.get("Message", ""))


def _or_none[T](read: Callable[[], T], *codes: str, message: str = "") -> T | None:
    try:
        return read()
    except ClientError as error:
        if _absent(error, *codes, message=message):
            return None
        raise


class CentralReader:
    def __init__(self, clients: AwsClients, region: str) -> None:
        """`clients` act in the central account; `region` is the central Region."""
        self._clients = clients
        self._region = region

    def _client(self, service: str) -> Any:
        return self._clients.client(service, self._region)

    def stack(self, name: str) -> Stack | None:
        """Its status and outputs (DescribeStacks); None when no such stack exists."""

        def read() -> Stack:
            found = self._client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
            outputs = {o["OutputKey"]: str(o["OutputValue"]) for o in found.get("Outputs", [])}
            return Stack(str(found["StackStatus"]), outputs)

        # CloudFormation answers a stack that does not exist with a ValidationError.
        return _or_none(read, "ValidationError", message="does not exist")

    def stack_resources(self, name: str) -> list[StackResource]:
        """Every resource the stack holds (ListStackResources), by its type, logical and physical id."""
        return [
            StackResource(
                str(r["ResourceType"]), str(r["LogicalResourceId"]), str(r.get("PhysicalResourceId", ""))
            )
            for page in pages(self._client("cloudformation").list_stack_resources, StackName=name)
            for r in page.get("StackResourceSummaries", [])
        ]

    def function(self, name: str) -> dict[str, Any] | None:
        """The function's configuration (GetFunction); None when there is none by that name."""
        return _or_none(
            lambda: dict(self._client("lambda").get_function(FunctionName=name)["Configuration"]),
            "ResourceNotFoundException",
        )

    def rule_targets(self, name: str, bus: str | None) -> list[str]:
        """The ARNs the rule on `bus` (None: the default bus) delivers to."""
        scope = {"EventBusName": bus} if bus else {}
        return [
            str(target["Arn"])
            for page in pages(self._client("events").list_targets_by_rule, Rule=name, **scope)
            for target in page.get("Targets", [])
        ]

    def rule(self, name: str, bus: str | None) -> dict[str, Any] | None:
        """The rule (DescribeRule: State, EventPattern, ...); None when it does not exist."""
        scope = {"EventBusName": bus} if bus else {}
        return _or_none(
            lambda: dict(self._client("events").describe_rule(Name=name, **scope)),
            "ResourceNotFoundException",
        )

    def subscriptions(self, topic_arn: str) -> list[Subscription]:
        return [
            Subscription(str(s["Protocol"]), str(s.get("Endpoint", "")), str(s["SubscriptionArn"]))
            for page in pages(self._client("sns").list_subscriptions_by_topic, TopicArn=topic_arn)
            for s in page.get("Subscriptions", [])
        ]

    def alarms(self, name_prefix: str) -> list[AlarmState]:
        """Every metric and composite alarm whose name starts with `name_prefix`."""
        found: list[AlarmState] = []
        for page in pages(
            self._client("cloudwatch").describe_alarms,
            AlarmNamePrefix=name_prefix,
            AlarmTypes=["MetricAlarm", "CompositeAlarm"],
        ):
            for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                found.append(
                    AlarmState(
                        str(alarm["AlarmName"]),
                        str(alarm["StateValue"]),
                        str(alarm.get("AlarmDescription", "")),
                    )
                )
        return found

    def queue_messages(self, queue_url: str) -> int:
        return queue_messages(self._client("sqs"), queue_url)

    # -- what the alerts depend on beyond the stack ------------------------------------------------

    def trails(self, region: str) -> list[dict[str, Any]]:
        """The trails CloudTrail applies in `region` (DescribeTrails with shadow trails): the
        account's own, multi-Region ones homed elsewhere, and the organization's trail."""
        client = self._clients.client("cloudtrail", region)
        return [dict(t) for t in client.describe_trails(includeShadowTrails=True).get("trailList", [])]

    def trail_status(self, trail_arn: str) -> dict[str, Any]:
        """GetTrailStatus, asked in the trail's home Region (a shadow trail's status needs its ARN)."""
        client = self._clients.client("cloudtrail", _region_of(trail_arn))
        return dict(client.get_trail_status(Name=trail_arn))

    def event_selectors(self, trail_arn: str) -> dict[str, Any]:
        """GetEventSelectors: `EventSelectors` or `AdvancedEventSelectors`, whichever the trail uses."""
        client = self._clients.client("cloudtrail", _region_of(trail_arn))
        return dict(client.get_event_selectors(TrailName=trail_arn))

    def schedule(self, name: str, group: str | None = None) -> dict[str, Any] | None:
        """The EventBridge Scheduler schedule (GetSchedule: State, ScheduleExpression, ...)."""
        scope = {"GroupName": group} if group else {}
        return _or_none(
            lambda: dict(self._client("scheduler").get_schedule(Name=name, **scope)),
            "ResourceNotFoundException",
        )

    def executions(
        self, state_machine_arn: str, status: str | None = None, limit: int = 1
    ) -> list[dict[str, Any]] | None:
        """The state machine's newest executions (with `status` only), newest first; None when
        the state machine does not exist."""
        scope = {"statusFilter": status} if status else {}

        def read() -> list[dict[str, Any]]:
            found = self._client("stepfunctions").list_executions(
                stateMachineArn=state_machine_arn, maxResults=limit, **scope
            )["executions"]
            return sorted((dict(e) for e in found), key=lambda e: e["startDate"], reverse=True)[:limit]

        return _or_none(read, "StateMachineDoesNotExist")

    def security_hub(self) -> dict[str, Any] | None:
        """The account's Security Hub CSPM hub in the central Region (DescribeHub); None when the
        account has not enabled it there."""
        return _or_none(
            lambda: dict(self._client("securityhub").describe_hub()),
            "InvalidAccessException",
            message="not subscribed",
        )

    def put_event(self, entry: dict[str, Any]) -> dict[str, Any]:
        """PutEvents of one entry: its result entry (`EventId`, or `ErrorCode` and `ErrorMessage`)."""
        return dict(self._client("events").put_events(Entries=[entry])["Entries"][0])

    def claim(self, table_name: str, event_id: str) -> Claim | None:
        """The detect function's record of `event_id`, read consistently; None while it has none."""
        item = (
            self._client("dynamodb")
            .get_item(TableName=table_name, Key={"id": {"S": claim_key(event_id)}}, ConsistentRead=True)
            .get("Item")
        )
        if item is None:
            return None
        data = item.get("data", {}).get("S")
        return Claim(str(item.get("status", {}).get("S", "")), json.loads(data) if data else {})


def _region_of(arn: str) -> str:
    """The Region field of an ARN (`arn:partition:service:region:account:resource`)."""
    return arn.split(":")[3]
