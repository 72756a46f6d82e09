"""The emulated CloudTrail shows trails as AWS does to the accounts of an organization."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from emulator.cloudtrail import DEFAULT_EVENT_SELECTORS, create_organization_trail
from emulator.environment import EmulatedEnvironment
from emulator.organization import (
    MANAGEMENT_ACCOUNT_ID,
    OUTSIDE_ACCOUNT_ID,
    PROD_ACCOUNT_ID,
    administrator_client,
)


def test_a_new_trail_records_management_events_and_has_one_kind_of_selectors(
    environment: EmulatedEnvironment,
) -> None:
    arn = create_organization_trail("us-east-1")
    cloudtrail = administrator_client(MANAGEMENT_ACCOUNT_ID, "cloudtrail", region="us-east-1")
    selectors = cloudtrail.get_event_selectors(TrailName=arn)
    assert (selectors["EventSelectors"], selectors.get("AdvancedEventSelectors") or []) == (
        DEFAULT_EVENT_SELECTORS,
        [],
    )
    advanced = [{"Name": "m", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
    cloudtrail.put_event_selectors(TrailName=arn, AdvancedEventSelectors=advanced)
    selectors = cloudtrail.get_event_selectors(TrailName=arn)
    assert (selectors.get("EventSelectors") or [], selectors["AdvancedEventSelectors"]) == ([], advanced)
    basic = [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]
    cloudtrail.put_event_selectors(TrailName=arn, EventSelectors=basic)
    selectors = cloudtrail.get_event_selectors(TrailName=arn)
    assert (selectors.get("AdvancedEventSelectors") or []) == []
    assert [s["ReadWriteType"] for s in selectors["EventSelectors"]] == ["WriteOnly"]


@pytest.mark.parametrize(
    ("multi_region", "seen_in"), [(True, {"us-east-1", "eu-west-1"}), (False, {"us-east-1"})]
)
def test_members_see_the_organization_trail_where_it_applies(
    environment: EmulatedEnvironment, multi_region: bool, seen_in: set[str]
) -> None:
    arn = create_organization_trail("us-east-1", multi_region=multi_region)
    for region in ("us-east-1", "eu-west-1"):
        member = administrator_client(PROD_ACCOUNT_ID, "cloudtrail", region=region)
        listed = [t["TrailARN"] for t in member.describe_trails()["trailList"]]
        assert (listed == [arn]) is (region in seen_in)
        assert member.describe_trails(includeShadowTrails=False)["trailList"] == []
    member = administrator_client(PROD_ACCOUNT_ID, "cloudtrail", region="us-east-1")
    assert member.get_trail_status(Name=arn)["IsLogging"] is True
    assert member.get_event_selectors(TrailName=arn)["TrailARN"] == arn


def test_an_account_outside_the_organization_sees_none_of_it(environment: EmulatedEnvironment) -> None:
    arn = create_organization_trail("us-east-1")
    outsider = administrator_client(OUTSIDE_ACCOUNT_ID, "cloudtrail", region="us-east-1")
    assert outsider.describe_trails()["trailList"] == []
    with pytest.raises(ClientError, match="TrailNotFoundException"):
        outsider.get_event_selectors(TrailName=arn)
