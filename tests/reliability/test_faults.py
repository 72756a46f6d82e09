"""The detect path when AWS misbehaves: throttling, timeouts, denied roles, services down.

Faults are injected on the wire (``emulator.wire.AwsWire``), below botocore's retry handler, so
the clients' real retry configuration handles them. What must hold:

* a transient fault on any call the detect path makes is retried away: the alert is the same as
  without the fault;
* a persistent fault on fact gathering still gives exactly one alert, which names the missing
  facts and never proposes deleting an instance;
* a fault that keeps the alert from going out (SNS, the idempotency claim) fails the invocation,
  so that Lambda retries it and finally hands it to its on-failure destination;
* nothing is published twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from unittest import mock

import boto3
import botocore.session
import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyPersistenceLayerError,
)
from botocore.exceptions import ClientError

from emulator.environment import EmulatedEnvironment
from emulator.organization import MEMBER_ROLE_NAME, ORGANIZATIONS_READER_ROLE_NAME
from emulator.wire import (
    ACCESS_DENIED,
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    THROTTLING,
    UNAVAILABLE,
    AwsError,
    AwsWire,
    Delay,
)
from guardrail.adapters.clients import AwsClients
from guardrail.gather import FactGatherer, GatherSettings
from guardrail.handlers import detect
from guardrail.inventory.table import InventoryTable
from guardrail.pipeline.events import parse_api_call
from tests.builders import NOW
from tests.reliability.conftest import CONTEXT, Records, Sleeps, fresh, invoke_like_lambda

pytestmark = pytest.mark.usefixtures("clean")

DELETING = {"delete-instance", "would-delete-instance"}
ATTEMPTS = 6  # per call: the first and the 5 retries of the clients' configuration
ORG_FACTS = {"organization", "account", "service_control_policies", "organization_instances"}
MEMBER_FACTS = {"account_instances", "instance", "applications"}

# Every call the detect path makes for a CreateInstance event on a just-started function.
# Called through the roles the function assumes: the Organizations reader, the member role.
ROLE_SERVICES = frozenset({"organizations", "sso-admin"})
DETECT_PATH = [
    ("dynamodb", "PutItem"),
    ("sts", "AssumeRole"),
    ("organizations", "DescribeOrganization"),
    ("organizations", "DescribeAccount"),
    ("organizations", "ListParents"),
    ("organizations", "DescribeOrganizationalUnit"),
    ("organizations", "ListTagsForResource"),
    ("organizations", "ListPoliciesForTarget"),
    ("organizations", "DescribePolicy"),
    ("sso-admin", "ListInstances"),
    ("sso-admin", "DescribeInstance"),
    ("sso-admin", "ListTagsForResource"),
    ("sso-admin", "ListApplications"),
    ("sns", "Publish"),
    ("dynamodb", "GetItem"),  # the inventory's record of the instance, then written with UpdateItem
    ("dynamodb", "UpdateItem"),
]


@pytest.fixture(scope="module")
def session(world: EmulatedEnvironment) -> boto3.session.Session:
    """Shared by the cold runtimes below only to spare each test boto3's loading of service models."""
    return boto3.session.Session()


@pytest.fixture
def cold(session: boto3.session.Session) -> detect.Runtime:
    """A just-started function: new clients, empty caches, so the detect path makes every call."""
    built = detect.build_runtime(clock=lambda: NOW, clients=AwsClients(session))
    built.once.register(CONTEXT)
    return built


def the_alert(world: EmulatedEnvironment, event: dict[str, Any]) -> dict[str, Any]:
    alerts = world.received_alerts()
    assert len(alerts) == 1, alerts
    body: dict[str, Any] = alerts[0]["body"]
    assert body["event_id"] == event["detail"]["eventID"]
    return body


def test_without_faults_the_console_instance_would_be_deleted(
    world: EmulatedEnvironment, cold: detect.Runtime, wire: AwsWire
) -> None:
    """The control for the tests below: complete facts, and a remediation proposal."""
    event = fresh("create-instance-console-success")
    with wire.recording() as calls:
        assert detect.process(event, cold)["status"] == "alerted"
    body = the_alert(world, event)
    assert (body["verdict"], body["action"], body["missing_facts"]) == (
        "violation",
        "would-delete-instance",
        [],
    )
    assert {(c.service, c.operation) for c in calls} == set(DETECT_PATH)


