"""Listing an account's instances: one call where botocore knows `RegionScope`, else one call per
watched Region, where a Region the account has not enabled holds no instance rather than a gap."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from unittest import mock

import boto3
import pytest

from emulator.environment import PROD_INSTANCE_ARN, SANDBOX_INSTANCE_ARN, EmulatedEnvironment
from emulator.organization import PROD_ACCOUNT_ID, SANDBOX_ACCOUNT_ID, administrator_client
from guardrail.adapters.clients import AwsClients
from guardrail.adapters.identity_center import lists_all_regions
from guardrail.gather import FactGatherer, GatherSettings
from guardrail.gather.deadline import Deadline, Missing

ALL_WATCHED = ("us-east-1", "eu-west-1", "eu-central-1", "ap-east-1", "me-central-1", "af-south-1")


@pytest.fixture
def world() -> Iterator[EmulatedEnvironment]:
    with EmulatedEnvironment() as env:
        yield env


def gatherer(env: EmulatedEnvironment) -> FactGatherer:
    settings = GatherSettings(member_role_name=env.organization.member_role_name, regions=ALL_WATCHED)
    return FactGatherer(AwsClients(boto3.session.Session()), settings)


def listed(env: EmulatedEnvironment, account_id: str, near: str = "us-east-1") -> list[tuple[str, str]]:
    the = gatherer(env)
    clients = the.member_clients(account_id)
    instances = the.member.list_instances(clients, near, Deadline(10.0))
    return sorted((i.instance_arn, i.region) for i in instances)


def served(env: EmulatedEnvironment, account_id: str) -> list[str]:
    return [
        c.region
        for c in env.identity_center.calls
        if c.account == account_id and c.operation == "ListInstances"
    ]


def test_the_pinned_botocore_lists_every_region_in_one_call(world: EmulatedEnvironment) -> None:
    assert lists_all_regions(boto3.client("sso-admin", region_name="us-east-1"))
    # The Prod instance lives in eu-west-1; asked from us-east-1, one call finds it, with its Region.
    assert listed(world, PROD_ACCOUNT_ID) == [(PROD_INSTANCE_ARN, "eu-west-1")]
    assert served(world, PROD_ACCOUNT_ID) == ["us-east-1"]


def test_a_model_without_region_scope_is_recognized() -> None:
    members = {"MaxResults": None, "NextToken": None}
    operation = SimpleNamespace(input_shape=SimpleNamespace(members=members))
    old = SimpleNamespace(
        meta=SimpleNamespace(service_model=SimpleNamespace(operation_model=lambda _: operation))
    )
    assert not lists_all_regions(old)


@pytest.fixture
def per_region() -> Iterator[None]:
    """As with a botocore older than RegionScope (the Lambda runtime's may be)."""
    with mock.patch("guardrail.gather.member.lists_all_regions", return_value=False):
        yield


@pytest.mark.usefixtures("per_region")
def test_without_region_scope_each_watched_region_is_listed(world: EmulatedEnvironment) -> None:
    world.account_regions.enable(SANDBOX_ACCOUNT_ID, "ap-east-1")
    assert listed(world, SANDBOX_ACCOUNT_ID) == [(SANDBOX_INSTANCE_ARN, "us-east-1")]
    # Opt-in Regions the account has not enabled fail (AWS refuses the call there) and hold nothing.
    assert sorted(served(world, SANDBOX_ACCOUNT_ID)) == sorted(ALL_WATCHED)


@pytest.mark.usefixtures("per_region")
def test_an_instance_in_an_enabled_opt_in_region_is_found(world: EmulatedEnvironment) -> None:
    world.account_regions.enable(PROD_ACCOUNT_ID, "me-central-1")
    administrator_client(PROD_ACCOUNT_ID, "sso-admin", region="eu-west-1").delete_instance(
        InstanceArn=PROD_INSTANCE_ARN
    )
    arn = world.identity_center.seed_instance(PROD_ACCOUNT_ID, "me-central-1", name="far")
    assert listed(world, PROD_ACCOUNT_ID) == [(arn, "me-central-1")]


@pytest.mark.usefixtures("per_region")
def test_a_region_the_account_enabled_that_cannot_be_read_is_a_missing_fact(
    world: EmulatedEnvironment,
) -> None:
    world.account_regions.enable(SANDBOX_ACCOUNT_ID, "ap-east-1")
    original = world.identity_center._list_instances

    def failing(caller: Any, params: dict[str, Any]) -> dict[str, Any]:
        if caller.region == "ap-east-1":
            raise RuntimeError("boom")
        return original(caller, params)

    with (
        mock.patch.object(world.identity_center, "_list_instances", failing),
        pytest.raises(Missing) as raised,
    ):
        listed(world, SANDBOX_ACCOUNT_ID)
    assert raised.value.fact.fact == "account_instances"
    assert raised.value.fact.reason.startswith("ap-east-1: ")
    # The Regions it has not enabled are not named: nothing can be there.
    assert "af-south-1" not in raised.value.fact.reason
