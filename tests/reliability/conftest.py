"""One emulated world per test module, a wire tap on it, and retries that do not really sleep.

Building the world costs about half a second, so each module shares one; the ``clean`` fixture
empties the alert and dead-letter queues and removes injected faults around every test, so tests
stay independent. Events get fresh ids (``fresh``), so the idempotency table never links them.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore import retryhandler
from botocore.retries import bucket, standard

from emulator.environment import EmulatedEnvironment
from emulator.function_environment import handler_environment
from emulator.wire import AwsWire
from guardrail.core.policy import policy_data
from guardrail.core.policy_file import load_policy, parse_policy
from guardrail.handlers import detect
from guardrail_cli.replay import LambdaContextStub
from tests.builders import NOW, sample

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "policy" / "policy.yaml"
CONTEXT: Any = LambdaContextStub()
# The example policy, with remediation asked for unapproved accounts: with every fact in hand,
# the console-created instance in Prod gets `would-delete-instance` (dry-run), which lets the
# fault tests show that missing facts withhold it.
REMEDIATE_RULE = "account-not-approved"
# The stack's asynchronous invocation settings for the function.
LAMBDA_RETRY_ATTEMPTS = 2


def fresh(name_or_event: str | dict[str, Any], **detail: Any) -> dict[str, Any]:
    """A sample event (or a copy of one) with a new event id and the given detail fields."""
    event = sample(name_or_event) if isinstance(name_or_event, str) else json.loads(json.dumps(name_or_event))
    event["detail"].update({"eventID": str(uuid.uuid4()), **detail})
    # The envelope states where the call was made too, and must agree with the record.
    event["account"], event["region"] = event["detail"]["recipientAccountId"], event["detail"]["awsRegion"]
    return event


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedEnvironment]:
    """The emulated organization, with the function's environment pointed at it."""
    policy = policy_data(load_policy(EXAMPLE_POLICY))
    policy["rules"][REMEDIATE_RULE] = {"action": "remediate"}
    policy_path = tmp_path_factory.mktemp("policy") / "policy.json"
    policy_path.write_text(json.dumps(policy_data(parse_policy(policy))))
    namespace = detect.metrics.namespace
    with EmulatedEnvironment() as env, mock.patch.dict(os.environ, handler_environment(env, policy_path)):
        # Powertools read the namespace when the handler module was imported, before this setup.
        detect.metrics.namespace = os.environ["POWERTOOLS_METRICS_NAMESPACE"]
        detect.runtime.cache_clear()
        try:
            yield env
        finally:
            detect.runtime.cache_clear()
            detect.metrics.namespace = namespace


@pytest.fixture(scope="module")
def wire(world: EmulatedEnvironment) -> Iterator[AwsWire]:
    with AwsWire() as tap:
        yield tap


@pytest.fixture(scope="module")
def runtime(world: EmulatedEnvironment) -> detect.Runtime:
    """A warm function's runtime, shared by the module (the clock fixed so trial dates do not age)."""
    built = detect.build_runtime(clock=lambda: NOW)
    built.once.register(CONTEXT)
    return built


@pytest.fixture
def clean(world: EmulatedEnvironment, wire: AwsWire) -> Iterator[None]:
    wire.heal()
    world.received_alerts()
    world.dead_letters()
    yield
    wire.heal()
    wire.reset()


@dataclass
class Sleeps:
    """What botocore's retry machinery asked to wait for, skipped so that tests run at once."""

    backoff: list[float] = field(default_factory=list)
    rate_limited: list[float] = field(default_factory=list)


@pytest.fixture
def sleeps() -> Iterator[Sleeps]:
    """Record and skip retry sleeps: the exponential backoff (of the function's own clients, in
    adaptive mode, and of the clients its assumed roles share, which keep no retry state between
    calls: `guardrail.adapters.clients`) and the adaptive rate limiter's waits.

    Everything else about the clients' retry configuration (mode, attempts, which errors retry,
    the adaptive limiter engaging on throttling) runs for real.
    """
    asked = Sleeps()
    original_delay = standard.ExponentialBackoff.delay_amount
    original_wait = bucket.TokenBucket._sleep_amount  # type: ignore[attr-defined]
    original_legacy = retryhandler.RetryHandler.__call__

    def delay(backoff: standard.ExponentialBackoff, context: Any) -> float:
        asked.backoff.append(original_delay(backoff, context))
        return 0.0

    def wait(token_bucket: bucket.TokenBucket, amount: float) -> float:
        needed: float = original_wait(token_bucket, amount)
        if needed > 0:
            asked.rate_limited.append(needed)
            token_bucket._current_capacity = amount  # type: ignore[attr-defined]  # as if it had waited
        return 0.0

    def legacy(handler: retryhandler.RetryHandler, *args: Any, **kwargs: Any) -> float | None:
        wanted: float | None = original_legacy(handler, *args, **kwargs)
        if wanted is None:  # no retry
            return None
        asked.backoff.append(wanted)
        return 0.0

    with (
        mock.patch.object(standard.ExponentialBackoff, "delay_amount", delay),
        mock.patch.object(bucket.TokenBucket, "_sleep_amount", wait),
        mock.patch.object(retryhandler.RetryHandler, "__call__", legacy),
    ):
        yield asked


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self, level: int = logging.ERROR) -> list[logging.LogRecord]:
        taken = [r for r in self.records if r.levelno >= level]
        self.records.clear()
        return taken


@pytest.fixture(scope="module")
def logs() -> Iterator[Records]:
    """The handler's log records (a module-scoped caplog, usable under Hypothesis)."""
    handler = Records()
    target = logging.getLogger(detect.logger.name)
    target.addHandler(handler)
    yield handler
    target.removeHandler(handler)


@dataclass(frozen=True)
class Invocation:
    status: str  # "succeeded" or "failed"
    attempts: int
    result: dict[str, Any] | None = None


def invoke_like_lambda(world: EmulatedEnvironment, event: Any) -> Invocation:
    """Lambda's asynchronous invocation of the handler, as the stack configures it.

    A failed invocation is retried (twice); when the last one fails, Lambda's on-failure
    destination, the dead-letter queue, receives a destination record holding the event.
    """
    error: Exception | None = None
    for attempt in range(1, LAMBDA_RETRY_ATTEMPTS + 2):
        try:
            return Invocation("succeeded", attempt, detect.handler(event, CONTEXT))
        except Exception as failure:  # what Lambda sees as a function error
            error = failure
    record = {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(),
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": CONTEXT.invoked_function_arn,
            "condition": "RetriesExhausted",
            "approximateInvokeCount": LAMBDA_RETRY_ATTEMPTS + 1,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": str(error), "errorType": type(error).__name__},
    }
    boto3.client("sqs", region_name=world.region).send_message(
        QueueUrl=world.dead_letter_queue_url, MessageBody=json.dumps(record)
    )
    return Invocation("failed", LAMBDA_RETRY_ATTEMPTS + 1)
