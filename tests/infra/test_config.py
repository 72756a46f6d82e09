"""A bad configuration or policy stops synth with a message naming the field."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from guardrail.core.policy_file import PolicyError
from guardrail.core.regions import REGIONS_ENABLED_BY_DEFAULT
from infra import config as config_module
from infra.application import CONFIG_CONTEXT_KEY, build_app
from infra.bundling import PROJECT_ROOT
from infra.config import (
    MAX_SWEEP_BATCH_SIZE,
    ChatConfig,
    ConfigError,
    GuardConfig,
    SecurityHubConfig,
    SweepConfig,
    known_regions,
    load_config,
    parse_config,
    project_root,
)
from tests.infra.support import EXAMPLE_CONFIG, EXAMPLE_POLICY, cdk_context, example_config_data, write_yaml


def _config_file(folder: Path, **changes: Any) -> Path:
    data = example_config_data()
    data["policy_file"] = str(EXAMPLE_POLICY)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return write_yaml(folder / "guardrail.yaml", data)


def test_example_configuration_is_valid() -> None:
    config = load_config(EXAMPLE_CONFIG)
    assert config.organization_id == "o-exampleorg1"
    assert config.policy_file == EXAMPLE_POLICY.resolve()
    assert config.load_policy().mode == "dry-run"


def test_example_configuration_watches_every_identity_center_region() -> None:
    """Opt-in Regions included: an instance is seen only in a watched Region."""
    config = load_config(EXAMPLE_CONFIG)
    assert config.regions == known_regions("sso")
    assert "ap-east-1" in config.regions
    assert not set(config.regions) <= set(config.load_policy().allowed_regions or ())


def test_relative_policy_file_is_taken_from_the_project_root() -> None:
    assert project_root(EXAMPLE_CONFIG) == PROJECT_ROOT


def test_relative_policy_file_outside_a_project_is_taken_from_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(EXAMPLE_POLICY.read_text(encoding="utf-8"), encoding="utf-8")
    config = load_config(_config_file(tmp_path, policy_file="policy.yaml"))
    assert config.policy_file == (tmp_path / "policy.yaml").resolve()


def test_defaults(tmp_path: Path) -> None:
    config = load_config(
        _config_file(
            tmp_path,
            regions=None,
            management_enabled_regions=None,
            member_role_name=None,
            central_bus_name=None,
            organizations_role_arn=None,
            organization_instance_region=None,
            detect_role_name=None,
            forwarding_role_name=None,
            sweep_planner_role_name=None,
            sweep_worker_role_name=None,
            sweep=None,
            stackset_targets=None,
            stackset_call_as=None,
            remediation_enabled=None,
            detect_reserved_concurrency=None,
            scp=None,
            guard=None,
            chat=None,
            security_hub=None,
        )
    )
    assert config.regions == known_regions("sso")
    assert "us-east-1" in config.regions
    assert len(config.regions) > 20
    assert config.management_enabled_regions is None
    # Without an organization instance: the Regions every account has (the central one among them).
    assert set(config.management_account_regions) == REGIONS_ENABLED_BY_DEFAULT
    assert set(config.management_forwarding_regions) == REGIONS_ENABLED_BY_DEFAULT
    assert config.member_role_name == "IdentityCenterGuardrailMemberRole"
    assert config.central_bus_name == "identity-center-guardrail"
    assert config.organizations_role_arn is None
    assert config.organization_instance_region is None
    assert config.detect_role_name == "IdentityCenterGuardrailDetectFunction"
    assert config.forwarding_role_name == "IdentityCenterGuardrailEventForwarder"
    assert config.stackset_targets == ()
    assert config.deployment_targets == ("r-ab12",)  # the whole organization
    assert config.stackset_call_as == "DELEGATED_ADMIN"
    assert config.remediation_enabled is False
    assert config.scp.enabled is False
    # None reserved: a reservation can fail the deployment in an account whose quota is still low.
    assert config.detect_reserved_concurrency is None
    assert config.deleter_role_name == "IdentityCenterGuardrailDeleterRole"
    assert config.reports_readers == ()
    assert config.guard == GuardConfig(
        central_account=False,
        member_accounts=False,
        deployment_role_patterns=("cdk-*-cfn-exec-role-*",),
        stackset_execution_role_patterns=("stacksets-exec-*",),
    )
    assert config.sweep_planner_role_name == "IdentityCenterGuardrailSweepPlanner"
    assert config.sweep_worker_role_name == "IdentityCenterGuardrailSweepWorker"
    assert config.sweep == SweepConfig(
        enabled=True,
        schedule="cron(0 6 * * ? *)",
        time_zone="UTC",
        reminder_days=7,
        ending_within_days=14,
        batch_size=25,
        max_concurrency=40,
        tolerated_failure_percentage=10,
        report_retention_days=90,
    )
    # The alert topic alone: chat and Security Hub CSPM are off.
    assert config.chat == ChatConfig(enabled=False)
    assert config.security_hub == SecurityHubConfig(enabled=False)


def test_example_configuration_documents_the_sweeps_defaults() -> None:
    """config/guardrail.yaml shows the sweep section commented out, with exactly the defaults."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    block = text[text.index("# sweep:") :]
    lines = [
        line.removeprefix("#").split("#")[0].rstrip() for line in block.splitlines() if line.startswith("#")
    ]
    documented = yaml.safe_load("\n".join(lines))
    assert SweepConfig(**documented["sweep"]) == SweepConfig()
    assert "# sweep_planner_role_name: IdentityCenterGuardrailSweepPlanner" in text
    assert "# sweep_worker_role_name: IdentityCenterGuardrailSweepWorker" in text


