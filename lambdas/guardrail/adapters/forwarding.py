"""Reads of one member account's forwarding, in one Region (EventBridge and SQS), inside the account.

The forwarding StackSet puts a rule on the account's default bus that hands instance events to the
central bus, and a queue where EventBridge parks what it could not deliver. Each read answers
None when the rule or queue does not exist, and raises on any other failure (a refusal, throttling
past the retries): "missing" and "could not look" must never be confused.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from guardrail.adapters.clients import pages

# What EventBridge answers for a rule that does not exist (DescribeRule, ListTargetsByRule).
_NO_RULE = "ResourceNotFoundException"
# What SQS answers GetQueueUrl for a queue that does not exist: the query protocol's code, which
# botocore reports for the JSON protocol too, and the JSON protocol's own.
_NO_QUEUE = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class ForwardingReader:
    def __init__(self, events: Any, sqs: Any) -> None:
        """`events` and `sqs` are clients of the member account, in the Region read."""
        self._events = events
        self._sqs = sqs

    def rule_state(self, rule_name: str) -> str | None:
        """The rule's state on the default bus (`ENABLED`, `DISABLED`, ...); None: no such rule."""
        try:
            return str(self._events.describe_rule(Name=rule_name)["State"])
        except ClientError as error:
            if _code(error) == _NO_RULE:
                return None
            raise

    def target_arns(self, rule_name: str) -> tuple[str, ...] | None:
        """The ARNs the rule delivers to; None: no such rule."""
        try:
            return tuple(
                str(target["Arn"])
                for page in pages(self._events.list_targets_by_rule, Rule=rule_name)
                for target in page.get("Targets", [])
            )
        except ClientError as error:
            if _code(error) == _NO_RULE:
                return None
            raise

    def queue_depth(self, queue_name: str) -> int | None:
        """Messages waiting in the queue (`ApproximateNumberOfMessages`); None: no such queue.

        The URL is asked for by name (`GetQueueUrl`) rather than built: SQS documents that a queue
        URL's form may change and asks callers to use the URL it returns.
        """
        try:
            url = self._sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        except ClientError as error:
            if _code(error) in _NO_QUEUE:
                return None
            raise
        return queue_messages(self._sqs, url)


def queue_messages(client: Any, queue_url: str) -> int:
    """`ApproximateNumberOfMessages` of a queue: what waits in it, not counting messages in flight."""
    attributes = client.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])
