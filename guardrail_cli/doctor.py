"""`guardrail doctor`: is the deployed guardrail able to see, and to say, what it should? Read-only,
unless asked to send a test event.

A guardrail fails silently: no alert looks the same as nothing to report. The doctor reads, with
the caller's credentials, the pieces every alert depends on and says for each one `ok` or `WRONG`
with how to fix it:

- in the central account: the central stack (DescribeStacks: its status and outputs;
  ListStackResources: the names CloudFormation generated for its rules and alarms), the detect
  function (Active), the stack's rules (there, enabled, the guardrail's pattern, targeting the
  function), the alert topic (a confirmed subscription), the chat topic (a confirmed subscription,
  where chat is on), Security Hub CSPM (enabled, where the channel is on), the stack's alarms (all
  there, none in ALARM), the dead-letter queue (empty), the sweep's schedule (enabled) and its last
  run (succeeded, recently), and CloudTrail (a logging trail records the instance calls in every
  watched Region: without one, EventBridge gets no instance event at all);
- in every active member account, through the member role as `guardrail sweep` reads them: the
  sweep's coverage check (`guardrail.sweep.coverage`), in every watched Region the account has
  enabled.

The central reads need credentials of the central account (or `--central-role`), the member reads
a role in each account (`--member-role`; the deployed member role trusts only the guardrail's
functions).

With `--send-test-event` the doctor also writes: it puts a synthetic instance event on the central
bus and waits for the detect function's record of it (`send_test_event`), the end-to-end check.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from guardrail.adapters.clients import AwsClients
from guardrail.gather.deadline import Deadline, Missing, reason
from guardrail.gather.sessions import SESSION_NAME, Sessions
from guardrail.pipeline.events import DETAIL_TYPE, EVENT_SOURCE, TEST_INSTANCE_ID
from guardrail.pipeline.patterns import CENTRAL_EVENT_PATTERN, TEST_SOURCE
from guardrail.sweep.coverage import (
    ENABLED_STATES,
    AccountCoverage,
    BlindSpotKind,
    CoverageChecker,
    ForwardingNames,
    unassumable,
    where,
)
from guardrail.sweep.planner import plan
from guardrail.sweep.worker import ACCOUNT_DEADLINE_SECONDS, CONCURRENT_ACCOUNTS
from guardrail_cli.central import CentralReader, Claim, Stack, StackResource
from guardrail_cli.trails import Trail, uncovered

# As infra/application.py and infra/constructs/event_forwarding.py name them (the CLI does not load
# the CDK to read them); tests/unit/test_doctor.py holds them to the infra's.
CENTRAL_STACK_NAME = "IdentityCenterGuardrailCentral"
FORWARDING_RULE_NAME = "IdentityCenterGuardrail-ForwardInstanceEvents"
FORWARDING_DEAD_LETTER_QUEUE_NAME = "IdentityCenterGuardrail-ForwardingDeadLetters"
# The detect function's fixed name, which it has when pending deletions are deployed.
FIXED_DETECT_FUNCTION_NAME = "IdentityCenterGuardrail-Detect"
# As infra/constructs/sweep_schedule.py names it, when the stack does not list it.
SWEEP_SCHEDULE_NAME = "IdentityCenterGuardrail-Sweep"
ALARM = "AWS::CloudWatch::Alarm"
RULE = "AWS::Events::Rule"
SCHEDULE = "AWS::Scheduler::Schedule"
REDEPLOY = f"redeploy the central stack with central credentials: npx cdk deploy {CENTRAL_STACK_NAME}"
# What the member role (or --member-role) needs for the coverage reads.
MEMBER_ACTIONS = (
    "account:ListRegions, events:DescribeRule and events:ListTargetsByRule on the forwarding rule, "
    "sqs:GetQueueUrl and sqs:GetQueueAttributes on its dead-letter queue"
)


@dataclass(frozen=True)
class DoctorSettings:
    central_account_id: str
    central_region: str
    central_bus_name: str
    member_role_name: str
    regions: tuple[str, ...]
    organizations_role_arn: str | None = None
    central_role_arn: str | None = None
    stack_name: str = CENTRAL_STACK_NAME
    partition: str = "aws"

    @property
    def central_bus_arn(self) -> str:
        return (
            f"arn:{self.partition}:events:{self.central_region}:{self.central_account_id}:"
            f"event-bus/{self.central_bus_name}"
        )

    @property
    def forwarding(self) -> ForwardingNames:
        return ForwardingNames(
            rule_name=FORWARDING_RULE_NAME,
            dead_letter_queue_name=FORWARDING_DEAD_LETTER_QUEUE_NAME,
            central_bus_arn=self.central_bus_arn,
        )


@dataclass(frozen=True)
class Problem:
    what: str
    fix: str


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    problems: tuple[Problem, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "ok": self.ok,
            "detail": self.detail,
            "problems": [{"what": p.what, "fix": p.fix} for p in self.problems],
        }


def ok(name: str, detail: str) -> Check:
    return Check(name, True, detail)


def wrong(name: str, detail: str, *problems: Problem) -> Check:
    return Check(name, False, detail, problems)


class CannotRead(Exception):
    """A read the doctor could not make: the check is WRONG, with what to grant."""


def _read[R](read: Callable[[], R], action: str) -> R:
    try:
        return read()
    except (ClientError, BotoCoreError) as error:
        raise CannotRead(f"cannot read ({action}): {reason(error)}") from None


def _unreadable(name: str, error: CannotRead, action: str) -> Check:
    return wrong(name, str(error), Problem(str(error), f"allow the caller {action}"))


# -- central --------------------------------------------------------------------------------------------


@dataclass
class _Central:
    """What the central checks found, for the checks that depend on it."""

    stack: Stack | None = None
    function_arn: str | None = None
    # The detect function's environment: its channels and its idempotency table.
    environment: dict[str, str] | None = None
    log_group: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    resources: list[StackResource] = field(default_factory=list)
    schedule: dict[str, Any] | None = None

    def declared(self, resource_type: str) -> list[str]:
        return [r.physical_id for r in self.resources if r.type == resource_type and r.physical_id]


def central_checks(
    reader: CentralReader, settings: DoctorSettings, now: datetime, found: _Central | None = None
) -> list[Check]:
    """`now` is what the last sweep's age is measured from; `found` collects what the checks
    found, for the test event."""
    found = found if found is not None else _Central()
    checks = [_stack(reader, settings, found), _function(reader, settings, found)]
    checks += [_rules(reader, settings, found), _subscriptions(reader, found)]
    checks += [_chat(reader, found), _security_hub(reader, settings, found)]
    checks += [*_alarms(reader, settings, found), _dead_letters(reader, found)]
    return [
        *checks,
        _schedule(reader, settings, found),
        _last_sweep(reader, found, now),
        _trail(reader, settings),
    ]


def _stack(reader: CentralReader, settings: DoctorSettings, found: _Central) -> Check:
    name = "central stack"
    action = "cloudformation:DescribeStacks and cloudformation:ListStackResources on the central stack"
    try:
        stack = _read(lambda: reader.stack(settings.stack_name), "cloudformation:DescribeStacks")
        if stack is not None:
            found.resources = _read(
                lambda: reader.stack_resources(settings.stack_name), "cloudformation:ListStackResources"
            )
    except CannotRead as error:
        return _unreadable(name, error, action)
    where_ = f"{settings.central_account_id} {settings.central_region}"
    if stack is None:
        return wrong(
            name,
            f"{settings.stack_name} is not deployed in {where_}",
            Problem(
                f"no stack {settings.stack_name}",
                f"deploy it (Deploy, step 1): npx cdk deploy {settings.stack_name}",
            ),
        )
    found.stack, found.outputs = stack, stack.outputs
    if stack.status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"):
        return wrong(
            name,
            f"{settings.stack_name} is {stack.status}",
            Problem(
                f"the last deployment did not complete ({stack.status})",
                f"read why in its events (aws cloudformation describe-stack-events --stack-name "
                f"{settings.stack_name}), then {REDEPLOY}",
            ),
        )
    return ok(name, f"{settings.stack_name} {stack.status} in {where_}")


def _function(reader: CentralReader, settings: DoctorSettings, found: _Central) -> Check:
    name = "detect function"
    function_name = found.outputs.get("DetectFunctionName") or (
        FIXED_DETECT_FUNCTION_NAME if found.stack is None else None
    )
    if function_name is None:
        return wrong(
            name, "the stack has no DetectFunctionName output", Problem("cannot find the function", REDEPLOY)
        )
    try:
        config = _read(lambda: reader.function(function_name), "lambda:GetFunction")
    except CannotRead as error:
        return _unreadable(name, error, "lambda:GetFunction on the detect function")
    if config is None:
        return wrong(
            name, f"no function {function_name}", Problem(f"{function_name} does not exist", REDEPLOY)
        )
    found.function_arn = str(config.get("FunctionArn"))
    found.environment = {
        str(k): str(v) for k, v in (config.get("Environment") or {}).get("Variables", {}).items()
    }
    found.log_group = str(
        (config.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{function_name}"
    )
    state, update = config.get("State"), config.get("LastUpdateStatus")
    if state != "Active" or update == "Failed":
        why = config.get("StateReason") or config.get("LastUpdateStatusReason") or "no reason given"
        return wrong(
            name,
            f"{function_name} is {state}" + (f" (last update {update})" if update == "Failed" else ""),
            Problem(
                f"{function_name}: {why}",
                "an Inactive function becomes Active again on its next invocation; a Failed one needs "
                f"its cause fixed (the reason above), then {REDEPLOY}",
            ),
        )
    return ok(name, f"{function_name} Active")


def _rules(reader: CentralReader, settings: DoctorSettings, found: _Central) -> Check:
    """Each rule the stack holds: there, enabled, the guardrail's pattern, targeting the function."""
    name = "central rules"
    if found.function_arn is None:
        return wrong(name, "not checked: the detect function was not found", Problem("see above", REDEPLOY))
    declared = found.declared(RULE)
    if not declared:
        return wrong(
            name, "the stack holds no rule", Problem("no rule invokes the detect function", REDEPLOY)
        )
    problems: list[Problem] = []
    healthy: list[str] = []
    for physical_id in declared:
        try:
            problem = _rule(reader, settings, physical_id, found.function_arn)
        except CannotRead as error:
            return _unreadable(name, error, "events:DescribeRule and events:ListTargetsByRule")
        if problem is None:
            healthy.append(physical_id.rpartition("|")[2])
        else:
            problems.append(problem)
    if problems:
        return wrong(
            name, f"{len(problems)} of {len(declared)} rules cannot invoke the detect function", *problems
        )
    return ok(name, f"{', '.join(healthy)} sends instance events to the detect function")


