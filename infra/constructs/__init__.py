"""Constructs of the central stack, each named after the runtime part it deploys."""

from infra.constructs.alert_topic import AlertTopic
from infra.constructs.dead_letter_queue import DeadLetterQueue
from infra.constructs.detect_function import DetectFunction
from infra.constructs.idempotency_table import IdempotencyTable
from infra.constructs.instance_event_rules import INSTANCE_EVENT_PATTERN, InstanceEventRules

__all__ = ["INSTANCE_EVENT_PATTERN", "AlertTopic", "DeadLetterQueue", "DetectFunction", "IdempotencyTable", "InstanceEventRules"]
