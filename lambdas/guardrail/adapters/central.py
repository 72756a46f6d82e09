"""Reads of the central stack's pieces in the central account: what `guardrail doctor` checks.

Each read answers None when the thing does not exist, and raises on any other failure, so that a
missing piece and a read that was refused are never confused.
"""

from __future__ import annotations

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
