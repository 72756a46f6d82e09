"""Constructs of the guardrail's stacks, each named after the runtime part it deploys."""

from infra.constructs.alert_channels import AlertChannels
from infra.constructs.alert_topic import AlertTopic
from infra.constructs.channel_topic import ChannelTopic
from infra.constructs.create_instance_scp import CreateInstanceScp
from infra.constructs.dead_letter_queue import DeadLetterQueue
from infra.constructs.deleter_role import DeleterRole
from infra.constructs.deletion_schedules import DeletionSchedules
from infra.constructs.detect_function import DetectFunction
from infra.constructs.event_forwarding import ForwardingDeadLetterQueue, ForwardingRole, ForwardingRule
from infra.constructs.guard_scp import GuardScp
from infra.constructs.idempotency_table import IdempotencyTable
from infra.constructs.instance_event_rules import INSTANCE_EVENT_PATTERN, InstanceEventRules
from infra.constructs.inventory_table import InventoryTable
from infra.constructs.member_role import MemberRole
from infra.constructs.member_stacksets import MemberStackSets
from infra.constructs.monitoring import Monitoring
from infra.constructs.organizations_reader import OrganizationsReaderRole
from infra.constructs.reports_bucket import ReportsBucket
from infra.constructs.sweep_functions import SweepFunctions
from infra.constructs.sweep_schedule import SweepSchedule
from infra.constructs.sweep_state_machine import SweepStateMachine

__all__ = [
    "INSTANCE_EVENT_PATTERN",
    "AlertChannels",
    "AlertTopic",
    "ChannelTopic",
    "CreateInstanceScp",
    "DeadLetterQueue",
    "DeleterRole",
    "DeletionSchedules",
    "DetectFunction",
    "ForwardingDeadLetterQueue",
    "ForwardingRole",
    "ForwardingRule",
    "GuardScp",
    "IdempotencyTable",
    "InstanceEventRules",
    "InventoryTable",
    "MemberRole",
    "MemberStackSets",
    "Monitoring",
    "OrganizationsReaderRole",
    "ReportsBucket",
    "SweepFunctions",
    "SweepSchedule",
    "SweepStateMachine",
]
