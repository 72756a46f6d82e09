"""The SCP reading by level: allow-lists protect by omission, as AWS evaluates SCPs.

AWS allows an action only if an SCP at every level from the root, through each OU, to the account
allows it; an explicit Deny at any level denies. Each outcome of `read_create_instance` (denied, not
denied, undetermined) and what `scp-gap` says of it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from guardrail.core.catalogue import RULES_BY_ID
from guardrail.core.facts import AccountFacts, ServiceControlPolicy
from guardrail.core.policy import Policy
from guardrail.core.rules import Evaluation, Hit
from guardrail.core.scp import ScpReading, read_create_instance
from tests.builders import NOW, PROD, call, facts

ROOT, WORKLOADS, PRODUCTION = "r-ab12", "ou-ab12-workload", "ou-ab12-prod"
LEVELS = (ROOT, WORKLOADS, PRODUCTION, PROD)
ORG_PATH = f"o-exampleorg1/{ROOT}/{WORKLOADS}/{PRODUCTION}/"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: object = "*", **elements: object) -> dict[str, Any]:
    key = "NotAction" if elements.pop("not_action", False) else "Action"
    resource = {} if "NotResource" in elements else {"Resource": "*"}
    return {"Effect": "Allow", key: action, **resource, **elements}


def deny(action: object = "sso:CreateInstance", **elements: object) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": "*", **elements}


FULL = doc(allow())
ALLOW_LIST = doc({"Sid": "AllowedServices", **allow(["s3:*", "ec2:*", "sso:Describe*", "sso:List*"])})


def attached(**by_level: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """FullAWSAccess at every level, but where a level is given its own policies (by level name)."""
    names = {"root": ROOT, "workloads": WORKLOADS, "production": PRODUCTION, "account": PROD}
    levels = {target: [("p-FullAWSAccess", FULL)] for target in LEVELS}
    for name, policies in by_level.items():
        levels[names[name]] = policies
    return [(policy_id, target, document) for target in LEVELS for policy_id, document in levels[target]]


def read(policies: list[tuple[str, str, str]], levels: tuple[str, ...] | None = LEVELS) -> ScpReading:
    return read_create_instance(policies, PROD, levels, ORG_PATH)


# --- certainly denied ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["root", "workloads", "production", "account"])
def test_an_allow_list_replacing_full_aws_access_at_any_level_denies_by_omission(level: str) -> None:
    reading = read(attached(**{level: [("p-allowlist", ALLOW_LIST)]}))
    target = dict(zip(["root", "workloads", "production", "account"], LEVELS, strict=True))[level]
    assert reading == ScpReading(denied_by=(), closed_levels=(target,), doubts=())
    assert reading.denied
    assert reading.outcome == "denied"


@pytest.mark.parametrize(
    "spared", ["sso:CreateInstance", "sso:Create*", "sso:*", "SSO:*INSTANCE", ["s3:*", "sso:*"]]
)
def test_an_allow_of_not_action_sparing_the_call_denies_by_omission(spared: object) -> None:
    reading = read(attached(account=[("p-most", doc(allow(spared, not_action=True)))]))
    assert reading.closed_levels == (PROD,)


@pytest.mark.parametrize(
    "statement",
    [
        allow("sso:CreateInstance", Resource="arn:aws:sso:::permissionSet/*"),  # another resource type
        allow("sso:CreateInstance", NotResource="arn:aws:sso:::instance/*"),  # every instance carved out
        allow("sso:*", Resource="arn:aws-cn:sso:::instance/*"),  # another partition
        allow("*", Condition={"StringNotEquals": {"aws:PrincipalAccount": [PROD]}}),  # excepts the account
        allow(
            "*",
            Condition={"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"o-exampleorg1/{ROOT}/ou-x/*"]}},
        ),
        # A condition that certainly fails outweighs one that cannot be told.
        allow(
            "*",
            Condition={
                "StringEquals": {"aws:PrincipalAccount": "555555555555", "aws:RequestedRegion": "eu-west-1"}
            },
        ),
        deny("s3:*"),  # a level of Deny statements alone allows nothing
    ],
)
def test_a_level_whose_statements_certainly_do_not_allow_the_call_denies(statement: dict[str, Any]) -> None:
    reading = read(attached(workloads=[("p-1", doc(statement))]))
    assert reading == ScpReading(denied_by=(), closed_levels=(WORKLOADS,), doubts=())


def test_a_deny_denies_whatever_the_levels_allow_and_both_are_named() -> None:
    policies = attached(
        root=[("p-FullAWSAccess", FULL), ("p-guard", doc(deny()))], account=[("p-list", ALLOW_LIST)]
    )
    reading = read(policies)
    assert reading.denied_by == ("p-guard",)
    assert reading.closed_levels == (PROD,)


def test_a_certain_denial_stands_beside_doubts() -> None:
    regional = {
        "Sid": "Europe",
        **allow("sso:*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}),
    }
    policies = attached(workloads=[("p-eu", doc(regional))], account=[("p-list", ALLOW_LIST)])
    reading = read(policies)
    assert reading.outcome == "denied"
    assert reading.closed_levels == (PROD,)
    assert len(reading.doubts) == 1  # the doubt is kept, but the account level settles it


# --- certainly not denied -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "granted",
    [
        ["s3:*", "sso:*"],
        "sso:Create*",
        "sso:*Instance",
        "SSO:createinstance",
        "sso:Create?nstance",
    ],
)
def test_an_allow_list_covering_the_call_at_every_level_leaves_it_not_denied(granted: object) -> None:
    reading = read(attached(workloads=[("p-list", doc(allow(granted)))]))
    assert reading == ScpReading(denied_by=(), closed_levels=(), doubts=())
    assert reading.outcome == "not denied"


def test_full_aws_access_beside_an_allow_list_keeps_the_level_open() -> None:
    reading = read(attached(workloads=[("p-FullAWSAccess", FULL), ("p-list", ALLOW_LIST)]))
    assert reading.outcome == "not denied"


@pytest.mark.parametrize(
    "statement",
    [
        allow("sso:CreateInstance", Resource="arn:aws:sso:::instance/*"),
        allow("sso:*", NotResource="arn:aws:sso:::permissionSet/*"),
        allow("*", Condition={"StringEquals": {"aws:PrincipalAccount": [PROD]}}),
        allow(
            "*",
            Condition={
                "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"o-exampleorg1/{ROOT}/{WORKLOADS}/*"]}
            },
        ),
        allow("s3:*", not_action=True),
    ],
)
def test_an_allow_that_certainly_applies_opens_its_level(statement: dict[str, Any]) -> None:
    assert read(attached(production=[("p-1", doc(statement))])).outcome == "not denied"


def test_no_scp_anywhere_means_scps_are_not_in_force() -> None:
    # Disabling SCPs detaches every SCP: nothing filters the call.
    assert read([]) == ScpReading(denied_by=(), closed_levels=(), doubts=())


# --- undetermined: the cautious reading, named -------------------------------------------------------------


def test_an_allow_whose_condition_cannot_be_told_is_a_doubt_naming_policy_statement_and_level() -> None:
    regional = {
        "Sid": "Europe",
        **allow("sso:*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}),
    }
    reading = read(attached(workloads=[("p-eu", doc(allow("s3:*"), regional))]))
    assert reading.outcome == "undetermined"
    assert reading.doubts == (
        "p-eu statement 'Europe' at OU ou-ab12-workload may allow it, so that level was not counted as denying: "
        "condition key aws:RequestedRegion cannot be evaluated for a call not yet made",
    )


def test_an_allow_on_some_instance_ids_is_a_doubt() -> None:
    reading = read(
        attached(account=[("p-1", doc(allow("sso:*", Resource="arn:aws:sso:::instance/ssoins-*")))])
    )
    assert reading.outcome == "undetermined"
    (note,) = reading.doubts
    assert note.startswith(f"p-1 Statement[0] at account {PROD} may allow it")
    assert "Resource arn:aws:sso:::instance/ssoins-* may or may not match the new instance" in note


def test_a_deny_that_may_not_apply_is_a_doubt_naming_its_level() -> None:
    guard = {
        "Sid": "Guard",
        **deny(Condition={"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Admin"}}),
    }
    reading = read(attached(root=[("p-FullAWSAccess", FULL), ("p-guard", doc(guard))]))
    assert reading.outcome == "undetermined"
    assert reading.doubts == (
        "p-guard statement 'Guard' at root r-ab12 may deny it but was not counted: condition key "
        "aws:PrincipalArn cannot be evaluated for a call not yet made",
    )


def test_the_same_doubtful_policy_at_two_levels_is_named_at_each() -> None:
    regional = doc(allow("*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}))
    reading = read(attached(root=[("p-eu", regional)], account=[("p-eu", regional)]))
    assert [note.split(" may ")[0] for note in reading.doubts] == [
        "p-eu Statement[0] at root r-ab12",
        f"p-eu Statement[0] at account {PROD}",
    ]


def test_a_level_with_no_scp_listed_is_a_doubt_not_a_denial() -> None:
    policies = [p for p in attached() if p[1] != PRODUCTION]
    reading = read(policies)
    assert reading == ScpReading(
        denied_by=(),
        closed_levels=(),
        doubts=(
            "no SCP is listed at OU ou-ab12-prod, though AWS keeps at least one on every level while SCPs are "
            "enabled: what it allows is not known",
        ),
    )


def test_a_document_that_cannot_be_read_may_deny_and_may_allow() -> None:
    alone = read(attached(account=[("p-bad", "not json")]))
    assert alone.outcome == "undetermined"  # not closed: it may allow
    assert alone.doubts == (
        f"p-bad at account {PROD} was not read (it may deny or allow): the document is not JSON",
    )
    beside = read(attached(account=[("p-FullAWSAccess", FULL), ("p-bad", "not json")]))
    assert beside.outcome == "undetermined"  # it may deny


def test_a_malformed_statement_is_a_doubt_both_ways() -> None:
    reading = read(attached(account=[("p-1", doc({"Effect": "allow", "Action": "*", "Resource": "*"}))]))
    assert reading.outcome == "undetermined"
    assert [note.split(": ")[0] for note in reading.doubts] == [
        f"p-1 Statement[0] at account {PROD} may deny it but was not counted",
        f"p-1 Statement[0] at account {PROD} may allow it, so that level was not counted as denying",
    ]


def test_a_policy_attached_outside_the_accounts_chain_is_not_read() -> None:
    policies = [*attached(), ("p-guard", "ou-ab12-sandbox", doc(deny()))]
    reading = read(policies)
    assert not reading.denied  # a Deny on another branch does not apply here
    assert reading.doubts == (
        "p-guard is attached to ou-ab12-sandbox, which is not the account, one of its OUs or the root: it was "
        "not read",
    )


def test_without_the_chain_of_parents_the_targets_listed_are_the_levels() -> None:
    unknown = read(attached(), levels=None)
    assert unknown.outcome == "undetermined"
    assert unknown.doubts == (
        "the account's OUs are not known, so a level with no SCP listed may be missing",
    )
    assert read(attached(workloads=[("p-list", ALLOW_LIST)]), levels=None).closed_levels == (WORKLOADS,)
    assert read(attached(root=[("p-FullAWSAccess", FULL), ("p-guard", doc(deny()))]), levels=None).denied


# --- the rule -------------------------------------------------------------------------------------------------


def scp_gap(policies: list[tuple[str, str, str]], **overrides: Any) -> Hit | None:
    """The rule, on a CreateInstance in the Prod account (Workloads/Prod, not approved)."""
    scps = tuple(ServiceControlPolicy(policy_id=p, target_id=t, document=d) for p, t, d in policies)
    the_facts = facts(call=call(account_id=PROD), service_control_policies=scps, **overrides)
    return RULES_BY_ID["scp-gap"].check(Evaluation(the_facts, Policy(), NOW))


def test_scp_gap_is_silent_where_an_allow_list_leaves_the_call_out() -> None:
    assert scp_gap(attached(workloads=[("p-list", ALLOW_LIST)])) is None


def test_scp_gap_says_plainly_when_every_level_allows_the_call() -> None:
    hit = scp_gap(attached())
    assert hit == Hit(
        f"Account {PROD} is not approved, yet none of the 1 SCPs in force on it denies sso:CreateInstance: every "
        "level from the root to the account allows it, and no Deny applies",
        {"scps_checked": ["p-FullAWSAccess"], "certain": True, "doubts": []},
    )


def test_scp_gap_names_its_doubts_when_it_cannot_tell() -> None:
    regional = {
        "Sid": "Europe",
        **allow("sso:*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}),
    }
    hit = scp_gap(attached(workloads=[("p-eu", doc(regional))]))
    assert hit is not None
    assert hit.facts["certain"] is False
    assert hit.reason.startswith(
        f"Account {PROD} is not approved, yet none of the 2 SCPs in force on it certainly denies "
        "sso:CreateInstance; what could not be told is read as not denying: p-eu statement 'Europe' at OU "
        "ou-ab12-workload may allow it"
    )


def test_scp_gap_without_any_scp_says_scps_are_not_enabled() -> None:
    hit = scp_gap([])
    assert hit is not None
    assert hit.reason == (
        f"Account {PROD} is not approved, and no SCP is attached from the root to it (SCPs are not enabled): "
        "nothing denies it"
    )
    assert hit.facts == {"scps_checked": [], "certain": True, "doubts": []}


def test_scp_gap_reads_levels_from_the_accounts_parents() -> None:
    # The same policies, with the account's place unknown: the levels cannot be checked for gaps.
    no_parents = AccountFacts(account_id=PROD, name="Prod Analytics")
    hit = scp_gap(attached(), account=no_parents)
    assert hit is not None
    assert hit.facts["certain"] is False
    assert "the account's OUs are not known" in hit.reason


# --- the policy page says what the reader writes ----------------------------------------------------------


def test_the_policy_page_quotes_the_notes_the_reader_writes() -> None:
    text = " ".join(
        (Path(__file__).resolve().parents[2] / "docs" / "policy.md").read_text(encoding="utf-8").split()
    )
    section = text[text.index("**How SCPs are read**") : text.index("**Second instances**")]
    quoted = re.findall(r"`(p-\d+ statement [^`]*)`", section)
    regional = {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
    deny_note = read(
        attached(
            workloads=[
                ("p-FullAWSAccess", FULL),
                ("p-123", doc({"Sid": "DenyCreate", **deny(Condition=regional)})),
            ]
        )
    ).doubts
    allow_note = read(
        attached(production=[("p-456", doc({"Sid": "AllowEurope", **allow("sso:*", Condition=regional)}))])
    ).doubts
    assert len(quoted) == 2
    assert deny_note == (quoted[0],)
    assert allow_note[0].startswith(quoted[1].removesuffix("…"))
