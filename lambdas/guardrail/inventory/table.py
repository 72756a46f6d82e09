"""The inventory table (DynamoDB): one item per instance ARN, found by account through an index.

The record is stored whole as JSON beside the keys, so that adding a field to it needs no
migration. An alert about an instance is claimed on its item for the sweep run first (a
conditional write), so that a retried batch never alerts twice.
"""

from __future__ import annotations

from typing import Any

import msgspec
from botocore.exceptions import ClientError

from guardrail.adapters.clients import pages
from guardrail.core.inventory import InventoryRecord

ACCOUNT_INDEX = "by-account"
_DECODER = msgspec.json.Decoder(InventoryRecord)


class InventoryTable:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, instance_arn: str) -> InventoryRecord | None:
        item = self._client.get_item(
            TableName=self._table, Key={"instance_arn": {"S": instance_arn}}, ConsistentRead=True
        ).get("Item")
        # An item holding only a claim is one whose first record was never written.
        return _DECODER.decode(item["record"]["S"]) if item and "record" in item else None

    def of_account(self, account_id: str) -> list[InventoryRecord]:
        return [
            _DECODER.decode(item["record"]["S"])
            for page in pages(
                self._client.query,
                TableName=self._table,
                IndexName=ACCOUNT_INDEX,
                KeyConditionExpression="account_id = :account",
                ExpressionAttributeValues={":account": {"S": account_id}},
            )
            for item in page.get("Items", [])
            if "record" in item
        ]

    def put(self, record: InventoryRecord) -> None:
        self._client.update_item(
            TableName=self._table,
            Key={"instance_arn": {"S": record.instance_arn}},
            UpdateExpression="SET account_id = :account, #record = :record",
            ExpressionAttributeNames={"#record": "record"},
            ExpressionAttributeValues={
                ":account": {"S": record.account_id},
                ":record": {"S": msgspec.json.encode(record).decode()},
            },
        )

    def claim_alert(self, instance_arn: str, claim: str) -> bool:
        """Claim the alert about an instance for `claim` (a run id); False when already claimed."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"instance_arn": {"S": instance_arn}},
                UpdateExpression="SET alert_claim = :claim",
                ConditionExpression="attribute_not_exists(alert_claim) OR alert_claim <> :claim",
                ExpressionAttributeValues={":claim": {"S": claim}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_alert(self, instance_arn: str, claim: str) -> None:
        """Give a claim back when its alert could not be published, so that a retry publishes it."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"instance_arn": {"S": instance_arn}},
                UpdateExpression="REMOVE alert_claim",
                ConditionExpression="alert_claim = :claim",
                ExpressionAttributeValues={":claim": {"S": claim}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
