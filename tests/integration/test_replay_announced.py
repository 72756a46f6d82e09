"""The emulation made fair to a user's events: what a successful CreateInstance announces exists."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulator.announced import AnnouncedInstances
from emulator.environment import (
    ORGANIZATION_INSTANCE_ARN,
    PROD_INSTANCE_ARN,
    SANDBOX_INSTANCE_ARN,
    EmulatedEnvironment,
)
from guardrail_cli.logs import as_eventbridge
from tests.integration.test_replay import sample_record

NEW = "arn:aws:sso:::instance/ssoins-a11ce0000000a11c"


@pytest.fixture
def world() -> Iterator[EmulatedEnvironment]:
    with EmulatedEnvironment() as env:
        yield env


def created(account: str, region: str = "us-east-1", **changes: Any) -> dict[str, Any]:
    record = sample_record(
        "create-instance-console-success",
        recipientAccountId=account,
        awsRegion=region,
        responseElements={"instanceArn": NEW},
        requestParameters={"name": "mine", "tags": [{"key": "owner", "value": "me@example.com"}]},
    )
    record.update(changes)
    return as_eventbridge(record)


def arns(world: EmulatedEnvironment, account: str | None = None) -> set[str]:
    return {r.instance_arn for r in world.identity_center.instances(account)}


def test_the_announced_instance_replaces_the_accounts_starting_one(world: EmulatedEnvironment) -> None:
    notes = AnnouncedInstances(world).prepare(created("333333333333"))
    assert arns(world, "333333333333") == {NEW}
    (record,) = world.identity_center.instances("333333333333")
    assert (record.name, dict(record.tags), record.region) == (
        "mine",
        {"owner": "me@example.com"},
        "us-east-1",
    )
    assert notes == [
        f"the emulation now holds {NEW}, created as the event's request asked",
        f"{SANDBOX_INSTANCE_ARN}, which the emulation held in 333333333333, gave way",
    ]
    assert {PROD_INSTANCE_ARN, ORGANIZATION_INSTANCE_ARN} <= arns(world)  # other accounts untouched


def test_an_instance_already_held_is_left_alone(world: EmulatedEnvironment) -> None:
    before = arns(world)
    event = as_eventbridge(sample_record("create-instance-console-success"))  # PROD_INSTANCE_ARN
    assert AnnouncedInstances(world).prepare(event) == []
    assert arns(world) == before


@pytest.mark.parametrize(
    "changes",
    [
        {"errorCode": "AccessDenied", "responseElements": None},  # a failed call created nothing
        {"eventName": "DeleteInstance"},
        {"recipientAccountId": "111111111111"},  # AWS refuses CreateInstance in the management account
    ],
)
def test_only_a_successful_creation_in_a_member_account_creates(
    world: EmulatedEnvironment, changes: dict[str, Any]
) -> None:
    before = arns(world)
    account = changes.get("recipientAccountId", "333333333333")
    AnnouncedInstances(world).prepare(created(account, **changes))
    assert arns(world) == before


def test_an_account_outside_the_organization_stays_unknown(world: EmulatedEnvironment) -> None:
    before = arns(world)
    notes = AnnouncedInstances(world).prepare(created("777777777777"))
    assert arns(world) == before
    assert notes == [
        "account 777777777777 is not in the emulated organization, so its facts are missing "
        "(replay --live or --org judges on your own organization)"
    ]


def test_an_opt_in_region_of_the_event_is_enabled_for_its_account(world: EmulatedEnvironment) -> None:
    assert not world.account_regions.is_enabled("333333333333", "ap-east-1")
    AnnouncedInstances(world).prepare(created("333333333333", "ap-east-1"))
    assert world.account_regions.is_enabled("333333333333", "ap-east-1")
    assert not world.account_regions.is_enabled("444444444444", "ap-east-1")


def test_tags_aws_would_have_refused_are_dropped_with_a_note(world: EmulatedEnvironment) -> None:
    event = created("333333333333")
    event["detail"]["requestParameters"]["tags"] = [{"key": "aws:reserved", "value": "x"}]
    notes = AnnouncedInstances(world).prepare(event)
    (record,) = world.identity_center.instances("333333333333")
    assert dict(record.tags) == {}
    assert notes[-1] == "the requested tags were not kept (Tag keys starting with 'aws:' are reserved.)"


def test_an_event_the_function_rejects_changes_nothing(world: EmulatedEnvironment) -> None:
    before = arns(world)
    event = created("333333333333")
    event["detail"]["eventID"] = 7
    assert AnnouncedInstances(world).prepare(event) == []
    assert arns(world) == before


def changed(operation: str, arn: str, account: str = "333333333333", **request: Any) -> dict[str, Any]:
    """A successful call on an instance, as CloudTrail records it."""
    params = (
        {"resourceArn": arn, **request}
        if operation in ("TagResource", "UntagResource")
        else {"instanceArn": arn, **request}
    )
    record = sample_record(
        "create-instance-console-success",
        eventName=operation,
        recipientAccountId=account,
        awsRegion="us-east-1",
        requestParameters=params,
        responseElements=None,
    )
    return as_eventbridge(record)


def tags_of(world: EmulatedEnvironment, arn: str) -> dict[str, str]:
    return next(dict(r.tags) for r in world.identity_center.instances() if r.instance_arn == arn)


def test_tag_changes_updates_and_deletions_are_applied(world: EmulatedEnvironment) -> None:
    announced = AnnouncedInstances(world)
    assert announced.prepare(changed("UntagResource", SANDBOX_INSTANCE_ARN, tagKeys=["owner"])) == []
    assert "owner" not in tags_of(world, SANDBOX_INSTANCE_ARN)
    tags = [{"key": "owner", "value": "carol@example.com"}, {"key": "expires", "value": "2027-01-31"}]
    assert announced.prepare(changed("TagResource", SANDBOX_INSTANCE_ARN, tags=tags)) == []
    assert tags_of(world, SANDBOX_INSTANCE_ARN) == {
        "purpose": "trial",
        "owner": "carol@example.com",
        "expires": "2027-01-31",
    }
    assert announced.prepare(changed("UpdateInstance", SANDBOX_INSTANCE_ARN, name="renamed")) == []
    assert (
        next(r.name for r in world.identity_center.instances() if r.instance_arn == SANDBOX_INSTANCE_ARN)
        == "renamed"
    )
    assert announced.prepare(changed("DeleteInstance", SANDBOX_INSTANCE_ARN)) == []
    assert SANDBOX_INSTANCE_ARN not in arns(world)
    # Deleting what is gone already changes nothing more, and says nothing.
    assert announced.prepare(changed("DeleteInstance", SANDBOX_INSTANCE_ARN)) == []


def test_a_failed_change_changes_nothing(world: EmulatedEnvironment) -> None:
    event = changed("UntagResource", SANDBOX_INSTANCE_ARN, tagKeys=["owner"])
    event["detail"]["errorCode"] = "AccessDenied"
    assert AnnouncedInstances(world).prepare(event) == []
    assert "owner" in tags_of(world, SANDBOX_INSTANCE_ARN)


def test_a_change_to_an_instance_the_emulation_does_not_hold_says_its_facts_are_missing(
    world: EmulatedEnvironment,
) -> None:
    notes = AnnouncedInstances(world).prepare(changed("TagResource", NEW, tags=[{"key": "a", "value": "b"}]))
    assert notes == [
        f"the emulation holds no instance {NEW} (its creation is not in the replayed events), so its facts are missing"
    ]
    assert NEW not in arns(world)


def test_a_change_aws_would_refuse_is_refused_and_said(world: EmulatedEnvironment) -> None:
    too_many = [{"key": f"k{i}", "value": "v"} for i in range(80)]
    event = changed("TagResource", SANDBOX_INSTANCE_ARN)
    event["detail"]["requestParameters"]["tags"] = too_many  # the record keeps what was asked
    notes = AnnouncedInstances(world).prepare(event)
    assert len(notes) == 1
    assert notes[0].startswith(f"the emulation did not take the TagResource of {SANDBOX_INSTANCE_ARN} (")
