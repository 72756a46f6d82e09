import json

import pytest

from guardrail.core.scp import (
    DenialReading,
    denies_create_instance,
    matches_wildcard,
    read_create_instance_denial,
)

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
        # aws:PrincipalAccount is in every call, so ...IfExists reads as the operator itself.
        (account_condition("StringNotEqualsIfExists", "444444444444"), True),
        (account_condition("StringNotEqualsIfExists", ACCOUNT), False),
        (account_condition("StringLikeIfExists", "3333*"), True),
        # ...Like knows only * and ?: brackets are literal, and matching is case-sensitive.
        (account_condition("StringLike", "[3]33333333333"), False),
        (account_condition("StringNotLike", "[3]33333333333"), True),
        (account_condition("StringLike", "33333333333?"), True),
        (account_condition("StringLike", "3333333333?"), False),
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
    assert read_create_instance_denial(
        [("p-allow", allow), ("p-deny", scp(Action="sso:*"))], ACCOUNT
    ).denied_by == ("p-deny",)
    assert not read_create_instance_denial([("p-allow", allow)], ACCOUNT).denied
    assert not read_create_instance_denial([], ACCOUNT).denied


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


# --- actions: IAM's wildcards only, case-insensitive ---------------------------------------------------


@pytest.mark.parametrize(
    "action",
    [
        "sso:[C]reateInstance",  # a character class to fnmatch, literal text to IAM
        "sso:[!X]reateInstance",
        "sso:Create[I]nstance",
        "sso:*[e]",
        "sso:CreateInstance?",
        "sso:?CreateInstance",
        "sso:Create",
        "sso:CreateInstances",
    ],
)
def test_brackets_are_literal_and_question_marks_take_one_character(action: str) -> None:
    reading = read_create_instance_denial([("p-1", scp(Action=action))], ACCOUNT)
    assert reading == DenialReading(denied_by=(), doubts=())  # certainly another action: no doubt


@pytest.mark.parametrize(
    "action",
    ["sso:?reateInstance", "sso:Create?nstance", "sso:CreateInstanc?", "s?o:*", "*:CreateInstance", "??*"],
)
def test_a_question_mark_matches_exactly_one_character(action: str) -> None:
    assert denies_create_instance(scp(Action=action), ACCOUNT)


@pytest.mark.parametrize(
    "action", ["SSO:CREATEINSTANCE", "sso:createinstance", "Sso:cReAtE*", "SSO:*INSTANCE"]
)
def test_actions_match_whatever_their_case(action: str) -> None:
    assert denies_create_instance(scp(Action=action), ACCOUNT)
    assert not denies_create_instance(scp(NotAction=action), ACCOUNT)


def test_the_matcher() -> None:
    assert matches_wildcard("a*b?c", "a-long-way-bXc")
    assert matches_wildcard("*", "")
    assert not matches_wildcard("?", "")
    assert not matches_wildcard("[ab]", "a")
    assert matches_wildcard("[ab]", "[ab]")
    assert not matches_wildcard("ABC", "abc")
    assert matches_wildcard("ABC", "abc", ignore_case=True)
    assert matches_wildcard("*a*a*a*a*a*a*a*a*b", "a" * 200 + "b")  # no backtracking blow-up


# --- Resource and NotResource against the new instance's ARN --------------------------------------------

INSTANCE = "arn:aws:sso:::instance/ssoins-7a1c2e9b4d5f6a80"


