"""`guardrail sweep`: the organization-wide sweep from a workstation, read-only.

The same planner and worker as the deployed sweep, run in this process over batches of accounts
(a bounded pool of threads stands in for the Distributed Map); no recorder, so it keeps no
inventory, publishes nothing and deletes nothing. With `--emulated` it runs on the embedded
emulation of the example organization.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import boto3

from guardrail.adapters.clients import AwsClients
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


class CallCounter:
    """Counts the AWS calls a boto3 session makes (each attempt of each client call)."""

    def __init__(self, session: boto3.session.Session) -> None:
        self.calls = 0
        self._lock = threading.Lock()
        session.events.register("before-call", self._count)

    def _count(self, **_: Any) -> None:
        with self._lock:
            self.calls += 1


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


# -- what a person reads -----------------------------------------------------------------------------


def render_summary(summary: Summary) -> str:
    lines = [
        f"sweep {summary.run_id}: {summary.accounts_listed} accounts listed, {summary.accounts_swept} swept, "
        f"{summary.accounts_read} read, {len(summary.unreadable)} not readable; {summary.instances} account "
        f"instances in {summary.duration_seconds:.1f} s"
        + (f", {summary.api_calls} AWS calls" if summary.api_calls is not None else ""),
        "",
    ]
    header = ("account", "name", "region", "instance", "status", "verdict", "rules")
    rows = [header] + [
        (
            row.account_id,
            _short(row.name or "-", 24),
            row.region,
            row.instance_arn.rsplit("/", 1)[-1],
            row.status or "-",
            row.verdict,
            ", ".join(row.rules) or "-",
        )
        for row in sorted(
            summary.rows, key=lambda r: (r.verdict != "violation", r.account_id, r.instance_arn)
        )
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header) - 1)]
    for row in rows:
        lines.append(
            "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  "
            + row[-1]
        )
    if summary.unreadable:
        lines += ["", "not readable (their instances are unknown, not absent):"]
        lines += [f"  {u.account_id} {u.name or ''}: {u.reason}" for u in summary.unreadable]
    states = ", ".join(f"{n} {state.lower()}" for state, n in summary.accounts_by_state.items())
    posture = summary.posture
    lines += [
        "",
        f"accounts by state: {states}",
        "verdicts: " + (", ".join(f"{n} {v}" for v, n in summary.by_verdict.items()) or "none"),
        "violations by rule: "
        + (", ".join(f"{r} {n}" for r, n in summary.violations_by_rule.items()) or "none"),
        "",
        "posture:",
        f"  accounts not approved that no SCP denies sso:CreateInstance: {len(posture.unprotected_accounts)}"
        + (f" ({', '.join(posture.unprotected_accounts)})" if posture.unprotected_accounts else ""),
        f"  accounts exempted: {', '.join(posture.exempted_accounts) or 'none'}",
        f"  ending within {posture.ending_within_days} days: "
        + (
            "; ".join(
                f"{e.what} {e.ticket or e.instance_arn or e.account_id} on {e.expires}"
                for e in posture.ending
            )
            or "nothing"
        ),
    ]
    return "\n".join(lines)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
