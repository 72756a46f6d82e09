"""What keeps deletions few and single (DynamoDB, in the idempotency table, with a time to live):

- a claim per instance, held by the trigger that deletes it (an event's id, a schedule firing), so
  that one instance gets one DeleteInstance however many triggers race for it: a trigger that finds
  the claim held by another leaves the deletion to it, and a retry of the holder carries on;
- a count per UTC hour of the deletions AWS accepted, taken atomically before DeleteInstance (once
  per instance, however often it is retried) and given back when AWS refuses or fails the call, so
  that at most N instances are deleted an hour across the organization, and a member account that
  refuses cannot use up the others' cap;
- a flag per hour, so that reaching the cap raises one critical alert, not one per instance.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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
    def __init__(
        self, client: Any, table_name: str, *, max_per_hour: int, epoch: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._table = table_name
        self.max_per_hour = max_per_hour
        self._epoch = epoch

    def _expires(self, seconds: int) -> dict[str, str]:
        return {"N": str(int(self._epoch()) + seconds)}

    def _now(self) -> dict[str, str]:
        return {"N": str(int(self._epoch()))}

    def _put_once(self, key: str, seconds: int) -> bool:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={"id": {"S": key}, "expiration": self._expires(seconds)},
                # DynamoDB removes expired items only eventually: an expired one counts as absent.
                ConditionExpression="attribute_not_exists(id) OR expiration < :now",
                ExpressionAttributeValues={":now": self._now()},
            )
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    # -- the deletion's claim --------------------------------------------------------------------------
    def claim(self, instance_arn: str, holder: str) -> bool:
        """Claim the deletion of the instance for `holder`; True when it is (or already was) the
        holder's, False when another trigger holds it."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "id": {"S": f"deletion#{instance_arn}"},
                    "holder": {"S": holder},
                    "expiration": self._expires(CLAIM_SECONDS),
                },
                ConditionExpression="attribute_not_exists(id) OR holder = :holder OR expiration < :now",
                ExpressionAttributeValues={":holder": {"S": holder}, ":now": self._now()},
            )
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def holder(self, instance_arn: str) -> str | None:
        """Who holds the instance's deletion (and so made it, if the instance is gone), or None."""
        item = self._client.get_item(
            TableName=self._table, Key={"id": {"S": f"deletion#{instance_arn}"}}, ConsistentRead=True
        ).get("Item")
        if item is None or int(item["expiration"]["N"]) < int(self._epoch()):
            return None
        return str(item.get("holder", {}).get("S", "")) or None

    def release(self, instance_arn: str, holder: str) -> None:
        """Give the claim back: nothing was deleted, another trigger may try."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={"id": {"S": f"deletion#{instance_arn}"}},
                ConditionExpression="holder = :holder",
                ExpressionAttributeValues={":holder": {"S": holder}},
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise

    # -- a schedule firing, handled once --------------------------------------------------------------
    def claim_firing(self, instance_arn: str, due: str) -> bool:
        """Claim the handling of one firing of the instance's schedule; False when it was handled."""
        return self._put_once(f"deletion-due#{instance_arn}#{due}", CLAIM_SECONDS)

    def release_firing(self, instance_arn: str, due: str) -> None:
        self._client.delete_item(
            TableName=self._table, Key={"id": {"S": f"deletion-due#{instance_arn}#{due}"}}
        )

    # -- the hourly cap ------------------------------------------------------------------------------
    # Each hour's item holds the set of instances whose deletion it counts: counting an instance
    # again (a retry) changes nothing, and the set's size is the count the cap bounds.
    def take(self, instance_arn: str, now: datetime) -> bool:
        """Count the instance's deletion in `now`'s UTC hour; False when the hour's cap is reached."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": f"deletions#{hour_of(now)}"}},
                UpdateExpression="ADD deleted :instance SET expiration = if_not_exists(expiration, :expires)",
                ConditionExpression=(
                    "attribute_not_exists(deleted) OR size(deleted) < :cap OR contains(deleted, :arn)"
                ),
                ExpressionAttributeValues={
                    ":instance": {"SS": [instance_arn]},
                    ":arn": {"S": instance_arn},
                    ":cap": {"N": str(self.max_per_hour)},
                    ":expires": self._expires(HOUR_SECONDS),
                },
            )
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def give_back(self, instance_arn: str, now: datetime) -> None:
        """Uncount a deletion taken in `now`'s hour that AWS did not make (refused, failed)."""
        self._client.update_item(
            TableName=self._table,
            Key={"id": {"S": f"deletions#{hour_of(now)}"}},
            UpdateExpression="DELETE deleted :instance",
            ExpressionAttributeValues={":instance": {"SS": [instance_arn]}},
        )

    def taken(self, now: datetime) -> int:
        """The deletions counted in `now`'s hour."""
        item = self._client.get_item(
            TableName=self._table, Key={"id": {"S": f"deletions#{hour_of(now)}"}}, ConsistentRead=True
        ).get("Item")
        return len(item["deleted"]["SS"]) if item and "deleted" in item else 0

    def first_over_cap(self, now: datetime) -> bool:
        """True once an hour: when the first deletion past the cap is withheld."""
        return self._put_once(f"deletion-cap#{hour_of(now)}", HOUR_SECONDS)

    def cap_unsaid(self, now: datetime) -> None:
        """The hour's cap alert could not be published: the retry is first over the cap again."""
        self._client.delete_item(TableName=self._table, Key={"id": {"S": f"deletion-cap#{hour_of(now)}"}})
