"""The wire tap: recorded calls, injected faults that stand in for AWS, and the chain measure."""

from collections.abc import Callable
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries import standard

from emulator.environment import EmulatedEnvironment
from emulator.organization import (
    MEMBER_ROLE_NAME,
    PROD_ACCOUNT_ID,
    SECURITY_ACCOUNT_ID,
    assume_role_session,
)
from emulator.wire import ACCESS_DENIED, AwsWire, Quota, Throttle, WireCall, longest_chain
from guardrail.adapters.clients import AwsClients


def call(name: str, started: float, ended: float) -> WireCall:
    service, operation = name.split(":")
    return WireCall(service, operation, "us-east-1", None, "t", started, ended, ended - started, 0.0, None)


def test_the_chain_counts_only_calls_that_follow_one_another() -> None:
    calls = [
        call("dynamodb:PutItem", 0, 1),
        call("sso-admin:ListInstances", 1, 2),  # these three overlap: one round trip
        call("sso-admin:DescribeInstance", 1.1, 2.1),
        call("sso-admin:ListTagsForResource", 1.2, 2.2),
        call("sns:Publish", 2.2, 3),
    ]
    assert [c.name for c in longest_chain(calls)] == [
        "dynamodb:PutItem",
        "sso-admin:ListInstances",
        "sns:Publish",
    ]


def test_a_fault_answers_matching_calls_the_given_number_of_times(environment: EmulatedEnvironment) -> None:
    sts = boto3.client("sts", region_name=environment.region)
    with AwsWire() as wire:
        fault = wire.fail("sts", "GetCallerIdentity", error=ACCESS_DENIED, times=2)
        for _ in range(2):
            with pytest.raises(ClientError, match="AccessDenied"):
                sts.get_caller_identity()
        assert sts.get_caller_identity()["Account"] == SECURITY_ACCOUNT_ID
        assert fault.hits == 2
        assert [c.fault for c in wire.calls] == ["AccessDenied", "AccessDenied", None]
        assert {c.account for c in wire.calls} == {SECURITY_ACCOUNT_ID}


def test_a_faulted_call_never_reaches_the_emulation(environment: EmulatedEnvironment) -> None:
    sns = boto3.client("sns", region_name=environment.region)
    with AwsWire() as wire:
        wire.fail("sns", "Publish", error=ACCESS_DENIED)
        with pytest.raises(ClientError):
            sns.publish(TopicArn=environment.topic_arn, Message="{}", Subject="s")
    assert environment.received_alerts() == []


def test_faults_can_target_a_calling_account_or_a_request(environment: EmulatedEnvironment) -> None:
    role = environment.organization.member_role_arns[PROD_ACCOUNT_ID]
    sts = boto3.client("sts", region_name=environment.region)
    with AwsWire() as wire:
        wire.fail("sts", "AssumeRole", error=ACCESS_DENIED, body_contains=MEMBER_ROLE_NAME)
        wire.fail("sts", "GetCallerIdentity", error=ACCESS_DENIED, account="111111111111")
        with pytest.raises(ClientError):
            sts.assume_role(RoleArn=role, RoleSessionName="wire-test")
        sts.get_caller_identity()  # the central account is not the one targeted


def test_only_one_wire_at_a_time(environment: EmulatedEnvironment) -> None:
    with AwsWire(), pytest.raises(RuntimeError), AwsWire():
        pass


