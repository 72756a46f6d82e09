"""The inventory: every account instance the guardrail knows of, from events and sweeps."""

from __future__ import annotations

from typing import Final

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from guardrail.inventory.table import ACCOUNT_INDEX

# The key and attribute names `guardrail.inventory.table.InventoryTable` reads and writes.
KEY_ATTRIBUTE: Final = "instance_arn"
ACCOUNT_ATTRIBUTE: Final = "account_id"
# What the detect function does with an item: read it, then record the event on it.
EVENT_RECORD_ACTIONS: Final = ("dynamodb:GetItem", "dynamodb:UpdateItem")
# What the sweep worker does: the same on the table, and list an account's instances on the index.
SWEEP_RECORD_ACTIONS: Final = ("dynamodb:GetItem", "dynamodb:UpdateItem")
SWEEP_QUERY_ACTIONS: Final = ("dynamodb:Query",)


class InventoryTable(Construct):
    """One item per instance ARN, found by account through the `by-account` index.

    On-demand, encrypted at rest, with point-in-time recovery. Unlike the idempotency table it is a
    record worth keeping (when each instance was first seen, and how), so it is retained when the
    stack is deleted.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=KEY_ATTRIBUTE, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table.add_global_secondary_index(
            index_name=ACCOUNT_INDEX,
            partition_key=dynamodb.Attribute(name=ACCOUNT_ATTRIBUTE, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )

    @property
    def index_arn(self) -> str:
        return f"{self.table.table_arn}/index/{ACCOUNT_INDEX}"

    def grant_event_records(self, role: iam.IRole) -> None:
        """The detect function's: read an instance's item and record an event on it."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RecordEventsInInventory",
                actions=list(EVENT_RECORD_ACTIONS),
                resources=[self.table.table_arn],
            )
        )

    def grant_sweep_records(self, role: iam.IRole) -> None:
        """The sweep worker's: read and record instances, and find an account's on the index."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RecordSweptInstances",
                actions=list(SWEEP_RECORD_ACTIONS),
                resources=[self.table.table_arn],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="FindInstancesOfAccount", actions=list(SWEEP_QUERY_ACTIONS), resources=[self.index_arn]
            )
        )
