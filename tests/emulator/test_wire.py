"""The wire tap: recorded calls, injected faults that stand in for AWS, and the chain measure."""

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.environment import EmulatedEnvironment
from emulator.organization import MEMBER_ROLE_NAME, PROD_ACCOUNT_ID, SECURITY_ACCOUNT_ID
from emulator.wire import ACCESS_DENIED, AwsWire, WireCall, longest_chain


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
