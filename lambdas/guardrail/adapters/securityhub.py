"""Delivering an alert to Security Hub CSPM: import its findings, update those that ended."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from guardrail.core.alert import Alert
from guardrail.core.channels.securityhub import Importer, findings, workflow_updates

# BatchImportFindings takes at most 100 findings (and 6 MB) a call.
_BATCH = 100
UPDATED_BY = "identity-center-guardrail"


class SecurityHubRefused(RuntimeError):
    """Security Hub did not take every finding or update: the delivery is retried."""


class SecurityHubPublisher:
    name = "securityhub"

    def __init__(
        self, client: Any, importer: Importer, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._client = client
        self._importer = importer
        self._clock = clock

    def deliver(self, alert: Alert) -> None:
        now = self._clock().isoformat().replace("+00:00", "Z")
        found = findings(alert.body, self._importer, now)
        for start in range(0, len(found), _BATCH):
            response = self._client.batch_import_findings(Findings=found[start : start + _BATCH])
            if response.get("FailedCount"):
                raise SecurityHubRefused(f"BatchImportFindings refused: {response.get('FailedFindings')}")
        for update in workflow_updates(alert.body):
            response = self._client.batch_update_findings(
                FindingIdentifiers=[
                    {"Id": i, "ProductArn": self._importer.product_arn} for i in update.finding_ids
                ],
                Workflow={"Status": update.status},
                Note={"Text": update.note, "UpdatedBy": UPDATED_BY},
            )
            if response.get("UnprocessedFindings"):
                raise SecurityHubRefused(f"BatchUpdateFindings refused: {response['UnprocessedFindings']}")
