"""The organization-wide sweep at scale: thousands of member accounts, every Region, latency, throttling.

The deployed sweep's own steps run here, on the emulation: the planner (`handlers.plan`), the
worker on each batch of accounts (`handlers.work`, with its recorder: the inventory and the
alerts) and the summary (`handlers.summarize_run`). Step Functions' Distributed Map is simulated:
the planner's items are cut into batches of the map's batch size and run by a pool of threads,
each thread standing for one child execution and holding one warm worker runtime (a Lambda
execution environment), at most the map's max concurrency at once.

On the wire, each call waits a simulated round trip and is metered by token buckets that throttle
as STS, Identity Center, Account Management and Organizations do (``QUOTAS``): a call that finds
its bucket empty gets the service's throttling error, which botocore's adaptive retries see as
AWS's. Each call is attributed to the member account it is about (the member-role calls carry the
account's credentials; AssumeRole is made by the central account, with the account in the role
ARN; the recorder's reads and writes name the account or its instance), which gives the calls
per account and the longest chain of calls one after another per account.

One Python process cannot stand for 40 Lambda functions: the emulation answers with the GIL
held, so concurrent children share one core. The run of the whole organization shows what the
process manages; the per-batch time measured with a batch running alone is what a child takes,
and the projection to 10,000 accounts is built from it, with the quotas it rests on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import itertools
import json
import logging
import math
import os
import queue
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import boto3
import botocore.session

from benchmarks.harness import EXAMPLE_POLICY, instance_arn_for
from emulator.environment import EmulatedEnvironment
from emulator.organization import SECURITY_ACCOUNT_ID
from emulator.wire import AwsWire, Quota, Throttle, WireCall, longest_chain
from guardrail.adapters.clients import AwsClients
from guardrail.core.policy import policy_data
from guardrail.core.policy_file import load_policy
from guardrail.core.regions import REGIONS_ENABLED_BY_DEFAULT
from guardrail_cli.emulated import sweep_environment
from infra.config import SweepConfig

if TYPE_CHECKING:
    from guardrail.handlers.sweep import WorkerRuntime

# Every commercial Region where Identity Center is available: what the worker watches.
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
GOAL_SECONDS = 600.0
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
_MEMBER_SERVICES = frozenset({"sso-admin", "account"})
# Calls made by the central account about one account: the role assumption, the recorder's.
_ABOUT_AN_ACCOUNT = frozenset({"sts", "dynamodb", "sns"})
_TAG = "|about:"
_ACCOUNT_ID = re.compile(r"(?<!\d)\d{12}(?!\d)")
_INSTANCE_ARN = re.compile(r"arn:aws:sso:::instance/ssoins-[0-9a-f]{16}")

ProgressFn = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# -- the organization ---------------------------------------------------------------------------------


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
    account), and `INSTANCE_SHARE` of them with an instance (seeded in the Identity Center model)."""
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


# -- attributing calls to accounts --------------------------------------------------------------------


class Attribution:
    """Which member account a call is about, for the calls its credentials do not tell.

    A `before-call` handler on each worker session names the account in the calling thread's name
    (which the wire records): the account of the role ARN for AssumeRole, the account or instance
    named in a recorder's DynamoDB or SNS call. The member role's own calls carry the account's
    credentials, which the wire maps to the account."""

    def __init__(self, members: set[str], owner_of: dict[str, str]) -> None:
        self._members = members
        self._owner_of = owner_of

    def register(self, session: boto3.session.Session) -> None:
        session.events.register("before-call", self._tag)

    def _tag(self, model: Any, params: Any, **_: Any) -> None:
        thread = threading.current_thread()
        base = thread.name.partition(_TAG)[0]
        about = None
        if model.service_model.service_name in _ABOUT_AN_ACCOUNT:
            about = self._about(str(params))
        thread.name = base + (_TAG + about if about else "")

    def _about(self, text: str) -> str | None:
        for match in _INSTANCE_ARN.finditer(text):
            owner = self._owner_of.get(match.group())
            if owner in self._members:
                return owner
        for match in _ACCOUNT_ID.finditer(text):
            if match.group() in self._members:
                return match.group()
        return None

    def account_of(self, call: WireCall) -> str | None:
        about = call.thread.partition(_TAG)[2]
        if about:
            return about if call.service in _ABOUT_AN_ACCOUNT else None
        if call.service in _MEMBER_SERVICES:
            account = call.account
            return account if account in self._members else None
        return None


# -- the simulated Distributed Map --------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRun:
    started: float
    ended: float
    accounts: int
    input_bytes: int
    output_bytes: int
    failed: str | None


@dataclass
class Stage:
    """One step of the run (planner, map, summary): its wall time and the calls it made."""

    seconds: float
    calls: list[WireCall]
    cpu_seconds: float = 0.0


