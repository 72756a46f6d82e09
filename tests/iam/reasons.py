"""Why each statement that no call of the functions needs stays (docs/least-privilege.md).

A reason is looked up, first match wins, by:
1. `<template>: <owner> <kind> <statement>`, where `<statement>` is the Sid, or without one the
   policy's name and the statement's sorted actions (`SomePolicy [a:B,c:D]`); with ` <action>`
   appended, for one action of a statement other actions of which are needed;
2. `<template>: <owner> *`, for every statement of a role or resource that only AWS uses;
3. the statement's actions alone (`ACTIONS`): what Lambda does with every function's role;
4. a Deny statement: a guard; a trust statement naming an AWS service: that service (`SERVICES`).

A statement with neither a call nor a reason fails the report's test: remove it, or say here why
it stays.
"""

from __future__ import annotations

from typing import Final

from tests.iam.deployment import (
    CENTRAL_STACK,
    FORWARDING_TEMPLATE,
    MANAGEMENT_STACK,
    ROLES_TEMPLATE,
    Statement,
)

SERVICES: Final = {
    "lambda.amazonaws.com": "AWS: Lambda assumes the role to run the function",
    "events.amazonaws.com": "AWS: EventBridge assumes the role to deliver to the rule's target",
    "scheduler.amazonaws.com": "AWS: EventBridge Scheduler assumes the role to invoke the schedule's target",
    "states.amazonaws.com": "AWS: Step Functions assumes the role to run the state machine",
}

ACTIONS: Final[dict[frozenset[str], str]] = {
    frozenset({"logs:CreateLogStream", "logs:PutLogEvents"}): (
        "AWS: Lambda writes the function's logs to its log group with the function's role"
    ),
    frozenset({"xray:PutTelemetryRecords", "xray:PutTraceSegments"}): (
        "AWS: with active tracing, Lambda's X-Ray daemon sends the function's traces with its role "
        "(the tests run with tracing off)"
    ),
}

_CHANNEL_PATH = (
    "a path the tests do not take: the sweep worker alerts through the same deliverer as the detect "
    "function, whose use of this statement (tests/integration/test_channels.py, chat and Security Hub "
    "on) shows it is needed; the sweep's tests run with the alert topic alone"
)
_MANAGEMENT_MEMBER = (
    "a path the tests cannot reach: the detect function reads the management account's instances "
    "through this role (a CreateInstance attempt there, the organization instance's DeleteInstance), "
    "but the emulated management account has no member role, so these reads are refused there; the "
    "member accounts' role grants the same reads, and the calls needing them are recorded"
)

