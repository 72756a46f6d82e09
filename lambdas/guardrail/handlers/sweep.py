"""Lambda entry points of the sweep's three steps, which the state machine runs in order.

- `plan`: reads the organization once; writes the run's snapshot and the accounts to sweep (the
  Distributed Map's items) to the reports bucket.
- `work`: one batch of accounts (the map's `ItemBatcher`): judges their instances, keeps the
  inventory, alerts; writes the batch's report and returns where it is.
- `summarize`: reads what the map wrote (ResultWriter), adds the batches up, writes the report
  (`guardrail.sweep.report`) and the summary, and publishes the summary once, linking to the
  report; compares the blind spots with those the last run knew and alerts once on what is new or
  resolved (`guardrail.sweep.blind_spots`).

Each builds what it needs on its first invocation and reuses it while warm. A malformed input is a
deployment problem (the state machine builds every input): it raises, naming the field.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from guardrail.adapters.clients import AwsClients, CallCounter
from guardrail.adapters.reports import ReportStore, run_key
from guardrail.channels.alert_topic import SnsAlertPublisher
from guardrail.channels.registry import build_deliverer
from guardrail.core.policy import Policy
from guardrail.core.policy_file import load_policy
from guardrail.core.strict import convert
from guardrail.deletion.lifecycle import Deletions, deletion_schedules
from guardrail.gather.member import MemberSide
from guardrail.gather.sessions import Sessions
from guardrail.handlers.environment import (
    SweepPlannerEnvironment,
    SweepSummaryEnvironment,
    SweepWorkerEnvironment,
    delivery_targets,
)
from guardrail.inventory.table import InventoryTable
from guardrail.sweep.blind_spots import compare, known_in, say
from guardrail.sweep.coverage import CoverageChecker, ForwardingNames
from guardrail.sweep.map_results import read_map_results
from guardrail.sweep.planner import plan as plan_sweep
from guardrail.sweep.recorder import SweepRecorder
from guardrail.sweep.snapshot import Snapshot
from guardrail.sweep.summary import Summary, summarize, summary_alert
from guardrail.sweep.worker import AccountResult, Run, SweepWorker

logger = Logger()
metrics = Metrics()
tracer = Tracer()
T = TypeVar("T")

# The worker's reads in flight: 8 accounts at once (`sweep.worker.CONCURRENT_ACCOUNTS`), each up to
# 16, since the coverage check reads two chains of calls in every Region an account has enabled
# (its forwarding rule, its dead-letter queue). Each in its own account and Region, far from their
# quotas; with fewer, an account's reads wait for threads, not for AWS (benchmarks/RESULTS.md).
AWS_CALLS_IN_FLIGHT = 128


class PlanRequest(msgspec.Struct, frozen=True):
    run_id: str
    started_at: datetime


class Planned(msgspec.Struct, frozen=True, kw_only=True):
    """The planner's output: the rest of the run reads it."""

    run_id: str
    started_at: datetime
    bucket: str
    snapshot_key: str
    items_key: str
    counts: dict[str, int]
    api_calls: int = 0


class BatchInput(msgspec.Struct, frozen=True):
    run_id: str
    started_at: datetime
    bucket: str
    snapshot_key: str


class Item(msgspec.Struct, frozen=True):
    account_id: str


class BatchRequest(msgspec.Struct, frozen=True):
    items: tuple[Item, ...] = msgspec.field(name="Items")
    batch_input: BatchInput = msgspec.field(name="BatchInput")


class BatchReport(msgspec.Struct, frozen=True):
    run_id: str
    accounts: tuple[AccountResult, ...]
    api_calls: int


class ResultWriterDetails(msgspec.Struct, frozen=True):
    bucket: str = msgspec.field(name="Bucket")
    key: str = msgspec.field(name="Key")


class MapOutput(msgspec.Struct, frozen=True):
    details: ResultWriterDetails = msgspec.field(name="ResultWriterDetails")


class SummaryRequest(msgspec.Struct, frozen=True):
    plan: Planned
    map: MapOutput


def _policy(path: str) -> Policy:
    return load_policy(Path(os.environ.get("LAMBDA_TASK_ROOT", ".")) / path)


def _audit(action: str, fields: dict[str, Any]) -> None:
    logger.info(f"audit: {action}", extra={"audit": action, **fields})


def _channel_failed(channel: str, error: BaseException) -> None:
    logger.error("A channel did not take the alert", extra={"channel": channel, "error": str(error)})
    _count(f"ChannelFailures_{channel}")


def _count(name: str, value: float = 1) -> None:
    try:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    except Exception:
        logger.warning("Could not record the metric", extra={"metric": name}, exc_info=True)


