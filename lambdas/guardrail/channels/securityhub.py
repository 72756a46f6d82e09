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

A compliance status belongs to what a resource is: only a rule about what an existing instance is
fails it. A rule about a call (the root user, a product provider, a refused attempt) reports
behaviour, and an attempt that made no instance names the account as its resource. Facts that
could not be read are a finding of their own (`facts-missing`, `NOT_AVAILABLE`) until they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from guardrail.channels.chat import thread_id
from guardrail.core.alert import TEST_PREFIX, Alert
from guardrail.core.catalogue import RULES_BY_ID
from guardrail.core.regions import partition_of
from guardrail.core.render.context import STACK_FIX, actor_facts, instance_exists, judges_state, stack_owned
from guardrail.core.render.links import cloudtrail_event, identity_center_console
from guardrail.core.render.neutral import SECURITY_HUB_TEXT, neutral, plain

SCHEMA_VERSION = "2018-10-08"
GENERATOR = "identity-center-guardrail"
FINDING_TYPES = ["Software and Configuration Checks/AWS Security Best Practices"]
ACTIVITY_TYPES = ["Unusual Behaviors/User"]
# The finding of an alert whose rules could not all be evaluated: facts missing is worth a look.
FACTS_MISSING = "facts-missing"
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
    """One finding per instance and rule; for attempts that made no instance, one per series of
    repeated calls (`series.key`), so that a flood updates its finding rather than adding one per
    alert."""
    series = body.get("series") or {}
    if not body.get("instance_arn") and series.get("key"):
        return f"{GENERATOR}/series/{series['key']}/{rule}"
    return f"{GENERATOR}/{thread_id(body)}/{rule}"


def _finding(
    body: dict[str, Any], rule: str, importer: Importer, now: str, *, active: bool
) -> dict[str, Any]:
    spec = RULES_BY_ID.get(rule)
    finding = next((f for f in body["findings"] if f["rule"] == rule), None)
    region = body["region"]
    missing = rule == FACTS_MISSING
    if missing:
        severity = "medium" if active else "info"
        reason = _missing_description(body) if active else "Resolved: the facts could be read again."
        fix = "Find out why the guardrail could not read these facts (its roles, throttling); it reads them again."
    else:
        severity = finding["severity"] if finding else "info"
        reason = finding["reason"] if finding else f"Resolved: the instance no longer breaks {rule}."
        fix = spec.fix if spec else "See the guardrail's alert."
        if stack_owned(body):
            fix = f"{fix} {STACK_FIX}"
    who = "; ".join(
        f"{fact.label.lower()}: {fact.text}" for fact in actor_facts(body) if fact.label != "From"
    )
    asff: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(body, rule),
        "ProductArn": importer.product_arn,
        "GeneratorId": f"{GENERATOR}/{rule}",
        "AwsAccountId": importer.account_id,
        # What an instance is (a configuration check), or what a caller did (behaviour).
        "Types": FINDING_TYPES if missing or judges_state(rule) else ACTIVITY_TYPES,
        "CreatedAt": body.get("first_seen") or body.get("event_time") or now,
        "FirstObservedAt": body.get("first_seen") or body.get("event_time") or now,
        "UpdatedAt": now,
        "Severity": {"Label": LABELS.get(severity, "INFORMATIONAL")},
        "Title": _title(body, "Facts missing" if missing else rule),
        "Description": (f"{reason.rstrip('.')}. Who: {who}." if who else reason)[:_DESCRIPTION],
        "Remediation": {"Recommendation": {"Text": fix[:512], "Url": identity_center_console(region)}},
        "ProductFields": {
            **_series_fields(body),
            "guardrail/rule": rule,
            "guardrail/account_id": body["account_id"],
            "guardrail/trigger": (body.get("trigger") or {}).get("kind", "api-call"),
            **_actor_fields(body),
        },
        "Resources": [_resource(body)],
        "RecordState": "ACTIVE" if active else "ARCHIVED",
    }
    compliance = _compliance(body, rule, active=active)
    if compliance is not None:
        asff["Compliance"] = {"Status": compliance}
    if body.get("event_id"):
        asff["SourceUrl"] = cloudtrail_event(region, body["event_id"])
    if body.get("test"):
        # `guardrail doctor --send-test-event`: marked, and archived from the start, so that the
        # test checks the channel without leaving an active finding for anyone to triage.
        asff["Title"] = f"{TEST_PREFIX}{asff['Title']}"[:_TITLE]
        asff["Description"] = f"{TEST_PREFIX}{asff['Description']}"[:_DESCRIPTION]
        asff["ProductFields"]["guardrail/test"] = "true"
        asff["RecordState"] = "ARCHIVED"
    return asff


def _series_fields(body: dict[str, Any]) -> dict[str, str]:
    """How many calls of the series the finding stands for were held back before this alert."""
    series = body.get("series") or {}
    if not series.get("held_before"):
        return {}
    return {
        "guardrail/held_before": str(series["held_before"]),
        "guardrail/held_since": str(series.get("since")),
    }