def _rule(
    reader: CentralReader, settings: DoctorSettings, physical_id: str, function_arn: str
) -> Problem | None:
    """What is wrong with one rule of the stack; its physical id is `bus|name` for a rule on a
    custom bus (or its name alone, when the bus is looked for: the default bus, then the central)."""
    bus, _, rule_name = physical_id.rpartition("|")
    buses: tuple[str | None, ...] = (bus,) if bus else (None, settings.central_bus_name)
    for candidate in buses:
        rule = _read(partial(reader.rule, rule_name, candidate), "events:DescribeRule")
        if rule is not None:
            break
    else:
        return Problem(f"{rule_name} does not exist (deleted outside CloudFormation)", REDEPLOY)
    scope = f" --event-bus-name {candidate}" if candidate else ""
    if rule.get("State") not in ENABLED_STATES:
        return Problem(
            f"{rule_name} is {rule.get('State')}",
            f"aws events enable-rule --name {rule_name}{scope} --region {settings.central_region}",
        )
    if json.loads(str(rule.get("EventPattern") or "null")) != CENTRAL_EVENT_PATTERN:
        return Problem(f"{rule_name} does not match the guardrail's event pattern", REDEPLOY)
    targets = _read(partial(reader.rule_targets, rule_name, candidate), "events:ListTargetsByRule")
    if function_arn not in targets:
        return Problem(f"{rule_name} does not target the detect function {function_arn}", REDEPLOY)
    return None


