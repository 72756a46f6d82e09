"""The queue that keeps the events the guardrail failed to handle."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import acknowledge, resource_of


class DeadLetterQueue(Construct):
    """An encrypted, TLS-only SQS queue keeping failed deliveries and invocations for 14 days.

    Both the EventBridge targets (delivery failed after every retry) and the function's
    asynchronous invocations (handler failed twice) end here, so one queue holds everything to
    replay or investigate. Fourteen days is the longest SQS keeps a message. `Monitoring` alarms
    as soon as a message arrives.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            resource_of(self.queue),  # the AWS::SQS::Queue, not its policy
            "AwsSolutions-SQS3",
            "This queue is the dead-letter queue of the EventBridge targets and of the function's "
            "asynchronous invocations; cdk-nag only recognises queues named in another queue's "
            "redrive policy",
        )
