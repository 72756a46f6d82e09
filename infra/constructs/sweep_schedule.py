"""The EventBridge Scheduler schedule that starts the sweep."""

from __future__ import annotations

from typing import Final

from aws_cdk import Aws, Duration, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import SweepConfig

SCHEDULE_NAME: Final = "IdentityCenterGuardrail-Sweep"
# A start that keeps failing is retried for an hour (a sweep that starts later than that would
# overlap the next one sooner), then parked in the dead-letter queue, whose alarm tells someone.
MAX_EVENT_AGE: Final = Duration.hours(1)
RETRY_ATTEMPTS: Final = 185


def schedule_group_arn(group: str = "default") -> str:
    """The ARN of the group the schedule is in, for its role's trust: Scheduler's confused-deputy
    condition `aws:SourceArn` carries the schedule group's ARN, not the schedule's."""
    return f"arn:{Aws.PARTITION}:scheduler:{Aws.REGION}:{Aws.ACCOUNT_ID}:schedule-group/{group}"


class SweepSchedule(Construct):
    """Starts the state machine on `sweep.schedule` in `sweep.time_zone`, at the time (no flexible
    window); off when `sweep.enabled` is false. Its role may only start this state machine, and
    send the start it could not make to the dead-letter queue.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        sweep: SweepConfig,
        state_machine: sfn.IStateMachine,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            description="Lets EventBridge Scheduler start the IAM Identity Center guardrail's sweep",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnEquals": {"aws:SourceArn": schedule_group_arn()},
                }
            ),
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule_name=SCHEDULE_NAME,
            description="Starts the organization-wide sweep of IAM Identity Center account instances",
            schedule=scheduler.ScheduleExpression.expression(sweep.schedule, TimeZone.of(sweep.time_zone)),
            time_window=scheduler.TimeWindow.off(),
            enabled=sweep.enabled,
            target=targets.StepFunctionsStartExecution(
                state_machine,
                role=self.role,
                dead_letter_queue=dead_letter_queue,
                max_event_age=MAX_EVENT_AGE,
                retry_attempts=RETRY_ATTEMPTS,
            ),
        )
