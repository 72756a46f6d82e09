"""The service's deletion path: a deletion decided on cached facts is decided again on fresh ones.

The deletion lifecycle's ports are played by in-memory fakes: schedules kept in a dict, and a
remediator that records what it was asked to delete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from guardrail.core.alert import Alert
from guardrail.core.deletion import Attempt, PendingDeletion, RemediationResult
from guardrail.core.facts import ApiCall, Fact, Facts, MissingFact, Subject, Trigger
from guardrail.core.policy import Approvals, Mode, Policy, RuleSettings
from guardrail.deletion.lifecycle import Deletions
from guardrail.pipeline.service import Guardrail
from tests.builders import NOW, PROD, call, facts, instance, prod_account, sandbox_account

ENFORCING = Policy(
    mode=Mode.ENFORCE,
    approved=Approvals(organizational_units=("Sandbox",)),
    rules={"account-not-approved": RuleSettings(action="remediate")},
)
# An instance in Prod (Workloads/Prod, not approved), otherwise a well-tagged trial.
IN_PROD = facts(call=call(account_id=PROD), instance=instance(owner_account_id=PROD))
# The same, once the account has been moved into the approved Sandbox OU.
MOVED_TO_SANDBOX = facts(
    call=call(account_id=PROD), instance=instance(owner_account_id=PROD), account=sandbox_account(PROD)
)


@dataclass
class Gatherer:
    """`gather` answers from the "cache", `gather_fresh` with what AWS says now."""

    cached: Facts
    fresh: Facts
    fresh_reads: int = 0

    def prefetch(self, call: ApiCall) -> None:
        return None

    def gather(self, call: ApiCall) -> Facts:
        return self.cached

    def gather_fresh(self, call: ApiCall) -> Facts:
        self.fresh_reads += 1
        return self.fresh

    def gather_about(self, subject: Subject, trigger: Trigger) -> Facts:
        self.fresh_reads += 1
        return msgspec.structs.replace(self.fresh, subject=subject, trigger=trigger)


@dataclass
class Remediator:
    deleted: list[Facts] = field(default_factory=list)

    def delete(self, facts: Facts, holder: str) -> RemediationResult:
        self.deleted.append(facts)
        return RemediationResult(Attempt.DELETED, "DeleteInstance accepted")

    def made_earlier(self, facts: Facts, holder: str | None = None) -> RemediationResult | None:
        return None  # no earlier attempt in these tests: tests/integration/test_remediation.py has them

    def cap_unsaid(self, now: datetime) -> None:
        return None


@dataclass
class Schedules:
    kept: dict[str, PendingDeletion] = field(default_factory=dict)

    def get(self, instance_arn: str) -> PendingDeletion | None:
        return self.kept.get(instance_arn)

    def put(self, pending: PendingDeletion) -> None:
        self.kept[pending.instance_arn] = pending

    def remove(self, instance_arn: str) -> bool:
        return self.kept.pop(instance_arn, None) is not None


@dataclass
class Publisher:
    alerts: list[Alert] = field(default_factory=list)

    def publish(self, alert: Alert) -> str:
        self.alerts.append(alert)
        return "message-id"


def handle(
    cached: Facts, fresh: Facts, policy: Policy = ENFORCING, *, confirm: bool = True
) -> tuple[Alert, Gatherer, Remediator]:
    gatherer, remediator, publisher = Gatherer(cached, fresh), Remediator(), Publisher()
    guardrail = Guardrail(
        gatherer,
        publisher,
        policy,
        clock=lambda: NOW,
        confirmer=gatherer if confirm else None,
        deletions=Deletions(policy, Schedules(), remediator),
    )
    assert cached.call is not None
    alert = guardrail.handle(cached.call)
    assert alert is not None
    assert publisher.alerts == [alert]
    return alert, gatherer, remediator


def test_a_deletion_the_fresh_facts_still_call_for_goes_ahead_on_them() -> None:
    fresh = facts(
        call=call(account_id=PROD),
        instance=instance(owner_account_id=PROD, name="read-again"),
        account=prod_account(),
    )
    alert, gatherer, remediator = handle(IN_PROD, fresh)

    assert gatherer.fresh_reads == 1
    assert remediator.deleted == [fresh]
    assert alert.body["action"] == "delete-instance"
    assert alert.body["remediation"] == {"status": "deleted", "detail": "DeleteInstance accepted"}
    assert alert.body["instance"]["name"] == "read-again"  # the alert tells the fresh facts


def test_an_account_moved_into_an_approved_ou_since_the_cache_was_filled_is_not_deleted() -> None:
    alert, gatherer, remediator = handle(IN_PROD, MOVED_TO_SANDBOX)

    assert gatherer.fresh_reads == 1
    assert remediator.deleted == []
    assert alert.body["ou_path"] == "Sandbox"
    assert "account-not-approved" not in {f["rule"] for f in alert.body["findings"]}
    assert alert.body["action"] != "delete-instance"
    assert alert.body["remediation"] is None


def test_fresh_facts_that_cannot_all_be_read_withhold_the_deletion() -> None:
    partial = facts(
        call=call(account_id=PROD),
        instance=instance(owner_account_id=PROD),
        account=prod_account(),
        missing=(MissingFact(fact=Fact.ORGANIZATION_INSTANCES, reason="ThrottlingException: slow down"),),
    )
    alert, _, remediator = handle(IN_PROD, partial)

    assert remediator.deleted == []
    assert alert.body["action"] == "alert"
    assert alert.body["action_reason"].startswith("remediation withheld")
    assert alert.body["missing_facts"] == [
        {"fact": "organization_instances", "reason": "ThrottlingException: slow down"}
    ]


def test_nothing_is_read_again_when_nothing_is_to_be_deleted() -> None:
    # Compliant, alert-only, and dry-run decisions keep the cached path's round trips.
    approved = facts()
    for cached, policy in [
        (approved, ENFORCING),
        (IN_PROD, Policy(mode=Mode.ENFORCE, approved=Approvals(organizational_units=("Sandbox",)))),
        (IN_PROD, Policy(mode=Mode.DRY_RUN, approved=ENFORCING.approved, rules=ENFORCING.rules)),
    ]:
        alert, gatherer, remediator = handle(cached, MOVED_TO_SANDBOX, policy)
        assert gatherer.fresh_reads == 0
        assert remediator.deleted == []
        assert alert.body["action"] != "delete-instance"


def test_without_a_fresh_reading_nothing_is_deleted() -> None:
    alert, gatherer, remediator = handle(IN_PROD, IN_PROD, confirm=False)

    assert (gatherer.fresh_reads, remediator.deleted) == (0, [])
    assert alert.body["remediation"] == {
        "status": "skipped",
        "detail": "no fresh reading of the facts is configured",
    }
