"""`guardrail doctor`: is the deployed guardrail able to see, and to say, what it should? Read-only.

A guardrail fails silently: no alert looks the same as nothing to report. The doctor reads, with
the caller's credentials, the pieces every alert depends on and says for each one `ok` or `WRONG`
with how to fix it:

- in the central account: the central stack (DescribeStacks: its status and outputs;
  ListStackResources: the names CloudFormation generated for its rules and alarms), the detect
  function (Active), the stack's rules (there, enabled, the guardrail's pattern, targeting the
  function), the alert topic (a confirmed subscription), the stack's alarms (all there, none in
  ALARM), the dead-letter queue (empty);
- in every active member account, through the member role as `guardrail sweep` reads them: the
  sweep's coverage check (`guardrail.sweep.coverage`), in every watched Region the account has
  enabled.

The central reads need credentials of the central account (or `--central-role`), the member reads
a role in each account (`--member-role`; the deployed member role trusts only the guardrail's
functions).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from guardrail.adapters.central import CentralReader, Stack, StackResource
from guardrail.adapters.clients import AwsClients
from guardrail.gather.deadline import Deadline, Missing, reason
from guardrail.gather.sessions import SESSION_NAME, Sessions
from guardrail.patterns import INSTANCE_EVENT_PATTERN
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

# As infra/application.py and infra/constructs/event_forwarding.py name them (the CLI does not load
# the CDK to read them); tests/unit/test_doctor.py holds them to the infra's.
CENTRAL_STACK_NAME = "IdentityCenterGuardrailCentral"
FORWARDING_RULE_NAME = "IdentityCenterGuardrail-ForwardInstanceEvents"
FORWARDING_DEAD_LETTER_QUEUE_NAME = "IdentityCenterGuardrail-ForwardingDeadLetters"
# The detect function's fixed name, which it has when pending deletions are deployed.
FIXED_DETECT_FUNCTION_NAME = "IdentityCenterGuardrail-Detect"
ALARM = "AWS::CloudWatch::Alarm"
RULE = "AWS::Events::Rule"
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
    outputs: dict[str, str] = field(default_factory=dict)
    resources: list[StackResource] = field(default_factory=list)

    def declared(self, resource_type: str) -> list[str]:
        return [r.physical_id for r in self.resources if r.type == resource_type and r.physical_id]


def central_checks(reader: CentralReader, settings: DoctorSettings) -> list[Check]:
    found = _Central()
    checks = [_stack(reader, settings, found), _function(reader, settings, found)]
    checks += [_rules(reader, settings, found), _subscriptions(reader, found)]
    return [*checks, *_alarms(reader, settings, found), _dead_letters(reader, found)]


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
    if json.loads(str(rule.get("EventPattern") or "null")) != INSTANCE_EVENT_PATTERN:
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
                clients = deadline.result("member_role", submit(lambda: sessions.member(account_id)))
            except Missing as gap:
                return unassumable(account_id, gap.fact.reason)
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


# -- the command ----------------------------------------------------------------------------------------


def diagnose(clients: AwsClients, settings: DoctorSettings) -> list[Check]:
    """Every check, central first; `clients` hold the caller's credentials."""
    central = (
        clients.assume(settings.central_role_arn, SESSION_NAME) if settings.central_role_arn else clients
    )
    checks = central_checks(CentralReader(central, settings.central_region), settings)
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
            *checks,
            _unreadable(
                "member accounts",
                error,
                "to assume the Organizations reader role (--organizations-role), or the sweep planner's "
                "Organizations reads",
            ),
        ]
    return checks + member_checks(coverage_of(sessions, accounts, settings), settings)


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
