"""The simulator bridge answers as AWS's authorization rules do, and says why it denies."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.iam.simulator import ALLOW_ALL, OrgLevel, Request, SimulationError, principal_arn, shared_simulator

ACCOUNT = "333333333333"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/guardrail-member/detect"
INSTANCE = "arn:aws:sso:::instance/ssoins-1111111111111111"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str, resource: str = "*") -> dict[str, Any]:
    return policy({"Effect": "Allow", "Action": action, "Resource": resource})


def test_an_action_without_resource_type_is_granted_only_by_a_star() -> None:
    simulator = shared_simulator()
    on_instances = Request(
        "sso:ListApplications",
        "*",
        SESSION,
        identity_policies={"p": allow("sso:ListApplications", INSTANCE[:-16] + "*")},
    )
    on_star = Request(
        "sso:ListApplications", "*", SESSION, identity_policies={"p": allow("sso:ListApplications")}
    )
    refused, granted = simulator.evaluate_many([on_instances, on_star])
    assert refused.result == "ImplicitlyDenied"
    assert refused.reason() == "ImplicitlyDenied: no Allow in the identity policies"
    assert granted.allowed
    assert simulator.action_info("sso:listapplications").wildcard_only
    assert simulator.action_info("sso:DescribeInstance").resource_types[0].arn == (
        "arn:${Partition}:sso:::instance/${InstanceId}"
    )


def test_a_resource_the_action_does_not_act_on_is_an_error() -> None:
    with pytest.raises(
        SimulationError, match=r"sso:ListApplications on arn:aws:sso:::instance/.*must\.use\.wildcard"
    ):
        shared_simulator().evaluate(Request("sso:ListApplications", INSTANCE, SESSION))
    with pytest.raises(SimulationError, match=r"invalid\.action"):
        shared_simulator().evaluate(Request("sso:ListEverything", "*", SESSION))


def test_scps_are_read_level_by_level() -> None:
    guard = policy(
        {
            "Sid": "DenyCreate",
            "Effect": "Deny",
            "Action": "sso:CreateInstance",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:PrincipalAccount": ["111111111111"]}},
        }
    )
    full = {"FullAWSAccess": ALLOW_ALL}
    denied, exempt, allow_list = shared_simulator().evaluate_many(
        [
            Request(
                "sso:CreateInstance",
                INSTANCE,
                SESSION,
                identity_policies={"admin": ALLOW_ALL},
                scps=[
                    OrgLevel("r-ab12", full),
                    OrgLevel("ou-ab12-1", {"guard": guard}),
                    OrgLevel(ACCOUNT, full),
                ],
            ),
            Request(
                "sso:CreateInstance",
                INSTANCE,
                "arn:aws:iam::111111111111:role/Admin",
                identity_policies={"admin": ALLOW_ALL},
                scps=[OrgLevel("r-ab12", full), OrgLevel("ou-ab12-1", {"guard": guard, **full})],
            ),
            Request(
                "sso:CreateInstance",
                INSTANCE,
                SESSION,
                identity_policies={"admin": ALLOW_ALL},
                scps=[
                    OrgLevel("r-ab12", full),
                    OrgLevel("ou-ab12-1", {"s3": allow("s3:*")}),
                    OrgLevel(ACCOUNT, full),
                ],
            ),
        ]
    )
    assert denied.result == "ExplicitlyDenied"
    assert denied.scp_levels == (
        ("r-ab12", "Allowed"),
        ("ou-ab12-1", "ExplicitlyDenied"),
        (ACCOUNT, "Allowed"),
    )
    assert denied.reason() == (
        "ExplicitlyDenied: explicit Deny in the SCPs at ou-ab12-1 policy guard statement DenyCreate"
    )
    assert exempt.allowed
    # FullAWSAccess replaced by an allow-list at one level denies by omission.
    assert allow_list.result == "ImplicitlyDenied"
    assert allow_list.reason() == "ImplicitlyDenied: no Allow in the SCPs at ou-ab12-1"


def test_discovery_mode_allows_for_some_value_of_an_unknown_key() -> None:
    by_region = {
        "FullAWSAccess": ALLOW_ALL,
        "regions": policy(
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
            }
        ),
    }
    base = Request(
        "sso:CreateInstance",
        INSTANCE,
        SESSION,
        identity_policies={"a": ALLOW_ALL},
        scps=[OrgLevel("r-ab12", by_region)],
    )
    known = shared_simulator().evaluate(replace(base, context={"aws:RequestedRegion": "eu-west-1"}))
    unknown = shared_simulator().evaluate(replace(base, discovery=True, unknown_keys=["aws:RequestedRegion"]))
    assert known.result == "ExplicitlyDenied"
    assert unknown.allowed
    assert unknown.conditions["key"] == "aws:RequestedRegion"


def test_a_trust_policy_admits_the_session_of_the_role_it_names() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/guardrail-member"
    trust = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:PrincipalOrgID": "o-example"},
                "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::222222222222:role/detect-*"},
            },
        }
    )
    caller = "arn:aws:sts::222222222222:assumed-role/detect-fn/session"
    identity = {"p": allow("sts:AssumeRole", role)}
    admitted, outsider = shared_simulator().evaluate_many(
        [
            Request("sts:AssumeRole", role, caller, {"aws:PrincipalOrgID": "o-example"}, identity, trust),
            Request("sts:AssumeRole", role, caller, {"aws:PrincipalOrgID": "o-other"}, identity, trust),
        ]
    )
    assert principal_arn(caller) == "arn:aws:iam::222222222222:role/detect-fn"
    assert admitted.allowed
    assert outsider.reason() == "ImplicitlyDenied: no Allow in the resource policy"