@pytest.mark.parametrize(
    "resource",
    [
        "*",
        "arn:aws:sso:::instance/*",
        "arn:aws:sso:::instance/?*",
        "arn:*:sso:::*",
        "arn:aws:sso:::*",
        "arn:aws:sso:*",
        "arn:aws:sso::*:instance/*",
        "arn:a?s:sso:::instance/*",
        ["arn:aws:sso:::permissionSet/*", "arn:aws:sso:::instance/*"],
    ],
)
def test_a_resource_matching_every_instance_arn_denies(resource: object) -> None:
    reading = read_create_instance_denial(
        [("p-1", scp(Action="sso:CreateInstance", Resource=resource))], ACCOUNT
    )
    assert reading == DenialReading(denied_by=("p-1",), doubts=())


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:sso:::permissionSet/*",
        "arn:aws:sso:::account/*",
        "arn:aws:sso:::Instance/*",  # ARNs match case-sensitively
        "arn:aws-cn:sso:::instance/*",  # another partition
        "arn:aws:sso:::instance/*:*",  # an id holds no colon
        "arn:aws:s3:::*",
    ],
)
def test_a_resource_matching_no_instance_arn_certainly_does_not_deny(resource: str) -> None:
    reading = read_create_instance_denial(
        [("p-1", scp(Action="sso:CreateInstance", Resource=resource))], ACCOUNT
    )
    assert reading == DenialReading(denied_by=(), doubts=())


@pytest.mark.parametrize(
    "resource",
    [
        INSTANCE,  # one instance: the new one has an id not known yet
        "arn:aws:sso:::instance/ssoins-*",  # ids look like that today, but nothing says they must
        "arn:aws:s*:::instance/*",  # IAM allows no wildcard in the service segment
        "arn:aws:*",
    ],
)
def test_a_resource_that_may_or_may_not_cover_the_new_instance_is_a_doubt(resource: str) -> None:
    reading = read_create_instance_denial(
        [("p-1", scp(Action="sso:CreateInstance", Resource=resource))], ACCOUNT
    )
    assert not reading.denied
    assert reading.doubts == (
        f"p-1 Statement[0] was not counted: Resource {resource} may or may not match the new instance "
        "(arn:aws:sso:::instance/ followed by an id not known before the call)",
    )


def not_resource(value: object) -> str:
    return json.dumps({"Statement": [{"Effect": "Deny", "Action": "sso:*", "NotResource": value}]})


@pytest.mark.parametrize(
    ("value", "denies", "doubted"),
    [
        ("arn:aws:sso:::permissionSet/*", True, False),  # carves out something else
        (["arn:aws:sso:::permissionSet/*", "arn:aws:sso:::account/*"], True, False),
        ("arn:aws-cn:sso:::*", True, False),
        ("arn:aws:sso:::instance/*", False, False),  # carves out every instance
        ("*", False, False),
        (INSTANCE, False, True),  # carves out one instance: the new one may or may not be it
        ("arn:aws:sso:::instance/ssoins-*", False, True),
    ],
)
def test_not_resource_each_way(value: object, denies: bool, doubted: bool) -> None:
    reading = read_create_instance_denial([("p-1", not_resource(value))], ACCOUNT)
    assert reading.denied is denies
    assert bool(reading.doubts) is doubted
    if doubted:
        assert "NotResource" in reading.doubts[0]


def test_other_partitions() -> None:
    gov = "aws-us-gov"
    for resource, denies in [
        ("arn:aws-us-gov:sso:::instance/*", True),
        ("arn:*:sso:::instance/*", True),
        ("*", True),
        ("arn:aws:sso:::instance/*", False),
    ]:
        document = scp(Action="sso:CreateInstance", Resource=resource)
        assert read_create_instance_denial([("p-1", document)], ACCOUNT, partition=gov).denied is denies
    carve_out = not_resource("arn:aws:sso:::instance/*")
    assert read_create_instance_denial([("p-1", carve_out)], ACCOUNT, partition=gov).denied
    reading = read_create_instance_denial(
        [("p-1", scp(Action="sso:CreateInstance", Resource="arn:aws-cn:sso:::instance/x"))],
        ACCOUNT,
        partition="aws-cn",
    )
    assert "arn:aws-cn:sso:::instance/ followed by an id" in reading.doubts[0]


# --- doubts: what could not be evaluated, named ----------------------------------------------------------


def reading_of(statement: object, version: str | None = "2012-10-17") -> DenialReading:
    document: dict[str, object] = {"Statement": [statement]}
    if version is not None:
        document["Version"] = version
    return read_create_instance_denial([("p-123", document)], ACCOUNT, ORG_PATH_FOR_DOUBTS)


ORG_PATH_FOR_DOUBTS = "o-exampleorg1/r-ab12/ou-ab12-workload/"
DENY = {"Effect": "Deny", "Action": "sso:CreateInstance", "Resource": "*"}


def test_the_note_names_policy_statement_and_reason() -> None:
    statement = {
        **DENY,
        "Sid": "DenyCreate",
        "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
    }
    assert reading_of(statement).doubts == (
        "p-123 statement 'DenyCreate' was not counted: condition key aws:RequestedRegion cannot be evaluated "
        "for a call not yet made",
    )


@pytest.mark.parametrize(
    ("statement", "doubt"),
    [
        (
            {**DENY, "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}},
            "Statement[0] was not counted: condition key aws:RequestedRegion cannot be evaluated",
        ),
        (
            {**DENY, "Condition": {"StringEqualsIgnoreCase": {"aws:PrincipalAccount": ACCOUNT}}},
            "operator StringEqualsIgnoreCase on aws:PrincipalAccount is not evaluated",
        ),
        (
            {**DENY, "Condition": {"StringLike": {"aws:PrincipalOrgPaths": "o-*"}}},
            "operator StringLike on aws:PrincipalOrgPaths is not evaluated",
        ),
        (
            {**DENY, "Condition": {"StringNotEquals": {"aws:PrincipalAccount": [{"nested": 1}]}}},
            "StringNotEquals aws:PrincipalAccount has a value that is not a string",
        ),
        (
            {**DENY, "Condition": {"StringNotEquals": {"aws:PrincipalAccount": "${aws:PrincipalAccount}"}}},
            "StringNotEquals aws:PrincipalAccount holds a policy variable",
        ),
        ({**DENY, "Condition": ["StringNotEquals"]}, 'Condition ["StringNotEquals"] is not a JSON object'),
        (
            {**DENY, "Condition": {"StringNotEquals": "x"}},
            "Condition StringNotEquals is not a JSON object of keys",
        ),
        (
            {**DENY, "Resource": INSTANCE},
            "Resource arn:aws:sso:::instance/ssoins-7a1c2e9b4d5f6a80 may or may not",
        ),
        (
            {**DENY, "Resource": "arn:aws:sso:::instance/${aws:username}"},
            "holds a policy variable, not resolved",
        ),
        ({**DENY, "Resource": ["*", 7]}, 'Resource ["*", 7] is not a string or a list of strings'),
        ({**DENY, "Resource": []}, "Resource [] is not a string or a list of strings"),
        ({**DENY, "NotResource": "arn:aws:sso:::permissionSet/*"}, "it has both Resource and NotResource"),
        ({**DENY, "Effect": "deny"}, 'Effect deny is neither "Deny" nor "Allow"'),
        ({**DENY, "Effect": None}, 'Effect null is neither "Deny" nor "Allow"'),
        ({"Action": "sso:CreateInstance", "Resource": "*"}, "it has no Effect"),
        ({**DENY, "Action": ["sso:CreateInstance", 3]}, 'Action ["sso:CreateInstance", 3] is not a string'),
        ({**DENY, "Action": {"sso": "CreateInstance"}}, "is not a string or a list of strings"),
        ({"Effect": "Deny", "Resource": "*"}, "it has neither Action nor NotAction"),
        ({**DENY, "NotAction": "s3:*"}, "it has both Action and NotAction"),
        ({**DENY, "Principal": "*"}, "Principal is not an SCP statement element"),
        ("Deny", 'Statement[0] was not counted: it is not a JSON object: "Deny"'),
    ],
)
def test_each_kind_of_unevaluable_element_is_a_doubt(statement: object, doubt: str) -> None:
    reading = reading_of(statement)
    assert not reading.denied
    (note,) = reading.doubts
    assert note.startswith("p-123 ")
    assert doubt in note


def test_the_org_path_condition_without_a_path_is_a_doubt() -> None:
    condition = {
        "ForAllValues:StringNotLike": {"aws:PrincipalOrgPaths": ["o-exampleorg1/r-ab12/ou-ab12-sandbox/*"]}
    }
    reading = read_create_instance_denial(
        [("p-9", scp(Action="sso:CreateInstance", Condition=condition))], ACCOUNT
    )
    assert reading.doubts == (
        "p-9 Statement[0] was not counted: condition key aws:PrincipalOrgPaths needs the account's OU path, "
        "which is not known",
    )


def test_several_doubts_of_one_statement_share_its_note() -> None:
    statement = {
        **DENY,
        "Resource": INSTANCE,
        "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1", "aws:CalledVia": "x"}},
    }
    (note,) = reading_of(statement).doubts
    assert note.count("cannot be evaluated for a call not yet made") == 2
    assert note.count("; ") == 2
    assert note.index("aws:RequestedRegion") < note.index("aws:CalledVia") < note.index("may or may not")


def test_documents_that_cannot_be_read_are_named() -> None:
    reading = read_create_instance_denial(
        [("p-1", "not json"), ("p-2", "[]"), ("p-3", "{}"), ("p-4", '{"Statement": "Deny"}')], ACCOUNT
    )
    assert reading.doubts == (
        "p-1 was not read: the document is not JSON",
        "p-2 was not read: the document is not a JSON object",
        "p-3 was not read: its Statement is missing or neither an object nor a list",
        "p-4 was not read: its Statement is missing or neither an object nor a list",
    )


def test_statements_that_certainly_do_not_apply_raise_no_doubt() -> None:
    excepting = {
        "StringNotEquals": {"aws:PrincipalAccount": [ACCOUNT]},
        "StringEquals": {"aws:SourceIp": "x"},
    }
    for statement in [
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "x"}},
        },
        {**DENY, "Action": "s3:*", "Resource": INSTANCE},
        {**DENY, "Condition": excepting},  # a condition that certainly fails outweighs one we cannot judge
        {
            **DENY,
            "Resource": "arn:aws:sso:::permissionSet/*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "x"}},
        },
    ]:
        assert reading_of(statement) == DenialReading(denied_by=(), doubts=()), statement


def test_policy_variables_are_only_variables_under_the_2012_version() -> None:
    statement = {**DENY, "Condition": {"StringNotEquals": {"aws:PrincipalAccount": "${x}"}}}
    assert not reading_of(statement).denied
    assert reading_of(statement, version="2008-10-17").denied  # a literal there
    assert reading_of(statement, version=None).denied
    wide = {**DENY, "Resource": ["arn:aws:sso:::instance/${x}", "arn:aws:sso:::instance/*"]}
    assert reading_of(wide).denied  # the plain pattern covers the instance anyway


def test_a_statement_may_be_a_single_object() -> None:
    document = {"Version": "2012-10-17", "Statement": {**DENY, "Sid": "One"}}
    assert read_create_instance_denial([("p-1", document)], ACCOUNT).denied
    doubtful = {"Statement": {**DENY, "Effect": "DENY"}}
    reading = read_create_instance_denial([("p-1", doubtful)], ACCOUNT)
    assert reading.doubts[0].startswith("p-1 Statement was not counted: Effect DENY")


def test_the_reading_names_the_denying_policies_in_order() -> None:
    allow = json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    doubtful = scp(
        Sid="Regional", Action="sso:*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
    )
    policies = [
        ("p-full", allow),
        ("p-b", scp(Action="sso:*")),
        ("p-doubt", doubtful),
        ("p-a", scp(Action="*")),
    ]
    reading = read_create_instance_denial(policies, ACCOUNT)
    assert reading.denied
    assert reading.denied_by == ("p-b", "p-a")
    assert reading.doubts == (
        "p-doubt statement 'Regional' was not counted: condition key aws:RequestedRegion cannot be evaluated "
        "for a call not yet made",
    )
    assert read_create_instance_denial(iter(policies), ACCOUNT) == reading  # deterministic, any iterable
    assert not read_create_instance_denial([], ACCOUNT).denied


def test_the_deployed_scp_shape_is_read_as_denying() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyIdentityCenterAccountInstances",
                "Effect": "Deny",
                "Action": "sso:CreateInstance",
                "Resource": "*",
                "Condition": {
                    "StringNotEquals": {"aws:PrincipalAccount": ["222222222222"]},
                    "ForAllValues:StringNotLike": {
                        "aws:PrincipalOrgPaths": ["o-exampleorg1/r-ab12/ou-ab12-sandbox/*"]
                    },
                },
            }
        ],
    }
    reading = read_create_instance_denial([("p-guardrail", document)], ACCOUNT, ORG_PATH)
    assert reading == DenialReading(denied_by=("p-guardrail",), doubts=())
