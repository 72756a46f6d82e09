"""What the deployed sweep does with what it finds: keep the inventory, schedule or cancel pending
deletions, and alert when it is news, through the same lifecycle (`guardrail.deletion.lifecycle`)
and conclusion (`guardrail.core.conclusion`) as an instance event.

Each alert is claimed on the instance's inventory item for the run before it is published, and
the claim given back if publishing fails (the batch then fails and Step Functions retries it): a
retried batch neither alerts twice nor loses an alert.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from guardrail.channels.audit import AuditSink, record_alert, record_step
from guardrail.core.alert import Alert, History, Resolution, build_alert
from guardrail.core.conclusion import conclude
from guardrail.core.decision import Action, Decision, Verdict
from guardrail.core.facts import Facts, InstanceFacts, Observation, Subject
from guardrail.core.inventory import Change, InventoryRecord, gone
from guardrail.core.policy import Severity
from guardrail.deletion.lifecycle import Deletions
from guardrail.inventory.table import InventoryTable
from guardrail.pipeline.service import Publisher
from guardrail.sweep.worker import Run

DEFAULT_REMINDER = timedelta(days=7)


class SweepRecorder:
    def __init__(
        self,
        inventory: InventoryTable,
        publisher: Publisher,
        *,
        mode: str,
        reminder: timedelta = DEFAULT_REMINDER,
        audit: AuditSink = lambda action, fields: None,
        deletions: Deletions | None = None,
    ) -> None:
        """With ``deletions``, a violation the policy remediates gets its deletion scheduled (a sweep
        never deletes on the spot), and a pending deletion is moved, re-armed when its firing was
        lost, or cancelled when the instance is fixed, exempted or gone."""
        self._inventory = inventory
        self._deletions = deletions
        self._publisher = publisher
        self._mode = mode
        self._reminder = reminder
        self._audit = audit

    def instance(self, facts: Facts, decision: Decision, run: Run) -> tuple[Change | None, datetime | None]:
        arn = facts.subject.instance_arn
        assert arn is not None
        previous = self._inventory.get(arn)
        step = None
        if self._deletions is not None:
            settled = self._deletions.settle(
                facts,
                decision,
                previous=previous,
                now=run.observed_at,
                holder=f"sweep:{run.run_id}",
                fresh=lambda: facts,
            )
            step = settled.step
        conclusion = conclude(
            facts,
            decision,
            previous=previous,
            now=run.observed_at,
            mode=self._mode,
            step=step,
            reminder=self._reminder,
        )
        if conclusion.alert is not None:
            self._say(arn, run, conclusion.alert)
        elif step is not None:
            record_step(self._audit, facts, step)
        if conclusion.record is not None:
            self._inventory.put(conclusion.record)
        return conclusion.change, step.pending_until if step is not None else None

    def vanished(self, account_id: str, present: set[str], run: Run) -> tuple[str, ...]:
        resolved: list[str] = []
        for record in self._inventory.of_account(account_id):
            if record.gone_at is not None or record.instance_arn in present:
                continue
            if record.pending_deletion is not None and self._deletions is not None:
                self._deletions.forget(record.instance_arn)  # nothing left to delete
            if record.fingerprint is not None:
                self._say(record.instance_arn, run, self._gone_notice(record, run))
                resolved.append(record.instance_arn)
            self._inventory.put(gone(record, run.observed_at))
        return tuple(resolved)

    def _say(self, instance_arn: str, run: Run, alert: Alert) -> None:
        if not self._inventory.claim_alert(instance_arn, run.run_id):
            return  # an earlier attempt of this batch published it
        try:
            self._publisher.publish(alert)
        except BaseException:
            self._inventory.release_alert(instance_arn, run.run_id)
            raise
        record_alert(self._audit, alert.body)

    def _gone_notice(self, record: InventoryRecord, run: Run) -> Alert:
        facts = Facts(
            subject=Subject(
                account_id=record.account_id, region=record.region, instance_arn=record.instance_arn
            ),
            trigger=Observation(run_id=run.run_id, observed_at=run.observed_at),
            organization=run.snapshot.organization,
            account=run.snapshot.account_facts(record.account_id),
            instance=InstanceFacts(
                instance_arn=record.instance_arn,
                region=record.region,
                owner_account_id=record.owner_account_id,
                name=record.name,
                status="DELETED",
                tags=dict(record.tags),
            ),
        )
        decision = Decision(
            Verdict.INFO,
            Severity.INFO,
            (),
            (),
            (),
            Action.NONE,
            "the instance no longer exists: a complete read of its account does not list it",
        )
        history = History(
            first_seen=record.first_seen.isoformat(),
            learnt_by=record.learnt_by,
            announced=record.announced,
            change=Change.RESOLVED.value,
            previous_rules=record.rules,
        )
        return build_alert(
            facts, decision, mode=self._mode, history=history, resolution=Resolution("gone", record.rules)
        )