def _subscriptions(reader: CentralReader, found: _Central) -> Check:
    name = "alert subscriptions"
    topic = found.outputs.get("AlertTopicArn")
    if topic is None:
        return wrong(
            name, "not checked: the stack has no AlertTopicArn output", Problem("see above", REDEPLOY)
        )
    try:
        subscriptions = _read(lambda: reader.subscriptions(topic), "sns:ListSubscriptionsByTopic")
    except CannotRead as error:
        return _unreadable(name, error, "sns:ListSubscriptionsByTopic on the alert topic")
    confirmed = [s for s in subscriptions if s.confirmed]
    pending = [s for s in subscriptions if not s.confirmed]
    waiting = f"; pending confirmation: {', '.join(s.endpoint for s in pending)}" if pending else ""
    if confirmed:
        return ok(
            name,
            f"{len(confirmed)} confirmed ({', '.join(sorted({s.protocol for s in confirmed}))}){waiting}",
        )
    return wrong(
        name,
        "no confirmed subscription: alerts reach no one" + waiting,
        Problem(
            "the alert topic has no confirmed subscription",
            "each alert address must accept the confirmation email SNS sent it; to send it again: aws sns "
            f"subscribe --topic-arn {topic} --protocol email --notification-endpoint <address>",
        ),
    )


def _alarms(reader: CentralReader, settings: DoctorSettings, found: _Central) -> list[Check]:
    """The stack's alarms (by the names CloudFormation gave them): each there, none in ALARM."""
    prefix = f"{settings.stack_name}-"
    try:
        alarms = {a.name: a for a in _read(lambda: reader.alarms(prefix), "cloudwatch:DescribeAlarms")}
    except CannotRead as error:
        return [_unreadable("alarms", error, "cloudwatch:DescribeAlarms")]
    declared = found.declared(ALARM)
    if found.stack is None:
        present = wrong("alarms", "not checked: the stack is not deployed", Problem("see above", REDEPLOY))
    elif missing := [name for name in declared if name not in alarms]:
        present = wrong(
            "alarms",
            f"{len(missing)} of {len(declared)} alarms missing",
            *(Problem(f"no alarm {name} (deleted outside CloudFormation)", REDEPLOY) for name in missing),
        )
    else:
        present = ok("alarms", f"all {len(declared)} alarms of the stack exist")
    firing = [a for a in alarms.values() if a.state == "ALARM"]
    if not firing:
        return [present, ok("alarms in ALARM", "none")]
    return [
        present,
        wrong(
            "alarms in ALARM",
            f"{len(firing)} in ALARM: {', '.join(a.name for a in firing)}",
            *(
                Problem(
                    f"{a.name}: {a.description or 'in ALARM'}",
                    f"see Operations; its history: aws cloudwatch describe-alarm-history --alarm-name {a.name}",
                )
                for a in firing
            ),
        ),
    ]


