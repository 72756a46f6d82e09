"""Fixtures for the infrastructure tests: each app variant is synthesized once per session."""

from __future__ import annotations

import pytest

from tests.infra.support import (
    APPROVED_ACCOUNT,
    CUSTOM_PLANNER_ROLE_NAME,
    CUSTOM_WORKER_ROLE_NAME,
    EXAMPLE_CONFIG,
    EXAMPLE_POLICY,
    SANDBOX_OU,
    VARIANT_DEPLOYMENT_ROLE_PATTERNS,
    VARIANT_REPORTS_READERS,
    VARIANT_RESERVED_CONCURRENCY,
    VARIANT_SWEEP,
    WORKLOADS_OU,
    Synthesized,
    example_config_data,
    example_policy_data,
    synthesize,
    write_yaml,
)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The example configuration, synthesized as `npx cdk synth` would."""
    return synthesize(EXAMPLE_CONFIG, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def synthesized_delegated_admin(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The example without an Organizations role: the central account is a delegated administrator.

    Without the role there is no way to read the organization instance, so none is configured. The
    sweep's roles have names of their own here (`CUSTOM_PLANNER_ROLE_NAME`, `CUSTOM_WORKER_ROLE_NAME`).
    """
    folder = tmp_path_factory.mktemp("delegated-admin")
    config = example_config_data()
    del config["organizations_role_arn"]
    del config["organization_instance_region"]
    config["sweep_planner_role_name"] = CUSTOM_PLANNER_ROLE_NAME
    config["sweep_worker_role_name"] = CUSTOM_WORKER_ROLE_NAME
    config["guard"] = {"central_account": True}
    config["policy_file"] = str(EXAMPLE_POLICY)
    return synthesize(write_yaml(folder / "guardrail.yaml", config), folder / "cdk.out")


@pytest.fixture(scope="session")
def synthesized_variant(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Every organization-wide option the other way round from the example.

    StackSets created by the management account itself (SELF) and targeting two OUs, remediation
    on, and the SCP on, attached to the root, for a policy that approves one account by id (plus
    the example's running exemption of 555555555555). Only the Regions the policy allows are
    watched, which `cdk synth` warns about. The sweep is configured in every setting
    (`VARIANT_SWEEP`), its schedule off. Both optional alert channels, chat and Security Hub CSPM,
    are on. The detect function reserves 25 concurrent executions, and one administrator role pattern
    may read the reports (`VARIANT_REPORTS_READERS`). The protection SCP guards both
    the central account (its deployment role named by two patterns) and the member accounts.
    """
    folder = tmp_path_factory.mktemp("variant")
    policy = example_policy_data()
    policy["approved"] = {"accounts": [APPROVED_ACCOUNT], "organizational_units": []}
    config = example_config_data()
    config.update(
        policy_file=str(write_yaml(folder / "policy.yaml", policy)),
        stackset_call_as="SELF",
        stackset_targets=[SANDBOX_OU, WORKLOADS_OU],
        remediation_enabled=True,
        scp={"enabled": True, "targets": ["r-ab12"]},
        regions=list(policy["allowed_regions"]),
        sweep=VARIANT_SWEEP,
        chat={"enabled": True},
        security_hub={"enabled": True},
        detect_reserved_concurrency=VARIANT_RESERVED_CONCURRENCY,
        reports_readers=list(VARIANT_REPORTS_READERS),
        guard={
            "central_account": True,
            "member_accounts": True,
            "deployment_role_patterns": list(VARIANT_DEPLOYMENT_ROLE_PATTERNS),
        },
    )
    return synthesize(write_yaml(folder / "guardrail.yaml", config), folder / "cdk.out")
