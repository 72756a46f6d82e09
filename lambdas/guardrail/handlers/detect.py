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

from guardrail.adapters.alerts import SnsAlertPublisher, SqsDeadLetters
from guardrail.adapters.clients import AwsClients
from guardrail.adapters.idempotency import OncePerEvent
from guardrail.core.facts import ApiCall
from guardrail.core.policy_file import load_policy
from guardrail.environment import DetectEnvironment
from guardrail.events import InvalidEvent, event_id_of, parse_api_call
from guardrail.gather import FactGatherer, GatherSettings
from guardrail.remediate import InstanceRemediator
from guardrail.service import Guardrail, utc_now

logger = Logger()
metrics = Metrics()
tracer = Tracer()


def _no_prefetch(call: ApiCall) -> None:
    return None


@dataclass(frozen=True)
class Runtime:
    once: OncePerEvent
    dead_letters: SqsDeadLetters
    # Starts the first reads of an event while it is claimed (see FactGatherer.prefetch).
    prefetch: Callable[[ApiCall], None] = _no_prefetch


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
    environment = DetectEnvironment.from_environ(os.environ)
    # The policy ships next to the package; a relative path is taken from the function's code root.
    policy = load_policy(Path(os.environ.get("LAMBDA_TASK_ROOT", ".")) / environment.policy_path)
    settings = GatherSettings(
        member_role_name=environment.member_role_name,
        regions=environment.instance_regions,
        organizations_role_arn=environment.organizations_role_arn,
        organization_instance_region=environment.organization_instance_region,
        partition=environment.partition,
    )
    gatherer = FactGatherer(clients, settings, sleep=sleep)
    guardrail = Guardrail(
        gatherer,
        SnsAlertPublisher(clients.client("sns"), environment.alert_topic_arn),
        policy,
        clock,
        remediator=InstanceRemediator(gatherer.member_clients),
        confirmer=gatherer,  # a deletion is confirmed on facts read fresh, the cache bypassed
    )
    return Runtime(
        once=OncePerEvent(
            guardrail.handle, environment.idempotency_table_name, client=clients.client("dynamodb")
        ),
        dead_letters=SqsDeadLetters(clients.client("sqs"), environment.dead_letter_queue_url),
        prefetch=gatherer.prefetch,
    )


runtime = cache(build_runtime)


def _count(name: str) -> None:
    """Metrics are telemetry: failing to record one must not fail an event that was handled."""
    try:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    except Exception:
        logger.warning("Could not record the metric", extra={"metric": name}, exc_info=True)


def process(event: Any, rt: Runtime) -> dict[str, Any]:
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
    summary, duplicate = rt.once(call)
    if duplicate:
        logger.info("Duplicate delivery: the alert was already published", extra=summary)
        _count("DuplicateEvents")
        return {"status": "duplicate", **summary}
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
    return process(event, rt)
