"""Assumed roles share one client per service and Region, and each call signs as its own role."""

from __future__ import annotations

import contextvars
import copy
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError, NoCredentialsError
from moto import mock_aws

from emulator.wire import AwsWire
from guardrail.adapters.clients import AwsClients

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
ACCOUNTS = tuple(f"{n:012d}" for n in range(111111111111, 111111111111 + 6))


@pytest.fixture
def root() -> Iterator[AwsClients]:
    with mock_aws():
        yield AwsClients(boto3.session.Session(region_name="us-east-1"))


def role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/member"


def test_clients_are_made_once_per_service_and_region_for_every_account(root: AwsClients) -> None:
    root.client("sts")  # the function's own client: its session's loader made
    made: list[str] = []
    root.session.events.register("creating-client-class", lambda class_attributes, **_: made.append("client"))
    members = [root.assume(role(a), "test") for a in ACCOUNTS]
    for member in members:
        for region in REGIONS:
            member.client("events", region).list_rules()
            member.client("sqs", region).list_queues()
    assert len(made) == 2 * len(REGIONS)  # not 2 * Regions * accounts
    assert root.shared.created == 2 * len(REGIONS)
    # One loader for the function and every role: each service model is parsed once per process.
    shared = root.shared._core.get_component("data_loader")
    assert shared is root.session._session.get_component("data_loader")


def test_two_accounts_never_sign_with_each_others_credentials(root: AwsClients) -> None:
    members = {a: root.assume(role(a), "test") for a in ACCOUNTS[:2]}
    signed: list[tuple[str, str]] = []
    lock = threading.Lock()

    def record(request: Any, **_: Any) -> None:
        header = request.headers.get("Authorization", b"")
        key = (header.decode() if isinstance(header, bytes) else header).split("Credential=")[1].split("/")[0]
        with lock:
            signed.append((threading.current_thread().name, key))

    root.session.events.register("before-send.sts.GetCallerIdentity", record)

    def who(account: str) -> tuple[str, str]:
        threading.current_thread().name = account
        identity = members[account].client("sts", "eu-west-1").get_caller_identity()
        return account, identity["Account"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(who, [a for _ in range(25) for a in members]))
    assert all(asked == answered for asked, answered in answers)
    keys = {a: m._role.access_key for a, m in members.items()}  # type: ignore[union-attr]
    assert len(set(keys.values())) == 2
    assert signed
    assert all(key == keys[account] for account, key in signed)
    assert root.shared.created == 1  # both accounts called through the one client


def test_a_shared_client_has_no_credentials_outside_a_call(root: AwsClients) -> None:
    member = root.assume(role(ACCOUNTS[0]), "test")
    member.client("events", "eu-west-1").list_rules()
    with pytest.raises(NoCredentialsError):
        root.shared.client("events", "eu-west-1").list_rules()  # never the function's own
    with pytest.raises(AttributeError, match="pages"):
        member.client("events", "eu-west-1").get_paginator("list_rules")


def test_the_functions_own_clients_keep_its_credentials(root: AwsClients) -> None:
    own = root.client("sts").get_caller_identity()["Account"]
    member = root.assume(role(ACCOUNTS[0]), "test")
    assert member.client("sts").get_caller_identity()["Account"] == ACCOUNTS[0]
    assert root.client("sts").get_caller_identity()["Account"] == own != ACCOUNTS[0]


def _after_a_storm_in_another_account(member: AwsClients, stormy: AwsClients, wire: AwsWire) -> str:
    """The account `member` asked once, after `stormy` was throttled on every call 30 times and
    `member` is throttled once: AWS throttles per account, so `member`'s call must be retried."""
    wire.fail("sts", "GetCallerIdentity", account=ACCOUNTS[0])
    for _ in range(30):
        with pytest.raises(ClientError):
            stormy.client("sts", "eu-west-1").get_caller_identity()
    account = ACCOUNTS[1]
    wire.fail("sts", "GetCallerIdentity", account=account, times=1)
    return str(member.client("sts", "eu-west-1").get_caller_identity()["Account"])


def test_one_accounts_throttling_leaves_the_others_retries_and_pace_alone(root: AwsClients) -> None:
    """botocore keeps a retry quota and a rate limiter per client; a shared client keeps none."""
    stormy, member = root.assume(role(ACCOUNTS[0]), "test"), root.assume(role(ACCOUNTS[1]), "test")
    with mock.patch("botocore.endpoint.time.sleep"), AwsWire() as wire:
        assert _after_a_storm_in_another_account(member, stormy, wire) == ACCOUNTS[1]
        retried = [c for c in wire.calls if c.operation == "GetCallerIdentity" and c.account == ACCOUNTS[1]]
    assert len(retried) == 2  # throttled once, then answered


def test_a_context_copied_during_a_call_does_not_carry_its_credentials(root: AwsClients) -> None:
    member = root.assume(role(ACCOUNTS[0]), "test")
    copied: list[contextvars.Context] = []
    root.session.events.register(
        "before-call.sts.GetCallerIdentity", lambda **_: copied.append(contextvars.copy_context())
    )
    member.client("sts", "eu-west-1").get_caller_identity()
    outcome: list[str] = []

    def later() -> None:
        try:
            outcome.append(root.shared.client("sts", "eu-west-1").get_caller_identity()["Account"])
        except NoCredentialsError:
            outcome.append("no credentials")

    thread = threading.Thread(target=lambda: copied[0].run(later))
    thread.start()
    thread.join()
    assert outcome == ["no credentials"]


def test_a_roles_client_without_a_region_is_in_the_functions_region_and_copies(root: AwsClients) -> None:
    session = AwsClients(boto3.session.Session(region_name="eu-west-1"))
    sts = session.assume(role(ACCOUNTS[0]), "test").client("sts")
    assert sts.meta.region_name == "eu-west-1"
    assert copy.copy(sts).get_caller_identity()["Account"] == ACCOUNTS[0]