def _title(body: dict[str, Any], what: str) -> str:
    """Which rule, which instance (or attempt), which account: a title of its own per instance."""
    arn = body.get("instance_arn")
    if arn:
        name = (body.get("instance") or {}).get("name")
        instance_id = arn.rsplit("/", 1)[-1]
        subject = f"instance {name} ({instance_id})" if name else f"instance {instance_id}"
    else:
        subject = f"{body.get('event_name') or 'CreateInstance'} attempt"
    name = body.get("account_name")
    account = f"{name} ({body['account_id']})" if name else body["account_id"]
    return f"{what}: {subject} in account {account}, {body['region']}"[:_TITLE]


def _resource(body: dict[str, Any]) -> dict[str, Any]:
    """The instance; for an attempt that made none, the account it was made in."""
    region = body["region"]
    arn = body.get("instance_arn")
    resource: dict[str, Any] = {
        # ASFF names an account resource `AWS::::Account:<id>`, of type AwsAccount.
        "Type": "Other" if arn else "AwsAccount",
        "Id": arn or f"AWS::::Account:{body['account_id']}",
        "Partition": partition_of(region),
        "Region": region,
        "Details": {
            "Other": {
                "account_id": body["account_id"],
                "account_name": body.get("account_name") or "",
                "ou_path": body.get("ou_path") or "",
                "instance_name": (body.get("instance") or {}).get("name") or "",
            }
        },
    }
    return resource


def _compliance(body: dict[str, Any], rule: str, *, active: bool) -> str | None:
    """`FAILED` only for what an existing instance is; `NOT_AVAILABLE` while facts are missing.

    A call (the root user's, a provider's, a refused attempt) is behaviour, not the state of a
    resource: no compliance status. Nor has an attempt that made no instance one.
    """
    if rule == FACTS_MISSING:
        return "NOT_AVAILABLE" if active else None
    if not body.get("instance_arn") or not judges_state(rule):
        return None
    if active:
        return "FAILED" if instance_exists(body) else None
    return "PASSED"


def _actor_fields(body: dict[str, Any]) -> dict[str, str]:
    actor = body.get("actor") or {}
    fields = {
        "guardrail/actor_arn": actor.get("arn"),
        "guardrail/invoked_by": actor.get("invoked_by"),
        "guardrail/invoked_by_delegate": actor.get("invoked_by_delegate"),
    }
    return {key: value for key, value in fields.items() if value}


def _missing_description(body: dict[str, Any]) -> str:
    undetermined = ", ".join(f"{u['rule']} (needs {u['missing_fact']})" for u in body["undetermined"])
    missing = "; ".join(f"{m['fact']}: {m['reason']}" for m in body["missing_facts"])
    return f"Not evaluated: {undetermined or '-'}. Could not be read: {missing or '-'}."


def findings(body: dict[str, Any], importer: Importer, now: str) -> list[dict[str, Any]]:
    """What to import, in the alert's order (by severity, then the catalogue's): a finding per
    rule that fires; one for the facts that could not be read, while rules are undetermined;
    and those that ended, archived (the facts-missing one too, once every rule could be told).

    The body is made neutral first: no text a creator controls breaks a line or runs past
    Security Hub's limits. An operational notice (`kind`: the deletion cap reached) is about the
    guardrail, not about a resource: no finding.
    """
    if body.get("kind"):
        return []
    body = neutral(body, plain(SECURITY_HUB_TEXT))
    active = [_finding(body, f["rule"], importer, now, active=True) for f in body["findings"]]
    if body["undetermined"]:
        active.append(_finding(body, FACTS_MISSING, importer, now, active=True))
    ended = [_finding(body, rule, importer, now, active=False) for rule in _ended(body)]
    if not body["undetermined"]:
        ended.append(_finding(body, FACTS_MISSING, importer, now, active=False))
    return active + ended


def _ended(body: dict[str, Any]) -> list[str]:
    """Rules whose finding ends with this alert: resolved, exempted, or gone with the instance."""
    firing = {f["rule"] for f in body["findings"]}
    resolved = (body.get("resolved") or {}).get("rules") or []
    previous = body.get("previous_rules") or []
    suppressed = [s["rule"] for s in body["suppressed"]]
    return sorted({*resolved, *previous, *suppressed} - firing)


def workflow_updates(body: dict[str, Any]) -> list[WorkflowUpdate]:
    """The findings whose violation ended with this alert, and the workflow status they get."""
    if body.get("kind"):
        return []
    body = neutral(body, plain(SECURITY_HUB_TEXT))
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


def security_hub_calls(body: dict[str, Any], importer: Importer, now: str) -> dict[str, Any]:
    """What the channel sends for an alert, as `--show securityhub` prints it: the findings to
    import and the workflow updates, each in its call's request form."""
    return {
        "BatchImportFindings": {"Findings": findings(body, importer, now)},
        "BatchUpdateFindings": [
            {
                "FindingIdentifiers": [{"Id": i, "ProductArn": importer.product_arn} for i in u.finding_ids],
                "Workflow": {"Status": u.status},
                "Note": {"Text": u.note, "UpdatedBy": UPDATED_BY},
            }
            for u in workflow_updates(body)
        ],
    }


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
