"""The sweep's past runs, as Step Functions lists them: what `guardrail doctor`'s last-sweep check reads.

moto starts an execution RUNNING (without running the state machine) and ends one only when it is
stopped (ABORTED); it never ends one SUCCEEDED, FAILED or TIMED_OUT. `record_run` puts a run in the
state machine's history as if it had run: named, started and ended when given, with the status
given; ListExecutions lists it with the others, newest first, as AWS does. (moto leaves out a
TIMED_OUT run's `stopDate`, which AWS gives; the doctor reads a run's end as its `stopDate`, else
its `startDate`.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from moto.stepfunctions.models import Execution, stepfunctions_backends

__all__ = ["ENDED", "record_run"]

ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def record_run(
    state_machine_arn: str,
    *,
    status: str,
    ended: datetime,
    took: timedelta = timedelta(minutes=12),
    name: str | None = None,
) -> str:
    """Add a run of the state machine that started `took` before `ended` and ended then with
    `status` (or, RUNNING, started at `ended`); its name defaults to the run id the schedule's
    runs get (their start time). Returns the execution's ARN."""
    if status not in (*ENDED, "RUNNING"):
        raise ValueError(f"not an execution status: {status!r}")
    region, account_id = state_machine_arn.split(":")[3:5]
    backend = stepfunctions_backends[account_id][region]
    machine = backend.describe_state_machine(state_machine_arn)
    started = ended - took if status != "RUNNING" else ended
    execution = Execution(
        region_name=region,
        account_id=account_id,
        state_machine_name=machine.name,
        execution_name=name or started.strftime("%Y%m%dT%H%M%SZ"),
        state_machine_arn=state_machine_arn,
        execution_input="{}",
    )
    execution.start_date = started
    execution.status = status
    execution.stop_date = None if status == "RUNNING" else ended
    machine.executions.append(execution)
    return execution.execution_arn
