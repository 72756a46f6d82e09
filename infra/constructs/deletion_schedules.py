"""Pending deletions: the EventBridge Scheduler group their one-time schedules are kept in, and the
role Scheduler invokes the detect function with when one is due.

When a decision asks for a deletion after a grace period, the detect function and the sweep worker
create a one-time schedule per instance (`guardrail.deletion.schedules.DeletionSchedules`: named
`guardrail-delete-<40 hex>`, in this group, `ActionAfterCompletion: NONE`: the function moves or removes it). When it is due,
Scheduler assumes this construct's role and invokes the detect function with a `deletion-due`
input, which decides again on facts read then. Only a deployment that can delete
(`remediation_enabled`) has pending deletions, so the central stack creates this construct only
then; without it the functions' `DELETION_*` variables are empty and they never schedule.

The schedules are created by the functions, not by CloudFormation: deleting the group (turning
`remediation_enabled` off, or removing the stack) deletes every schedule still in it, so no
deletion stays pending in a deployment that can no longer delete.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from guardrail.deletion.schedules import NAME_PREFIX as SCHEDULE_NAME_PREFIX
from guardrail.handlers.environment import PendingDeletions
from infra.nag import acknowledge, rendered

# The prefix of the names the central stack gives the resources other parts name before they exist.
NAME_PREFIX: Final = "IdentityCenterGuardrail"
SCHEDULE_GROUP_NAME: Final = f"{NAME_PREFIX}-PendingDeletions"
SCHEDULER_PRINCIPAL: Final = "scheduler.amazonaws.com"
# What the functions call (`DeletionSchedules.schedule`, `.due`, `.cancel`); no UpdateSchedule: a
# pending deletion is kept as it is (ConflictException), never moved.
SCHEDULING_ACTIONS: Final = (
    "scheduler:CreateSchedule",
    "scheduler:GetSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:DeleteSchedule",
)


def pending_deletions(deletions: DeletionSchedules | None) -> PendingDeletions:
    """The `PendingDeletions` part for a function that schedules deletions in `deletions`, if
    deployed; empty otherwise (the function never schedules a deletion)."""
    if deletions is None:
        return PendingDeletions()
    return PendingDeletions(
        deletion_schedule_group=deletions.group_name,
        deletion_target_arn=deletions.target_arn,
        deletion_scheduler_role_arn=deletions.role.role_arn,
        deletion_dead_letter_arn=deletions.dead_letter_queue.queue_arn,
    )


class DeletionSchedules(Construct):
    """The schedule group of pending deletions and the role their schedules invoke the target with.

    `target_function_name` is the detect function's name, which the detect function must be
    deployed with (`DetectFunction` does so when it is given this construct): its environment
    holds its own ARN, which is built from the name rather than taken from the function, a
    reference that would make the function depend on itself.

    The role trusts EventBridge Scheduler only for schedules of this group in this account (the
    `aws:SourceArn` Scheduler documents for confused-deputy prevention is the schedule group's
    ARN), and may only invoke the detect function and send what it could not deliver to the
    dead-letter queue. Scheduler invokes the function asynchronously: a due deletion the function
    fails on is retried and then parked in the detect function's dead-letter queue, as an event
    is; an invocation Scheduler itself cannot make within its retries (24 hours) lands there too
    (the schedules' `DeadLetterConfig`), so no due deletion is dropped unseen.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        target_function_name: str,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = dead_letter_queue
        stack = Stack.of(self)
        self.group = scheduler.CfnScheduleGroup(self, "Group", name=SCHEDULE_GROUP_NAME)
        # Ref is the group's name: a function given it is deployed after the group exists.
        self.group_name: str = self.group.ref
        self.target_function_name = target_function_name
        self.target_arn = stack.format_arn(
            service="lambda",
            resource="function",
            resource_name=target_function_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        # The only schedules the functions may create, read and delete: theirs, in this group.
        self.schedules_arn = stack.format_arn(
            service="scheduler",
            resource="schedule",
            resource_name=f"{self.group_name}/{SCHEDULE_NAME_PREFIX}*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        self.role = iam.Role(
            self,
            "SchedulerRole",
            description="Lets EventBridge Scheduler invoke the IAM Identity Center guardrail's detect "
            "function when a pending deletion is due",
            assumed_by=iam.ServicePrincipal(SCHEDULER_PRINCIPAL).with_conditions(
                {
                    "StringEquals": {
                        "aws:SourceAccount": stack.account,
                        "aws:SourceArn": self.group.attr_arn,
                    }
                }
            ),
            inline_policies={
                "InvokeDetectFunction": iam.PolicyDocument(
                    statements=[
                        # The schedules name the unqualified function, so no `:*` for versions.
                        iam.PolicyStatement(
                            sid="InvokeDetectFunction",
                            actions=["lambda:InvokeFunction"],
                            resources=[self.target_arn],
                        ),
                        # SQS-managed encryption: no key to grant.
                        iam.PolicyStatement(
                            sid="ParkUndeliveredDeletions",
                            actions=["sqs:SendMessage"],
                            resources=[dead_letter_queue.queue_arn],
                        ),
                    ]
                )
            },
        )

    def grant_scheduling(self, role: iam.Role) -> None:
        """Create, read and delete the deletion schedules of this group, and hand Scheduler the role.

        Acknowledges the wildcard finding on `role`'s default policy, where the statements go.
        """
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ScheduleDeletions", actions=list(SCHEDULING_ACTIONS), resources=[self.schedules_arn]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PassSchedulerRole",
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": SCHEDULER_PRINCIPAL}},
            )
        )
        acknowledge(
            role.node.find_child("DefaultPolicy"),
            f"AwsSolutions-IAM5[Resource::{rendered(self, self.schedules_arn)}]",
            "One schedule per instance to delete, named after the instance ARN, which is only known at "
            f"run time; the statement names the schedules called {SCHEDULE_NAME_PREFIX}* in the "
            "guardrail's own schedule group only",
        )
