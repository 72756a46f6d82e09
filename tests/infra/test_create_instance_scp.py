"""The preventive SCP: generated from the policy, read back by the detector's own SCP reader.

`guardrail.core.scp.denies_create_instance` is what the `scp-gap` rule uses to decide whether an
account is covered; running it on the generated document keeps prevention and detection in step.
"""

from __future__ import annotations

import fnmatch
from datetime import date
from pathlib import Path
from typing import Any, cast

import pytest

from guardrail.core.policy import Policy
from guardrail.core.policy_file import parse_policy
from guardrail.core.scp import denies_create_instance
from infra.application import CONFIG_CONTEXT_KEY, build_app
from infra.config import ConfigError, GuardrailConfig, parse_config
from infra.constructs.create_instance_scp import MAX_SCP_SIZE, SCP_NAME, create_instance_scp_document
from tests.infra.support import (
    APPROVED_ACCOUNT,
    EXAMPLE_POLICY,
    SANDBOX_OU,
    WORKLOADS_OU,
    Document,
    Synthesized,
    cdk_context,
    example_config_data,
    example_policy_data,
    resources,
    write_yaml,
)

UNAPPROVED_ACCOUNT = "444444444444"
EXEMPTED_ACCOUNT = "555555555555"  # the example policy's exemption, running until 2027-03-31
TODAY = date(2026, 11, 30)


def _config(**changes: Any) -> GuardrailConfig:
    data = example_config_data()
    data.update(policy_file=str(EXAMPLE_POLICY), scp={"enabled": True, "targets": ["r-ab12"]}, **changes)
    return parse_config(data)


def _policy(**approved: Any) -> Policy:
    data = example_policy_data()
    data["approved"] = {"accounts": [], "organizational_units": [], **approved}
    return parse_policy(data)


def _scp(s: Synthesized) -> Document:
    (scp,) = [
        p["Properties"]
        for p in resources(s.management, "AWS::Organizations::Policy").values()
        if p["Properties"]["Name"] == SCP_NAME
    ]
    return cast(Document, scp)


# --- the synthesized SCP ------------------------------------------------------------------------------


def test_scp_is_a_service_control_policy_attached_to_the_configured_targets(
    synthesized_variant: Synthesized,
) -> None:
    scp = _scp(synthesized_variant)
    assert scp["Type"] == "SERVICE_CONTROL_POLICY"
    assert scp["Name"] == SCP_NAME
    assert scp["TargetIds"] == ["r-ab12"] == list(synthesized_variant.config.scp.targets)


def test_scp_denies_create_instance_except_for_approved_accounts(synthesized_variant: Synthesized) -> None:
    (statement,) = _scp(synthesized_variant)["Content"]["Statement"]
    assert statement == {
        "Sid": "DenyIdentityCenterAccountInstances",
        "Effect": "Deny",
        "Action": "sso:CreateInstance",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:PrincipalAccount": [APPROVED_ACCOUNT, EXEMPTED_ACCOUNT]}},
    }


def test_detector_reads_the_synthesized_scp_as_the_policy_means_it(synthesized_variant: Synthesized) -> None:
    """Denied where the policy does not approve, not denied where it does: no drift."""
    document = _scp(synthesized_variant)["Content"]
    assert denies_create_instance(document, UNAPPROVED_ACCOUNT)
    assert denies_create_instance(document, "222222222222")
    assert not denies_create_instance(document, APPROVED_ACCOUNT)
    assert not denies_create_instance(document, EXEMPTED_ACCOUNT)


# --- the document, for policies the example does not cover ---------------------------------------------


def test_expired_or_unrelated_exemptions_are_not_excepted() -> None:
    data = example_policy_data()
    data["approved"] = {"accounts": [APPROVED_ACCOUNT]}
    data["exemptions"] = [
        {**data["exemptions"][0], "expires": "2026-11-29"},  # expired yesterday
        {**data["exemptions"][0], "account_id": "666666666666", "rules": ["trial-expiry"]},
    ]
    document = create_instance_scp_document(parse_policy(data), _config(), today=TODAY)
    assert denies_create_instance(document, EXEMPTED_ACCOUNT)
    assert denies_create_instance(document, "666666666666")
    assert not denies_create_instance(document, APPROVED_ACCOUNT)


def test_no_approval_at_all_denies_every_account() -> None:
    data = example_policy_data()
    data["approved"] = {}
    data["exemptions"] = []
    document = create_instance_scp_document(parse_policy(data), _config(), today=TODAY)
    (statement,) = document["Statement"]
    assert "Condition" not in statement
    assert denies_create_instance(document, APPROVED_ACCOUNT)


