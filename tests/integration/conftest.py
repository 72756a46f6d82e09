"""The handler against the emulated organization: real boto3 calls, moto, the Identity Center model."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from emulator.environment import EmulatedEnvironment
from emulator.function_environment import handler_environment
from guardrail.core.policy import Policy, policy_data
from guardrail.core.policy_file import load_policy
from guardrail.handlers import detect
from guardrail_cli.replay import LambdaContextStub
from tests.builders import NOW

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "policy" / "policy.yaml"


@pytest.fixture
def policy() -> Policy:
    return load_policy(EXAMPLE_POLICY)


@pytest.fixture
def env(tmp_path: Path, policy: Policy) -> Iterator[EmulatedEnvironment]:
    """The emulated world with the function's environment pointed at it."""
    with EmulatedEnvironment() as world:
        policy_path = tmp_path / "policy.json"
        policy_path.write_text(json.dumps(policy_data(policy)))
        with mock.patch.dict(os.environ, handler_environment(world, policy_path)):
            detect.runtime.cache_clear()
            yield world
            detect.runtime.cache_clear()


@pytest.fixture
def runtime(env: EmulatedEnvironment) -> detect.Runtime:
    """The runtime the handler builds, with the clock fixed so that trial dates do not age."""
    built = detect.build_runtime(clock=lambda: NOW)
    built.once.register(LambdaContextStub())  # type: ignore[arg-type]
    return built
