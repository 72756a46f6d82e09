"""Security Hub CSPM's finding workflow, on top of moto's findings: `BatchUpdateFindings`, and the
rules a finding provider's imports follow.

moto imports and lists findings but has no `BatchUpdateFindings`, and its import overwrites every
field. Security Hub keeps some fields for the customer: after a finding is created, an import by
its provider does not change its `Workflow`, `Note`, `UserDefinedFields`, `VerificationState`,
`Confidence` or `Criticality` as set through BatchUpdateFindings, and when an import turns `RecordState` from ARCHIVED to ACTIVE, or `Compliance.Status` from PASSED
to anything else, a workflow that was NOTIFIED or RESOLVED becomes NEW again. This models those
rules for the fields the guardrail uses: `Workflow.Status` and `Note`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any
from unittest import mock

from moto.securityhub import urls as securityhub_urls
from moto.securityhub.models import Finding, SecurityHubBackend
from moto.securityhub.responses import SecurityHubResponse

__all__ = ["model_finding_workflow"]

_CUSTOMER_FIELDS = ("Workflow", "Note", "UserDefinedFields", "VerificationState", "Confidence", "Criticality")
_STATUSES = ("NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED")


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _reopened(before: dict[str, Any], after: dict[str, Any]) -> bool:
    archived_to_active = before.get("RecordState") == "ARCHIVED" and after.get("RecordState") == "ACTIVE"
    passed_before = (before.get("Compliance") or {}).get("Status") == "PASSED"
    failing_now = (after.get("Compliance") or {}).get("Status") not in (None, "PASSED")
    return archived_to_active or (passed_before and failing_now)


def model_finding_workflow(stack: ExitStack) -> None:
    """Until `stack` closes, moto's Security Hub keeps the customer's fields and has BatchUpdateFindings."""
    original_import: Callable[..., Any] = SecurityHubBackend.batch_import_findings

    def batch_import_findings(self: SecurityHubBackend, findings: list[dict[str, Any]]) -> Any:
        kept: dict[str, dict[str, Any]] = {}
        for finding in findings:
            existing = next((f for f in self.findings if f.id == finding.get("Id")), None)
            if existing is None:
                finding.setdefault("Workflow", {"Status": "NEW"})
                continue
            before = dict(existing.data)
            fields = {field: before[field] for field in _CUSTOMER_FIELDS if field in before}
            if _reopened(before, finding) and fields.get("Workflow", {}).get("Status") in (
                "NOTIFIED",
                "RESOLVED",
            ):
                fields["Workflow"] = {"Status": "NEW"}
            kept[str(finding["Id"])] = fields
        result = original_import(self, findings)
        for stored in self.findings:
            if stored.id in kept:
                stored.data.update(kept[stored.id])
        return result

    def batch_update_findings(response: SecurityHubResponse) -> str:
        params = json.loads(response.body or "{}")
        backend: SecurityHubBackend = response.securityhub_backend
        workflow = params.get("Workflow")
        note = params.get("Note")
        if workflow is not None and workflow.get("Status") not in _STATUSES:
            raise ValueError(f"Workflow.Status must be one of {', '.join(_STATUSES)}")
        processed, unprocessed = [], []
        for identifier in params.get("FindingIdentifiers", []):
            finding: Finding | None = next(
                (f for f in backend.findings if f.id == identifier.get("Id")), None
            )
            if finding is None or finding.data.get("ProductArn") != identifier.get("ProductArn"):
                unprocessed.append(
                    {
                        "FindingIdentifier": identifier,
                        "ErrorCode": "FindingNotFound",
                        "ErrorMessage": "Finding not found",
                    }
                )
                continue
            if workflow is not None:
                finding.data["Workflow"] = {"Status": workflow["Status"]}
            if note is not None:
                finding.data["Note"] = {
                    "Text": note["Text"],
                    "UpdatedBy": note["UpdatedBy"],
                    "UpdatedAt": _now(),
                }
            processed.append(identifier)
        return json.dumps({"ProcessedFindings": processed, "UnprocessedFindings": unprocessed})

    stack.enter_context(mock.patch.object(SecurityHubBackend, "batch_import_findings", batch_import_findings))
    stack.enter_context(
        mock.patch.dict(
            securityhub_urls.url_paths, {"{0}/findings/batchupdate$": SecurityHubResponse.dispatch}
        )
    )
    stack.enter_context(
        mock.patch.object(SecurityHubResponse, "batch_update_findings", batch_update_findings, create=True)
    )
