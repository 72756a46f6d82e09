"""Listing an account's instances: one call where botocore knows `RegionScope`, else one call per
Region the account has enabled (and per watched Region), where a Region the account has not
enabled holds no instance rather than a gap, and a listing whose enabled Regions are unknown is
never taken for the whole account."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from unittest import mock

import boto3
import pytest
from moto.core.exceptions import JsonRESTError

from emulator.environment import PROD_INSTANCE_ARN, SANDBOX_INSTANCE_ARN, EmulatedEnvironment
from emulator.organization import PROD_ACCOUNT_ID, SANDBOX_ACCOUNT_ID, administrator_client
from guardrail.adapters.clients import AwsClients
from guardrail.adapters.identity_center import lists_all_regions
from guardrail.core.policy import Policy
from guardrail.core.regions import IDENTITY_CENTER_REGIONS, partition_of
from guardrail.gather import FactGatherer, GatherSettings
from guardrail.gather.deadline import Deadline, Missing
from guardrail_cli.sweep import SweepSettings, sweep

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
    calls = served(world, SANDBOX_ACCOUNT_ID)
    assert set(ALL_WATCHED) <= set(calls)
    assert len(calls) == len(set(calls))  # each Region once


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
    assert raised.value.reason.startswith("ap-east-1: ")
    # The Regions it has not enabled are not named: nothing can be there.
    assert "af-south-1" not in raised.value.reason


# -- without RegionScope, every Region the account has enabled is listed -----------------------------


def watching(env: EmulatedEnvironment, regions: tuple[str, ...], account_id: str) -> list[tuple[str, str]]:
    """The account's instances as listed by a gatherer that watches only `regions`."""
    settings = GatherSettings(member_role_name=env.organization.member_role_name, regions=regions)
    the = FactGatherer(AwsClients(boto3.session.Session()), settings)
    instances = the.member.list_instances(the.member_clients(account_id), "us-east-1", Deadline(10.0))
    return sorted((i.instance_arn, i.region) for i in instances)


def move_prod_instance(env: EmulatedEnvironment, region: str) -> str:
    """Prod's instance, deleted from eu-west-1 and made again in `region` (one per account)."""
    administrator_client(PROD_ACCOUNT_ID, "sso-admin", region="eu-west-1").delete_instance(
        InstanceArn=PROD_INSTANCE_ARN
    )
    return env.identity_center.seed_instance(PROD_ACCOUNT_ID, region, name="elsewhere")


@pytest.mark.usefixtures("per_region")
def test_an_instance_in_a_region_not_watched_is_found(world: EmulatedEnvironment) -> None:
    """Watching us-east-1 only: the Prod instance in eu-west-1 is still found (it once was not)."""
    assert watching(world, ("us-east-1",), PROD_ACCOUNT_ID) == [(PROD_INSTANCE_ARN, "eu-west-1")]


@pytest.mark.usefixtures("per_region")
def test_an_instance_in_an_enabled_opt_in_region_not_watched_is_found(world: EmulatedEnvironment) -> None:
    world.account_regions.enable(PROD_ACCOUNT_ID, "me-central-1")
    arn = move_prod_instance(world, "me-central-1")
    assert watching(world, ("us-east-1", "eu-west-1"), PROD_ACCOUNT_ID) == [(arn, "me-central-1")]


@pytest.mark.usefixtures("per_region")
def test_exactly_the_regions_the_account_enabled_are_listed(world: EmulatedEnvironment) -> None:
    """Every enabled Region where Identity Center is available, once; none the account has not
    enabled, unless it is watched (its refusal there is then not a gap)."""
    world.account_regions.enable(SANDBOX_ACCOUNT_ID, "ap-east-1")
    assert watching(world, ("us-east-1", "af-south-1"), SANDBOX_ACCOUNT_ID) == [
        (SANDBOX_INSTANCE_ARN, "us-east-1")
    ]
    calls = served(world, SANDBOX_ACCOUNT_ID)
    enabled = {r for r in IDENTITY_CENTER_REGIONS if world.account_regions.is_enabled(SANDBOX_ACCOUNT_ID, r)}
    assert "ap-east-1" in enabled
    assert sorted(calls) == sorted(enabled | {"af-south-1"})


@pytest.fixture
def regions_unreadable(world: EmulatedEnvironment) -> Iterator[None]:
    """ListRegions refused in every account, as where account:ListRegions is denied."""

    def refused(caller: str, params: dict[str, Any]) -> dict[str, Any]:
        raise JsonRESTError("AccessDeniedException", f"{caller} may not call account:ListRegions")

    with mock.patch.object(world.account_regions, "_list_regions", refused):
        yield


@pytest.mark.usefixtures("per_region", "regions_unreadable")
def test_without_the_enabled_regions_the_listing_is_a_missing_fact_naming_what_was_listed(
    world: EmulatedEnvironment,
) -> None:
    """Never an account read in full when only the watched Regions were: an instance elsewhere
    would be missed silently."""
    arn = move_prod_instance(world, "ap-southeast-2")
    with pytest.raises(Missing) as raised:
        watching(world, ("us-east-1", "eu-west-1"), PROD_ACCOUNT_ID)
    assert arn  # in a Region not listed
    reason = raised.value.reason
    assert reason.startswith(
        "listed only in eu-west-1, us-east-1: the Regions the account has enabled could not be read "
        "(ListRegions: "
    )
    assert reason.endswith("an instance in another Region would be missed")


@pytest.mark.usefixtures("per_region", "regions_unreadable")
def test_without_the_enabled_regions_every_region_watched_and_read_is_a_complete_listing(
    world: EmulatedEnvironment,
) -> None:
    """Where every Region of the partition was watched and answered, the enabled ones add nothing."""
    every = tuple(sorted(r for r in IDENTITY_CENTER_REGIONS if partition_of(r) == "aws"))
    world.account_regions.enable(PROD_ACCOUNT_ID, *every)
    assert watching(world, every, PROD_ACCOUNT_ID) == [(PROD_INSTANCE_ARN, "eu-west-1")]


@pytest.mark.usefixtures("per_region", "regions_unreadable")
def test_a_sweep_reports_the_account_not_read_rather_than_read(world: EmulatedEnvironment) -> None:
    """The sweep's accounting: the account whose listing is partial is not counted as read."""
    move_prod_instance(world, "ap-southeast-2")
    settings = SweepSettings(
        member_role_name=world.organization.member_role_name,
        regions=("us-east-1", "eu-west-1"),
        near_region="us-east-1",
        organizations_role_arn=world.organization.organizations_reader_role_arn,
        organization_instance_region="us-east-1",
    )
    summary = sweep(AwsClients(boto3.session.Session()), settings, Policy())
    unreadable = {u.account_id: u.reason for u in summary.unreadable}
    assert PROD_ACCOUNT_ID in unreadable
    assert "cannot list its instances: listed only in eu-west-1, us-east-1" in unreadable[PROD_ACCOUNT_ID]
