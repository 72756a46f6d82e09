"""An alert as findings of AWS Security Hub CSPM (ASFF), and the workflow updates of findings
whose violation ended.

Third-party and custom findings still go to Security Hub CSPM through `BatchImportFindings`; the
new Security Hub reads OCSF findings from AWS services only. With the default product ARN
(`product/<account>/default`) the importer must be the finding's `AwsAccountId`: the findings are
the central (security tooling) account's, where the guardrail runs, and name the instance's own
account in the resource. Importing into each member account instead would need Security Hub write
access in every account, a much wider member role.

One finding per instance and rule, with a stable id, so that later alerts update it. A violation
that ends is resolved the way Security Hub expects of a provider: the finding is imported again
with `Compliance.Status: PASSED` and `RecordState: ARCHIVED`, and its workflow (the customer's
field, which only `BatchUpdateFindings` changes) is set to RESOLVED, or SUPPRESSED with the ticket
for an exemption. Should the violation come back, the import with `RecordState: ACTIVE` and
`Compliance.Status: FAILED` lets Security Hub set the workflow back to NEW by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guardrail.core.catalogue import RULES_BY_ID
from guardrail.core.channels.chat import thread_id
from guardrail.core.channels.links import cloudtrail_event, identity_center_console
from guardrail.core.regions import partition_of

SCHEMA_VERSION = "2018-10-08"
GENERATOR = "identity-center-guardrail"
FINDING_TYPES = ["Software and Configuration Checks/AWS Security Best Practices"]
# The same words as everywhere else, in ASFF's labels.
LABELS = {"critical": "CRITICAL", "high": "HIGH", "medium": "MEDIUM", "low": "LOW", "info": "INFORMATIONAL"}
_DESCRIPTION = 1_024
_TITLE = 256


@dataclass(frozen=True)
class Importer:
    """Where findings go: the account and Region that import them, and its partition."""

    account_id: str
    region: str

    @property
    def product_arn(self) -> str:
        return f"arn:{partition_of(self.region)}:securityhub:{self.region}:{self.account_id}:product/{self.account_id}/default"


@dataclass(frozen=True)
class WorkflowUpdate:
    finding_ids: tuple[str, ...]
    status: str  # RESOLVED or SUPPRESSED
    note: str


def finding_id(body: dict[str, Any], rule: str) -> str:
    return f"{GENERATOR}/{thread_id(body)}/{rule}"


def _finding(
    body: dict[str, Any], rule: str, importer: Importer, now: str, *, active: bool
) -> dict[str, Any]:
    spec = RULES_BY_ID.get(rule)
    finding = next((f for f in body["findings"] if f["rule"] == rule), None)
    severity = finding["severity"] if finding else "info"
    reason = finding["reason"] if finding else f"Resolved: the instance no longer breaks {rule}."
    region = body["region"]
    resource_id = (
        body.get("instance_arn") or f"arn:{partition_of(region)}:organizations::{body['account_id']}:account"
    )
    asff: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(body, rule),
        "ProductArn": importer.product_arn,
        "GeneratorId": f"{GENERATOR}/{rule}",
        "AwsAccountId": importer.account_id,
        "Types": FINDING_TYPES,
        "CreatedAt": body.get("first_seen") or body.get("event_time") or now,
        "FirstObservedAt": body.get("first_seen") or body.get("event_time") or now,
        "UpdatedAt": now,
        "Severity": {"Label": LABELS.get(severity, "INFORMATIONAL")},
        "Title": ((spec.summary if spec else rule)[:_TITLE]),
        "Description": reason[:_DESCRIPTION],
        "Remediation": {
            "Recommendation": {
                "Text": (spec.fix if spec else "See the guardrail's alert.")[:512],
                "Url": identity_center_console(region),
            }
        },
        "ProductFields": {
            "guardrail/rule": rule,
            "guardrail/account_id": body["account_id"],
            "guardrail/trigger": (body.get("trigger") or {}).get("kind", "api-call"),
        },
        "Resources": [
            {
                "Type": "Other",
                "Id": resource_id,
                "Partition": partition_of(region),
                "Region": region,
                "Details": {
                    "Other": {
                        "account_id": body["account_id"],
                        "account_name": (body.get("account_name") or "")[:1_000],
                        "ou_path": (body.get("ou_path") or "")[:1_000],
                        "instance_name": ((body.get("instance") or {}).get("name") or "")[:1_000],
                    }
                },
            }
        ],
        "Compliance": {"Status": "FAILED" if active else "PASSED"},
        "RecordState": "ACTIVE" if active else "ARCHIVED",
    }
    if body.get("event_id"):
        asff["SourceUrl"] = cloudtrail_event(region, body["event_id"])
    return asff


def findings(body: dict[str, Any], importer: Importer, now: str) -> list[dict[str, Any]]:
    """What to import: a finding per rule that fires; those that ended, archived and passed."""
    active = [_finding(body, f["rule"], importer, now, active=True) for f in body["findings"]]
    return active + [_finding(body, rule, importer, now, active=False) for rule in _ended(body)]


def _ended(body: dict[str, Any]) -> list[str]:
    """Rules whose finding ends with this alert: resolved, exempted, or gone with the instance."""
    firing = {f["rule"] for f in body["findings"]}
    resolved = (body.get("resolved") or {}).get("rules") or []
    previous = body.get("previous_rules") or []
    suppressed = [s["rule"] for s in body["suppressed"]]
    return sorted({*resolved, *previous, *suppressed} - firing)


def workflow_updates(body: dict[str, Any]) -> list[WorkflowUpdate]:
    """The findings whose violation ended with this alert, and the workflow status they get."""
    ended = _ended(body)
    if not ended:
        return []
    tickets = {s["rule"]: s for s in body["suppressed"]}
    why = (body.get("resolved") or {}).get("why") or (
        "gone" if body.get("event_name") == "DeleteInstance" else "in-policy"
    )
    updates: list[WorkflowUpdate] = []
    exempted = [rule for rule in ended if rule in tickets]
    if exempted:
        for rule in exempted:
            s = tickets[rule]
            updates.append(
                WorkflowUpdate(
                    (finding_id(body, rule),),
                    "SUPPRESSED",
                    f"Exempted by {s['ticket']} until {s['expires']}: {s['reason']}"[:512],
                )
            )
    rest = tuple(finding_id(body, rule) for rule in ended if rule not in tickets)
    if rest:
        note = {
            "gone": "The instance no longer exists.",
            "in-policy": "The instance is back within the policy.",
        }.get(why, "The violation ended.")
        updates.append(WorkflowUpdate(rest, "RESOLVED", note))
    return updates