# -- plan ---------------------------------------------------------------------------------------------


def plan(event: Any, clients: AwsClients | None = None) -> dict[str, Any]:
    request = convert(event, PlanRequest)
    env = SweepPlannerEnvironment.from_environ(os.environ)
    clients = clients or AwsClients()
    counter = CallCounter(clients.session)
    sessions = Sessions(
        clients,
        member_role_name=None,
        organizations_role_arn=env.organization_reads.organizations_role_arn,
        partition=env.partition,
    )
    the_plan = plan_sweep(sessions, env.organization_reads.organization_instance_region)
    store = ReportStore(clients.client("s3"), env.reports_bucket)
    snapshot_key, items_key = (
        run_key(request.run_id, "snapshot.json"),
        run_key(request.run_id, "accounts.json"),
    )
    store.put(snapshot_key, msgspec.json.encode(the_plan.snapshot))
    store.put(items_key, msgspec.json.encode([{"account_id": a} for a in the_plan.to_sweep]))
    logger.info("Planned the sweep", extra={"run_id": request.run_id, "accounts": the_plan.counts})
    planned = Planned(
        run_id=request.run_id,
        started_at=request.started_at,
        bucket=env.reports_bucket,
        snapshot_key=snapshot_key,
        items_key=items_key,
        counts=the_plan.counts,
        api_calls=counter.calls,
    )
    return msgspec.to_builtins(planned)  # type: ignore[no-any-return]


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def plan_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    return plan(event)


# -- work ---------------------------------------------------------------------------------------------


@dataclass
class WorkerRuntime:
    clients: AwsClients
    counter: CallCounter
    store: ReportStore
    worker: SweepWorker
    policy: Policy
    snapshots: dict[str, Snapshot]


def build_worker(clients: AwsClients | None = None) -> WorkerRuntime:
    env = SweepWorkerEnvironment.from_environ(os.environ)
    clients = clients or AwsClients()
    policy = _policy(env.policy.policy_path)
    members = env.member_reads
    sessions = Sessions(
        clients,
        member_role_name=members.member_role_name,
        organizations_role_arn=None,
        partition=members.partition,
    )
    pool = ThreadPoolExecutor(max_workers=AWS_CALLS_IN_FLIGHT, thread_name_prefix="aws")

    def submit(work: Any) -> Future[Any]:
        return pool.submit(work)

    recorder = SweepRecorder(
        InventoryTable(clients.client("dynamodb"), env.inventory_table_name),
        build_deliverer(
            clients,
            delivery_targets(env.alerting, env.channels),
            records_table=env.idempotency_table_name,
            region=os.environ.get("AWS_REGION", "us-east-1"),
            on_failure=_channel_failed,
        ),
        mode=policy.mode.value,
        reminder=timedelta(days=env.reminder_days),
        audit=_audit,
        deletions=Deletions(policy, deletion_schedules(clients, env.pending_deletions)),
    )
    names = ForwardingNames(
        rule_name=env.forwarding_rule_name,
        dead_letter_queue_name=env.forwarding_dead_letter_queue_name,
        central_bus_arn=env.central_bus_arn,
    )
    worker = SweepWorker(
        sessions,
        MemberSide(submit, regions=members.instance_regions, settle_delays=(), sleep=lambda _: None),
        submit,
        near_region=os.environ.get("AWS_REGION", "us-east-1"),
        recorder=recorder,
        coverage=CoverageChecker(names, members.instance_regions, submit) if names.checked else None,
    )
    return WorkerRuntime(
        clients,
        CallCounter(clients.session),
        ReportStore(clients.client("s3"), env.reports_bucket),
        worker,
        policy,
        {},
    )


worker_runtime = cache(build_worker)


def work(event: Any, rt: WorkerRuntime) -> dict[str, Any]:
    request = convert(event, BatchRequest)
    run_input = request.batch_input
    logger.set_correlation_id(run_input.run_id)
    snapshot = rt.snapshots.get(run_input.snapshot_key)
    if snapshot is None:
        snapshot = msgspec.json.decode(rt.store.get(run_input.snapshot_key, run_input.bucket), type=Snapshot)
        rt.snapshots.clear()  # one run at a time: keep only this one's
        rt.snapshots[run_input.snapshot_key] = snapshot
    before = rt.counter.calls
    run = Run(run_id=run_input.run_id, observed_at=run_input.started_at, snapshot=snapshot, policy=rt.policy)
    accounts = [item.account_id for item in request.items]
    results = rt.worker.sweep(accounts, run)
    report = BatchReport(run_id=run.run_id, accounts=results, api_calls=rt.counter.calls - before)
    key = run_key(run.run_id, f"batches/{accounts[0] if accounts else 'empty'}-{len(accounts)}.json")
    rt.store.put(key, msgspec.json.encode(report))
    unreadable = sum(not r.readable for r in results)
    blind = sum(len(r.coverage.blind_spots) for r in results if r.coverage is not None)
    logger.info(
        "Swept a batch of accounts",
        extra={
            "run_id": run.run_id,
            "accounts": len(accounts),
            "unreadable": unreadable,
            "blind_spots": blind,
            "report_key": key,
        },
    )
    _count("SweptAccounts", len(accounts))
    _count("UnreadableAccounts", unreadable)
    _count("BlindSpots", blind)
    return {"report_key": key, "accounts": len(accounts), "unreadable": unreadable}


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def work_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    return work(event, worker_runtime())