def _dead_letters(reader: CentralReader, found: _Central) -> Check:
    name = "dead-letter queue"
    url = found.outputs.get("DeadLetterQueueUrl")
    if url is None:
        return wrong(
            name, "not checked: the stack has no DeadLetterQueueUrl output", Problem("see above", REDEPLOY)
        )
    try:
        depth = _read(lambda: reader.queue_messages(url), "sqs:GetQueueAttributes")
    except CannotRead as error:
        return _unreadable(name, error, "sqs:GetQueueAttributes on the dead-letter queue")
    if depth == 0:
        return ok(name, "empty")
    return wrong(
        name,
        f"{depth} events wait in {url}",
        Problem(
            f"{depth} events or invocations the guardrail could not handle",
            "read each message, fix the cause, then replay it to the detect function (Operations: "
            "dead-letter queue) and delete it",
        ),
    )


def _chat(reader: CentralReader, found: _Central) -> Check:
    """Chat is on when the stack has a chat topic: something must read it, or chat says nothing."""
    name = "chat subscriptions"
    if found.stack is None:
        return wrong(name, "not checked: the stack is not deployed", Problem("see above", REDEPLOY))
    topic = found.outputs.get("ChatTopicArn")
    if topic is None:
        return ok(name, "chat is off (chat.enabled: false)")
    try:
        subscriptions = _read(lambda: reader.subscriptions(topic), "sns:ListSubscriptionsByTopic")
    except CannotRead as error:
        return _unreadable(name, error, "sns:ListSubscriptionsByTopic on the chat topic")
    confirmed = [s for s in subscriptions if s.confirmed]
    if confirmed:
        return ok(name, f"{len(confirmed)} confirmed ({', '.join(sorted({s.protocol for s in confirmed}))})")
    return wrong(
        name,
        f"the chat topic {topic} has no confirmed subscription: chat alerts reach no one",
        Problem(
            "no channel configuration of Amazon Q Developer in chat applications reads the chat topic",
            f"add {topic} to the SNS topics of your Slack or Microsoft Teams channel configuration in "
            "Amazon Q Developer in chat applications (AWS Chatbot): in its console, or aws chatbot "
            "update-slack-channel-configuration --chat-configuration-arn <arn> --slack-channel-id <id> "
            f"--sns-topic-arns {topic} (with the topics it has already)",
        ),
    )


def _security_hub(reader: CentralReader, settings: DoctorSettings, found: _Central) -> Check:
    """Where the detect function imports findings (its SECURITY_HUB_ACCOUNT_ID: the central
    account, in the central Region), Security Hub CSPM must be enabled, or every import fails."""
    name = "security hub"
    if found.environment is None:
        return wrong(name, "not checked: the detect function was not found", Problem("see above", REDEPLOY))
    if not found.environment.get("SECURITY_HUB_ACCOUNT_ID"):
        return ok(name, "the Security Hub channel is off (security_hub.enabled: false)")
    where_ = f"{settings.central_account_id} {settings.central_region}"
    try:
        hub = _read(reader.security_hub, "securityhub:DescribeHub")
    except CannotRead as error:
        return _unreadable(name, error, "securityhub:DescribeHub")
    if hub is not None:
        return ok(name, f"Security Hub CSPM enabled in {where_}")
    return wrong(
        name,
        f"Security Hub CSPM is not enabled in {where_}: the findings cannot be imported",
        Problem(
            "every alert's import into Security Hub fails, and the invocation with it (retried, then "
            "the dead-letter queue)",
            "enable it there, with central credentials: aws securityhub enable-security-hub "
            f"--no-enable-default-standards --region {settings.central_region}; or set "
            f"security_hub.enabled: false and {REDEPLOY}",
        ),
    )


def _schedule(reader: CentralReader, settings: DoctorSettings, found: _Central) -> Check:
    """The sweep's schedule, by the name the stack lists (or the fixed one): there and enabled."""
    name = "sweep schedule"
    schedule_name = next(iter(found.declared(SCHEDULE)), SWEEP_SCHEDULE_NAME)
    try:
        schedule = _read(lambda: reader.schedule(schedule_name), "scheduler:GetSchedule")
    except CannotRead as error:
        return _unreadable(name, error, f"scheduler:GetSchedule on {schedule_name}")
    if schedule is None:
        return wrong(
            name,
            f"no schedule {schedule_name}: nothing starts the sweep",
            Problem(f"{schedule_name} does not exist", REDEPLOY),
        )
    found.schedule = schedule
    when = f"{schedule.get('ScheduleExpression')} {schedule.get('ScheduleExpressionTimezone') or 'UTC'}"
    if schedule.get("State") != "ENABLED":
        return wrong(
            name,
            f"{schedule_name} is {schedule.get('State')}: the sweep does not run, and nothing finds "
            "what the events missed",
            Problem(
                f"{schedule_name} ({when}) is {schedule.get('State')}",
                f"set sweep.enabled: true in the configuration and {REDEPLOY}",
            ),
        )
    return ok(name, f"{schedule_name} ENABLED: {when}")


