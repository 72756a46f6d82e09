"""`second-instance` set to remediate, where ListInstances shows the organization instance without
an owner (older responses omit `OwnerAccountId`): a compliant instance must never be deleted."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from msgspec.structs import replace

from emulator.environment import SANDBOX_INSTANCE_ARN, EmulatedEnvironment
from emulator.function_environment import handler_environment
from emulator.organization import SANDBOX_ACCOUNT_ID
from guardrail.core.policy import Mode, Policy, RuleSettings, policy_data
from guardrail.handlers import detect
from guardrail_cli.replay import LambdaContextStub
from tests.builders import NOW, sample


@pytest.fixture
def enforcing(policy: Policy) -> Policy:
    rules = {**policy.rules, "second-instance": RuleSettings(action="remediate")}
    return replace(policy, mode=Mode.ENFORCE, rules=rules)


def run(tmp_path: Path, policy: Policy, **handler_overrides: str) -> Iterator[EmulatedEnvironment]:
    with EmulatedEnvironment(organization_instance_visible_to_members=True, owner_in_listings=False) as world:
        policy_path = tmp_path / "policy.json"
        policy_path.write_text(json.dumps(policy_data(policy)))
        environment = {**handler_environment(world, policy_path), **handler_overrides}
        with mock.patch.dict(os.environ, environment):
            detect.runtime.cache_clear()
            yield world
            detect.runtime.cache_clear()


def replay_trial(world: EmulatedEnvironment) -> dict[str, Any]:
    runtime = detect.build_runtime(clock=lambda: NOW)
    runtime.once.register(LambdaContextStub())  # type: ignore[arg-type]
    detect.process(sample("create-instance-cli-trial-tagged"), runtime)
    alerts = world.received_alerts()
    assert len(alerts) == 1
    body: dict[str, Any] = alerts[0]["body"]
    return body


def sandbox_instances(world: EmulatedEnvironment) -> list[str]:
    return [i.instance_arn for i in world.identity_center.instances(SANDBOX_ACCOUNT_ID)]


def test_the_organization_instance_listed_without_an_owner_is_not_a_second_instance(
    tmp_path: Path, enforcing: Policy
) -> None:
    for world in run(tmp_path, enforcing):
        body = replay_trial(world)
        assert body["verdict"] == "compliant", body["findings"]
        assert body["action"] == "none"
        assert sandbox_instances(world) == [SANDBOX_INSTANCE_ARN]


def test_without_the_organization_instances_an_unowned_instance_leaves_the_rule_undetermined(
    tmp_path: Path, enforcing: Policy
) -> None:
    # No organization instance Region configured: the organization instances are not known.
    for world in run(tmp_path, enforcing, ORGANIZATION_INSTANCE_REGION=""):
        body = replay_trial(world)
        assert body["verdict"] == "incomplete"
        assert {"rule": "second-instance", "missing_fact": "organization_instances"} in body["undetermined"]
        assert body["action"] == "alert"
        assert sandbox_instances(world) == [SANDBOX_INSTANCE_ARN]
