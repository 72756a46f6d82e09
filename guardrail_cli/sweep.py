"""`guardrail sweep`: the organization-wide sweep from a workstation, read-only.

The same planner and worker as the deployed sweep, run in this process over batches of accounts
(a bounded pool of threads stands in for the Distributed Map); no recorder, so it keeps no
inventory, publishes nothing and deletes nothing. With `--emulated` it runs on the embedded
emulation of the example organization.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from guardrail.adapters.clients import AwsClients, CallCounter
from guardrail.core.policy import Policy
from guardrail.gather.member import MemberSide
from guardrail.gather.sessions import Sessions
from guardrail.sweep.planner import plan
from guardrail.sweep.summary import Summary, summarize
from guardrail.sweep.worker import AccountResult, Run, SweepWorker

BATCH = 25
CONCURRENT_BATCHES = 4
ENDING_WITHIN_DAYS = 14


@dataclass(frozen=True)
class SweepSettings:
    member_role_name: str
    regions: tuple[str, ...]
    near_region: str
    organizations_role_arn: str | None = None
    organization_instance_region: str | None = None
    partition: str = "aws"
    ending_within_days: int = ENDING_WITHIN_DAYS


def sweep(
    clients: AwsClients,
    settings: SweepSettings,
    policy: Policy,
    *,
    progress: Callable[[int, int], None] = lambda done, total: None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
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

        worker = SweepWorker(
            sessions,
            MemberSide(submit, regions=settings.regions, settle_delays=(), sleep=lambda _: None),
            submit,
            near_region=settings.near_region,
        )
        results = _in_batches(worker, the_plan.to_sweep, run, progress)
    return summarize(
        run.run_id,
        the_plan.counts,
        results,
        policy,
        started_at=started,
        finished_at=now(),
        ending_within_days=settings.ending_within_days,
        api_calls=counter.calls,
    )


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


@contextmanager
def progress_to(stream: TextIO) -> Iterator[Callable[[int, int], None]]:
    """A one-line progress display on a terminal; nothing when the stream is not one."""
    shown = stream.isatty()

    def show(done: int, total: int) -> None:
        if shown:
            stream.write(f"\rswept {done} of {total} accounts")
            stream.flush()

    yield show
    if shown:
        stream.write("\n")
