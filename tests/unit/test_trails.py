"""Whether a trail records the instance calls, from its event selectors as GetEventSelectors gives them."""

from __future__ import annotations

from typing import Any

import pytest

from guardrail_cli.trails import INSTANCE_CALLS, Trail, uncovered, unrecorded_calls

ALL = INSTANCE_CALLS
MANAGEMENT = {"Field": "eventCategory", "Equals": ["Management"]}


def advanced(*field_selectors: dict[str, Any]) -> dict[str, Any]:
    return {"AdvancedEventSelectors": [{"Name": "s", "FieldSelectors": list(field_selectors)}]}


def test_the_calls_are_the_patterns() -> None:
    assert INSTANCE_CALLS == (
        "CreateInstance",
        "DeleteInstance",
        "UpdateInstance",
        "TagResource",
        "UntagResource",
    )


@pytest.mark.parametrize(
    ("selectors", "unrecorded"),
    [
        # CloudTrail's default for a new trail.
        ({"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]}, ()),
        ({"EventSelectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]}, ()),
        ({"EventSelectors": [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}]}, ALL),
        ({"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False}]}, ALL),
        (
            {
                "EventSelectors": [
                    {"ReadWriteType": "All", "ExcludeManagementEventSources": ["kms.amazonaws.com"]}
                ]
            },
            (),
        ),
        (
            {
                "EventSelectors": [
                    {"ReadWriteType": "All", "ExcludeManagementEventSources": ["sso.amazonaws.com"]}
                ]
            },
            ALL,
        ),
        # A data-event selector beside a management one: the management one records them.
        (
            {
                "EventSelectors": [
                    {
                        "ReadWriteType": "All",
                        "IncludeManagementEvents": False,
                        "DataResources": [{"Type": "x"}],
                    },
                    {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True},
                ]
            },
            (),
        ),
        ({"EventSelectors": []}, ALL),
        ({}, ALL),
    ],
    ids=[
        "default",
        "write-only",
        "read-only",
        "no-management",
        "kms-excluded",
        "sso-excluded",
        "one-of-two",
        "empty",
        "none",
    ],
)
def test_basic_selectors(selectors: dict[str, Any], unrecorded: tuple[str, ...]) -> None:
    assert unrecorded_calls(selectors) == unrecorded


@pytest.mark.parametrize(
    ("selectors", "unrecorded"),
    [
        (advanced(MANAGEMENT), ()),
        (advanced(MANAGEMENT, {"Field": "readOnly", "Equals": ["false"]}), ()),
        (advanced(MANAGEMENT, {"Field": "readOnly", "Equals": ["true"]}), ALL),
        (advanced(MANAGEMENT, {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]}), ()),
        (advanced(MANAGEMENT, {"Field": "eventSource", "NotEquals": ["sso.amazonaws.com"]}), ALL),
        (advanced(MANAGEMENT, {"Field": "eventSource", "Equals": ["s3.amazonaws.com"]}), ALL),
        (advanced(MANAGEMENT, {"Field": "eventSource", "StartsWith": ["sso."]}), ()),
        (
            advanced(MANAGEMENT, {"Field": "eventName", "Equals": ["CreateInstance", "DeleteInstance"]}),
            ("UpdateInstance", "TagResource", "UntagResource"),
        ),
        (
            advanced(MANAGEMENT, {"Field": "eventName", "NotStartsWith": ["Tag", "Untag"]}),
            ("TagResource", "UntagResource"),
        ),
        (
            advanced(MANAGEMENT, {"Field": "eventName", "EndsWith": ["Instance"]}),
            ("TagResource", "UntagResource"),
        ),
        (
            advanced(MANAGEMENT, {"Field": "eventName", "NotEndsWith": ["Resource"]}),
            ("TagResource", "UntagResource"),
        ),
        # Data events only.
        (
            advanced(
                {"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["x"]}
            ),
            ALL,
        ),
        (advanced({"Field": "resources.type", "Equals": ["AWS::S3::Object"]}), ALL),
        # Fields the calls do not settle: excluding some callers still records the rest; naming some does not.
        (
            advanced(
                MANAGEMENT, {"Field": "userIdentity.arn", "NotStartsWith": ["arn:aws:sts::1:assumed-role/x"]}
            ),
            (),
        ),
        (advanced(MANAGEMENT, {"Field": "userIdentity.arn", "Equals": ["arn:aws:iam::1:user/x"]}), ALL),
        # Two selectors: either records.
        (
            {
                "AdvancedEventSelectors": [
                    {"FieldSelectors": [MANAGEMENT, {"Field": "readOnly", "Equals": ["true"]}]},
                    {"FieldSelectors": [MANAGEMENT, {"Field": "readOnly", "Equals": ["false"]}]},
                ]
            },
            (),
        ),
        # Advanced selectors are what the trail uses when it has them (AWS never gives both).
        ({"EventSelectors": [], "AdvancedEventSelectors": [{"FieldSelectors": [MANAGEMENT]}]}, ()),
    ],
)
def test_advanced_selectors(selectors: dict[str, Any], unrecorded: tuple[str, ...]) -> None:
    assert unrecorded_calls(selectors) == unrecorded


def trail(**changes: Any) -> Trail:
    fields: dict[str, Any] = {
        "arn": "arn:aws:cloudtrail:us-east-1:111111111111:trail/org",
        "name": "org",
        "home_region": "us-east-1",
        "multi_region": True,
        "organization": True,
        "logging": True,
        "unrecorded": (),
    }
    return Trail(**{**fields, **changes})


def test_a_trail_covers_its_home_region_or_every_region() -> None:
    regions = ("us-east-1", "eu-west-1")
    assert uncovered([trail()], regions) == []
    assert uncovered([trail(multi_region=False)], regions) == ["eu-west-1"]
    assert uncovered([trail(logging=False)], regions) == list(regions)
    assert uncovered([trail(unrecorded=("TagResource",))], regions) == list(regions)
    single = [trail(multi_region=False), trail(multi_region=False, home_region="eu-west-1")]
    assert uncovered(single, regions) == []
    assert uncovered([], regions) == list(regions)


def test_a_trail_is_read_from_what_cloudtrail_says() -> None:
    described = {
        "Name": "org",
        "TrailARN": "arn:aws:cloudtrail:eu-west-1:111111111111:trail/org",
        "IsMultiRegionTrail": False,
        "IsOrganizationTrail": True,
    }
    read = Trail.of(described, {"IsLogging": True}, {"EventSelectors": [{"ReadWriteType": "ReadOnly"}]})
    assert (read.home_region, read.owner, read.logging, read.unrecorded) == (
        "eu-west-1",
        "111111111111",
        True,
        ALL,
    )
    assert read.describe() == "org (organization trail, in eu-west-1 only)"