def _org_path_denied(document: Document, account_id: str, org_path: str) -> bool:
    """IAM's reading of the statement for a caller at `org_path` (aws:PrincipalOrgPaths has one value)."""
    (statement,) = document["Statement"]
    condition = statement["Condition"]
    outside_accounts = account_id not in condition.get("StringNotEquals", {}).get("aws:PrincipalAccount", [])
    patterns = condition["ForAllValues:StringNotLike"]["aws:PrincipalOrgPaths"]
    outside_units = not any(fnmatch.fnmatchcase(org_path, pattern) for pattern in patterns)
    return outside_accounts and outside_units


def test_ous_approved_by_id_are_excepted_through_their_org_path() -> None:
    document = create_instance_scp_document(
        _policy(accounts=[APPROVED_ACCOUNT], organizational_units=[SANDBOX_OU]), _config(), today=TODAY
    )
    (statement,) = document["Statement"]
    assert statement["Condition"]["ForAllValues:StringNotLike"] == {
        "aws:PrincipalOrgPaths": [
            f"o-exampleorg1/r-ab12/{SANDBOX_OU}/*",
            f"o-exampleorg1/r-ab12/*/{SANDBOX_OU}/*",
        ]
    }
    root = "o-exampleorg1/r-ab12"
    assert not _org_path_denied(document, "777777777777", f"{root}/{SANDBOX_OU}/")
    assert not _org_path_denied(document, "777777777777", f"{root}/{WORKLOADS_OU}/{SANDBOX_OU}/")
    assert _org_path_denied(document, "777777777777", f"{root}/{WORKLOADS_OU}/")
    assert _org_path_denied(document, "777777777777", f"{root}/")
    assert not _org_path_denied(document, APPROVED_ACCOUNT, f"{root}/{WORKLOADS_OU}/")


def test_detector_reads_the_ou_exceptions_exactly_when_it_knows_the_org_path() -> None:
    """Prevention and detection agree: the detector's reading matches the SCP's semantics."""
    document = create_instance_scp_document(
        _policy(accounts=[APPROVED_ACCOUNT], organizational_units=[SANDBOX_OU]), _config(), today=TODAY
    )
    root = "o-exampleorg1/r-ab12"
    for account in (APPROVED_ACCOUNT, UNAPPROVED_ACCOUNT):
        for path in (
            f"{root}/",
            f"{root}/{SANDBOX_OU}/",
            f"{root}/{WORKLOADS_OU}/",
            f"{root}/{WORKLOADS_OU}/{SANDBOX_OU}/",
        ):
            assert denies_create_instance(document, account, path) == _org_path_denied(
                document, account, path
            )
    # Without the path the detector cannot be certain and reports a gap rather than assume a denial.
    assert not denies_create_instance(document, UNAPPROVED_ACCOUNT)


def test_approving_the_root_excepts_everyone() -> None:
    document = create_instance_scp_document(_policy(organizational_units=["r-ab12"]), _config(), today=TODAY)
    (statement,) = document["Statement"]
    assert statement["Condition"]["ForAllValues:StringNotLike"] == {
        "aws:PrincipalOrgPaths": ["o-exampleorg1/r-ab12/*"]
    }


@pytest.mark.parametrize(
    ("approved", "config_changes", "message"),
    [
        ({"organizational_units": ["Workloads/Prod"]}, {}, r"by name path \(Workloads/Prod\).*by id \(ou-"),
        (
            {"organizational_units": [SANDBOX_OU]},
            {"root_id": None, "stackset_targets": [SANDBOX_OU]},
            "root_id",
        ),
        ({"organizational_units": ["r-cd34"]}, {}, "root_id: the policy approves the root r-cd34"),
        ({"accounts": [f"{n:012d}" for n in range(400)]}, {}, f"over the {MAX_SCP_SIZE}"),
    ],
)
def test_policies_an_scp_cannot_express_are_config_errors(
    approved: dict[str, Any], config_changes: dict[str, Any], message: str
) -> None:
    config = _config(**config_changes)
    with pytest.raises(ConfigError, match=message):
        create_instance_scp_document(_policy(**approved), config, today=TODAY)


def test_ou_approved_by_name_fails_synth_when_the_scp_is_enabled(tmp_path: Path) -> None:
    """The example policy approves `Sandbox` by name: fine for detection, not for an SCP."""
    data = example_config_data()
    data.update(policy_file=str(EXAMPLE_POLICY), scp={"enabled": True, "targets": ["r-ab12"]})
    config = write_yaml(tmp_path / "guardrail.yaml", data)
    with pytest.raises(ConfigError, match=r"scp\.enabled: .*Sandbox.*approve them by id"):
        build_app(context=cdk_context(**{CONFIG_CONTEXT_KEY: str(config)}), outdir=str(tmp_path / "out"))
