"""Series of repeated failed calls, kept in DynamoDB (the idempotency table, with a time to live).

One item per series: when its window opened (the alert that opened it) and how many calls it has
held since. Concurrent invocations agree through conditional writes: while the window is open a
call is counted (one write); the first call after it closes opens the next window and takes the
count of the last one with it (two writes), so each held call is said exactly once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from guardrail.core.series import Admission


def _conditional_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class SeriesTable:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def admit(self, key: str, now: datetime, window: timedelta) -> Admission:
        """Whether the call of series `key` at `now` alerts, or is held back in its open window."""
        item_key = {"id": {"S": f"series#{key}"}}
        opened_after = {"N": str(int((now - window).timestamp()))}
        for _ in range(3):  # a race with another opener is lost at most once or twice
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=item_key,
                    UpdateExpression="ADD held :one",
                    ConditionExpression="attribute_exists(opened) AND opened > :after",
                    ExpressionAttributeValues={":one": {"N": "1"}, ":after": opened_after},
                )
                return Admission(alert=False)
            except ClientError as error:
                if not _conditional_failed(error):
                    raise
            try:
                old = self._client.put_item(
                    TableName=self._table,
                    Item={
                        **item_key,
                        "opened": {"N": str(int(now.timestamp()))},
                        "held": {"N": "0"},
                        "expiration": {"N": str(int((now + window + timedelta(days=2)).timestamp()))},
                    },
                    ConditionExpression="attribute_not_exists(opened) OR opened <= :after",
                    ExpressionAttributeValues={":after": opened_after},
                    ReturnValues="ALL_OLD",
                ).get("Attributes", {})
            except ClientError as error:
                if not _conditional_failed(error):
                    raise
                continue  # another call opened the window meanwhile: this one is held in it
            held = int(old.get("held", {}).get("N", "0"))
            since = datetime.fromtimestamp(int(old["opened"]["N"]), UTC) if "opened" in old else None
            return Admission(alert=True, held_before=held, since=since if held else None)
        return Admission(alert=True)  # never held back for want of agreeing