def test_the_inventory_is_read_once_and_written_once_and_the_write_is_done_when_the_event_is(
    world: EmulatedEnvironment, cold: detect.Runtime, wire: AwsWire
) -> None:
    """Its read overlaps the claim and its write the claim's completion; neither is skipped."""
    event = fresh("create-instance-console-success")
    with wire.recording() as calls:
        assert detect.process(event, cold)["status"] == "alerted"
    # The claim (PutItem) and its completion (UpdateItem); the inventory's record, read and written.
    tables = sorted(c.operation for c in calls if c.service == "dynamodb")
    assert tables == ["GetItem", "PutItem", "UpdateItem", "UpdateItem"]
    arn = event["detail"]["responseElements"]["instanceArn"]
    dynamodb = boto3.client("dynamodb", region_name=world.region)
    record = InventoryTable(dynamodb, world.inventory_table_name).get(arn)
    assert record is not None
    assert record.learnt_by == "event"
    assert record.last_alerted is not None


@pytest.mark.parametrize(("service", "operation"), DETECT_PATH, ids=[f"{s}:{o}" for s, o in DETECT_PATH])
def test_throttling_and_timeouts_on_any_call_are_retried_until_they_clear(
    service: str,
    operation: str,
    world: EmulatedEnvironment,
    cold: detect.Runtime,
    wire: AwsWire,
    sleeps: Sleeps,
) -> None:
    # Four failed attempts in a row (of the six a call may make): throttled twice, then no answer.
    faults = [
        wire.fail(service, operation, error=THROTTLING, times=2),
        wire.fail(service, operation, error=READ_TIMEOUT, times=1),
        wire.fail(service, operation, error=CONNECT_TIMEOUT, times=1),
    ]
    event = fresh("create-instance-console-success")

    assert detect.process(event, cold)["status"] == "alerted"

    assert [f.hits for f in faults] == [2, 1, 1]
    body = the_alert(world, event)
    assert (body["verdict"], body["action"], body["missing_facts"]) == (
        "violation",
        "would-delete-instance",
        [],
    )
    # Retried by botocore with backoff; on the function's own clients, the adaptive mode's
    # client-side rate limiter engaged (the roles' shared clients keep no state between calls).
    assert len(sleeps.backoff) >= 4
    if service not in ROLE_SERVICES:
        assert sleeps.rate_limited, "adaptive retry mode did not slow the client down"


def test_a_throttled_dead_letter_send_is_retried(
    world: EmulatedEnvironment, wire: AwsWire, sleeps: Sleeps
) -> None:
    fault = wire.fail("sqs", "SendMessage", error=THROTTLING, times=3)
    result = detect.handler({"detail": "junk"}, CONTEXT)
    assert result["status"] == "rejected"
    assert fault.hits == 3
    assert len(world.dead_letters()) == 1


@pytest.mark.parametrize(
    ("fault", "missing"),
    [
        ({"service": "organizations", "error": THROTTLING}, ORG_FACTS),
        ({"service": "organizations", "error": UNAVAILABLE}, ORG_FACTS),
        ({"service": "organizations", "error": READ_TIMEOUT}, ORG_FACTS),
        ({"service": "sts", "error": ACCESS_DENIED}, ORG_FACTS | MEMBER_FACTS),
        ({"service": "sts", "error": ACCESS_DENIED, "body_contains": MEMBER_ROLE_NAME}, MEMBER_FACTS),
        (
            {"service": "sts", "error": ACCESS_DENIED, "body_contains": ORGANIZATIONS_READER_ROLE_NAME},
            ORG_FACTS,
        ),
        ({"service": "sso-admin", "error": UNAVAILABLE}, MEMBER_FACTS | {"organization_instances"}),
        ({"service": "sso-admin", "error": CONNECT_TIMEOUT}, MEMBER_FACTS | {"organization_instances"}),
        (
            {"service": "sso-admin", "operation": "DescribeInstance", "error": THROTTLING},
            {"instance", "applications"},
        ),
        (
            {"service": "sso-admin", "operation": "ListTagsForResource", "error": ACCESS_DENIED},
            {"instance", "applications"},
        ),
        ({"service": "sso-admin", "operation": "ListApplications", "error": ACCESS_DENIED}, {"applications"}),
        (
            {"service": "sso-admin", "operation": "ListInstances", "account": "444444444444"},
            {"account_instances"},
        ),
    ],
    ids=[
        "organizations-throttled",
        "organizations-unavailable",
        "organizations-timeout",
        "every-role-denied",
        "member-role-denied",
        "organizations-role-denied",
        "sso-admin-unavailable",
        "sso-admin-unreachable",
        "describe-throttled",
        "instance-tags-denied",
        "applications-denied",
        "member-listing-throttled",
    ],
)
def test_persistent_faults_on_facts_give_one_alert_naming_them_and_no_deletion(
    fault: dict[str, Any],
    missing: set[str],
    world: EmulatedEnvironment,
    cold: detect.Runtime,
    wire: AwsWire,
    sleeps: Sleeps,
) -> None:
    injected = wire.fail(**fault)
    event = fresh("create-instance-console-success")

    result = detect.process(event, cold)

    assert result["status"] == "alerted"
    assert injected.hits >= 1
    body = the_alert(world, event)
    assert {m["fact"] for m in body["missing_facts"]} == missing
    assert all(m["reason"] for m in body["missing_facts"])
    assert body["verdict"] in {"incomplete", "violation"}
    assert body["action"] not in DELETING
    assert world.dead_letters() == []