_RATE = re.compile(r"^rate\((\d+) (minute|hour|day)s?\)$")
_CRON = re.compile(r"^cron\((\S+ \S+ \S+ \S+ \S+ \S+)\)$")
_EVERY = ("*", "?")


def schedule_period(expression: str) -> timedelta:
    """About the longest time between two starts of a schedule: what `recently` means for its last
    run. A rate is its period; a cron expression runs at least daily unless it names days of the
    week (weekly), of the month (monthly) or months (yearly). Anything else is taken as daily."""
    if match := _RATE.match(expression):
        return timedelta(**{f"{match.group(2)}s": int(match.group(1))})
    if match := _CRON.match(expression):
        _, _, day_of_month, month, day_of_week, year = match.group(1).split()
        if month not in _EVERY or year not in _EVERY:
            return timedelta(days=366)
        if day_of_month not in _EVERY:
            return timedelta(days=31)
        if day_of_week not in _EVERY:
            return timedelta(days=7)
    return timedelta(days=1)


# Executions that ended without succeeding.
_UNFINISHED = ("FAILED", "TIMED_OUT", "ABORTED")
# A run is recent when it ended within this many of the schedule's periods.
STALE_AFTER_PERIODS = 1.5


def _ended(execution: dict[str, Any]) -> datetime:
    moment = execution.get("stopDate") or execution["startDate"]
    return moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))


def _ago(now: datetime, then: datetime) -> str:
    hours = (now - then).total_seconds() / 3600
    return f"{hours:.1f} h ago" if hours < 48 else f"{hours / 24:.1f} days ago"


def _last_sweep(reader: CentralReader, found: _Central, now: datetime) -> Check:
    """The sweep's newest run did not fail, and one succeeded within 1.5 periods of the schedule."""
    name = "last sweep"
    arn = found.outputs.get("SweepStateMachineArn")
    if arn is None:
        return wrong(
            name, "not checked: the stack has no SweepStateMachineArn output", Problem("see above", REDEPLOY)
        )
    start_now = f"start one now: aws stepfunctions start-execution --state-machine-arn {arn}"
    try:
        newest = _read(lambda: reader.executions(arn), "states:ListExecutions")
        succeeded = _read(lambda: reader.executions(arn, "SUCCEEDED"), "states:ListExecutions")
    except CannotRead as error:
        return _unreadable(name, error, "states:ListExecutions on the sweep's state machine")
    if newest is None or succeeded is None:
        return wrong(
            name, f"no state machine {arn}", Problem("the sweep's state machine does not exist", REDEPLOY)
        )
    last = succeeded[0] if succeeded else None
    since = f"; the last that succeeded, {last['name']}, ended {_ago(now, _ended(last))}" if last else ""
    if newest and newest[0]["status"] in _UNFINISHED:
        run = newest[0]
        return wrong(
            name,
            f"the last run, {run['name']}, {run['status']} {_ago(now, _ended(run))}{since}",
            Problem(
                f"{run['name']} {run['status']}",
                f"read where in its history (aws stepfunctions get-execution-history --execution-arn "
                f"{run['executionArn']} --reverse-order) and the sweep's log group; fix it, then {start_now}",
            ),
        )
    expression = str((found.schedule or {}).get("ScheduleExpression") or "")
    period = schedule_period(expression)
    running = (
        f"; {newest[0]['name']} running since {_ago(now, _ended(newest[0]))}"
        if newest and newest[0]["status"] == "RUNNING"
        else ""
    )
    if last is None:
        return wrong(
            name,
            f"no run has succeeded yet{running}",
            Problem("the sweep has not completed once: what the events missed is unknown", start_now),
        )
    age = now - _ended(last)
    if age > period * STALE_AFTER_PERIODS:
        return wrong(
            name,
            f"the last run that succeeded, {last['name']}, ended {_ago(now, _ended(last))}; the schedule "
            f"({expression or 'unknown'}) starts one every {_period(period)}{running}",
            Problem(
                "no recent sweep",
                "see why runs do not start or end (the sweep schedule above, the dead-letter queue, the "
                f"SweepUnfinished alarm); {start_now}",
            ),
        )
    return ok(name, f"{last['name']} SUCCEEDED, ended {_ago(now, _ended(last))}{running}")


def _period(period: timedelta) -> str:
    hours = period.total_seconds() / 3600
    days = hours / 24
    return f"{hours:g} h" if hours < 24 else f"{days:g} day{'s' if days != 1 else ''}"