REASONS: Final[dict[str, str]] = {
    # --- the central stack -------------------------------------------------------------------------
    f"{CENTRAL_STACK}: AlertTopicKey863797D7 resource AllowCloudWatchAlarmsToEncrypt": (
        "AWS: CloudWatch encrypts an alarm's notification with the key when it publishes it to the "
        "alert topic"
    ),
    f"{CENTRAL_STACK}: AlertTopicPolicyD3D3B7D8 resource AllowCloudWatchAlarmsOfThisAccount": (
        "AWS: CloudWatch publishes the alarms' notifications to the alert topic"
    ),
    f"{CENTRAL_STACK}: DeadLetterQueuePolicyE41CC9A2 resource "
    "AllowEventRuleIdentityCenterGuardrailCentralInstanceEventRulesCentralBusRuleE0CA4CB8": (
        "AWS: EventBridge sends an event the central rule could not deliver to the detect function to "
        "the dead-letter queue"
    ),
    f"{CENTRAL_STACK}: DeletionSchedulesSchedulerRole12D34792 *": (
        "AWS: when a pending deletion is due, EventBridge Scheduler assumes this role to invoke the "
        "detect function, and parks in the dead-letter queue what it could not deliver"
    ),
    f"{CENTRAL_STACK}: SweepStateMachineRole4761DAD5 *": (
        "AWS: Step Functions runs the sweep with this role: it invokes the three functions, reads the "
        "accounts to sweep, writes the map's results, runs the Distributed Map's child executions, "
        "logs and traces"
    ),
    f"{CENTRAL_STACK}: SweepScheduleRole305328CA *": (
        "AWS: EventBridge Scheduler starts the sweep with this role, and parks in the dead-letter queue "
        "a start it gave up on"
    ),
    f"{CENTRAL_STACK}: InstanceEventRulesCentralBuscdkPutEventsFromTheForwardingRolesOfThisOrganization6F29CAE7 "
    "resource cdk-PutEventsFromTheForwardingRolesOfThisOrganization": (
        "AWS: EventBridge puts each account's forwarded instance events on the central bus with that "
        "account's forwarding role"
    ),
    f"{CENTRAL_STACK}: InstanceEventRulesCentralBusRuleAllowEventRuleIdentityCenterGuardrailCentralDetectFunction"
    "98C9AA2D44940FFC resource function permission [lambda:InvokeFunction]": (
        "AWS: EventBridge invokes the detect function for the central bus's rule"
    ),
    f"{CENTRAL_STACK}: IdentityCenterGuardrailSweepWorker identity PublishChatNotifications": _CHANNEL_PATH,
    f"{CENTRAL_STACK}: IdentityCenterGuardrailSweepWorker identity ImportSecurityHubFindings": _CHANNEL_PATH,
    f"{CENTRAL_STACK}: IdentityCenterGuardrailSweepWorker identity UpdateSecurityHubFindingWorkflows": _CHANNEL_PATH,
    f"{CENTRAL_STACK}: IdentityCenterGuardrailSweepWorker identity RecordAlertDeliveries": _CHANNEL_PATH,
    # --- the management account --------------------------------------------------------------------
    f"{MANAGEMENT_STACK}: IdentityCenterGuardrailMemberRole identity ListInstancesAndApplications": _MANAGEMENT_MEMBER,
    f"{MANAGEMENT_STACK}: IdentityCenterGuardrailMemberRole identity ReadInstances": _MANAGEMENT_MEMBER,
    f"{MANAGEMENT_STACK}: IdentityCenterGuardrailMemberRole identity ReadEnabledRegions": _MANAGEMENT_MEMBER,
    f"{MANAGEMENT_STACK}: IdentityCenterGuardrailEventForwarder *": (
        "AWS: EventBridge forwards the management account's instance events to the central bus with this role"
    ),
    f"{MANAGEMENT_STACK}-us-east-1: ForwardingRuleDeadLettersQueuePolicyCC8AF85A *": (
        "AWS: EventBridge parks an event the forwarding rule could not deliver in this queue"
    ),
    # --- every member account ----------------------------------------------------------------------
    f"{ROLES_TEMPLATE}: IdentityCenterGuardrailEventForwarder *": (
        "AWS: EventBridge forwards the account's instance events to the central bus with this role"
    ),
    f"{FORWARDING_TEMPLATE}: ForwardingRuleDeadLettersQueuePolicyCC8AF85A *": (
        "AWS: EventBridge parks an event the forwarding rule could not deliver in this queue"
    ),
}


def identity(statement: Statement) -> str:
    """How a reason names the statement: its Sid, else its policy's name and its actions."""
    if "Sid" in statement.document:
        return str(statement.document["Sid"])
    return f"{statement.policy} [{','.join(sorted(statement.actions))}]"


def reason_key(statement: Statement, action: str | None = None) -> str | None:
    """The key of `REASONS` that says why `statement` (or one `action` of it) stays, if one does."""
    key = f"{statement.template}: {statement.owner} {statement.kind} {identity(statement)}"
    candidates = (
        [f"{key} {action}"] if action is not None else [key, f"{statement.template}: {statement.owner} *"]
    )
    return next((candidate for candidate in candidates if candidate in REASONS), None)


def reason_for(statement: Statement, action: str | None = None) -> str | None:
    """The written reason `statement` (or one `action` of it) stays; None when there is none."""
    key = reason_key(statement, action)
    if key is not None:
        return REASONS[key]
    if action is not None:
        return None
    actions = frozenset(statement.actions)
    if actions in ACTIONS:
        return ACTIONS[actions]
    if statement.effect == "Deny":
        return "a guard: it denies, and no call needs a denial"
    principal = statement.document.get("Principal")
    if (
        statement.kind == "trust"
        and isinstance(principal, dict)
        and isinstance(principal.get("Service"), str)
    ):
        return SERVICES.get(principal["Service"])
    return None
