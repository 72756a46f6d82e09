"""What every channel tells the same way: who made the call (and on whose behalf), whether the
instance the alert is about exists, and what its belonging to a CloudFormation stack means for
fixing or deleting it. Read from the alert body alone, like the renderers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guardrail.core.catalogue import RULES_BY_ID
from guardrail.core.facts import Occasion

CLOUDFORMATION = "cloudformation.amazonaws.com"

STACK_FIX = (
    "The instance belongs to a CloudFormation stack (CloudFormation made the call): change or delete it "
    "through the stack (its template, or deleting the stack); a change made directly makes the stack drift."
)
_STACK_DELETED = (
    "The instance belonged to a CloudFormation stack: the stack has drifted; remove the instance from the "
    "stack's template, or delete the stack."
)
_STACK_WILL_DELETE = (
    "The instance belongs to a CloudFormation stack: deleting it makes the stack drift; remove it from the "
    "stack's template (or delete the stack) to delete it cleanly."
)
# Actions that delete the instance, now or later (or would, in enforce mode).
_DELETING = frozenset({"delete-instance", "schedule-deletion", "would-delete-instance"})


@dataclass(frozen=True)
class ActorFact:
    """One thing known about who made the call: a label and the sentence that goes with it."""

    label: str
    text: str


def actor_facts(body: dict[str, Any]) -> list[ActorFact]:
    """Who made the call, the fact a reviewer wants first leading: a product provider acting with
    delegated access, then the caller, the AWS service acting for it, and where from."""
    actor = body.get("actor")
    if not actor:
        return []
    facts: list[ActorFact] = []
    delegate = actor.get("invoked_by_delegate")
    if delegate:
        facts.append(
            ActorFact(
                "Provider",
                f"account {delegate}, a product provider outside the organization, acting with IAM temporary "
                "delegated access",
            )
        )
    facts.append(
        ActorFact("Caller", f"{actor.get('arn') or 'unknown'} ({actor.get('type') or 'unknown type'})")
    )
    invoked_by = actor.get("invoked_by")
    if invoked_by:
        stack = " (a CloudFormation stack)" if invoked_by == CLOUDFORMATION else ""
        facts.append(ActorFact("Through", f"{invoked_by}, on the caller's behalf{stack}"))
    facts.append(
        ActorFact(
            "From", f"{actor.get('source_ip') or 'unknown'}, {actor.get('user_agent') or 'unknown agent'}"
        )
    )
    return facts


def stack_owned(body: dict[str, Any]) -> bool:
    """Whether CloudFormation made the call: the instance is a resource of a stack."""
    return (body.get("actor") or {}).get("invoked_by") == CLOUDFORMATION


def stack_deletion_note(body: dict[str, Any]) -> str | None:
    """What deleting an instance of a stack means, when the alert deletes (or would delete) one."""
    if not stack_owned(body):
        return None
    if (body.get("remediation") or {}).get("status") == "deleted":
        return _STACK_DELETED
    if body.get("action") in _DELETING:
        return _STACK_WILL_DELETE
    return None


def instance_exists(body: dict[str, Any]) -> bool:
    """Whether the instance the alert is about still exists, as far as the alert knows: a failed
    CreateInstance made none, and a deleted instance (by its owner or the guardrail) is gone."""
    if not body.get("instance_arn"):
        return False
    if (body.get("remediation") or {}).get("status") == "deleted":
        return False
    if (body.get("resolved") or {}).get("why") == "gone":
        return False
    event, outcome = body.get("event_name"), body.get("outcome")
    if event == "DeleteInstance" and outcome == "succeeded":
        return False
    return not (event == "CreateInstance" and outcome == "failed")


def judges_state(rule_id: str) -> bool:
    """Whether the rule judges what an instance is (it judges sweeps), rather than a call."""
    rule = RULES_BY_ID.get(rule_id)
    return rule is not None and Occasion.SWEEP in rule.applies_to


def state_findings(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings about what the instance is, when it exists: what an exemption could keep."""
    if not instance_exists(body):
        return []
    return [finding for finding in body["findings"] if judges_state(finding["rule"])]