def _trail(reader: CentralReader, settings: DoctorSettings) -> Check:
    """A logging trail records the instance calls in every watched Region (CloudTrail sends
    EventBridge only what a trail records). Read in the central Region, where an organization
    trail or a multi-Region one shows; then, for the Regions left uncovered, in each of them."""
    name = "trail"
    action = "cloudtrail:DescribeTrails, cloudtrail:GetTrailStatus and cloudtrail:GetEventSelectors"
    trails: dict[str, Trail] = {}
    unread: dict[str, str] = {}
    try:
        _trails_in(reader, settings.central_region, trails)
    except CannotRead as error:
        return _unreadable(name, error, action)
    for region in uncovered(list(trails.values()), settings.regions):
        if region != settings.central_region:
            try:
                _trails_in(reader, region, trails)
            except CannotRead as error:
                unread[region] = str(error)
    found = list(trails.values())
    gaps = uncovered(found, settings.regions)
    if not gaps:
        recording = [t for t in found if t.records]
        if by_organization := [t for t in recording if t.organization and t.multi_region]:
            return ok(name, f"{by_organization[0].describe()} is logging and records the instance calls")
        names = ", ".join(t.describe() for t in recording)
        caveat = (
            ""
            if all(t.organization for t in recording)
            else ": this account's own trails cover this account only; each member account needs one "
            "too (the doctor does not read them), which an organization trail spares"
        )
        return ok(name, f"{names} logging and recording the instance calls in every watched Region{caveat}")
    problems = [p for t in found for p in _trail_problems(t)]
    problems += [
        Problem(f"{region}: {why}", f"allow the caller {action} in {region}")
        for region, why in unread.items()
    ]
    problems.append(
        Problem(
            f"no logging trail records the instance calls in {', '.join(gaps)}",
            "EventBridge receives CloudTrail's events only while a trail records them: create a "
            "multi-Region organization trail in the management account (aws cloudtrail create-trail "
            "--name organization-trail --s3-bucket-name <bucket> --is-multi-region-trail "
            "--is-organization-trail, then aws cloudtrail start-logging --name organization-trail), "
            "or fix the trail named above",
        )
    )
    seen = f"{len(found)} trails seen" if found else "no trail"
    return wrong(
        name,
        f"{seen}; the instance calls are recorded in {len(settings.regions) - len(gaps)} of "
        f"{len(settings.regions)} watched Regions: elsewhere no instance event reaches the guardrail",
        *problems,
    )


def _trails_in(reader: CentralReader, region: str, trails: dict[str, Trail]) -> None:
    """Add the trails CloudTrail applies in `region`, each read once (status and selectors)."""
    for described in _read(lambda: reader.trails(region), "cloudtrail:DescribeTrails"):
        arn = str(described["TrailARN"])
        if arn not in trails:
            status = _read(partial(reader.trail_status, arn), "cloudtrail:GetTrailStatus")
            selectors = _read(partial(reader.event_selectors, arn), "cloudtrail:GetEventSelectors")
            trails[arn] = Trail.of(described, status, selectors)


def _trail_problems(t: Trail) -> list[Problem]:
    where_ = f"with credentials of {t.owner}, the account that owns it, in {t.home_region}"
    problems = []
    if not t.logging:
        problems.append(
            Problem(
                f"{t.describe()} is not logging",
                f"{where_}: aws cloudtrail start-logging --name {t.arn} --region {t.home_region}",
            )
        )
    if t.unrecorded:
        problems.append(
            Problem(
                f"{t.describe()}: its event selectors leave out {', '.join(t.unrecorded)} (write "
                "management events of sso.amazonaws.com)",
                f"{where_}: add a selector that records management events, e.g. aws cloudtrail "
                f"put-event-selectors --trail-name {t.arn} --region {t.home_region} "
                '--advanced-event-selectors \'[{"Name": "Management events", "FieldSelectors": '
                '[{"Field": "eventCategory", "Equals": ["Management"]}]}]\' (it replaces every '
                "selector: keep the data event selectors the trail has)",
            )
        )
    return problems


# -- member accounts ------------------------------------------------------------------------------------


def member_accounts(sessions: Sessions) -> list[str]:
    """The accounts the sweep reads (every ACTIVE account but the management account), listed by
    the sweep's own planner, so with the reads the Organizations reader role allows it."""
    return list(plan(sessions, None).to_sweep)


def coverage_of(
    sessions: Sessions, accounts: Sequence[str], settings: DoctorSettings
) -> dict[str, AccountCoverage]:
    """Each account's coverage, read as the sweep worker reads it: accounts and reads concurrently."""
    with ThreadPoolExecutor(max_workers=32, thread_name_prefix="aws") as calls:

        def submit[V](work: Callable[[], V]) -> Future[V]:
            return calls.submit(work)

        checker = CoverageChecker(settings.forwarding, settings.regions, submit)

        def one(account_id: str) -> AccountCoverage:
            deadline = Deadline(ACCOUNT_DEADLINE_SECONDS)
            try:
                clients = deadline.result(submit(lambda: sessions.member(account_id)))
            except Missing as gap:
                return unassumable(account_id, gap.reason)
            return checker.start(account_id, clients, deadline).result()

        with ThreadPoolExecutor(max_workers=CONCURRENT_ACCOUNTS, thread_name_prefix="account") as pool:
            return dict(zip(accounts, pool.map(one, accounts), strict=True))