def test_example_configuration_documents_the_channels_off() -> None:
    """config/guardrail.yaml shows the chat and security_hub sections commented out, at their defaults."""
    config = load_config(EXAMPLE_CONFIG)
    assert config.chat == ChatConfig()
    assert config.security_hub == SecurityHubConfig()
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    block = text[text.index("# chat:") : text.index("# --- Sweep")]
    lines = [
        line.removeprefix("#").split("#")[0].rstrip()
        for line in block.splitlines()
        if line.startswith("#   ") or line in ("# chat:", "# security_hub:")
    ]
    documented = yaml.safe_load("\n".join(lines))
    assert ChatConfig(**documented["chat"]) == ChatConfig()
    assert SecurityHubConfig(**documented["security_hub"]) == SecurityHubConfig()


def test_channels_can_be_switched_on(tmp_path: Path) -> None:
    config = load_config(_config_file(tmp_path, chat={"enabled": True}, security_hub={"enabled": True}))
    assert config.chat.enabled is True
    assert config.security_hub.enabled is True
    config = load_config(_config_file(tmp_path, chat={"enabled": True}, security_hub={}))
    assert (config.chat.enabled, config.security_hub.enabled) == (True, False)


@pytest.mark.parametrize(
    ("changes", "field"), [({"chat": True}, "chat"), ({"security_hub": "on"}, "security_hub")]
)
def test_a_channel_is_a_section_with_enabled(tmp_path: Path, changes: dict[str, Any], field: str) -> None:
    """A known section of the wrong shape, as in `chat: true`; a section misnamed, as `chat_topic`, is no key."""
    with pytest.raises(ConfigError, match=rf"is invalid: {field}: Expected `object`, got `(bool|str)`"):
        load_config(_config_file(tmp_path, **changes))
    with pytest.raises(ConfigError, match="is invalid: chat_topic: unknown field"):
        load_config(_config_file(tmp_path, chat_topic={"enabled": True}))


