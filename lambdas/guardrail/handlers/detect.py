"""Lambda entry point: parse the event, hand it to the guardrail, return what happened.

Nothing is built at import time but the Powertools utilities; the guardrail itself (policy,
clients, caches) is built on the first event and reused while the function stays warm.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from guardrail.adapters.budget import CallBudget
from guardrail.adapters.clients import AwsClients
from guardrail.adapters.dead_letters import SqsDeadLetters
from guardrail.adapters.idempotency import OncePerEvent
from guardrail.adapters.series import SeriesTable
from guardrail.channels.delivery import Deliverer
from guardrail.channels.registry import build_deliverer
from guardrail.core.facts import ApiCall
from guardrail.core.policy import Policy
from guardrail.core.policy_file import load_policy
from guardrail.core.strict import ConversionError, convert
from guardrail.deletion.guard import DeletionGuard
from guardrail.deletion.lifecycle import Deletions, deletion_schedules
from guardrail.deletion.remediator import InstanceRemediator
from guardrail.deletion.schedules import DELETION_DUE, DeletionDue
from guardrail.gather import FactGatherer, GatherSettings
from guardrail.gather.sessions import Sessions
from guardrail.handlers.environment import DetectEnvironment, delivery_targets
from guardrail.inventory.events import EventInventory
from guardrail.inventory.table import InventoryTable
from guardrail.pipeline.events import (
    InvalidEvent,
    event_id_of,
    is_test_event,
    parse_api_call,
    parse_test_event,
)
from guardrail.pipeline.service import FiringRefused, Guardrail, utc_now
from guardrail.pipeline.synthetic import SyntheticEvents

logger = Logger()
metrics = Metrics()
tracer = Tracer()


def _no_prefetch(call: ApiCall) -> None:
    return None


def _nothing_to_finish() -> None:
    return None


@dataclass(frozen=True)
class Runtime:
    once: OncePerEvent
    dead_letters: SqsDeadLetters
    # Starts the first reads of an event while it is claimed (see Guardrail.prefetch).
    prefetch: Callable[[ApiCall], None] = _no_prefetch
    # Waits for what an event left running (see Guardrail.finish); called however it ended.
    finish: Callable[[], None] = _nothing_to_finish
    # Decides and carries out a pending deletion when its schedule fires.
    guardrail: Guardrail | None = None
    guard: DeletionGuard | None = None
    # Refuses AWS call attempts that could outlive the invocation.
    budget: CallBudget | None = None
    # `guardrail doctor --send-test-event`'s events, claimed once each; built on the first one.
    test_events: Callable[[], OncePerEvent] | None = None


def build_runtime(
    clock: Callable[[], datetime] = utc_now,
    clients: AwsClients | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Runtime:
    """Built once per execution environment; a bad policy fails here, loudly, on every event.

    ``clients`` lets tests and benchmarks hand in their own session, ``sleep`` their own waits
    (for an instance still being created to settle).
    """
    clients = clients or AwsClients()
    # Before any client is made: a client copies the session's handlers when it is created.
    budget = CallBudget(clients.session)
    environment = DetectEnvironment.from_environ(os.environ)
    # The policy ships next to the package; a relative path is taken from the function's code root.
    policy = load_policy(Path(os.environ.get("LAMBDA_TASK_ROOT", ".")) / environment.policy.policy_path)
    members, organization = environment.member_reads, environment.organization_reads
    settings = GatherSettings(
        member_role_name=members.member_role_name,
        regions=members.instance_regions,
        organizations_role_arn=organization.organizations_role_arn,
        organization_instance_region=organization.organization_instance_region,
        partition=members.partition,
    )
    gatherer = FactGatherer(clients, settings, sleep=sleep)
    deleting = Sessions(
        clients,
        member_role_name=None,
        organizations_role_arn=None,
        partition=members.partition,
        deleter_role_name=environment.deleter_role_name,
    )
    guard = DeletionGuard(
        clients.client("dynamodb"),
        environment.idempotency_table_name,
        max_per_hour=policy.enforcement.max_deletions_per_hour,
    )
    guardrail = Guardrail(
        gatherer,
        _deliverer(clients, environment),
        policy,
        clock,
        confirmer=gatherer,  # a deletion is confirmed on facts read fresh, the cache bypassed
        deletions=Deletions(
            policy,
            deletion_schedules(clients, environment.pending_deletions),
            # Deleting goes through the deleter role; the member role the gatherer reads with only reads.
            InstanceRemediator(deleting.deleter, guard, sleep=sleep, clock=clock),
        ),
        inventory=EventInventory(
            InventoryTable(clients.client("dynamodb"), environment.inventory_table_name),
            submit=gatherer.submit,
        ),
        on_unrecorded=_unrecorded,
        audit=_audit,
        series=SeriesTable(clients.client("dynamodb"), environment.idempotency_table_name),
    )
    return Runtime(
        once=OncePerEvent(
            guardrail.handle, environment.idempotency_table_name, client=clients.client("dynamodb")
        ),
        dead_letters=SqsDeadLetters(clients.client("sqs"), environment.dead_letter_queue_url),
        prefetch=guardrail.prefetch,
        finish=guardrail.finish,
        guardrail=guardrail,
        guard=guard,
        budget=budget,
        test_events=_test_events(clients, environment, gatherer, policy, clock),
    )


def _test_events(
    clients: AwsClients,
    environment: DetectEnvironment,
    gatherer: FactGatherer,
    policy: Policy,
    clock: Callable[[], datetime],
) -> Callable[[], OncePerEvent]:
    """The test events' path (`guardrail.pipeline.synthetic`), built when the first one comes: the same
    facts, channels and claims as real events, and no remediator, schedules or inventory."""

    @cache
    def build() -> OncePerEvent:
        deliverer = _deliverer(clients, environment)
        judge = SyntheticEvents(gatherer, deliverer, policy, clock, audit=_audit)
        return OncePerEvent(
            judge.handle, environment.idempotency_table_name, client=clients.client("dynamodb")
        )

    return build


runtime = cache(build_runtime)


def _deliverer(clients: AwsClients, environment: DetectEnvironment) -> Deliverer:
    """Every channel the environment names; deliveries recorded beside the claims."""
    return build_deliverer(
        clients,
        delivery_targets(environment.alerting, environment.channels),
        records_table=environment.idempotency_table_name,
        region=os.environ.get("AWS_REGION", "us-east-1"),
        on_failure=_channel_failed,
    )


def _audit(action: str, fields: dict[str, Any]) -> None:
    """One JSON log line per decision and action: the audit trail (README: Logs Insights queries)."""
    logger.info(f"audit: {action}", extra={"audit": action, **fields})


def _channel_failed(channel: str, error: BaseException) -> None:
    """One channel did not take the alert: counted (an alarm watches), raised, retried alone."""
    logger.error("A channel did not take the alert", extra={"channel": channel, "error": str(error)})
    _count(f"ChannelFailures_{channel}")


def _unrecorded(error: Exception) -> None:
    """The alert is out, but the inventory does not know of the event: the next sweep will."""
    logger.warning("Could not record the event in the inventory", exc_info=error)
    _count("UnrecordedInventory")


def _count(name: str) -> None:
    """Metrics are telemetry: failing to record one must not fail an event that was handled."""
    try:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    except Exception:
        logger.warning("Could not record the metric", extra={"metric": name}, exc_info=True)


def process_deletion_due(event: Any, rt: Runtime) -> dict[str, Any]:
    """A pending deletion's schedule fired: acted on once, only if it matches the schedule the
    guardrail made and is due; decided again on facts read now."""
    try:
        due = convert(event, DeletionDue)
    except ConversionError as error:
        return _reject_deletion_due(event, rt, f"a malformed deletion-due input: {error}")
    logger.set_correlation_id(f"deletion-due:{due.instance_arn}")
    assert rt.guardrail is not None
    assert rt.guard is not None
    key = due.due.isoformat()
    if not rt.guard.claim_firing(due.instance_arn, key):
        logger.info("The pending deletion was handled already", extra={"instance_arn": due.instance_arn})
        _count("DuplicateEvents")
        return {"status": "duplicate", "instance_arn": due.instance_arn}
    try:
        alert = rt.guardrail.grace_ended(due)
    except FiringRefused as refused:
        rt.guard.release_firing(due.instance_arn, key)
        return _reject_deletion_due(event, rt, f"not a deletion the guardrail scheduled now: {refused}")
    except BaseException:
        rt.guard.release_firing(due.instance_arn, key)  # the retry handles it
        raise
    finally:
        rt.finish()
    if alert is None:
        logger.info("Settled a due deletion; no news to alert", extra={"instance_arn": due.instance_arn})
        return {"status": "recorded", "instance_arn": due.instance_arn}
    summary = {"instance_arn": due.instance_arn, "verdict": alert.body["verdict"], "subject": alert.subject}
    logger.info("Decided a due deletion", extra=summary)
    _count("Alerts")
    return {"status": "alerted", **summary}


def _reject_deletion_due(event: Any, rt: Runtime, reason: str) -> dict[str, Any]:
    """A deletion-due input the guardrail will not act on: logged, counted, dead-lettered."""
    logger.error("Rejected an event it cannot process", extra={"reason": reason})
    rt.dead_letters.send(event, reason=reason, event_id=None)
    _count("RejectedEvents")
    return {"status": "rejected", "reason": reason}


def process_test_event(event: Any, rt: Runtime) -> dict[str, Any]:
    """`guardrail doctor`'s test event: claimed by its event id like any event (the claim, once
    completed, is the record the doctor waits for), judged and alerted as a test, acted on never."""
    event_id = event_id_of(event)
    logger.set_correlation_id(event_id)
    try:
        call = parse_test_event(event)
        if rt.test_events is None:
            raise InvalidEvent("this runtime takes no test events")
    except InvalidEvent as error:
        logger.error("Rejected a test event", extra={"event_id": event_id, "reason": str(error)})
        rt.dead_letters.send(event, reason=str(error), event_id=event_id)
        _count("RejectedEvents")
        return {"status": "rejected", "event_id": event_id, "reason": str(error), "test": True}
    once = rt.test_events()
    once.register(rt.once.config.lambda_context)  # the invocation's, as the handler registered it
    summary, duplicate = once(call)
    logger.info("Test event: duplicate delivery" if duplicate else "Test event: alerted", extra=summary)
    _count("TestEvents")
    return {"status": "duplicate" if duplicate else "alerted", "test": True, **summary}


def process(event: Any, rt: Runtime) -> dict[str, Any]:
    if isinstance(event, dict) and event.get("kind") == DELETION_DUE:
        return process_deletion_due(event, rt)
    if is_test_event(event):  # `guardrail doctor --send-test-event`: a path of its own
        return process_test_event(event, rt)
    event_id = event_id_of(event)
    logger.set_correlation_id(event_id)
    try:
        call = parse_api_call(event)
    except InvalidEvent as error:
        logger.error(
            "Rejected an event it cannot process", extra={"event_id": event_id, "reason": str(error)}
        )
        rt.dead_letters.send(event, reason=str(error), event_id=event_id)
        _count("RejectedEvents")
        return {"status": "rejected", "event_id": event_id, "reason": str(error)}

    rt.prefetch(call)
    try:
        summary, duplicate = rt.once(call)
    finally:
        rt.finish()
    if duplicate:
        message = (
            "Duplicate delivery: another invocation is handling the event"
            if summary.get("in_progress")
            else "Duplicate delivery: the alert was already published"
        )
        logger.info(message, extra=summary)
        _count("DuplicateEvents")
        return {"status": "duplicate", **summary}
    if summary.get("published") is False:
        logger.info("Judged and recorded; no news to alert", extra=summary)
        return {"status": "recorded", **summary}
    logger.info("Published alert", extra=summary)
    if summary.get("recorded") is False:
        # The alert is out but DynamoDB did not store it: a later redelivery may alert again.
        logger.warning("Could not record the published alert", extra=summary)
        _count("UnrecordedAlerts")
    _count("Alerts")
    _count(f"Verdict_{summary['verdict']}")
    return {"status": "alerted", **summary}


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    rt = runtime()
    rt.once.register(context)
    if rt.budget is not None:
        rt.budget.begin(lambda: context.get_remaining_time_in_millis() / 1000)
    return process(event, rt)
