import json

import pytest

from guardrail.core.scp import denies_create_instance

ACCOUNT = "333333333333"


def scp(**statement: object) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Resource": "*", **statement}]})


@pytest.mark.parametrize("action", ["sso:CreateInstance", "sso:Create*", "sso:*", "*", ["s3:*", "SSO:createinstance"]])
def test_deny_by_action_patterns(action: object) -> None:
    assert denies_create_instance(scp(Action=action), ACCOUNT)


@pytest.mark.parametrize("action", ["sso:CreatePermissionSet", "sso-directory:*", "sso:Delete*"])
def test_other_actions_do_not_deny(action: str) -> None:
    assert not denies_create_instance(scp(Action=action), ACCOUNT)


def test_not_action_inverts() -> None:
    assert denies_create_instance(scp(NotAction=["s3:*"]), ACCOUNT)
    assert not denies_create_instance(scp(NotAction=["sso:*"]), ACCOUNT)


def test_account_exception_in_condition() -> None:
    excepting = {"StringNotEquals": {"aws:PrincipalAccount": [ACCOUNT]}}
    assert not denies_create_instance(scp(Action="sso:CreateInstance", Condition=excepting), ACCOUNT)
    assert denies_create_instance(scp(Action="sso:CreateInstance", Condition=excepting), "444444444444")


def test_conditions_we_cannot_evaluate_do_not_count_as_deny() -> None:
    unknown = {"StringEquals": {"aws:RequestedRegion": ["us-east-1"]}}
    assert not denies_create_instance(scp(Action="sso:CreateInstance", Condition=unknown), ACCOUNT)


def test_allow_and_garbage_do_not_deny() -> None:
    allow = json.dumps({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}})
    assert not denies_create_instance(allow, ACCOUNT)
    assert not denies_create_instance("not json", ACCOUNT)
    assert not denies_create_instance(scp(Action="sso:CreateInstance", Resource="arn:aws:sso:::instance/x"), ACCOUNT)
