"""`guardrail sweep`: the organization-wide sweep from a workstation, read-only.

The same planner and worker as the deployed sweep, run in this process over batches of accounts
(a bounded pool of threads stands in for the Distributed Map). It keeps no inventory, publishes
nothing and deletes nothing: with a `Preview` (`--show`), the deployed recorder decides what would
be said, over an inventory in memory, and the alerts are caught (`guardrail_cli.preview`). With
`forwarding` names it checks each account's coverage as the deployed worker does. With
`--emulated` it runs on the embedded emulation of the example organization.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from guardrail.adapters.clients import AwsClients, CallCounter
from guardrail.core.policy import Policy, Severity
from guardrail.gather.member import MemberSide
from guardrail.gather.sessions import Sessions
from guardrail.sweep.blind_spots import compare
from guardrail.sweep.coverage import CoverageChecker, ForwardingNames
from guardrail.sweep.planner import plan
from guardrail.sweep.summary import Summary, summarize
from guardrail.sweep.worker import AccountResult, Run, SweepWorker
from guardrail_cli.progress import Update, progress_bar

if TYPE_CHECKING:
    from guardrail_cli.preview import Preview

BATCH = 25
CONCURRENT_BATCHES = 4
ENDING_WITHIN_DAYS = 14
# A window of ten years is already every trial (at most 3,650 days) and every exemption that matters.
MAX_ENDING_WITHIN_DAYS = 3650


@dataclass(frozen=True)
class SweepSettings:
    member_role_name: str
    regions: tuple[str, ...]
    near_region: str
    organizations_role_arn: str | None = None
    organization_instance_region: str | None = None
    partition: str = "aws"
    ending_within_days: int = ENDING_WITHIN_DAYS
    # The forwarding to check in each account (coverage, as the deployed worker does); None: not checked.
    forwarding: ForwardingNames | None = None
    # A preview's reminder interval, as the deployment's `sweep.reminder_days`.
    reminder_days: int = 7

    def __post_init__(self) -> None:
        if not 0 <= self.ending_within_days <= MAX_ENDING_WITHIN_DAYS:
            raise ValueError(
                f"--ending-within-days must be 0 to {MAX_ENDING_WITHIN_DAYS} (days from today), "
                f"not {self.ending_within_days}"
            )


def sweep(
    clients: AwsClients,
    settings: SweepSettings,
    policy: Policy,
    *,
    progress: Callable[[int, int], None] = lambda done, total: None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    preview: Preview | None = None,
) -> Summary:
    counter = CallCounter(clients.session)
    started = now()
    sessions = Sessions(
        clients,
        member_role_name=settings.member_role_name,
        organizations_role_arn=settings.organizations_role_arn,
        partition=settings.partition,
    )
    the_plan = plan(sessions, settings.organization_instance_region)
    run = Run(run_id=f"local-{uuid.uuid4()}", observed_at=started, snapshot=the_plan.snapshot, policy=policy)
    with ThreadPoolExecutor(max_workers=32, thread_name_prefix="aws") as calls:

        def submit[T](work: Callable[[], T]) -> Future[T]:
            return calls.submit(work)

        forwarding = settings.forwarding
        worker = SweepWorker(
            sessions,
            MemberSide(submit, regions=settings.regions, settle_delays=(), sleep=lambda _: None),
            submit,
            near_region=settings.near_region,
            recorder=preview.recorder(policy, settings.reminder_days) if preview else None,
            coverage=CoverageChecker(forwarding, settings.regions, submit) if forwarding else None,
        )
        results = _in_batches(worker, the_plan.to_sweep, run, progress)
    blind_spots = None
    if preview is not None and forwarding is not None:
        blind_spots = compare(preview.known_blind_spots, run.run_id, results)
    summary = summarize(
        run.run_id,
        the_plan.counts,
        results,
        policy,
        started_at=started,
        finished_at=now(),
        ending_within_days=settings.ending_within_days,
        api_calls=counter.calls,
        snapshot=the_plan.snapshot,
        new_blind_spots=blind_spots.new if blind_spots else None,
        resolved_blind_spots=blind_spots.resolved if blind_spots else None,
    )
    if preview is not None:
        preview.finish(summary, blind_spots)
    return summary


def _in_batches(
    worker: SweepWorker, accounts: Sequence[str], run: Run, progress: Callable[[int, int], None]
) -> list[AccountResult]:
    batches = [list(b) for b in itertools.batched(accounts, BATCH)]
    results: list[AccountResult] = []
    progress(0, len(accounts))
    with ThreadPoolExecutor(max_workers=CONCURRENT_BATCHES, thread_name_prefix="batch") as pool:
        for batch in pool.map(lambda b: worker.sweep(b, run), batches):
            results.extend(batch)
            progress(len(results), len(accounts))
    return results


def progress_to(
    stream: TextIO, description: str = "sweeping", unit: str = "accounts"
) -> AbstractContextManager[Update]:
    """A progress bar of the accounts done, their total and the time left, on a terminal; nothing
    elsewhere (`guardrail_cli.progress`)."""
    return progress_bar(stream, description, unit)


def failing(summary: Summary, threshold: Severity | None) -> int:
    """`--fail-on`: how many instances were judged a violation of ``threshold`` or above."""
    if threshold is None:
        return 0
    return sum(
        1
        for row in summary.rows
        if row.verdict == "violation" and Severity(row.severity).rank >= threshold.rank
    )