def test_the_missing_fact_says_what_went_wrong(
    world: EmulatedEnvironment, cold: detect.Runtime, wire: AwsWire
) -> None:
    wire.fail("sts", error=ACCESS_DENIED, body_contains=MEMBER_ROLE_NAME)
    event = fresh("create-instance-console-success")
    detect.process(event, cold)
    reasons = {m["fact"]: m["reason"] for m in the_alert(world, event)["missing_facts"]}
    assert "AccessDenied" in reasons["instance"]
    assert "member role" in reasons["account_instances"]


def test_facts_that_hang_are_reported_missing_at_the_deadline(
    world: EmulatedEnvironment, session: boto3.session.Session, wire: AwsWire
) -> None:
    settings = GatherSettings(
        member_role_name=MEMBER_ROLE_NAME,
        regions=("us-east-1", "eu-west-1"),
        organizations_role_arn=world.organization.organizations_reader_role_arn,
        organization_instance_region="us-east-1",
        deadline_seconds=1.0,
    )
    gatherer = FactGatherer(AwsClients(session), settings)
    gatherer.gather(parse_api_call(fresh("create-instance-cli-trial-tagged")))  # warm, another account
    wire.fail("organizations", "DescribeAccount", error=Delay(4.0))
    call = parse_api_call(fresh("create-instance-console-success"))

    started = time.monotonic()
    facts = gatherer.gather(call)
    elapsed = time.monotonic() - started

    assert elapsed < 3.0
    assert {m.fact: m.reason for m in facts.missing} == {
        "account": "not gathered within 1 s",
        "service_control_policies": "needs account, which is missing",
    }
    assert facts.instance is not None  # the rest came in
    assert facts.organization is not None


# ---------------------------------------------------------------- faults that stop the alert
def test_a_publish_that_keeps_failing_ends_in_the_dead_letter_queue_after_lambdas_retries(
    world: EmulatedEnvironment, wire: AwsWire, sleeps: Sleeps
) -> None:
    wire.fail("sns", "Publish", error=UNAVAILABLE)
    event = fresh("create-instance-console-success")

    with wire.recording() as calls:
        outcome = invoke_like_lambda(world, event)

    assert outcome.status == "failed"
    assert outcome.attempts == 3  # the first invocation and Lambda's two retries
    assert len([c for c in calls if c.service == "sns"]) == 3 * ATTEMPTS
    assert world.received_alerts() == []
    (letter,) = world.dead_letters()
    assert letter["body"]["requestPayload"] == event
    assert letter["body"]["requestContext"]["condition"] == "RetriesExhausted"

    # Each failure released the claim: replayed from the queue once SNS is back, it alerts once.
    wire.heal()
    assert detect.handler(letter["body"]["requestPayload"], CONTEXT)["status"] == "alerted"
    assert len(world.received_alerts()) == 1


def test_a_publish_failing_for_one_invocation_is_published_by_lambdas_retry(
    world: EmulatedEnvironment, wire: AwsWire, sleeps: Sleeps
) -> None:
    wire.fail("sns", "Publish", error=THROTTLING, times=ATTEMPTS)  # all of the first invocation's
    event = fresh("create-instance-console-success")

    outcome = invoke_like_lambda(world, event)

    assert (outcome.status, outcome.attempts) == ("succeeded", 2)
    assert len(world.received_alerts()) == 1
    assert world.dead_letters() == []