class Clock:
    """A clock that moves only when told (the throttle's buckets refill with it)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_holds_its_burst_and_refills_at_its_rate() -> None:
    clock = Clock()
    throttle = Throttle({"sts": Quota(rate=2, burst=3)}, clock=clock)
    assert [throttle.admit("sts", "AssumeRole", "222222222222", "us-east-1") for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    clock.now = 0.5  # one token back
    assert throttle.admit("sts", "AssumeRole", "222222222222", "us-east-1")
    assert not throttle.admit("sts", "AssumeRole", "222222222222", "us-east-1")
    clock.now = 100.0  # never more than the burst
    assert sum(throttle.admit("sts", "GetCallerIdentity", "222222222222", "us-east-1") for _ in range(5)) == 3
    assert throttle.throttled == {"sts": 4}


def test_buckets_are_per_calling_account_and_region_and_an_operation_may_have_its_own() -> None:
    throttle = Throttle({"sso-admin": Quota(0, 1), "account:ListRegions": Quota(0, 2)}, clock=Clock())
    assert throttle.admit("sso-admin", "ListInstances", "500000000000", "us-east-1")
    assert not throttle.admit("sso-admin", "ListTagsForResource", "500000000000", "us-east-1")
    assert throttle.admit("sso-admin", "ListInstances", "500000000000", "eu-west-1")
    assert throttle.admit("sso-admin", "ListInstances", "500000000001", "us-east-1")
    assert [throttle.admit("account", "ListRegions", "500000000000", "us-east-1") for _ in range(3)] == [
        True,
        True,
        False,
    ]
    assert throttle.admit("sts", "AssumeRole", "500000000000", "us-east-1")  # not metered
    assert throttle.meters("account", "GetAlternateContact") is None


NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.mark.parametrize(
    ("service", "code"),
    [("sts", "Throttling"), ("sso-admin", "ThrottlingException"), ("account", "ThrottlingException")],
)
def test_a_throttled_call_gets_the_services_throttling_error(
    environment: EmulatedEnvironment, service: str, code: str
) -> None:
    """Query (STS), JSON (sso-admin) and REST JSON (Account Management) protocols alike."""
    session = assume_role_session(environment.organization.member_role_arns[PROD_ACCOUNT_ID])
    make: Any = session.client  # the stubs only accept literal service names
    client = make(service, region_name="us-east-1", config=NO_RETRIES)
    read: Callable[[], Any] = getattr(
        client,
        {"sts": "get_caller_identity", "sso-admin": "list_instances", "account": "list_regions"}[service],
    )
    with AwsWire(throttle=Throttle({service: Quota(rate=0, burst=1)}, clock=Clock())) as wire:
        read()
        with pytest.raises(ClientError) as raised:
            read()
    assert raised.value.response["Error"]["Code"] == code
    assert [(c.fault, c.throttled) for c in wire.calls] == [(None, False), (code, True)]
    # The bucket is the member account's: the role's credentials are the caller's.
    assert {c.account for c in wire.calls} == {PROD_ACCOUNT_ID}


def test_botocore_retries_a_throttled_call_as_it_would_against_aws(environment: EmulatedEnvironment) -> None:
    """The adaptive mode the guardrail's clients use backs off and tries again once the bucket
    has refilled: here the backoff's wait moves the throttle's clock instead of sleeping."""
    clock = Clock()
    role = environment.organization.member_role_arns[PROD_ACCOUNT_ID]
    sts = AwsClients(boto3.session.Session()).client("sts", "us-east-1")
    original = standard.ExponentialBackoff.delay_amount

    def wait(backoff: standard.ExponentialBackoff, context: Any) -> float:
        clock.now += max(original(backoff, context), 1.0)
        return 0.0

    with (
        AwsWire(throttle=Throttle({"sts": Quota(rate=1, burst=1)}, clock=clock)) as wire,
        mock.patch.object(standard.ExponentialBackoff, "delay_amount", wait),
    ):
        sts.assume_role(RoleArn=role, RoleSessionName="first")
        second = sts.assume_role(RoleArn=role, RoleSessionName="second")
    assert second["ResponseMetadata"]["RetryAttempts"] == 1
    assert [c.throttled for c in wire.calls] == [False, True, False]
    # STS meters AssumeRole per calling account: the central one, not the role's.
    assert {c.account for c in wire.calls} == {SECURITY_ACCOUNT_ID}
    assert wire.throttle is not None
    assert wire.throttle.throttled == {"sts": 1}
