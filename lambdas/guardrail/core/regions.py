"""The Regions where IAM Identity Center is available, in every partition.

From botocore's endpoint data for the `sso` service (botocore 1.44.8), kept here as data so that
the pure core can check a policy's Regions without importing an AWS library;
`tests/unit/test_regions.py` fails when botocore knows a Region this list does not.
"""

from __future__ import annotations

IDENTITY_CENTER_REGIONS: frozenset[str] = frozenset(
    {
        # aws
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        # aws-cn
        "cn-north-1",
        "cn-northwest-1",
        # aws-us-gov
        "us-gov-east-1",
        "us-gov-west-1",
        # aws-eusc
        "eusc-de-east-1",
    }
)


# Regions every AWS account has enabled. The AWS Account Management Reference Guide ("Enable or
# disable AWS Regions in your account"): Regions launched before 20 March 2019 are enabled by default
# and cannot be disabled; every Region launched after is an opt-in Region, disabled until the account
# enables it. The list is closed, so a Region that botocore's endpoint data adds later is opt-in.
REGIONS_ENABLED_BY_DEFAULT: frozenset[str] = frozenset(
    {
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ca-central-1",
        "eu-central-1",
        "eu-north-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    }
)

# Region name prefixes of the partitions other than `aws`.
_PARTITION_PREFIXES = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("eusc-", "aws-eusc"))


def partition_of(region: str) -> str:
    """The ARN partition a Region belongs to: `aws`, `aws-cn`, `aws-us-gov` or `aws-eusc`."""
    return next((partition for prefix, partition in _PARTITION_PREFIXES if region.startswith(prefix)), "aws")
