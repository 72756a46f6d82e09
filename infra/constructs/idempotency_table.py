"""The table that makes the detect function publish one alert per CloudTrail event."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

# The key and attribute names Powertools' idempotency utility reads and writes.
KEY_ATTRIBUTE = "id"
TTL_ATTRIBUTE = "expiration"
# What the keys of the delivery records start with (`guardrail.channels.records.DeliveryLog`):
# `delivery#<notice>#<channel>`, beside the claims of events.
DELIVERY_KEY_PREFIX = "delivery#"


class IdempotencyTable(Construct):
    """On-demand, encrypted, with point-in-time recovery; records expire by themselves (TTL).

    Besides claims on event ids and which channels each alert went out on, it holds the deletion
    guard: the claims of deletions and the hourly cap. A new, empty table would let a retry delete
    again and reset the cap, so it is retained when the stack is deleted or the table replaced.
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
            time_to_live_attribute=TTL_ATTRIBUTE,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def grant_claims(self, grantee: iam.IGrantable) -> None:
        """Exactly the item operations the idempotency utility performs."""
        self.table.grant(
            grantee, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"
        )

    def grant_delivery_records(self, grantee: iam.IGrantable) -> None:
        """The batch read and write of `DeliveryLog`, on the delivery records alone.

        `dynamodb:LeadingKeys` holds every partition key a batch names: all must be delivery
        records, so these actions never read or overwrite a claim. The Null test keeps a request
        that names no key from passing the ForAllValues test vacuously.
        """
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RecordAlertDeliveries",
                actions=["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"],
                resources=[self.table.table_arn],
                conditions={
                    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{DELIVERY_KEY_PREFIX}*"]},
                    "Null": {"dynamodb:LeadingKeys": "false"},
                },
            )
        )