def test_security_hub_needs_security_hub_cspm_in_the_central_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore lists Security Hub in every Region with Lambda today; a Region it may lack is refused."""
    real = config_module.known_regions

    def without_security_hub(service: str = "sso") -> tuple[str, ...]:
        return tuple(r for r in real(service) if not (service == "securityhub" and r == "us-east-1"))

    monkeypatch.setattr(config_module, "known_regions", without_security_hub)
    path = _config_file(tmp_path, security_hub={"enabled": True})
    with pytest.raises(
        ConfigError,
        match=r"is invalid: security_hub\.enabled: Security Hub CSPM is not available in central_region "
        r"'us-east-1'",
    ):
        load_config(path)
    assert load_config(_config_file(tmp_path, security_hub={"enabled": False})).security_hub.enabled is False


@pytest.mark.parametrize(
    "sweep",
    [
        {"schedule": "rate(1 day)"},
        {"schedule": "rate(30 minutes)"},
        {"schedule": "at(2027-01-31T06:00:00)"},
        {"schedule": "cron(0 6 ? * MON-FRI *)", "time_zone": "Europe/Paris"},
        {"tolerated_failure_percentage": 0, "batch_size": 1, "max_concurrency": 1},
        {"tolerated_failure_percentage": 100, "batch_size": MAX_SWEEP_BATCH_SIZE, "max_concurrency": 10_000},
        {"enabled": False, "report_retention_days": 1, "reminder_days": 1, "ending_within_days": 0},
    ],
)
def test_sweep_settings_within_their_limits(tmp_path: Path, sweep: dict[str, Any]) -> None:
    config = load_config(_config_file(tmp_path, sweep=sweep))
    for key, value in sweep.items():
        assert getattr(config.sweep, key) == value


def test_largest_batch_fits_the_workers_timeout() -> None:
    """A batch of unresponsive accounts is read 8 at a time, 60 s each, within the 600 s timeout."""
    assert MAX_SWEEP_BATCH_SIZE == 72


def test_example_organization_settings() -> None:
    config = load_config(EXAMPLE_CONFIG)
    assert config.root_id == "r-ab12"
    assert config.deployment_targets == ("r-ab12",)
    assert config.scp.targets == ("r-ab12",)
    assert config.organizations_role == ("/", "IdentityCenterGuardrailOrganizationsReader")


def test_ou_targets_need_no_root_id(tmp_path: Path) -> None:
    config = load_config(_config_file(tmp_path, root_id=None, stackset_targets=["ou-ab12-sandbox1"]))
    assert config.deployment_targets == ("ou-ab12-sandbox1",)


def test_organizations_role_with_a_path(tmp_path: Path) -> None:
    arn = "arn:aws:iam::111111111111:role/security/guardrail/Reader"
    config = load_config(_config_file(tmp_path, organizations_role_arn=arn))
    assert config.organizations_role == ("/security/guardrail/", "Reader")


# --- Regions ---------------------------------------------------------------------------------------


def test_regions_enabled_by_default_are_the_seventeen_launched_before_20_march_2019() -> None:
    """Every one has Identity Center; later Regions, such as Hong Kong (April 2019), are opt-in."""
    assert len(REGIONS_ENABLED_BY_DEFAULT) == 17
    assert set(known_regions("sso")) >= REGIONS_ENABLED_BY_DEFAULT
    assert {"ap-northeast-3", "eu-north-1", "sa-east-1"} <= REGIONS_ENABLED_BY_DEFAULT
    assert not {"ap-east-1", "me-south-1", "af-south-1", "eu-south-1", "il-central-1"} & (
        REGIONS_ENABLED_BY_DEFAULT
    )


def test_management_regions_default_to_those_enabled_by_default_and_those_in_use(tmp_path: Path) -> None:
    """An organization instance in an opt-in Region: the management account has enabled that one."""
    config = load_config(_config_file(tmp_path, regions=None, organization_instance_region="ap-east-1"))
    assert set(config.management_account_regions) == REGIONS_ENABLED_BY_DEFAULT | {"ap-east-1"}
    assert set(config.management_forwarding_regions) == REGIONS_ENABLED_BY_DEFAULT | {"ap-east-1"}
    assert "me-south-1" not in config.management_forwarding_regions  # opt-in, not known to be enabled


def test_management_forwarding_is_in_the_watched_regions_it_has_enabled(tmp_path: Path) -> None:
    """Listed: the watched Regions among them, in the order of `regions`."""
    config = load_config(
        _config_file(
            tmp_path,
            regions=["eu-west-1", "me-south-1", "us-east-1", "ap-east-1"],
            management_enabled_regions=["us-east-1", "ap-east-1", "eu-west-1", "us-west-2"],
        )
    )
    assert config.management_account_regions == ("us-east-1", "ap-east-1", "eu-west-1", "us-west-2")
    assert config.management_forwarding_regions == ("eu-west-1", "us-east-1", "ap-east-1")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"management_account_id": "11111111111"}, "management_account_id"),
        ({"management_account_id": 111111111111}, "management_account_id"),  # unquoted in YAML
        ({"central_account_id": "111111111111"}, "central_account_id"),
        ({"organization_id": "o-short"}, "organization_id"),
        ({"regions": ["us-east-1", "mars-north-1"]}, "regions"),
        ({"regions": ["us-east-1", "us-east-1"]}, "regions"),
        ({"regions": []}, "regions"),
        ({"central_region": "moon-1"}, "central_region"),
        ({"alert_emails": ["not-an-address"]}, "alert_emails[0]"),
        ({"alert_emails": []}, "alert_emails"),
        ({"organizations_role_arn": "arn:aws:iam::333333333333:role/Reader"}, "organizations_role_arn"),
        ({"organizations_role_arn": "not-an-arn"}, "organizations_role_arn"),
        ({"organization_instance_region": "xx-west-9"}, "organization_instance_region"),
        # Its DeleteInstance would never be forwarded.
        ({"regions": ["eu-west-1"]}, "organization_instance_region"),
        # The organization instance can only be read through the role in the management account.
        ({"organizations_role_arn": None}, "organization_instance_region"),
        ({"central_bus_name": "default"}, "central_bus_name"),
        ({"member_role_name": "has space"}, "member_role_name"),
        ({"policy_file": "/nonexistent/policy.yaml"}, "policy_file"),
        ({"policy_file": 42}, "policy_file"),
        ({"policy_file": ""}, "policy_file"),
        ({"policy_file": ["policy.yaml"]}, "policy_file"),
        ({"alert_email": ["typo@example.com"]}, "alert_email"),
        ({"root_id": None}, "root_id"),
        ({"root_id": "r-AB"}, "root_id"),
        ({"stackset_targets": ["ou-bad"]}, "stackset_targets[0]"),
        ({"stackset_targets": ["Sandbox"]}, "stackset_targets[0]"),
        ({"stackset_targets": ["ou-ab12-sandbox1", "ou-ab12-sandbox1"]}, "stackset_targets"),
        ({"stackset_targets": ["ou-cd34-sandbox1"]}, "stackset_targets"),
        ({"stackset_targets": ["r-cd34"]}, "stackset_targets"),
        ({"stackset_call_as": "ADMIN"}, "stackset_call_as"),
        ({"remediation_enabled": "sometimes"}, "remediation_enabled"),
        ({"remediation_enabled": "true"}, "remediation_enabled"),  # no coercion from text
        ({"scp": {"enable": True}}, "scp.enable"),
        ({"scp": {"enabled": True}}, "scp.targets"),
        ({"scp": {"enabled": True, "targets": ["ou-nope"]}}, "scp.targets[0]"),
        ({"scp": {"enabled": True, "targets": ["111111111111"]}}, "scp.targets"),
        ({"scp": {"enabled": True, "targets": ["r-ab12", "r-ab12"]}}, "scp.targets"),
        ({"detect_role_name": "IdentityCenterGuardrailMemberRole"}, "detect_role_name"),
        ({"detect_reserved_concurrency": 0}, "detect_reserved_concurrency"),
        ({"detect_reserved_concurrency": 901}, "detect_reserved_concurrency"),
        ({"detect_reserved_concurrency": "ten"}, "detect_reserved_concurrency"),
        ({"deleter_role_name": "IdentityCenterGuardrailMemberRole"}, "deleter_role_name"),
        ({"deleter_role_name": "bad name"}, "deleter_role_name"),
        ({"reports_readers": ["arn:aws:iam::333333333333:role/Auditor"]}, "reports_readers"),
        ({"reports_readers": ["arn:aws:s3:::bucket"]}, "reports_readers[0]"),
        ({"reports_readers": "arn:aws:iam::222222222222:role/Auditor"}, "reports_readers"),
        ({"guard": {"central_account": "yes"}}, "guard.central_account"),
        ({"guard": {"members": True}}, "guard.members"),
        (
            {"guard": {"stackset_execution_role_patterns": ["has space"]}},
            "guard.stackset_execution_role_patterns[0]",
        ),
        ({"forwarding_role_name": "bad name"}, "forwarding_role_name"),
        ({"sweep_planner_role_name": "bad name"}, "sweep_planner_role_name"),
        ({"sweep_planner_role_name": "IdentityCenterGuardrailDetectFunction"}, "sweep_planner_role_name"),
        ({"sweep_worker_role_name": "IdentityCenterGuardrailMemberRole"}, "sweep_worker_role_name"),
        ({"sweep_worker_role_name": "IdentityCenterGuardrailSweepPlanner"}, "sweep_worker_role_name"),
        ({"sweep": {"enable": True}}, "sweep.enable"),
        ({"sweep": {"enabled": "yes"}}, "sweep.enabled"),
        ({"sweep": "daily"}, "sweep"),
        ({"sweep": {"schedule": "daily at six"}}, "sweep.schedule"),
        ({"sweep": {"schedule": "cron(0 6 * *)"}}, "sweep.schedule"),
        ({"sweep": {"schedule": "rate(1 days)"}}, "sweep.schedule"),
        ({"sweep": {"schedule": "rate(0 hours)"}}, "sweep.schedule"),
        ({"sweep": {"schedule": "at(tomorrow)"}}, "sweep.schedule"),
        ({"sweep": {"time_zone": "Mars/Olympus_Mons"}}, "sweep.time_zone"),
        ({"sweep": {"time_zone": "../../etc/passwd"}}, "sweep.time_zone"),
        ({"sweep": {"reminder_days": 0}}, "sweep.reminder_days"),
        ({"sweep": {"ending_within_days": -1}}, "sweep.ending_within_days"),
        ({"sweep": {"batch_size": 0}}, "sweep.batch_size"),
        ({"sweep": {"batch_size": 73}}, "sweep.batch_size"),
        ({"sweep": {"batch_size": "25"}}, "sweep.batch_size"),
        ({"sweep": {"max_concurrency": 0}}, "sweep.max_concurrency"),
        ({"sweep": {"max_concurrency": 10_001}}, "sweep.max_concurrency"),
        ({"sweep": {"tolerated_failure_percentage": -1}}, "sweep.tolerated_failure_percentage"),
        ({"sweep": {"tolerated_failure_percentage": 101}}, "sweep.tolerated_failure_percentage"),
        ({"sweep": {"tolerated_failure_percentage": 2.5}}, "sweep.tolerated_failure_percentage"),
        ({"sweep": {"tolerated_failure_percentage": True}}, "sweep.tolerated_failure_percentage"),
        ({"sweep": {"report_retention_days": 0}}, "sweep.report_retention_days"),
        ({"chat": {"enabled": "yes"}}, "chat.enabled"),
        ({"chat": {"enabled": 1}}, "chat.enabled"),
        ({"chat": {"topic_arn": "arn:aws:sns:us-east-1:222222222222:chat"}}, "chat.topic_arn"),
        ({"security_hub": {"enabled": "true"}}, "security_hub.enabled"),
        ({"security_hub": {"region": "eu-west-1"}}, "security_hub.region"),
    ],
)
def test_bad_configuration_names_the_field(tmp_path: Path, changes: dict[str, Any], field: str) -> None:
    """The field comes first in the problem, in the notation of `guardrail.core.strict`."""
    with pytest.raises(ConfigError, match=rf"guardrail\.yaml is invalid: {re.escape(field)}: "):
        load_config(_config_file(tmp_path, **changes))


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"management_enabled_regions": ["us-east-1", "mars-north-1"]}, "'mars-north-1' is not a Region"),
        ({"management_enabled_regions": ["us-east-1", "us-east-1"]}, "listed more than once"),
        ({"management_enabled_regions": "us-east-1"}, "Expected `array | null`, got `str`"),
        # The management stack is deployed in the central Region; the organization instance is there.
        (
            {"central_region": "eu-west-1", "management_enabled_regions": ["us-east-1"]},
            "must include central_region 'eu-west-1'",
        ),
        (
            {"organization_instance_region": "eu-west-1", "management_enabled_regions": ["us-east-1"]},
            "must include organization_instance_region 'eu-west-1'",
        ),
    ],
)
def test_management_enabled_regions_must_hold_the_regions_the_account_uses(
    tmp_path: Path, changes: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigError, match=rf"management_enabled_regions: .*{re.escape(problem)}"):
        load_config(_config_file(tmp_path, **changes))


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ({"schedule": "daily"}, "sweep.schedule: 'daily' must start with cron(, rate( or at("),
        ({"schedule": "cron(0 6 * *)"}, "cron(minutes hours day-of-month month day-of-week year)"),
        ({"schedule": "rate(2 day)"}, "the unit is singular for 1 and plural otherwise"),
        ({"time_zone": "Paris"}, "sweep.time_zone: 'Paris' is not an IANA time zone"),
        ({"tolerated_failure_percentage": 150}, "must be a percentage from 0 to 100, got 150"),
        ({"batch_size": 100}, "must be between 1 and 72, got 100: a worker reads 8 accounts at a time"),
        ({"max_concurrency": 20_000}, "sweep.max_concurrency: must be between 1 and 10000"),
    ],
)
def test_bad_sweep_setting_says_what_is_allowed(tmp_path: Path, sweep: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(_config_file(tmp_path, sweep=sweep))


def test_role_names_that_collide_name_both_fields(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError,
        match=r"sweep_worker_role_name: 'IdentityCenterGuardrailMemberRole' is also member_role_name",
    ):
        load_config(_config_file(tmp_path, sweep_worker_role_name="IdentityCenterGuardrailMemberRole"))


def test_unknown_key_is_reported_as_such(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="alert_email: unknown field"):
        load_config(_config_file(tmp_path, alert_email=["typo@example.com"]))
    with pytest.raises(ConfigError, match=r"scp\.enable: unknown field"):
        load_config(_config_file(tmp_path, scp={"enable": True, "targets": ["r-ab12"]}))


def test_missing_key_is_reported_as_such(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is invalid: organization_id: required field missing"):
        load_config(_config_file(tmp_path, organization_id=None))
    with pytest.raises(ConfigError, match="is invalid: policy_file: required field missing"):
        load_config(_config_file(tmp_path, policy_file=None))


def test_policy_file_is_a_path_whether_given_as_text_or_as_a_path() -> None:
    data = example_config_data()
    from_text = parse_config({**data, "policy_file": str(EXAMPLE_POLICY)})
    from_path = parse_config({**data, "policy_file": EXAMPLE_POLICY})
    assert from_text.policy_file == from_path.policy_file == EXAMPLE_POLICY.resolve()
    assert isinstance(from_text.policy_file, Path)
    assert from_text == from_path
    relative = parse_config({**data, "policy_file": "policy/policy.yaml"}, root=PROJECT_ROOT)
    assert relative.policy_file == EXAMPLE_POLICY.resolve()


def test_configuration_is_immutable() -> None:
    config = load_config(EXAMPLE_CONFIG)
    with pytest.raises(AttributeError):
        config.regions = ("us-east-1",)  # type: ignore[misc]


def test_unreadable_or_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(tmp_path / "list.yaml")
    (tmp_path / "broken.yaml").write_text("organization_id: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "broken.yaml")


def _build(config_path: Path) -> None:
    build_app(context=cdk_context(**{CONFIG_CONTEXT_KEY: str(config_path)}), outdir=str(config_path.parent))


def test_bad_configuration_fails_synth(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="management_account_id"):
        _build(_config_file(tmp_path, management_account_id="12345"))


def test_bad_policy_fails_synth_naming_the_policy_field(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        EXAMPLE_POLICY.read_text(encoding="utf-8").replace("max_trial_days: 60", "max_trial_days: 0"),
        encoding="utf-8",
    )
    with pytest.raises(PolicyError, match="max_trial_days"):
        _build(_config_file(tmp_path, policy_file=str(policy)))


def test_unknown_rule_id_in_policy_fails_synth(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        EXAMPLE_POLICY.read_text(encoding="utf-8").replace("  attempt-denied:", "  attempt-refused:"),
        encoding="utf-8",
    )
    with pytest.raises(PolicyError, match="attempt-refused"):
        _build(_config_file(tmp_path, policy_file=str(policy)))


def test_enforce_mode_that_remediates_needs_remediation_enabled(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        EXAMPLE_POLICY.read_text(encoding="utf-8").replace("mode: dry-run", "mode: enforce"), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"remediation_enabled.*trial-expired"):
        load_config(_config_file(tmp_path, policy_file=str(policy))).load_policy()
    enabled = load_config(_config_file(tmp_path, policy_file=str(policy), remediation_enabled=True))
    assert enabled.load_policy().mode.value == "enforce"


def test_app_entry_point_reports_a_bad_configuration_without_a_traceback(tmp_path: Path) -> None:
    """`cdk synth` runs app.py with the context in CDK_CONTEXT_JSON; it must exit 1 with the field."""
    config = _config_file(tmp_path, central_account_id="111111111111")
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({CONFIG_CONTEXT_KEY: str(config)}),
        "CDK_OUTDIR": str(tmp_path / "cdk.out"),
    }
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, str(PROJECT_ROOT / "app.py")],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "central_account_id: must differ from management_account_id" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("concurrency", [1, 10, 900])
def test_detect_reserved_concurrency_within_its_limits(tmp_path: Path, concurrency: int) -> None:
    config = load_config(_config_file(tmp_path, detect_reserved_concurrency=concurrency))
    assert config.detect_reserved_concurrency == concurrency


def test_bad_reserved_concurrency_says_why(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"detect_reserved_concurrency: must be between 1 and 900, got 0: 0"
    ):
        load_config(_config_file(tmp_path, detect_reserved_concurrency=0))


def test_reports_readers_must_be_in_the_central_account(tmp_path: Path) -> None:
    readers = ["arn:aws:iam::222222222222:role/Auditor", "arn:aws:iam::333333333333:user/someone"]
    with pytest.raises(
        ConfigError,
        match=r"reports_readers: \['arn:aws:iam::333333333333:user/someone'\] are not in the central account",
    ):
        load_config(_config_file(tmp_path, reports_readers=readers))
    config = load_config(
        _config_file(tmp_path, reports_readers=[*readers[:1], "arn:aws:iam::222222222222:role/a*"])
    )
    assert config.reports_readers == (
        "arn:aws:iam::222222222222:role/Auditor",
        "arn:aws:iam::222222222222:role/a*",
    )


def test_example_configuration_documents_the_reserved_concurrency_and_the_guard_at_their_defaults() -> None:
    config = load_config(EXAMPLE_CONFIG)
    assert config.detect_reserved_concurrency is None
    assert config.guard == GuardConfig()
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    assert "# detect_reserved_concurrency: 10" in text
    assert "aws lambda get-account-settings" in text
    assert "# deleter_role_name: IdentityCenterGuardrailDeleterRole" in text
    assert "# deployment_role_patterns: [cdk-*-cfn-exec-role-*]" in text
    assert "# stackset_execution_role_patterns: [stacksets-exec-*]" in text
