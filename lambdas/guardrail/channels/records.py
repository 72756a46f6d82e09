"""Which channels an alert went out on (DynamoDB), so that a retry re-sends only the others.

The records live in the idempotency table, beside the claims of events, with a key of their own
(`delivery#<notice>#<channel>`) and the same time to live. One read and one write per alert at
most, whatever the number of channels.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from guardrail.adapters.idempotency import CLAIM_SECONDS


class DeliveryLog:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    @staticmethod
    def _key(notice: str, channel: str) -> dict[str, dict[str, str]]:
        return {"id": {"S": f"delivery#{notice}#{channel}"}}

    def delivered(self, notice: str, channels: Sequence[str]) -> set[str]:
        """The channels among `channels` that already got the notice."""
        keys = {f"delivery#{notice}#{channel}": channel for channel in channels}
        request: dict[str, Any] = {
            self._table: {"Keys": [{"id": {"S": key}} for key in keys], "ConsistentRead": True}
        }
        found: set[str] = set()
        while request:
            response = self._client.batch_get_item(RequestItems=request)
            found |= {keys[item["id"]["S"]] for item in response.get("Responses", {}).get(self._table, [])}
            request = response.get("UnprocessedKeys") or {}
        return found

    def record(self, notice: str, channels: Sequence[str]) -> None:
        expiration = {"N": str(int(time.time()) + CLAIM_SECONDS)}
        request: dict[str, Any] = {
            self._table: [
                {"PutRequest": {"Item": {**self._key(notice, channel), "expiration": expiration}}}
                for channel in channels
            ]
        }
        while request:
            request = self._client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
