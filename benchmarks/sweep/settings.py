"""What the benchmark sweeps and against what: the deployed defaults, the quotas, the organization's shape."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import boto3

from emulator.wire import Quota
from infra.config import SweepConfig

REGIONS: tuple[str, ...] = tuple(boto3.session.Session().get_available_regions("sso"))
NEAR_REGION = "us-east-1"  # the central Region: the worker's, the one-call listing's
_DEFAULTS = SweepConfig()
BATCH_SIZE = _DEFAULTS.batch_size  # the Distributed Map's ItemBatcher, as deployed by default
MAX_CONCURRENCY = _DEFAULTS.max_concurrency  # its max concurrency, as deployed by default
WORKER_MEMORY_MB = 1024  # infra/constructs/sweep_functions.py
FULL_VCPU_MB = 1769  # Lambda: "at 1,769 MB, a function has the equivalent of one vCPU"
LAMBDA_CONCURRENCY = 1000  # Lambda's default concurrent executions per account and Region
MAP_MAX_CONCURRENCY = 10_000  # a Distributed Map's most child executions at once
STATE_PAYLOAD_LIMIT = 256 * 1024  # Step Functions: a state's input or output, in bytes
GOAL_ACCOUNTS = 10_000
GOAL_SECONDS = 120.0  # 10,000 accounts, the coverage check on, in under 2 minutes
GOAL_READ_ROUND_TRIPS = 3  # assume the role; list; the tags and applications together

# Request-rate quotas, as token buckets keyed by (quota, calling account, Region).
QUOTAS: dict[str, Quota] = {
    # IAM User Guide, "IAM and AWS STS quotas": 600 requests per second per account per Region,
    # shared by STS's operations. Burst: not published, assumed one second's worth.
    "sts": Quota(rate=600, burst=600),
    # IAM Identity Center User Guide, "Quotas", throttle limits: "a collective throttle maximum of
    # 20 transactions per second". Per calling account and Region, and the burst: assumed.
    "sso-admin": Quota(rate=20, burst=20),
    # AWS Account Management Reference Guide, "Quotas": ListRegions 5 per second, burst to 5, per account.
    "account:ListRegions": Quota(rate=5, burst=5),
    # Organizations publishes no request rate (awsdocs/aws-organizations-docs#39): assumed, and low.
    "organizations": Quota(rate=10, burst=20),
}
QUOTA_SOURCES: dict[str, str] = {
    "sts": "documented (IAM and AWS STS quotas); burst assumed",
    "sso-admin": "documented (Identity Center quotas: 20 TPS collective); per account and Region, burst assumed",
    "account:ListRegions": "documented (Account Management quotas)",
    "organizations": "assumed: Organizations publishes no rate",
}

# The organization: member accounts spread over OUs; a share of them hold an account instance.
OUS: tuple[tuple[str, float], ...] = (
    ("Workloads/Prod", 0.35),
    ("Workloads/NonProd", 0.35),
    ("Sandbox", 0.20),
    ("Infrastructure", 0.10),
)
INSTANCE_SHARE = 0.05
# Where those instances live (weights): mostly the large Regions, a few in opt-in Regions that
# their account enabled.
INSTANCE_REGIONS: tuple[tuple[str, int], ...] = (
    ("us-east-1", 40),
    ("eu-west-1", 20),
    ("us-west-2", 10),
    ("eu-central-1", 10),
    ("ap-southeast-2", 8),
    ("ap-northeast-1", 6),
    ("me-central-1", 3),
    ("ap-east-1", 3),
)
SEED = 20261201
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
# Services whose calls a member account's sweep makes with the member role's credentials.

ProgressFn = Callable[[str], None]
Batch = Sequence[dict[str, Any]]
QUICK_BELOW_BATCHES = 20
ORGANIZATIONS_PAGE = 20  # ListAccountsForParent returns 20 accounts at most
STRESS_BATCHES = 20  # batches of the STS stress run


def quiet(_: str) -> None:
    pass