# -- summarize ----------------------------------------------------------------------------------------


def summarize_run(
    event: Any, clients: AwsClients | None = None, now: datetime | None = None
) -> dict[str, Any]:
    request = convert(event, SummaryRequest)
    env = SweepSummaryEnvironment.from_environ(os.environ)
    clients = clients or AwsClients()
    store = ReportStore(clients.client("s3"), env.reports_bucket)
    planned = request.plan
    logger.set_correlation_id(planned.run_id)
    results = read_map_results(
        request.map.details.bucket, request.map.details.key, lambda bucket, key: store.get(key, bucket)
    )
    reports = [msgspec.json.decode(store.get(out["report_key"]), type=BatchReport) for out in results.outputs]
    accounts = [account for report in reports for account in report.accounts]
    snapshot = msgspec.json.decode(store.get(planned.snapshot_key), type=Snapshot)
    publisher = SnsAlertPublisher(clients.client("sns"), env.alerting.alert_topic_arn)
    unswept = [item["account_id"] for batch in results.failed_inputs for item in batch.get("Items", [])]
    blind_spots = None
    if any(account.coverage is not None for account in accounts):
        blind_spots = compare(known_in(store), planned.run_id, accounts, unswept)
    summary = summarize(
        planned.run_id,
        planned.counts,
        accounts,
        _policy(env.policy.policy_path),
        started_at=planned.started_at,
        finished_at=now or datetime.now(UTC),
        ending_within_days=env.ending_within_days,
        failed_batches=len(results.failed_inputs),
        api_calls=planned.api_calls + sum(report.api_calls for report in reports),
        new_blind_spots=blind_spots.new if blind_spots else None,
        resolved_blind_spots=blind_spots.resolved if blind_spots else None,
        snapshot=snapshot,
        unswept=unswept,
    )
    summary, report_failure = _with_report(store, summary)
    summary_key = run_key(planned.run_id, "summary.json")
    store.put(summary_key, msgspec.json.encode(summary))
    published_key = run_key(planned.run_id, "summary.published")
    if not store.exists(published_key):  # a retry of this step publishes nothing twice
        publisher.publish(summary_alert(summary, summary_key, report_failure=report_failure))
        store.put(published_key, b"{}")
    if blind_spots is not None:
        say(blind_spots, planned.run_id, store, publisher.publish)
    logger.info("Summarized the sweep", extra={"run_id": planned.run_id, "summary_key": summary_key})
    _count("SweepFailedBatches", summary.failed_batches)
    return {
        "run_id": planned.run_id,
        "summary_key": summary_key,
        "report_key": summary.report.key if summary.report else None,
        "accounts_read": summary.accounts_read,
        "unreadable": len(summary.unreadable),
        "instances": summary.instances,
        "failed_batches": summary.failed_batches,
        "blind_spots": len(summary.coverage.blind_spots) if summary.coverage else None,
    }


def _with_report(store: ReportStore, summary: Summary) -> tuple[Summary, str | None]:
    """The summary with its report written and linked; or, when the report could not be written,
    the summary as it is and why: a run's summary is never lost for its report."""
    from guardrail.sweep.report.store import write_report  # only this step loads the templates

    def history_unreadable(reason: str) -> None:
        logger.warning("The runs' history could not be read: started again", extra={"reason": reason})

    try:
        link = write_report(
            store,
            summary,
            region=os.environ.get("AWS_REGION", "us-east-1"),
            generated_at=summary.finished_at,
            on_unreadable_history=history_unreadable,
        )
    except Exception as error:
        logger.exception("Could not write the sweep's report", extra={"run_id": summary.run_id})
        _count("SweepReportFailures")
        return summary, f"{type(error).__name__}: {error}"
    return msgspec.structs.replace(summary, report=link), None


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def summarize_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    return summarize_run(event)