_FORWARDING_RULE = (
    BlindSpotKind.RULE_MISSING,
    BlindSpotKind.RULE_DISABLED,
    BlindSpotKind.RULE_NOT_TARGETING_CENTRAL_BUS,
)
_DEAD_LETTERS = (BlindSpotKind.EVENTS_UNDELIVERED, BlindSpotKind.DEAD_LETTER_QUEUE_MISSING)


def member_checks(coverage: dict[str, AccountCoverage], settings: DoctorSettings) -> list[Check]:
    names = settings.forwarding
    spots = [s for c in coverage.values() for s in c.blind_spots]
    assumed = sum(c.assumed for c in coverage.values())
    regions = sum(len(c.checked) for c in coverage.values())

    def of(kinds: Sequence[BlindSpotKind]) -> tuple[Problem, ...]:
        return tuple(Problem(f"{where(s)}: {s.detail}", s.fix) for s in spots if s.kind in kinds)

    def check(name: str, kinds: Sequence[BlindSpotKind], healthy: str, out_of: str) -> Check:
        problems = of(kinds)
        if not problems:
            return ok(name, healthy)
        places = len({where(s) for s in spots if s.kind in kinds})
        return wrong(name, f"wrong in {places} of {out_of}", *problems)

    unread = [u for c in coverage.values() for u in c.unchecked]
    reads = ok(
        "coverage reads", f"every watched Region the accounts enabled was read ({regions} account-Regions)"
    )
    if unread:
        reads = wrong(
            "coverage reads",
            f"{len(unread)} reads failed: those Regions are neither healthy nor blind, unknown",
            *(
                Problem(
                    f"{where(u)}: {u.reason}", f"allow the member role (or --member-role) {MEMBER_ACTIONS}"
                )
                for u in unread
            ),
        )
    return [
        check(
            "member roles",
            (BlindSpotKind.ROLE_NOT_ASSUMABLE,),
            f"assumable in all {assumed} accounts",
            f"{len(coverage)} accounts",
        ),
        check(
            "forwarding rules",
            _FORWARDING_RULE,
            f"present, enabled and targeting {names.central_bus_arn} in {regions} account-Regions",
            f"{regions} account-Regions read",
        ),
        check(
            "forwarding dead-letter queues",
            _DEAD_LETTERS,
            f"present and empty in {regions} account-Regions",
            f"{regions} account-Regions read",
        ),
        reads,
    ]


# -- the test event --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendTestEvent:
    """`--send-test-event`: how long to wait for the function's record of the event, how often to
    look; `sleep` and `monotonic` are the clock's (tests hand in their own)."""

    timeout_seconds: float = 120.0
    poll_seconds: float = 2.0
    sleep: Callable[[float], object] = time.sleep
    monotonic: Callable[[], float] = time.monotonic


def _identity(caller_arn: str | None, account_id: str) -> dict[str, str]:
    """CloudTrail's `userIdentity` of the caller, from its ARN (as STS GetCallerIdentity gives it)."""
    if caller_arn is None:
        return {"type": "Unknown", "accountId": account_id}
    kind = (
        "AssumedRole"
        if ":assumed-role/" in caller_arn
        else "Root"
        if caller_arn.endswith(":root")
        else "IAMUser"
        if ":user/" in caller_arn
        else "Unknown"
    )
    return {"type": kind, "arn": caller_arn, "accountId": account_id}


def synthetic_entry(
    settings: DoctorSettings, event_id: str, now: datetime, caller_arn: str | None
) -> dict[str, Any]:
    """The PutEvents entry of the test event: a CloudTrail record of a CreateInstance of the
    synthetic instance, in the central account and Region (EventBridge sets the envelope's account
    and Region to the caller's and the bus's, which the function holds the record to), under the
    test source. The function keys its record on `eventID`."""
    when = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    detail = {
        "eventVersion": "1.11",
        "userIdentity": _identity(caller_arn, settings.central_account_id),
        "eventTime": when,
        "eventSource": EVENT_SOURCE,
        "eventName": "CreateInstance",
        "awsRegion": settings.central_region,
        "sourceIPAddress": "guardrail-doctor",
        "userAgent": "identity-center-guardrail doctor --send-test-event",
        "requestParameters": {"name": "guardrail-doctor-test", "clientToken": event_id},
        "responseElements": {"instanceArn": f"arn:{settings.partition}:sso:::instance/{TEST_INSTANCE_ID}"},
        "requestID": event_id,
        "eventID": event_id,
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": settings.central_account_id,
        "eventCategory": "Management",
    }
    return {
        "Time": now,
        "Source": TEST_SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(detail),
        "EventBusName": settings.central_bus_arn,
    }


