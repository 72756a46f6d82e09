"""What keeps deletions few and single (DynamoDB, in the idempotency table, with a time to live):

- a claim per instance, so that one instance is deleted once however often its event or its
  schedule fires;
- a counter per UTC hour, taken atomically, so that at most N instances are deleted an hour across
  the organization, whichever function deletes them;
- a flag per hour, so that reaching the cap raises one critical alert, not one per instance.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

# Claims outlive EventBridge's and Scheduler's retries (24 h); counters their hour, with room.
CLAIM_SECONDS = 48 * 3600
HOUR_SECONDS = 3 * 3600


def _conditional_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def hour_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H")


class DeletionGuard:
    def __init__(self, client: Any, table_name: str, *, max_per_hour: int) -> None:
        self._client = client
        self._table = table_name
        self.max_per_hour = max_per_hour

    def _expires(self, seconds: int) -> dict[str, str]:
        return {"N": str(int(time.time()) + seconds)}

    def _put_once(self, key: str, seconds: int) -> bool:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={"id": {"S": key}, "expiration": self._expires(seconds)},
                ConditionExpression="attribute_not_exists(id)",
            )
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def claim(self, instance_arn: str) -> bool:
        """Claim the deletion of the instance; False when an earlier run claimed it."""
        return self._put_once(f"deletion#{instance_arn}", CLAIM_SECONDS)

    def claim_due(self, instance_arn: str, due: str) -> bool:
        """Claim the handling of one due deletion; False when its schedule already fired."""
        return self._put_once(f"deletion-due#{instance_arn}#{due}", CLAIM_SECONDS)

    def release_due(self, instance_arn: str, due: str) -> None:
        self._client.delete_item(
            TableName=self._table, Key={"id": {"S": f"deletion-due#{instance_arn}#{due}"}}
        )

    def claimed(self, instance_arn: str) -> bool:
        item = self._client.get_item(
            TableName=self._table, Key={"id": {"S": f"deletion#{instance_arn}"}}, ConsistentRead=True
        )
        return "Item" in item

    def release(self, instance_arn: str) -> None:
        """Give the claim back: nothing was deleted, a later run may try again."""
        self._client.delete_item(TableName=self._table, Key={"id": {"S": f"deletion#{instance_arn}"}})

    def take(self, now: datetime) -> bool:
        """Count one deletion in `now`'s UTC hour; False when the hour's cap is reached."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": f"deletions#{hour_of(now)}"}},
                UpdateExpression="ADD deletions :one SET expiration = if_not_exists(expiration, :expires)",
                ConditionExpression="attribute_not_exists(deletions) OR deletions < :cap",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":cap": {"N": str(self.max_per_hour)},
                    ":expires": self._expires(HOUR_SECONDS),
                },
            )
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def first_over_cap(self, now: datetime) -> bool:
        """True once an hour: when the first deletion past the cap is withheld."""
        return self._put_once(f"deletion-cap#{hour_of(now)}", HOUR_SECONDS)
