"""Fixtures for the infrastructure tests: each app variant is synthesized once per session."""

from __future__ import annotations

import pytest

from tests.infra.support import (
    EXAMPLE_CONFIG,
    EXAMPLE_POLICY,
    Synthesized,
    example_config_data,
    synthesize,
    write_yaml,
)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The example configuration, synthesized as `npx cdk synth` would."""
    return synthesize(EXAMPLE_CONFIG, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def synthesized_delegated_admin(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The example without an Organizations role: the central account is a delegated administrator."""
    folder = tmp_path_factory.mktemp("delegated-admin")
    config = example_config_data()
    del config["organizations_role_arn"]
    config["policy_file"] = str(EXAMPLE_POLICY)
    return synthesize(write_yaml(folder / "guardrail.yaml", config), folder / "cdk.out")