def send_test_event(
    reader: CentralReader,
    settings: DoctorSettings,
    found: _Central,
    send: SendTestEvent,
    now: datetime,
    caller_arn: str | None = None,
) -> Check:
    """Put the test event on the central bus and wait, at most `send.timeout_seconds`, until the
    detect function's claim on it in its idempotency table says COMPLETED: the function received
    it, judged it and every channel took the alert (a channel that refuses fails the invocation,
    and the claim is released for the retry). The claim is read consistently, keyed by the event id
    the doctor chose, and holds the verdict and subject the function published."""
    name = "test event"
    if found.environment is None or found.function_arn is None:
        return wrong(name, "not sent: the detect function was not found", Problem("see above", REDEPLOY))
    table = found.environment.get("IDEMPOTENCY_TABLE_NAME")
    if not table:
        return wrong(
            name, "not sent: the detect function names no idempotency table", Problem("see above", REDEPLOY)
        )
    event_id = str(uuid.uuid4())
    put = f"events:PutEvents on the central bus {settings.central_bus_arn}"
    try:
        result = _read(lambda: reader.put_event(synthetic_entry(settings, event_id, now, caller_arn)), put)
    except CannotRead as error:
        return _unreadable(name, error, put)
    if result.get("ErrorCode"):
        refusal = f"PutEvents refused the test event: {result['ErrorCode']}: {result.get('ErrorMessage', '')}"
        return wrong(name, refusal, Problem(refusal, f"allow the caller {put}"))
    started = send.monotonic()
    claim: Claim | None = None
    while True:
        try:
            claim = _read(lambda: reader.claim(table, event_id), "dynamodb:GetItem")
        except CannotRead as error:
            return _unreadable(name, error, f"dynamodb:GetItem on the idempotency table {table}")
        waited = send.monotonic() - started
        if (claim is not None and claim.status == "COMPLETED") or waited >= send.timeout_seconds:
            break
        send.sleep(min(send.poll_seconds, send.timeout_seconds - waited))
    logs = f"aws logs filter-log-events --log-group-name {found.log_group} --filter-pattern '\"{event_id}\"'"
    if claim is not None and claim.status == "COMPLETED":
        summary = claim.summary
        return ok(
            name,
            f"{event_id} reached the detect function, judged {summary.get('verdict')} and alerted on every "
            f"channel in {waited:.1f} s: {summary.get('subject')}",
        )
    if claim is not None:
        return wrong(
            name,
            f"the detect function took {event_id} but had not finished with it after {send.timeout_seconds:g} s "
            f"({claim.status})",
            Problem(
                "the invocation is still running, or was cut off (a timeout leaves the claim until it expires)",
                f"read the function's log: {logs}",
            ),
        )
    return wrong(
        name,
        f"no record of {event_id} after {send.timeout_seconds:g} s: the event did not reach the detect "
        "function, or the function failed on it",
        Problem(
            f"the detect function has no record of the test event {event_id}",
            "see the central rules and detect function checks above; a failed invocation is retried "
            "twice, then parked in the dead-letter queue; the function's log says why: "
            f"{logs}",
        ),
    )


# -- the command ----------------------------------------------------------------------------------------


def diagnose(
    clients: AwsClients,
    settings: DoctorSettings,
    *,
    now: datetime | None = None,
    send: SendTestEvent | None = None,
) -> list[Check]:
    """Every check, central first, then the test event if `send`; `clients` hold the caller's
    credentials; `now` is when the doctor looks (the last sweep's age)."""
    now = now or datetime.now(UTC)
    central = (
        clients.assume(settings.central_role_arn, SESSION_NAME) if settings.central_role_arn else clients
    )
    reader = CentralReader(central, settings.central_region)
    found = _Central()
    checks = central_checks(reader, settings, now, found) + _member_checks(clients, settings)
    if send is not None:
        caller = _caller(central, settings.central_region)
        checks.append(send_test_event(reader, settings, found, send, now, caller))
    return checks


def _caller(clients: AwsClients, region: str) -> str | None:
    """Who runs the doctor, for the test event's record; None when STS does not say."""
    try:
        return str(clients.client("sts", region).get_caller_identity()["Arn"])
    except (ClientError, BotoCoreError):
        return None


def _member_checks(clients: AwsClients, settings: DoctorSettings) -> list[Check]:
    sessions = Sessions(
        clients,
        member_role_name=settings.member_role_name,
        organizations_role_arn=settings.organizations_role_arn,
        partition=settings.partition,
    )
    try:
        accounts = _read(lambda: member_accounts(sessions), "organizations reads")
    except CannotRead as error:
        return [
            _unreadable(
                "member accounts",
                error,
                "to assume the Organizations reader role (--organizations-role), or the sweep planner's "
                "Organizations reads",
            ),
        ]
    return member_checks(coverage_of(sessions, accounts, settings), settings)


def render(checks: Sequence[Check]) -> str:
    """One line per check, `ok` or `WRONG`; under each wrong one, what is wrong and its fix."""
    lines = []
    for check in checks:
        lines.append(f"{'ok   ' if check.ok else 'WRONG'}  {check.name}: {check.detail}")
        for problem in check.problems:
            lines += [f"         {problem.what}", f"           fix: {problem.fix}"]
    wrong_ = sum(not c.ok for c in checks)
    lines.append("")
    lines.append("all ok" if not wrong_ else f"{wrong_} of {len(checks)} checks WRONG")
    return "\n".join(lines)


def document(checks: Sequence[Check]) -> dict[str, Any]:
    return {"ok": all(c.ok for c in checks), "checks": [c.as_dict() for c in checks]}
