"""The enforcing world the enforcement tests share: the emulated organization, the detect
function's runtime on a clock the test moves, and Scheduler's part (firing what is due)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from msgspec.structs import replace

from emulator.environment import SANDBOX_INSTANCE_ARN, EmulatedEnvironment
from emulator.function_environment import handler_environment
from emulator.organization import administrator_client
from emulator.scheduler import due_schedules, schedules
from guardrail.core.policy import Enforcement, Mode, Policy, RuleSettings, policy_data
from guardrail.handlers import detect
from guardrail.pipeline.patterns import INSTANCE_EVENT_PATTERN, matches
from guardrail_cli.emulated import LambdaContextStub
from tests.builders import NOW, SANDBOX, sample, tag_event

GRACE = timedelta(hours=24)
DUE = NOW + GRACE


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


def enforcing(policy: Policy) -> Policy:
    """Enforcing after a grace period of 24 hours: unapproved accounts and unjustified instances."""
    rules = {
        **policy.rules,
        "account-not-approved": RuleSettings(action="remediate"),
        "missing-justification": RuleSettings(action="remediate"),
    }
    return replace(policy, mode=Mode.ENFORCE, rules=rules, enforcement=Enforcement(grace_period_hours=24))


class World:
    """The emulated organization, the detect function's runtime on a clock the test moves, and
    Scheduler's part: firing the schedules that are due."""

    def __init__(self, env: EmulatedEnvironment, policy: Policy, policy_path: Path) -> None:
        self.env = env
        self.clock = Clock()
        self._policy_path = policy_path
        self.deploy(policy)

    def deploy(self, policy: Policy) -> None:
        """Ship a policy and start a fresh function with it, as a deployment does."""
        self._policy_path.write_text(json.dumps(policy_data(policy)))
        self.runtime = detect.build_runtime(clock=self.clock, sleep=lambda seconds: None)
        self.runtime.once.register(LambdaContextStub())  # type: ignore[arg-type]

    def deliver(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """What the rules deliver, the function handles; None for what they do not deliver."""
        if not matches(INSTANCE_EVENT_PATTERN, event):
            return None
        return detect.process(event, self.runtime)

    def deliver_as_lambda(self, event: dict[str, Any], attempts: int = 3) -> dict[str, Any] | None:
        """An asynchronous invocation: a failed attempt is retried (twice, as Lambda does)."""
        for attempt in range(attempts):
            try:
                return self.deliver(event)
            except Exception:
                if attempt == attempts - 1:
                    raise
        return None

    def fire_due(self) -> list[dict[str, Any]]:
        """Scheduler at the clock's time: each due schedule invokes the function with its input."""
        due = due_schedules(self.env.scheduler_client(), self.env.deletion_schedule_group, self.clock())
        return [detect.process(schedule.input, self.runtime) for schedule in due]

    def pending(self) -> list[str]:
        """The instances whose deletion is scheduled."""
        found = schedules(self.env.scheduler_client(), self.env.deletion_schedule_group)
        return [s.input["instance_arn"] for s in found]

    def alerts(self) -> list[dict[str, Any]]:
        return [alert["body"] for alert in self.env.received_alerts()]

    def instances(self, account_id: str) -> list[str]:
        return [i.instance_arn for i in self.env.identity_center.instances(account_id)]

    def deletions(self) -> int:
        return len([c for c in self.env.identity_center.calls if c.operation == "DeleteInstance"])


@contextmanager
def enforcing_world(tmp_path: Path, policy: Policy) -> Iterator[World]:
    with EmulatedEnvironment() as env:
        policy_path = tmp_path / "policy.json"
        policy_path.write_text(json.dumps(policy_data(policy)))
        with mock.patch.dict(os.environ, handler_environment(env, policy_path)):
            detect.runtime.cache_clear()
            yield World(env, policy, policy_path)
            detect.runtime.cache_clear()


def untag_owner(world: World) -> dict[str, Any]:
    """The sandbox instance's owner tag removed, and the CloudTrail event of it."""
    administrator_client(SANDBOX, "sso-admin", region="us-east-1").untag_resource(
        InstanceArn=SANDBOX_INSTANCE_ARN, ResourceArn=SANDBOX_INSTANCE_ARN, TagKeys=["owner"]
    )
    return tag_event("UntagResource", SANDBOX_INSTANCE_ARN, tag_keys=("owner",))


def tag_owner(world: World, owner: str = "bob@example.com") -> dict[str, Any]:
    administrator_client(SANDBOX, "sso-admin", region="us-east-1").tag_resource(
        InstanceArn=SANDBOX_INSTANCE_ARN,
        ResourceArn=SANDBOX_INSTANCE_ARN,
        Tags=[{"Key": "owner", "Value": owner}],
    )
    return tag_event("TagResource", SANDBOX_INSTANCE_ARN, tags={"owner": owner})


def unapproved_instances(world: World, count: int) -> list[dict[str, Any]]:
    """``count`` new accounts in an unapproved OU, each with an instance, and their creation events."""
    events = []
    for account in world.env.add_member_accounts(count, ou_path="Workloads/Prod"):
        arn = world.env.identity_center.seed_instance(account, "eu-west-1", name=f"team-{account[-3:]}")
        event = sample("create-instance-console-success")
        event["account"] = event["detail"]["recipientAccountId"] = account
        event["detail"]["userIdentity"]["accountId"] = account
        event["detail"]["eventID"] = f"create-{account}"
        event["detail"]["responseElements"]["instanceArn"] = arn
        events.append(event)
    return events
