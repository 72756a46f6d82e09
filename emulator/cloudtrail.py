"""CloudTrail's trails as the accounts of an organization see them: what `guardrail doctor`'s trail
check reads.

moto keeps each account's trails, their status and their event selectors. Until the stack given to
`model_trails` closes, this adds what AWS does and moto leaves out:

- A new trail records management events, reads and writes: GetEventSelectors answers CloudTrail's
  default basic selector (moto answers none).
- A trail has basic or advanced event selectors, never both: putting one kind drops the other
  (moto keeps the advanced ones when basic ones are put).
- An organization trail (one the management account made with `IsOrganizationTrail`) shows in every
  member account: DescribeTrails lists it there (with shadow trails, the default: in every Region
  for a multi-Region trail, else in its home Region), and GetTrailStatus and GetEventSelectors
  answer for it by its ARN (moto shows a trail to its own account only). That members cannot change
  it is not modelled: nothing here changes one from a member account.

`create_organization_trail` sets one up as an administrator (or AWS Control Tower) does: logging,
multi-Region, recording management events, in the management account.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from typing import Any
from unittest import mock

from moto.cloudtrail.exceptions import TrailNotFoundException
from moto.cloudtrail.models import CloudTrailBackend, Trail, cloudtrail_backends
from moto.organizations.models import organizations_backends

from emulator.organization import MANAGEMENT_ACCOUNT_ID, administrator_client

__all__ = ["DEFAULT_EVENT_SELECTORS", "ORGANIZATION_TRAIL_NAME", "create_organization_trail", "model_trails"]

# What GetEventSelectors answers for a trail made without selectors.
DEFAULT_EVENT_SELECTORS: list[dict[str, Any]] = [
    {
        "ReadWriteType": "All",
        "IncludeManagementEvents": True,
        "DataResources": [],
        "ExcludeManagementEventSources": [],
    }
]
ORGANIZATION_TRAIL_NAME = "organization-trail"


def _management_account_of(account_id: str) -> str | None:
    """The management account of the organization `account_id` is a member of (None for none, and
    for the management account itself, whose trails are its own)."""
    entry = organizations_backends.master_accounts.get(account_id)
    return entry[0] if entry else None


def _organization_trails(backend: CloudTrailBackend) -> list[Trail]:
    """The organization trails of another account that apply in the backend's account and Region."""
    management = _management_account_of(backend.account_id)
    if management is None or management == backend.account_id:
        return []
    return [
        trail
        for regional in cloudtrail_backends[management].values()
        for trail in regional.trails.values()
        if trail.is_org_trail and (trail.is_multi_region or trail.region_name == backend.region_name)
    ]


def model_trails(stack: ExitStack) -> None:
    """Until `stack` closes, moto's CloudTrail behaves as described in the module's docstring."""
    original_init: Callable[..., None] = Trail.__init__
    original_describe: Callable[..., Iterable[Trail]] = CloudTrailBackend.describe_trails
    original_selectors: Callable[..., Any] = CloudTrailBackend.get_event_selectors

    def init(self: Trail, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.event_selectors = copy.deepcopy(DEFAULT_EVENT_SELECTORS)

    def put_event_selectors(
        self: Trail, event_selectors: list[dict[str, Any]], advanced_event_selectors: list[dict[str, Any]]
    ) -> None:
        if event_selectors:
            self.event_selectors, self.advanced_event_selectors = event_selectors, []
        elif advanced_event_selectors:
            self.event_selectors, self.advanced_event_selectors = [], advanced_event_selectors

    def describe_trails(self: CloudTrailBackend, include_shadow_trails: bool) -> Iterable[Trail]:
        found = list(original_describe(self, include_shadow_trails))
        return found + _organization_trails(self) if include_shadow_trails else found

    def get_event_selectors(self: CloudTrailBackend, trail_name: str) -> Any:
        try:
            return original_selectors(self, trail_name)
        except TrailNotFoundException:
            for trail in _organization_trails(self):
                if trail.arn == trail_name:
                    return (trail.arn, *trail.get_event_selectors())
            raise

    stack.enter_context(mock.patch.object(Trail, "__init__", init))
    stack.enter_context(mock.patch.object(Trail, "put_event_selectors", put_event_selectors))
    stack.enter_context(mock.patch.object(CloudTrailBackend, "describe_trails", describe_trails))
    stack.enter_context(mock.patch.object(CloudTrailBackend, "get_event_selectors", get_event_selectors))


def create_organization_trail(
    region: str, *, name: str = ORGANIZATION_TRAIL_NAME, multi_region: bool = True, logging: bool = True
) -> str:
    """An organization trail in the management account, homed in `region`, delivering to a bucket
    of its own; returns its ARN. Needs `model_trails` for the member accounts to see it."""
    s3 = administrator_client(MANAGEMENT_ACCOUNT_ID, "s3", region=region)
    bucket = f"{name}-logs-{MANAGEMENT_ACCOUNT_ID}"
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    cloudtrail = administrator_client(MANAGEMENT_ACCOUNT_ID, "cloudtrail", region=region)
    arn = str(
        cloudtrail.create_trail(
            Name=name, S3BucketName=bucket, IsMultiRegionTrail=multi_region, IsOrganizationTrail=True
        )["TrailARN"]
    )
    if logging:
        cloudtrail.start_logging(Name=name)
    return arn
