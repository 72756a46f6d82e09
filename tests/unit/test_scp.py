import json

import pytest

from guardrail.core.scp import any_denies_create_instance, denies_create_instance

ACCOUNT = "333333333333"


def scp(**statement: object) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Resource": "*", **statement}]}
    )


@pytest.mark.parametrize(
    "action", ["sso:CreateInstance", "sso:Create*", "sso:*", "*", ["s3:*", "SSO:createinstance"]]
)
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
    assert not denies_create_instance(
        scp(Action="sso:CreateInstance", Resource="arn:aws:sso:::instance/x"), ACCOUNT
    )


def account_condition(operator: str, *values: str) -> dict[str, object]:
    return {operator: {"aws:PrincipalAccount": list(values)}}


@pytest.mark.parametrize(
    ("condition", "denies"),
    [
        (account_condition("StringEquals", ACCOUNT), True),
        (account_condition("StringEquals", "444444444444"), False),
        (account_condition("StringLike", "3333*"), True),
        (account_condition("StringLike", "4444*"), False),
        (account_condition("StringNotLike", "3333*"), False),
        (account_condition("StringNotLike", "4444*"), True),
        # Equals compares literally: a '*' there is a character, not a wildcard.
        (account_condition("StringEquals", "*"), False),
        (account_condition("StringNotEquals", "*"), True),
        ({"StringNotEquals": {"AWS:PrincipalAccount": "444444444444"}}, True),  # keys ignore case; one value
        ({"StringNotEquals": {"aws:ResourceAccount": [ACCOUNT]}}, False),
        ({"StringNotEquals": {"aws:PrincipalAccount": None}}, True),  # no exception listed
        (account_condition("StringEqualsIgnoreCase", ACCOUNT), False),  # operators we do not judge
        (account_condition("ForAnyValue:StringEquals", ACCOUNT), False),
        (account_condition("StringNotEqualsIfExists", "444444444444"), False),
        ({"StringNotEquals": ["aws:PrincipalAccount"]}, False),  # malformed clauses
        (["StringNotEquals"], False),
        ({}, True),  # an empty condition always holds
    ],
)
def test_conditions_on_the_account(condition: object, denies: bool) -> None:
    assert denies_create_instance(scp(Action="sso:CreateInstance", Condition=condition), ACCOUNT) is denies


def test_every_condition_must_hold() -> None:
    both = {**account_condition("StringNotEquals", "444444444444"), **account_condition("StringLike", "9*")}
    assert not denies_create_instance(scp(Action="sso:CreateInstance", Condition=both), ACCOUNT)


def test_a_statement_without_action_or_with_not_resource_does_not_count() -> None:
    assert not denies_create_instance(scp(), ACCOUNT)
    carve_out = json.dumps(
        {"Statement": [{"Effect": "Deny", "Action": "sso:*", "NotResource": "arn:aws:sso:::instance/*"}]}
    )
    assert not denies_create_instance(carve_out, ACCOUNT)


def test_a_statement_without_resource_applies_to_everything() -> None:
    document = {"Statement": [{"Effect": "Deny", "Action": "sso:CreateInstance"}]}
    assert denies_create_instance(document, ACCOUNT)  # a parsed document is accepted as is


@pytest.mark.parametrize("document", ["[]", '"Deny"', "{}", '{"Statement": null}', '{"Statement": ["Deny"]}'])
def test_documents_of_the_wrong_shape_do_not_deny(document: str) -> None:
    assert not denies_create_instance(document, ACCOUNT)


def test_any_of_several_documents() -> None:
    allow = json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    assert any_denies_create_instance([allow, scp(Action="sso:*")], ACCOUNT)
    assert not any_denies_create_instance([allow], ACCOUNT)
    assert not any_denies_create_instance([], ACCOUNT)


ORG_PATH = "o-exampleorg1/r-ab12/ou-ab12-workload/ou-ab12-prod/"


def test_org_path_exceptions_are_read_when_the_path_is_known() -> None:
    excepting_sandbox = {
        "ForAllValues:StringNotLike": {"aws:PrincipalOrgPaths": ["o-exampleorg1/r-ab12/ou-ab12-sandbox/*"]}
    }
    document = scp(Action="sso:CreateInstance", Condition=excepting_sandbox)
    assert denies_create_instance(document, ACCOUNT, ORG_PATH)
    assert not denies_create_instance(document, ACCOUNT, "o-exampleorg1/r-ab12/ou-ab12-sandbox/")
    assert not denies_create_instance(
        document, ACCOUNT, "o-exampleorg1/r-ab12/ou-ab12-sandbox/ou-ab12-nested/"
    )
    assert not denies_create_instance(document, ACCOUNT)  # path unknown: not certain


def test_org_path_condition_that_targets_the_path() -> None:
    only_workloads = {
        "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["o-exampleorg1/r-ab12/ou-ab12-workload/*"]}
    }
    document = scp(Action="sso:CreateInstance", Condition=only_workloads)
    assert denies_create_instance(document, ACCOUNT, ORG_PATH)
    assert not denies_create_instance(document, ACCOUNT, "o-exampleorg1/r-ab12/ou-ab12-sandbox/")


def test_account_and_org_path_conditions_must_both_hold() -> None:
    both = {
        "StringNotEquals": {"aws:PrincipalAccount": ["555555555555"]},
        "ForAllValues:StringNotLike": {"aws:PrincipalOrgPaths": ["o-exampleorg1/r-ab12/ou-ab12-sandbox/*"]},
    }
    document = scp(Action="sso:CreateInstance", Condition=both)
    assert denies_create_instance(document, ACCOUNT, ORG_PATH)
    assert not denies_create_instance(document, "555555555555", ORG_PATH)