class Sweep:
    """The emulated organization with the sweep's functions pointed at it."""

    def __init__(self, env: EmulatedEnvironment, organization: Organization, latency: float) -> None:
        self.env = env
        self.organization = organization
        self.latency = latency
        members = set(organization.accounts) | set(env.organization.member_account_ids)
        self.organization_accounts = len(members) + 1  # and the management account
        # The member accounts that own an instance (the example organization's own included).
        self.with_instance = {owner for owner in organization.owner_of.values() if owner in members}
        self.attribution = Attribution(members, organization.owner_of)
        first = botocore.session.get_session()
        self._loader = first.get_component("data_loader")

    # ---------------------------------------------------------------- the functions' sessions
    def session(self, *, fresh_models: bool = False) -> boto3.session.Session:
        """A function's session. Warm functions have loaded their service models: the sessions
        share one loader, unless `fresh_models` (a cold start loads them from disk)."""
        core = botocore.session.get_session()
        if not fresh_models:
            core.register_component("data_loader", self._loader)
        session = boto3.session.Session(botocore_session=core)
        self.attribution.register(session)
        return session

    def runtime(self, *, concurrent_accounts: int | None = None, cold: bool = False) -> WorkerRuntime:
        """A worker's execution environment: warm (its service models loaded and its own clients
        made), or `cold` (a new session, which loads each model from disk on first use)."""
        from guardrail.handlers import sweep as handlers

        clients = AwsClients(self.session(fresh_models=cold))
        if concurrent_accounts is None:
            built = handlers.build_worker(clients)
        else:
            with mock.patch("guardrail.sweep.worker.CONCURRENT_ACCOUNTS", concurrent_accounts):
                built = handlers.build_worker(clients)
        if not cold:
            for service in ("sts", "s3", "dynamodb", "sns"):
                built.clients.client(service)
        return built

    # ---------------------------------------------------------------- the steps
    def plan(self, wire: AwsWire) -> tuple[dict[str, Any], Stage]:
        from guardrail.handlers import sweep as handlers

        clients = AwsClients(self.session())
        event = {"run_id": f"bench-{uuid.uuid4()}", "started_at": NOW.isoformat()}
        with wire.recording() as calls:
            started = time.perf_counter()
            planned = handlers.plan(event, clients)
            seconds = time.perf_counter() - started
        return planned, Stage(seconds, calls)

    def items(self, planned: dict[str, Any]) -> list[dict[str, Any]]:
        """The map's ItemReader: Step Functions reads the items, no function does."""
        body = boto3.client("s3", region_name=self.env.region).get_object(
            Bucket=planned["bucket"], Key=planned["items_key"]
        )["Body"]
        items: list[dict[str, Any]] = json.loads(body.read())
        return items

    def map(
        self,
        wire: AwsWire,
        planned: dict[str, Any],
        batches: Sequence[Sequence[dict[str, Any]]],
        runtimes: Sequence[WorkerRuntime],
        concurrency: int,
    ) -> tuple[list[BatchRun], list[dict[str, Any]], Stage]:
        """Run the batches as child executions, `concurrency` at once, each on a free runtime."""
        from guardrail.handlers import sweep as handlers

        batch_input = {k: planned[k] for k in ("run_id", "started_at", "bucket", "snapshot_key")}
        free: queue.Queue[WorkerRuntime] = queue.Queue()
        for runtime in runtimes:
            free.put(runtime)
        outputs: list[dict[str, Any]] = []

        def child(batch: Sequence[dict[str, Any]]) -> BatchRun:
            event = {"Items": list(batch), "BatchInput": batch_input}
            runtime = free.get()
            started = time.perf_counter()
            failed = None
            output: dict[str, Any] = {}
            try:
                output = handlers.work(event, runtime)
            except Exception as error:  # a failed child execution
                failed = f"{type(error).__name__}: {error}"
            finally:
                ended = time.perf_counter()
                free.put(runtime)
            outputs.append({"Input": json.dumps(event), "Output": json.dumps(output), "failed": failed})
            return BatchRun(
                started, ended, len(batch), len(json.dumps(event)), len(json.dumps(output)), failed
            )

        with wire.recording() as calls:
            started, cpu = time.perf_counter(), time.process_time()
            with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="child") as pool:
                runs = list(pool.map(child, batches))
            stage = Stage(time.perf_counter() - started, calls, time.process_time() - cpu)
        return runs, outputs, stage

    def summarize(
        self, wire: AwsWire, planned: dict[str, Any], outputs: list[dict[str, Any]]
    ) -> tuple[dict[str, Any], Stage]:
        """Write what the map's ResultWriter writes, then run the summary step on it."""
        from guardrail.handlers import sweep as handlers

        s3 = boto3.client("s3", region_name=self.env.region)
        bucket, prefix = planned["bucket"], f"map-results/{uuid.uuid4()}"
        files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
        for status in ("SUCCEEDED", "FAILED"):
            entries = [
                {"Input": o["Input"], "Output": o["Output"], "Status": status}
                for o in outputs
                if (o["failed"] is None) == (status == "SUCCEEDED")
            ]
            if entries:
                key = f"{prefix}/{status}_0.json"
                body = json.dumps(entries).encode()
                s3.put_object(Bucket=bucket, Key=key, Body=body)
                files[status].append({"Key": key, "Size": len(body)})
        manifest_key = f"{prefix}/manifest.json"
        s3.put_object(
            Bucket=bucket,
            Key=manifest_key,
            Body=json.dumps({"DestinationBucket": bucket, "ResultFiles": files}).encode(),
        )
        request = {"plan": planned, "map": {"ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}}
        clients = AwsClients(self.session())
        with wire.recording() as calls:
            started = time.perf_counter()
            try:
                summary = handlers.summarize_run(request, clients, now=NOW + timedelta(minutes=10))
            except Exception as error:  # the summary is written before it is published
                summary = {
                    "summary_key": f"runs/{planned['run_id']}/summary.json",
                    "error": f"{type(error).__name__}: {error}",
                }
            seconds = time.perf_counter() - started
        return summary, Stage(seconds, calls)

    def reset(self) -> None:
        """Between measurements: forget the inventory and drain the alerts, so each sweep finds
        the organization as the first sweep does."""
        dynamodb = boto3.client("dynamodb", region_name=self.env.region)
        table = self.env.inventory_table_name
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page.get("Items", []):
                dynamodb.delete_item(TableName=table, Key={"instance_arn": item["instance_arn"]})
        self.env.received_alerts()


# -- figures ------------------------------------------------------------------------------------------

Batch = Sequence[dict[str, Any]]
# An organization of fewer batches gets the quick samples (`--accounts 50` runs in seconds).
QUICK_BELOW_BATCHES = 20
ORGANIZATIONS_PAGE = 20  # ListAccountsForParent returns 20 accounts at most
STRESS_BATCHES = 20  # batches of the STS stress run


@dataclass(frozen=True)
class Samples:
    """How much of each measurement a mode runs (per-Region batches cost ~0.5 s of CPU per account)."""

    map_batches: int | None  # None: every batch of the organization
    alone_batches: int
    slow: bool  # also time the batches alone at the slow latency
    cold: bool  # time a child's first batch on a cold runtime
    sequential_accounts: int

    @staticmethod
    def for_mode(mode: str, batches: int) -> Samples:
        quick = batches < QUICK_BELOW_BATCHES
        if mode == "one call":
            return Samples(
                None, min(3, batches), not quick, not quick, BATCH_SIZE if quick else 4 * BATCH_SIZE
            )
        if not quick:  # a cold start costs the same models in either mode: measured with the one call
            return Samples(4, 2, True, False, BATCH_SIZE)
        # A quick run: the map's one batch (run alone) and a few accounts one at a time.
        return Samples(1, 1, False, False, 3)


@dataclass(frozen=True)
class ChainFigures:
    """Longest chains of calls one after another, per account."""

    accounts: int
    with_instance: int
    median: float
    max: int
    max_with_instance: int
    over_goal: int  # accounts whose chain is longer than GOAL_READ_ROUND_TRIPS
    example: list[str]  # the longest chain of an account with an instance (or of any account)


@dataclass(frozen=True)
class BatchFigures:
    """Batches run one at a time on a warm runtime: what one child execution takes."""

    latency_ms: float
    batches: int
    accounts: int
    instances: int
    wall_seconds: list[float]
    median_seconds: float
    function_cpu_seconds: float  # per batch: process CPU less the emulation's
    emulation_cpu_seconds: float  # per batch: moto's CPU

    @property
    def on_lambda_seconds(self) -> float:
        """Without the emulation's CPU, the function's own CPU at the worker's share of a vCPU."""
        scale = FULL_VCPU_MB / WORKER_MEMORY_MB
        return self.median_seconds - self.emulation_cpu_seconds + self.function_cpu_seconds * (scale - 1)


@dataclass(frozen=True)
class Projection:
    """The deployed sweep of `accounts`, from a child's measured time and the quotas."""

    accounts: int
    latency_ms: float
    batches: int
    concurrency: int
    waves: int
    batch_seconds: float
    map_seconds: float
    assume_role_rate: float  # AssumeRole calls a second the map asks of STS
    sts_floor_seconds: float  # the least time STS's quota allows for the AssumeRoles
    plan_seconds: float
    summary_seconds: float
    cold_start_seconds: float
    total_seconds: float
    concurrency_for_goal: int | None  # the least max concurrency that ends within GOAL_SECONDS
    sequential_seconds: float  # the same worker, one account and one batch at a time
    speedup: float
    map_speedup: float  # of the map alone over the accounts one at a time


@dataclass(frozen=True)
class ModeFigures:
    mode: str
    accounts: int  # swept by the plan
    batches: int
    samples: Samples
    mapped_batches: int
    mapped_accounts: int
    concurrency: int  # simulated child executions at once, in this process
    plan_seconds: float
    plan_calls: dict[str, int]
    plan_chain: int
    plan_throttled: int
    map_seconds: float
    map_cpu_seconds: float
    batch_seconds_in_map: float  # median per batch, while `concurrency` ran at once
    summary_seconds: float
    summary_calls: int
    summary_chain: int
    summary_error: str | None  # the summary step failed (after writing the summary) with this
    wall_seconds: float  # plan + map + summary, in this process
    calls: int
    calls_per_account: dict[str, float]  # by service, attributed to an account
    calls_per_batch: dict[str, float]  # by service, not about one account (snapshot, report)
    throttled: dict[str, int]  # calls refused by the throttle (botocore retried them), by quota
    reads: ChainFigures  # AssumeRole, then the calls with the role's credentials: batches alone
    with_recorder: ChainFigures  # the same with the recorder's inventory and alert calls
    reads_in_map: ChainFigures  # the reads while `concurrency` children shared this process
    reads_one_by_one: ChainFigures  # the reads of accounts swept one at a time (no other account's CPU)
    accounts_read: int
    unreadable: int
    instances: int
    violations: int
    child_input_bytes: int
    child_output_bytes: int
    plan_output_bytes: int
    snapshot_bytes: int
    alone: BatchFigures
    alone_slow: BatchFigures | None
    cold_start_seconds: float | None  # a child's first batch on a fresh session, less a warm one
    sequential_seconds_per_account: float
    sequential_sample_accounts: int
    sequential_projected_seconds: float
    speedup_in_process: float  # sequential (projected to every account) / this process's wall time
    projections: list[Projection] = field(default_factory=list)
    sts_stress: StressFigures | None = None


@dataclass(frozen=True)
class StressFigures:
    """The map with STS's quota scaled down so that it asks STS `demand_ratio` times what STS
    grants, as the projected 10,000-account map would at full speed: do the retries hold?"""

    demand_ratio: float
    sts_rate: float  # the scaled quota (and burst), per second
    accounts: int
    concurrency: int
    seconds: float
    floor_seconds: float  # the least time the scaled quota allows
    assume_role_attempts: int
    throttled: int
    unreadable: int
    achieved_rate: float  # AssumeRoles answered per second


@dataclass
class SweepFigures:
    accounts: int
    organization_accounts: int
    regions: int
    latency_ms: float
    slow_latency_ms: float | None
    concurrency: int
    setup_seconds: float
    setup_accounts_seconds: float
    setup_instances_seconds: float
    unindexed_lookup_ms: float
    instances_seeded: int
    quotas: dict[str, dict[str, Any]]
    modes: list[ModeFigures] = field(default_factory=list)
    seconds: float = 0.0


def _by_service(calls: Sequence[WireCall]) -> dict[str, int]:
    return dict(sorted(Counter(c.service for c in calls).items()))


def _attribute(
    attribution: Attribution, calls: Sequence[WireCall]
) -> tuple[dict[str, list[WireCall]], list[WireCall]]:
    """The calls about each account, and the rest (the batch's snapshot and report)."""
    by_account: dict[str, list[WireCall]] = {}
    rest: list[WireCall] = []
    for call in calls:
        account = attribution.account_of(call)
        if account is None:
            rest.append(call)
        else:
            by_account.setdefault(account, []).append(call)
    return by_account, rest


def _is_read(call: WireCall) -> bool:
    return call.service in _MEMBER_SERVICES or call.service == "sts"


def _chains(
    by_account: dict[str, list[WireCall]], with_instance: set[str], keep: Callable[[WireCall], bool]
) -> ChainFigures:
    chains = {account: longest_chain([c for c in calls if keep(c)]) for account, calls in by_account.items()}
    sizes = [len(chain) for chain in chains.values()] or [0]
    instance_chains = [chains[a] for a in with_instance if a in chains]
    longest = max(instance_chains or list(chains.values()) or [[]], key=len)
    return ChainFigures(
        accounts=len(chains),
        with_instance=len(instance_chains),
        median=statistics.median(sizes),
        max=max(sizes),
        max_with_instance=max((len(c) for c in instance_chains), default=0),
        over_goal=sum(size > GOAL_READ_ROUND_TRIPS for size in sizes),
        example=[c.name + (" (throttled)" if c.throttled else "") for c in longest],
    )


def _spread(batches: Sequence[Batch], count: int) -> list[Batch]:
    """`count` batches spread evenly over the run (so their share of instances is the run's)."""
    if count >= len(batches):
        return list(batches)
    step = len(batches) / count
    return [batches[int(i * step)] for i in range(count)]


def _alone(
    sweep: Sweep,
    planned: dict[str, Any],
    batches: Sequence[Batch],
    latency: float,
    with_instance: set[str],
) -> tuple[BatchFigures, list[WireCall]]:
    """Each batch on its own, one after another, on one warm runtime; and their calls."""
    runtime = sweep.runtime()
    walls: list[float] = []
    calls: list[WireCall] = []
    emulation = function = 0.0
    sweep.reset()
    with AwsWire(latency=latency, throttle=Throttle(QUOTAS)) as wire:
        for batch in batches:
            cpu = time.process_time()
            runs, _, stage = sweep.map(wire, planned, [batch], [runtime], 1)
            moto = sum(c.emulated_cpu_seconds for c in stage.calls)
            emulation += moto
            function += time.process_time() - cpu - moto
            walls.append(runs[0].ended - runs[0].started)
            calls += stage.calls
    return _batch_figures(latency, batches, walls, function, emulation, with_instance), calls


def _batch_figures(
    latency: float,
    batches: Sequence[Batch],
    walls: list[float],
    function: float,
    emulation: float,
    with_instance: set[str],
) -> BatchFigures:
    accounts = [item["account_id"] for batch in batches for item in batch]
    return BatchFigures(
        latency_ms=latency * 1000,
        batches=len(batches),
        accounts=len(accounts),
        instances=sum(a in with_instance for a in accounts),
        wall_seconds=[round(w, 2) for w in walls],
        median_seconds=statistics.median(walls),
        function_cpu_seconds=function / len(batches),
        emulation_cpu_seconds=emulation / len(batches),
    )


@dataclass(frozen=True)
class PlannerFigures:
    """What the planner's time grows with: its pages of accounts (the rest is per OU and SCP)."""

    seconds: float
    organizations_calls: int
    parents: int  # the root and the OUs: each one's accounts are listed, in one page at least
    organization_accounts: int  # every account, the management account included
    swept_accounts: int

    def pages_for(self, accounts: int) -> int:
        """ListAccountsForParent pages through each parent's accounts: every account once, and a
        page more at most for each parent."""
        total = accounts + self.organization_accounts - self.swept_accounts
        return math.ceil(total / ORGANIZATIONS_PAGE) + self.parents

    def seconds_for(self, accounts: int) -> float:
        """The measured time scaled by the growth of its pages, and no less than Organizations'
        (assumed) rate allows for its calls."""
        measured = self.pages_for(self.swept_accounts)
        org = QUOTAS["organizations"]
        calls = self.organizations_calls + self.pages_for(accounts) - measured
        return max(self.seconds * self.pages_for(accounts) / measured, (calls - org.burst) / org.rate)


def project(
    accounts: int,
    alone: BatchFigures,
    *,
    planner: PlannerFigures,
    summary_seconds: float,
    measured_batches: int,
    cold_start_seconds: float,
    sequential_seconds_per_account: float,
    concurrency: int = MAX_CONCURRENCY,
) -> Projection:
    """The deployed sweep of `accounts`: waves of `concurrency` children, each batch taking what one
    took alone (as on Lambda, where each child has its own CPU), no faster than STS's quota on
    AssumeRole allows; the planner scaled with its pages of accounts, the summary with the batches."""
    batches = math.ceil(accounts / BATCH_SIZE)
    batch = alone.on_lambda_seconds
    running = min(concurrency, batches)
    waves = math.ceil(batches / running)
    rate = running * BATCH_SIZE / batch
    sts = QUOTAS["sts"]
    sts_floor = max(0.0, (accounts - sts.burst) / sts.rate)
    map_seconds = max(waves * batch, sts_floor) + cold_start_seconds
    plan = planner.seconds_for(accounts)
    summary = summary_seconds * batches / measured_batches
    fixed = plan + summary + cold_start_seconds
    needed = None
    if fixed < GOAL_SECONDS and sts_floor + fixed < GOAL_SECONDS:
        waves_allowed = math.floor((GOAL_SECONDS - fixed) / batch)
        needed = math.ceil(batches / waves_allowed) if waves_allowed else None
    total = plan + map_seconds + summary
    sequential = plan + sequential_seconds_per_account * accounts + summary
    return Projection(
        accounts=accounts,
        latency_ms=alone.latency_ms,
        batches=batches,
        concurrency=running,
        waves=waves,
        batch_seconds=round(batch, 2),
        map_seconds=round(map_seconds, 1),
        assume_role_rate=round(rate, 1),
        sts_floor_seconds=round(sts_floor, 1),
        plan_seconds=round(plan, 1),
        summary_seconds=round(summary, 1),
        cold_start_seconds=round(cold_start_seconds, 1),
        total_seconds=round(total, 1),
        concurrency_for_goal=needed,
        sequential_seconds=round(sequential, 1),
        speedup=round(sequential / total, 1),
        map_speedup=round(sequential_seconds_per_account * accounts / map_seconds, 1),
    )


def measure_mode(
    sweep: Sweep,
    mode: str,
    *,
    concurrency: int,
    slow_latency: float | None,
    progress: ProgressFn,
    cold_start_hint: float | None = None,
) -> ModeFigures:
    """One listing mode: the run (plan, map, summary), batches alone, the sequential sample, and
    the projections. `cold_start_hint` stands for a cold start this mode does not measure."""
    with_instance = sweep.with_instance
    latency = sweep.latency
    sweep.reset()
    with AwsWire(latency=latency, throttle=Throttle(QUOTAS)) as wire:
        progress(f"{mode}: planning")
        planned, plan = sweep.plan(wire)
        items = sweep.items(planned)
        batches: list[Batch] = list(itertools.batched(items, BATCH_SIZE))
        samples = Samples.for_mode(mode, len(batches))
        mapped = batches if samples.map_batches is None else _spread(batches, samples.map_batches)
        running = min(concurrency, len(mapped))
        runtimes = [sweep.runtime() for _ in range(running)]
        progress(f"{mode}: {len(mapped)} batches, {running} at once (simulated Distributed Map)")
        runs, outputs, map_stage = sweep.map(wire, planned, mapped, runtimes, running)
        summary, summarized = sweep.summarize(wire, planned, outputs)
        assert wire.throttle is not None
        throttled = dict(wire.throttle.throttled)
    in_map, per_batch = _attribute(sweep.attribution, map_stage.calls)
    mapped_accounts = sum(len(b) for b in mapped)
    account_calls = [c for calls in in_map.values() for c in calls]

    alone_batches = _spread(batches, samples.alone_batches)
    if running == 1 and list(alone_batches) == list(mapped):  # the map ran its one batch alone
        moto = sum(c.emulated_cpu_seconds for c in map_stage.calls)
        alone = _batch_figures(
            latency,
            alone_batches,
            [runs[0].ended - runs[0].started],
            map_stage.cpu_seconds - moto,
            moto,
            with_instance,
        )
        alone_calls = map_stage.calls
    else:
        progress(f"{mode}: {samples.alone_batches} batches alone")
        alone, alone_calls = _alone(sweep, planned, alone_batches, latency, with_instance)
    alone_by_account, _ = _attribute(sweep.attribution, alone_calls)
    holders: list[Batch] = list(
        itertools.batched([{"account_id": a} for a in sorted(with_instance)], BATCH_SIZE)
    )
    if mode == "one call":
        # The accounts with an instance (those with 3 round trips), in batches of them run alone.
        chosen = _spread(holders, 4)
        progress(f"{mode}: {len(chosen)} batches of accounts with an instance, alone")
        _, holder_calls = _alone(sweep, planned, chosen, latency, with_instance)
        holder_by_account, _ = _attribute(sweep.attribution, holder_calls)
        for account, calls in holder_by_account.items():
            alone_by_account.setdefault(account, calls)
    alone_slow = None
    if samples.slow and slow_latency is not None:
        progress(f"{mode}: batches alone at {slow_latency * 1000:g} ms")
        alone_slow, _ = _alone(sweep, planned, alone_batches, slow_latency, with_instance)
    cold_start = None
    if samples.cold:
        progress(f"{mode}: a cold child, and a warm one on the same batch")
        cold_start = _cold_start(sweep, planned, alone_batches[0], latency)

    progress(f"{mode}: {samples.sequential_accounts} accounts one at a time")
    if samples.sequential_accounts < BATCH_SIZE:
        sequential_batches: list[Batch] = [alone_batches[0][: samples.sequential_accounts]]
    else:
        sequential_batches = _spread(batches, samples.sequential_accounts // BATCH_SIZE)
    sequential_runtime = sweep.runtime(concurrent_accounts=1)
    sweep.reset()
    with AwsWire(latency=latency, throttle=Throttle(QUOTAS)) as wire:
        sequential_runs, _, sequential_stage = sweep.map(
            wire, planned, sequential_batches, [sequential_runtime], 1
        )
    sequential_accounts = sum(r.accounts for r in sequential_runs)
    per_account = sum(r.ended - r.started for r in sequential_runs) / sequential_accounts
    one_by_one, _ = _attribute(sweep.attribution, sequential_stage.calls)
    if mode == "one call" and holders:
        # Two batches' worth of accounts with an instance, one at a time too.
        progress(f"{mode}: accounts with an instance one at a time")
        sweep.reset()
        with AwsWire(latency=latency, throttle=Throttle(QUOTAS)) as wire:
            _, _, stage = sweep.map(
                wire, planned, _spread(holders, 2), [sweep.runtime(concurrent_accounts=1)], 1
            )
        for account, calls in _attribute(sweep.attribution, stage.calls)[0].items():
            one_by_one.setdefault(account, calls)

    s3 = boto3.client("s3", region_name=sweep.env.region)
    report = json.loads(s3.get_object(Bucket=planned["bucket"], Key=summary["summary_key"])["Body"].read())
    snapshot = s3.head_object(Bucket=planned["bucket"], Key=planned["snapshot_key"])["ContentLength"]
    wall = plan.seconds + map_stage.seconds + summarized.seconds
    figures = ModeFigures(
        mode=mode,
        accounts=len(items),
        batches=len(batches),
        samples=samples,
        mapped_batches=len(mapped),
        mapped_accounts=mapped_accounts,
        concurrency=running,
        plan_seconds=round(plan.seconds, 2),
        plan_calls=_by_service(plan.calls),
        plan_chain=len(longest_chain(plan.calls)),
        plan_throttled=sum(c.throttled for c in plan.calls),
        map_seconds=round(map_stage.seconds, 1),
        map_cpu_seconds=round(map_stage.cpu_seconds, 1),
        batch_seconds_in_map=round(statistics.median(r.ended - r.started for r in runs), 2),
        summary_seconds=round(summarized.seconds, 2),
        summary_calls=len(summarized.calls),
        summary_chain=len(longest_chain(summarized.calls)),
        summary_error=summary.get("error"),
        wall_seconds=round(wall, 1),
        calls=len(plan.calls) + len(map_stage.calls) + len(summarized.calls),
        calls_per_account={s: round(n / mapped_accounts, 2) for s, n in _by_service(account_calls).items()},
        calls_per_batch={s: round(n / len(mapped), 2) for s, n in _by_service(per_batch).items()},
        throttled=throttled,
        reads=_chains(alone_by_account, with_instance, _is_read),
        with_recorder=_chains(alone_by_account, with_instance, lambda c: True),
        reads_in_map=_chains(in_map, with_instance, _is_read),
        reads_one_by_one=_chains(one_by_one, with_instance, _is_read),
        accounts_read=int(report["accounts_read"]),
        unreadable=len(report["unreadable"]),
        instances=int(report["instances"]),
        violations=int(report.get("by_verdict", {}).get("violation", 0)),
        child_input_bytes=max(r.input_bytes for r in runs),
        child_output_bytes=max(r.output_bytes for r in runs),
        plan_output_bytes=len(json.dumps(planned)),
        snapshot_bytes=int(snapshot),
        alone=alone,
        alone_slow=alone_slow,
        cold_start_seconds=None if cold_start is None else round(cold_start, 2),
        sequential_seconds_per_account=round(per_account, 3),
        sequential_sample_accounts=sequential_accounts,
        sequential_projected_seconds=round(per_account * len(items), 1),
        speedup_in_process=round(per_account * mapped_accounts / map_stage.seconds, 1),
    )
    snapshot_units = json.loads(
        s3.get_object(Bucket=planned["bucket"], Key=planned["snapshot_key"])["Body"].read()
    )["units"]
    planner = PlannerFigures(
        seconds=plan.seconds,
        organizations_calls=figures.plan_calls.get("organizations", 0),
        parents=len(snapshot_units) + 1,
        organization_accounts=sweep.organization_accounts,
        swept_accounts=len(items),
    )
    for measured in (alone, alone_slow):
        if measured is None:
            continue
        for target in dict.fromkeys((len(items), GOAL_ACCOUNTS)):
            figures.projections.append(
                project(
                    target,
                    measured,
                    planner=planner,
                    # The summary read the reports of the batches mapped: scaled to every batch.
                    summary_seconds=summarized.seconds * len(batches) / len(mapped),
                    measured_batches=len(batches),
                    cold_start_seconds=cold_start if cold_start is not None else cold_start_hint or 0.0,
                    sequential_seconds_per_account=per_account,
                )
            )
    if mode == "one call" and samples.cold:  # not in a quick run
        assume_roles = sum(c.operation == "AssumeRole" for c in map_stage.calls)
        demand = max(p.assume_role_rate for p in figures.projections if p.accounts == GOAL_ACCOUNTS)
        ratio = demand / QUOTAS["sts"].rate
        if ratio > 1:
            progress(f"{mode}: STS asked {ratio:.1f}x its quota")
            stress = _sts_stress(
                sweep, planned, batches, concurrency, ratio, assume_roles / map_stage.seconds
            )
            figures = dataclasses.replace(figures, sts_stress=stress)
    return figures


def _cold_start(sweep: Sweep, planned: dict[str, Any], batch: Batch, latency: float) -> float:
    """What a child's first batch costs more on a new execution environment (its runtime built,
    the service models loaded from disk) than on a warm one, back to back on the same batch."""
    seconds: list[float] = []
    for cold in (False, True):
        sweep.reset()
        with AwsWire(latency=latency, throttle=Throttle(QUOTAS)) as wire:
            started = time.perf_counter()
            runtime = sweep.runtime(cold=cold)
            runs, _, _ = sweep.map(wire, planned, [batch], [runtime], 1)
            seconds.append(runs[0].ended - (started if cold else runs[0].started))
    return max(0.0, seconds[1] - seconds[0])


def _sts_stress(
    sweep: Sweep,
    planned: dict[str, Any],
    batches: Sequence[Batch],
    concurrency: int,
    ratio: float,
    rate_in_process: float,
) -> StressFigures:
    """The projection takes STS's quota as a floor that adaptive retries reach without losing an
    account: the process cannot ask 600 AssumeRoles a second, so the quota is scaled to what it
    can ask, over the same ratio."""
    rate = max(1.0, rate_in_process / ratio)
    quotas = {**QUOTAS, "sts": Quota(rate=rate, burst=rate)}
    chosen = _spread(batches, min(len(batches), STRESS_BATCHES))
    running = min(concurrency, len(chosen))
    runtimes = [sweep.runtime() for _ in range(running)]
    sweep.reset()
    with AwsWire(latency=sweep.latency, throttle=Throttle(quotas)) as wire:
        _, outputs, stage = sweep.map(wire, planned, chosen, runtimes, running)
    attempts = [c for c in stage.calls if c.operation == "AssumeRole"]
    throttled = sum(c.throttled for c in attempts)
    accounts = sum(len(b) for b in chosen)
    return StressFigures(
        demand_ratio=round(ratio, 2),
        sts_rate=round(rate, 1),
        accounts=accounts,
        concurrency=running,
        seconds=round(stage.seconds, 1),
        floor_seconds=round(max(0.0, accounts - rate) / rate, 1),
        assume_role_attempts=len(attempts),
        throttled=throttled,
        unreadable=sum(json.loads(o["Output"]).get("unreadable", 0) for o in outputs if o["failed"] is None),
        achieved_rate=round((len(attempts) - throttled) / stage.seconds, 1),
    )


@contextlib.contextmanager
def _sweep_environment(env: EmulatedEnvironment, scratch: str) -> Iterator[None]:
    """The sweep functions' environment variables, as the stack sets them, on the emulation."""
    policy_path = Path(scratch) / "policy.json"
    policy_path.write_text(json.dumps(policy_data(load_policy(EXAMPLE_POLICY))), encoding="utf-8")
    variables = {
        **sweep_environment(env, policy_path, REGIONS),
        "AWS_REGION": NEAR_REGION,
    }
    with mock.patch.dict(os.environ, variables):
        from guardrail.handlers import sweep as handlers

        log = logging.getLogger(handlers.logger.name)
        level = log.level
        log.setLevel(logging.CRITICAL)
        try:
            yield
        finally:
            log.setLevel(level)


def measure_sweep(
    accounts: int = 2000,
    *,
    latency: float = 0.025,
    slow_latency: float | None = 0.1,
    concurrency: int = MAX_CONCURRENCY,
    modes: Sequence[str] = ("one call", "per Region"),
    progress: ProgressFn = _quiet,
) -> SweepFigures:
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory() as scratch,
        EmulatedEnvironment() as env,
        indexed_access_keys() as keys,
        aws_page_sizes(),
    ):
        organization = build_organization(env, accounts, keys, progress)
        progress(f"setup: {organization.setup_seconds:.0f} s")
        figures = SweepFigures(
            accounts=accounts,
            organization_accounts=len(env.organization.member_account_ids) + 1,
            regions=len(REGIONS),
            latency_ms=latency * 1000,
            slow_latency_ms=None if slow_latency is None else slow_latency * 1000,
            concurrency=concurrency,
            setup_seconds=round(organization.setup_seconds, 1),
            setup_accounts_seconds=round(organization.accounts_seconds, 1),
            setup_instances_seconds=round(organization.instances_seconds, 2),
            unindexed_lookup_ms=round(organization.unindexed_lookup_ms, 2),
            instances_seeded=len(organization.instance_regions),
            quotas={
                name: {"rate": q.rate, "burst": q.burst, "source": QUOTA_SOURCES[name]}
                for name, q in QUOTAS.items()
            },
        )
        sweep = Sweep(env, organization, latency)
        with _sweep_environment(env, scratch), contextlib.redirect_stdout(io.StringIO()):
            cold_start = None
            for mode in modes:
                per_region = mock.patch("guardrail.gather.member.lists_all_regions", return_value=False)
                with per_region if mode == "per Region" else contextlib.nullcontext():
                    measured = measure_mode(
                        sweep,
                        mode,
                        concurrency=concurrency,
                        slow_latency=slow_latency,
                        progress=progress,
                        cold_start_hint=cold_start,
                    )
                figures.modes.append(measured)
                cold_start = cold_start or measured.cold_start_seconds
    figures.seconds = round(time.perf_counter() - started, 1)
    return figures


_STARTED = time.perf_counter()


def stderr_progress(message: str) -> None:
    sys.stderr.write(f"[sweep {time.perf_counter() - _STARTED:6.1f} s] {message}\n")
    sys.stderr.flush()


# -- the report ---------------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _calls(by_service: dict[str, float]) -> str:
    return ", ".join(f"{service} {n:g}" for service, n in by_service.items()) or "none"


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds:.0f} s ({seconds / 60:.1f} min)"


def _met(ok: bool) -> str:
    return "**met**" if ok else "**NOT met**"


def report_sweep(f: dict[str, Any]) -> str:
    """The Markdown section for `SweepFigures` (as `dataclasses.asdict` gives them)."""
    modes: list[dict[str, Any]] = f["modes"]
    by_mode = {m["mode"]: m for m in modes}
    parts = [
        "## Organization-wide sweep at scale\n\n"
        f"{f['accounts']:,} member accounts added to the example organization ({f['organization_accounts']:,} "
        f"accounts in all) over {len(OUS)} OUs ({', '.join(p for p, _ in OUS)}), "
        f"{f['instances_seeded']} of them ({INSTANCE_SHARE:.0%}) with an account instance in one of "
        f"{len(INSTANCE_REGIONS)} Regions; {f['regions']} Regions watched (every commercial Region where "
        f"Identity Center is available); {f['latency_ms']:g} ms of simulated latency per call. The deployed "
        "steps run as they are (planner, worker with its inventory and alerts, summary); only Step "
        "Functions is simulated (below).\n\n"
        f"Setup: **{f['setup_seconds']:g} s** ({f['setup_accounts_seconds']:g} s for the accounts, made "
        f"through Organizations and IAM as the emulation makes any account; {f['setup_instances_seconds']:g} s "
        "for the instances). moto finds the account of every request by scanning every account's IAM "
        f"backend for the access key ({f['unindexed_lookup_ms']:g} ms per request for the newest account at "
        "this size, growing with the organization): the benchmark indexes the keys STS issues "
        "(`indexed_access_keys`); moto's answers are unchanged. It also pages ListAccounts by 20 (moto: by 100), "
        "as Organizations pages it and ListAccountsForParent, which the planner reads.\n\n"
        "Throttling on the wire (`emulator.wire.Throttle`): a token bucket per quota, calling account and "
        "Region; a call finding its bucket empty gets the service's throttling error, and botocore's "
        "adaptive retries back off as against AWS.\n\n"
        + _table(
            ["quota", "rate / s", "burst", "figures"],
            [[f"`{n}`", q["rate"], q["burst"], q["source"]] for n, q in f["quotas"].items()],
        )
    ]

    rows: list[list[Any]] = []

    def row(label: str, value: Callable[[dict[str, Any]], Any]) -> None:
        rows.append([label, *(value(m) for m in modes)])

    def mapped(m: dict[str, Any]) -> str:
        if m["mapped_batches"] == m["batches"]:
            return f"{m['mapped_accounts']:,} ({m['batches']} batches of {BATCH_SIZE}): every account"
        return (
            f"{m['mapped_accounts']:,} of {m['accounts']:,} ({m['mapped_batches']} of {m['batches']} batches, "
            "spread over the run)"
        )

    def alone(m: dict[str, Any], key: str = "alone") -> str:
        a = m[key]
        if a is None:
            return "not measured"
        return f"{statistics.median(a['wall_seconds']):.2f} ({a['batches']} batches: {', '.join(f'{w:g}' for w in a['wall_seconds'])})"

    def chain(c: dict[str, Any]) -> str:
        return (
            f"{c['median']:g} / {c['max']} / {c['max_with_instance']} ({c['accounts']} accounts, "
            f"{c['with_instance']} with an instance; {c['over_goal']} over {GOAL_READ_ROUND_TRIPS})"
        )

    row("accounts mapped", mapped)
    row("**simulated Distributed Map** in this process: children at once", lambda m: m["concurrency"])
    row(
        "wall time: plan + map + summary (s)",
        lambda m: (
            f"**{m['wall_seconds']:g}** = {m['plan_seconds']:g} + {m['map_seconds']:g} + {m['summary_seconds']:g}"
        ),
    )
    row(
        "map: process CPU (s)",
        lambda m: f"{m['map_cpu_seconds']:g} (the process is CPU-bound: one core under the GIL)",
    )
    row("a batch while the children shared the process, median (s)", lambda m: m["batch_seconds_in_map"])
    row(f"a batch alone on a warm runtime, median (s), {f['latency_ms']:g} ms", alone)
    if f["slow_latency_ms"] is not None:
        row(f"a batch alone, {f['slow_latency_ms']:g} ms per call (s)", lambda m: alone(m, "alone_slow"))
    row(
        "  of which the function's CPU / moto's CPU (s)",
        lambda m: f"{m['alone']['function_cpu_seconds']:.2f} / {m['alone']['emulation_cpu_seconds']:.2f}",
    )
    row(
        f"a batch on Lambda ({WORKER_MEMORY_MB} MB), estimated (s)",
        lambda m: f"{_on_lambda(m['alone']):.2f}",
    )
    row(
        "a cold child: extra time for its first batch (s)",
        lambda m: "as the one call's" if m["cold_start_seconds"] is None else m["cold_start_seconds"],
    )
    row("AWS calls per account", lambda m: _calls(m["calls_per_account"]))
    row("calls per batch, not about one account", lambda m: _calls(m["calls_per_batch"]))
    row(
        "planner: calls; sequential chain; throttled",
        lambda m: f"{_calls(m['plan_calls'])}; {m['plan_chain']}; {m['plan_throttled']}",
    )
    row("summary: calls; sequential chain", lambda m: f"{m['summary_calls']}; {m['summary_chain']}")
    row("calls throttled, then retried by botocore", lambda m: _calls(m["throttled"]))
    row(
        "**sequential round trips of reads per account**, batches alone: median / max / max with an instance",
        lambda m: chain(m["reads"]),
    )
    row("  the same with the recorder's inventory and alert calls", lambda m: chain(m["with_recorder"]))
    row(
        "  reads of accounts swept one at a time (no other account's CPU)",
        lambda m: chain(m["reads_one_by_one"]),
    )
    row("  reads while the children shared the process (contended)", lambda m: chain(m["reads_in_map"]))
    row("  longest chain of an account with an instance", lambda m: " → ".join(m["with_recorder"]["example"]))
    row(
        "sequential sweep (one account, one batch at a time): s per account",
        lambda m: (
            f"{m['sequential_seconds_per_account']:.3f} ({m['sequential_sample_accounts']} accounts measured); "
            f"{_minutes(m['sequential_projected_seconds'])} for all {m['accounts']:,}, extrapolated"
        ),
    )
    row("speed-up of the map over it, in this process", lambda m: f"{m['speedup_in_process']:g}x")
    row(
        "accounts read / unreadable; instances found; violations",
        lambda m: f"{m['accounts_read']:,} / {m['unreadable']}; {m['instances']}; {m['violations']}",
    )
    row(
        "payloads: child input / output, planner output; snapshot in S3 (bytes)",
        lambda m: (
            f"{m['child_input_bytes']:,} / {m['child_output_bytes']:,}, {m['plan_output_bytes']:,}; {m['snapshot_bytes']:,}"
        ),
    )
    errors = {m["summary_error"] for m in modes if m["summary_error"]}
    parts.append(
        "### Measured\n\n"
        "Step Functions is **simulated**: the planner's items in batches of "
        f"{BATCH_SIZE} (the map's ItemBatcher), run by threads that each stand for a child execution "
        f"holding a warm worker runtime, at most {f['concurrency']} at once (the deployed max concurrency). "
        "One process cannot be 40 Lambda functions: its children share one core, so the map's wall time "
        "here is the emulation's CPU, not AWS's latency. What a child takes is measured with a batch "
        "alone: the worker's own concurrency (8 accounts at once, 32 calls in flight) in one process, as "
        "on Lambda. Round trips are `longest_chain` over each account's calls: the member role's calls "
        "carry the account's credentials; AssumeRole (made by the central account) and the recorder's "
        "calls are attributed by the account or instance their request names.\n\n"
        + _table(["", *(m["mode"] + " listing" for m in modes)], rows)
        + (
            "\n\nThe summary step failed after writing the summary (read here from S3): "
            + "; ".join(sorted(errors))
            if errors
            else ""
        )
    )

    scale = FULL_VCPU_MB / WORKER_MEMORY_MB
    projection_rows = [
        [
            m["mode"],
            f"{p['accounts']:,}",
            f"{p['latency_ms']:g}",
            f"{p['batches']} / {p['concurrency']} = {p['waves']} waves * {p['batch_seconds']:g} s",
            f"{p['assume_role_rate']:g}",
            f"{p['sts_floor_seconds']:g}",
            f"{p['plan_seconds']:g}",
            f"{p['map_seconds']:g}",
            f"{p['summary_seconds']:g}",
            f"**{_minutes(p['total_seconds'])}**",
            "yes" if p["total_seconds"] < GOAL_SECONDS else "no",
            p["concurrency_for_goal"] if p["concurrency_for_goal"] is not None else "-",
            f"{_minutes(p['sequential_seconds'])}: {p['speedup']:g}x (map {p['map_speedup']:g}x)",
        ]
        for m in modes
        for p in m["projections"]
    ]
    parts.append(
        "### Projection: the deployed sweep\n\n"
        f"From a batch alone (each child has its own Lambda CPU): batch on Lambda = the batch's wall time "
        f"- moto's CPU + the function's CPU * ({FULL_VCPU_MB}/{WORKER_MEMORY_MB} - 1) (a {WORKER_MEMORY_MB} MB "
        f"function has {1 / scale:.2f} of a vCPU; one vCPU at {FULL_VCPU_MB} MB). Then, for N accounts: "
        f"batches = ceil(N / {BATCH_SIZE}), waves = ceil(batches / {MAX_CONCURRENCY}); map = max(waves * batch, "
        f"(N - {QUOTAS['sts'].burst:g}) / {QUOTAS['sts'].rate:g} s, the least time STS allows for N "
        "AssumeRoles) + one cold start; plan = the measured planner * its pages of accounts at N / at N0 "
        f"(ListAccountsForParent, {ORGANIZATIONS_PAGE} accounts a page), and no less than "
        f"its Organizations calls at N at the assumed {QUOTAS['organizations'].rate:g} per second; "
        "summary = the measured summary * batches / batches0 (it reads each batch's report in turn). "
        "AssumeRole / s is what the map asks of STS: min(40, batches) * 25 / batch. Sequential: the same "
        "planner and summary around the measured time per account one at a time times N (emulation CPU "
        "included).\n\n"
        + _table(
            [
                "listing",
                "accounts",
                "ms / call",
                "batches / concurrency",
                "AssumeRole / s",
                "STS floor (s)",
                "plan (s)",
                "map (s)",
                "summary (s)",
                "total",
                "< 10 min",
                "concurrency for 10 min",
                "sequential: speed-up",
            ],
            projection_rows,
        )
    )

    goals = []
    one = by_mode.get("one call")
    if one is not None:
        tenk = [p for p in one["projections"] if p["accounts"] == GOAL_ACCOUNTS]
        worst = max(tenk, key=lambda p: p["total_seconds"]) if tenk else None
        if worst is not None:
            goals.append(
                f"- {GOAL_ACCOUNTS:,} accounts in under 10 minutes (one-call listing): "
                + ", ".join(
                    f"{_minutes(p['total_seconds'])} at {p['latency_ms']:g} ms per call" for p in tenk
                )
                + f", projected: {_met(worst['total_seconds'] < GOAL_SECONDS)}. Not measured at that scale: "
                "the projection above is the evidence."
            )
        reads, alone_reads, in_map = one["reads_one_by_one"], one["reads"], one["reads_in_map"]
        contended = [
            f"{c['over_goal']} of {c['accounts']:,} accounts took {c['max']} {where}"
            for c, where in (
                (alone_reads, "in batches run alone (8 accounts at once in one process, as on Lambda)"),
                (in_map, f"while {one['concurrency']} children shared this process"),
            )
            if c["over_goal"]
        ]
        goals.append(
            f"- At most {GOAL_READ_ROUND_TRIPS} sequential round trips of reads per account with the one-call "
            f"listing: {_met(reads['max'] <= GOAL_READ_ROUND_TRIPS and alone_reads['max'] <= GOAL_READ_ROUND_TRIPS)}"
            f" by the calls the worker makes: at most {reads['max']} for an account swept with no other account "
            f"sharing its CPU ({reads['accounts']} accounts, {reads['with_instance']} with an instance; an account "
            f"without an instance needs 2), and at most {alone_reads['max']} in batches run alone "
            f"({alone_reads['accounts']} accounts, {alone_reads['with_instance']} with an instance). "
            + (
                "Where the CPU was contended, "
                + "; ".join(contended)
                + ": the second of two concurrent reads waited for the CPU (other accounts' client creation, "
                "moto's answers) until the first had returned. "
                if contended
                else ""
            )
            + "With the recorder's inventory and alert calls, which follow the reads one after another, an "
            f"account with an instance waits for {one['with_recorder']['max_with_instance']} round trips."
        )
    stress = one["sts_stress"] if one is not None else None
    if stress is not None:
        goals.append(
            f"- STS throttling: the projected {GOAL_ACCOUNTS:,}-account map asks STS {stress['demand_ratio']:g}x "
            f"its quota. Scaled down (STS at {stress['sts_rate']:g} per second, so that this process asks the "
            f"same multiple), {stress['accounts']:,} accounts with {stress['concurrency']} children took "
            f"{stress['seconds']:g} s against a floor of {stress['floor_seconds']:g} s: "
            f"{stress['throttled']:,} of {stress['assume_role_attempts']:,} AssumeRole attempts throttled, "
            f"{stress['achieved_rate']:g} answered per second, **{stress['unreadable']} accounts unreadable** "
            "(throttled past botocore's 5 attempts)."
        )
    per_region = by_mode.get("per Region")
    if per_region is not None:
        goals.append(
            f"- Per-Region listing (a botocore without `RegionScope`): "
            f"{per_region['calls_per_account'].get('sso-admin', 0):g} sso-admin calls per account and "
            f"{per_region['reads']['median']:g} round trips (median): the goal assumes the one-call listing."
        )
    parts.append("### Goals\n\n" + "\n".join(goals))

    any_mode = modes[0] if modes else None
    quota_lines = [
        f"- Lambda: {MAX_CONCURRENCY} workers at once, against {LAMBDA_CONCURRENCY:,} concurrent executions per "
        "account and Region by default (shared with the detect function and anything else there).",
        f"- Distributed Map: max concurrency {MAX_CONCURRENCY} (configurable up to {MAP_MAX_CONCURRENCY:,} child "
        "executions); items are read from S3 (ItemReader) and results written to S3 (ResultWriter).",
        f"- STS: {QUOTAS['sts'].rate:g} requests per second per account and Region, shared with every STS call "
        f"of the central account: {GOAL_ACCOUNTS:,} AssumeRoles need at least "
        f"{(GOAL_ACCOUNTS - QUOTAS['sts'].burst) / QUOTAS['sts'].rate:.0f} s. The member sessions are one per "
        "account (cached by the worker), so the sweep makes one AssumeRole per account.",
        f"- Identity Center: {QUOTAS['sso-admin'].rate:g} requests per second; a sweep's sso-admin calls "
        "are made in each member account (one bucket per account and Region), a few per account.",
        f"- Organizations: no published rate; the planner's calls grow with the accounts "
        f"(ListAccountsForParent, pages of 20), here at an assumed {QUOTAS['organizations'].rate:g} per second.",
    ]
    if any_mode is not None:
        snapshot_per_account = any_mode["snapshot_bytes"] / max(1, f["organization_accounts"])
        quota_lines.append(
            f"- {STATE_PAYLOAD_LIMIT // 1024} KB per state input or output: a child's input is "
            f"{any_mode['child_input_bytes']:,} bytes ({BATCH_SIZE} account ids and the run's fields) and its "
            f"output {any_mode['child_output_bytes']:,}; the planner's output {any_mode['plan_output_bytes']:,}: "
            f"the same at {GOAL_ACCOUNTS:,} accounts, since the accounts and results travel through S3. The "
            f"snapshot each worker reads from S3 (not a payload) is {any_mode['snapshot_bytes'] / 1024:.0f} KB, "
            f"about {snapshot_per_account * GOAL_ACCOUNTS / 2**20:.1f} MB at {GOAL_ACCOUNTS:,} accounts."
        )
    quota_lines.append(
        "- Not modelled: Step Functions starting each child execution and Lambda invoking it (paid once per "
        "wave of children), a batch retried after a failure, and other callers sharing these quotas."
    )
    parts.append("### Quotas the projection rests on\n\n" + "\n".join(quota_lines))
    return "\n\n".join(parts)


def _on_lambda(alone: dict[str, Any]) -> float:
    scale = FULL_VCPU_MB / WORKER_MEMORY_MB
    return float(
        statistics.median(alone["wall_seconds"])
        - alone["emulation_cpu_seconds"]
        + alone["function_cpu_seconds"] * (scale - 1)
    )