def test_without_the_idempotency_table_nothing_is_published_and_the_invocation_fails(
    world: EmulatedEnvironment, runtime: detect.Runtime, wire: AwsWire, sleeps: Sleeps
) -> None:
    wire.fail("dynamodb", error=UNAVAILABLE)
    event = fresh("create-instance-console-success")

    with wire.recording() as calls, pytest.raises(IdempotencyPersistenceLayerError):
        detect.process(event, runtime)

    assert not [c for c in calls if c.service == "sns"]
    assert world.received_alerts() == []
    wire.heal()  # Lambda's retry, once DynamoDB is back
    assert detect.process(event, runtime)["status"] == "alerted"
    assert len(world.received_alerts()) == 1


def test_a_table_failing_after_the_publish_does_not_make_a_retry_publish_again(
    world: EmulatedEnvironment, runtime: detect.Runtime, wire: AwsWire, sleeps: Sleeps, logs: Records
) -> None:
    wire.fail("dynamodb", "UpdateItem", error=UNAVAILABLE)
    event = fresh("create-instance-console-success")
    logs.take()

    result = detect.process(event, runtime)

    # The alert is out: the invocation succeeds (a retry would publish it again), and says so.
    assert (result["status"], result["recorded"]) == ("alerted", False)
    assert len(world.received_alerts()) == 1
    # The inventory shares DynamoDB: it cannot record the event either, and says so; neither fails it.
    assert [r.getMessage() for r in logs.take(30)] == [
        "Could not record the event in the inventory",
        "Could not record the published alert",
    ]
    # A redelivery while the claim is held is a duplicate: it publishes nothing and fails nothing.
    wire.heal()
    result = detect.process(event, runtime)
    assert (result["status"], result["in_progress"]) == ("duplicate", True)
    assert world.received_alerts() == []


def test_a_rejected_event_whose_dead_letter_cannot_be_sent_fails_the_invocation(
    world: EmulatedEnvironment, wire: AwsWire, sleeps: Sleeps
) -> None:
    wire.fail("sqs", "SendMessage", error=UNAVAILABLE)
    with pytest.raises(ClientError):
        detect.handler({"detail": "junk"}, CONTEXT)
    wire.heal()
    assert world.dead_letters() == []


# ---------------------------------------------------------------- client configuration
@pytest.fixture
def created_clients() -> Iterator[list[Any]]:
    """Every botocore client created while the fixture is active, from any session or thread."""
    created: list[Any] = []
    original = botocore.session.Session.create_client

    def spy(session: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = original(session, *args, **kwargs)
        created.append(client)
        return client

    with mock.patch.object(botocore.session.Session, "create_client", spy):
        yield created


def test_every_client_of_the_detect_path_has_timeouts_and_retries(
    world: EmulatedEnvironment, created_clients: list[Any]
) -> None:
    built = detect.build_runtime(clock=lambda: NOW)
    built.once.register(CONTEXT)
    for name in ("create-instance-console-success", "create-instance-denied-by-scp", "delete-instance"):
        assert detect.process(fresh(name), built)["status"] == "alerted"
    assert detect.process({"junk": True}, built)["status"] == "rejected"

    services = {client.meta.service_model.service_name for client in created_clients}
    assert services >= {"dynamodb", "sts", "organizations", "sso-admin", "sns", "sqs"}
    for client in created_clients:
        config = client.meta.config
        name = client.meta.service_model.service_name
        assert (config.connect_timeout, config.read_timeout) == (2, 5), name  # an attempt fits the budget
        # The function's own clients pace themselves (adaptive); the clients its roles share keep no
        # retry state, which would mix the accounts' throttling (`guardrail.adapters.clients`).
        shared = client._request_signer._credentials.method == "guardrail-bound-role"
        assert config.retries["mode"] == ("legacy" if shared else "adaptive"), name
        assert shared == (name in ROLE_SERVICES), name
        assert config.retries["total_max_attempts"] == ATTEMPTS, name


def test_the_wire_speaks_each_protocols_error_format(world: EmulatedEnvironment, wire: AwsWire) -> None:
    """A check of the test tool itself: a faulted call surfaces as that service's ClientError."""
    for service, operation, code in [
        ("sts", "get_caller_identity", "AccessDenied"),  # query protocol, XML errors
        ("sqs", "list_queues", "AccessDeniedException"),  # JSON protocol
        ("organizations", "describe_organization", "AccessDeniedException"),
    ]:
        wire.fail(service, error=AwsError(code, 403, "no"), times=1)
        client: Any = boto3.client(service, region_name=world.region)  # type: ignore[call-overload]
        with pytest.raises(ClientError) as raised:
            getattr(client, operation)()
        assert raised.value.response["Error"]["Code"] == code
