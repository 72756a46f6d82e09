"""The emulated organization the benchmark sweeps: member accounts over OUs, a share with an instance, the forwarding each account's coverage check reads."""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from unittest import mock

import boto3

from benchmarks.harness import instance_arn_for
from benchmarks.sweep.settings import INSTANCE_REGIONS, INSTANCE_SHARE, NOW, OUS, REGIONS, SEED, ProgressFn
from emulator.environment import EmulatedEnvironment
from emulator.forwarding import deploy_forwarding
from emulator.organization import SECURITY_ACCOUNT_ID
from guardrail.core.regions import REGIONS_ENABLED_BY_DEFAULT


@dataclass(frozen=True)
class Organization:
    accounts: tuple[str, ...]  # the member accounts added for the benchmark
    owner_of: dict[str, str]  # instance ARN -> its account (every instance of the organization)
    instance_regions: dict[str, str]  # account -> the Region of its instance
    setup_seconds: float
    accounts_seconds: float
    instances_seconds: float
    unindexed_lookup_ms: float  # moto's access-key lookup of one member key, without the index


@dataclass(frozen=True)
class AccessKeyIndex:
    index: dict[str, str]
    scan: Callable[[str], str]  # moto's own lookup


@contextlib.contextmanager
def indexed_access_keys() -> Iterator[AccessKeyIndex]:
    """moto finds the account of a request by scanning every account's IAM backend for its access
    key (`moto.iam.models.get_account_id_from`), on every request: the cost of each call grows
    with the organization, which makes building 2,000 accounts and sweeping them quadratic. This
    index answers keys STS issued (AssumeRole records the role's account) and keys found once by
    the scan; moto's own answers are unchanged (a key never moves to another account)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.iam import models as iam_models
    from moto.sts.models import STSBackend

    index: dict[str, str] = {}
    scan: Callable[[str], str] = iam_models.get_account_id_from
    assume: Callable[..., Any] = STSBackend.assume_role

    def lookup(access_key: str) -> str:
        account = index.get(access_key)
        if account is None:
            account = scan(access_key)
            if account != DEFAULT_ACCOUNT_ID:
                index[access_key] = account
        return account

    def assume_role(self: Any, *args: Any, **kwargs: Any) -> Any:
        role = assume(self, *args, **kwargs)
        index[role.access_key_id] = role.account_id
        return role

    with (
        mock.patch.object(iam_models, "get_account_id_from", lookup),
        mock.patch.object(STSBackend, "assume_role", assume_role),
    ):
        yield AccessKeyIndex(index, scan)


@contextlib.contextmanager
def aws_page_sizes() -> Iterator[None]:
    """moto pages ListAccounts by 100; Organizations by 20 at most (its MaxResults): as AWS."""
    from moto.organizations.utils import PAGINATION_MODEL

    with mock.patch.dict(PAGINATION_MODEL["list_accounts"], {"limit_default": 20}):
        yield


def build_organization(
    env: EmulatedEnvironment, accounts: int, keys: AccessKeyIndex, progress: ProgressFn
) -> Organization:
    """Member accounts over `OUS` (through Organizations and IAM, as the emulation builds any
    account), and `INSTANCE_SHARE` of them with an instance (seeded in the Identity Center model);
    the forwarding each account's coverage check reads, deployed where the account enabled a Region."""
    rng = random.Random(SEED)  # noqa: S311 - a reproducible organization, not a secret
    started = time.perf_counter()
    added: list[str] = []
    counts = [math.floor(accounts * share) for _, share in OUS]
    counts[0] += accounts - sum(counts)
    for (path, _), count in zip(OUS, counts, strict=True):
        for chunk in range(0, count, 250):
            added += env.add_member_accounts(min(250, count - chunk), ou_path=path)
            progress(f"setup: {len(added)} of {accounts} accounts")
    accounts_done = time.perf_counter()

    with_instance = sorted(rng.sample(added, max(1, round(accounts * INSTANCE_SHARE)) if added else 0))
    regions, weights = zip(*INSTANCE_REGIONS, strict=True)
    instance_regions: dict[str, str] = {}
    for index, account in enumerate(with_instance):
        region = rng.choices(regions, weights)[0]
        if region not in REGIONS_ENABLED_BY_DEFAULT:
            env.account_regions.enable(account, region)
        tags = (
            {"purpose": "trial", "owner": "team@example.com", "expires": "2027-01-15"},
            {"purpose": "isolated-users", "owner": "team@example.com"},
            {},
        )[index % 3]
        arn = env.identity_center.seed_instance(
            account,
            region,
            name=f"team-{account}",
            tags=tags,
            instance_arn=instance_arn_for(account),
            created_date=NOW - timedelta(days=30),
        )
        if index % 4 == 0:
            env.identity_center.attach_application(arn, name=f"Q Business {account}")
        instance_regions[account] = region
    # The forwarding StackSet's instances, in every member account and watched Region it enabled:
    # what the worker's coverage check reads.
    deploy_forwarding(env, REGIONS)
    ended = time.perf_counter()

    owner_of = {record.instance_arn: record.owner_account_id for record in env.identity_center.instances()}
    # What moto's scan costs for a key of the newest account (it scans the accounts in order).
    last = added[-1] if added else SECURITY_ACCOUNT_ID
    key = boto3.client("sts", region_name=env.region).assume_role(
        RoleArn=env.organization.member_role_arns[last], RoleSessionName="lookup"
    )["Credentials"]["AccessKeyId"]
    keys.scan(key)  # the first scan also creates the backends of every account's other partitions
    lookup_started = time.perf_counter()
    keys.scan(key)
    lookup_ms = (time.perf_counter() - lookup_started) * 1000
    return Organization(
        accounts=tuple(added),
        owner_of=owner_of,
        instance_regions=instance_regions,
        setup_seconds=ended - started,
        accounts_seconds=accounts_done - started,
        instances_seconds=ended - accounts_done,
        unindexed_lookup_ms=lookup_ms,
    )
