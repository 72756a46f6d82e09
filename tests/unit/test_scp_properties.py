"""Properties of the SCP reader over generated patterns, statements, documents and SCP sets.

The wildcard matcher is checked against a regular expression built the obvious way; the Deny side
against what must hold whatever the policies say: an unconditional deny of everything denies, more
statements never deny less, nothing raises, and a Resource verdict agrees with sampled instance ARNs.
The reading by level is checked over generated allow-list and deny-list SCP sets at every level
(`tests/scp_sets.py`) against AWS's evaluation of each concrete call it could be, and against what
must hold of levels: one left without an Allow denies, FullAWSAccess everywhere leaves the Deny side
alone, a level with no SCP listed is a doubt, a Deny never opens and an Allow never closes.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from guardrail.core.scp import (
    DenialReading,
    ScpReading,
    matches_wildcard,
    read_create_instance,
    read_create_instance_denial,
)
from tests import scp_sets as sets
from tests.scp_sets import Context, Level, ScpSet

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ALPHABET = "*?[]!-aAbBcCsSoO:"
ELEMENTS = (
    "Version",
    "Statement",
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
OPERATORS = ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "ForAllValues:StringNotLike")
KEYS = ("aws:PrincipalAccount", "aws:ResourceAccount", "aws:PrincipalOrgPaths", "aws:RequestedRegion")
ACCOUNT = "333333333333"
ORG_PATH = "o-exampleorg1/r-ab12/ou-ab12-workload/"


def reference(pattern: str, text: str, ignore_case: bool) -> bool:
    """IAM's wildcards as a regex: everything escaped but `*` (any run) and `?` (one character)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch(regex, text, flags) is not None


patterns = st.text(alphabet=ALPHABET, max_size=12)


@st.composite
def instantiated(draw: st.DrawFn) -> tuple[str, str]:
    """A pattern and a text made from it (wildcards filled in, letters' case flipped): mostly matches."""
    pattern = draw(patterns)
    pieces: list[str] = []
    for char in pattern:
        if char == "*":
            pieces.append(draw(st.text(alphabet=ALPHABET, max_size=3)))
        elif char == "?":
            pieces.append(draw(st.sampled_from(ALPHABET)))
        else:
            pieces.append(char.swapcase() if draw(st.booleans()) else char)
    return pattern, "".join(pieces)


@SETTINGS
@given(st.one_of(st.tuples(patterns, st.text(alphabet=ALPHABET, max_size=12)), instantiated()), st.booleans())
def test_the_matcher_agrees_with_a_regex_of_the_pattern(case: tuple[str, str], ignore_case: bool) -> None:
    pattern, text = case
    assert matches_wildcard(pattern, text, ignore_case=ignore_case) is reference(pattern, text, ignore_case)


# --- documents ----------------------------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12))
json_keys = st.one_of(st.sampled_from(ELEMENTS + OPERATORS + KEYS), st.text(max_size=8))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(json_keys, inner, max_size=5),
    max_leaves=25,
)

plausible_statements = st.fixed_dictionaries(
    {},
    optional={
        "Sid": st.sampled_from(["", "Deny1", "x"]),
        "Effect": st.sampled_from(["Deny", "Allow", "deny"]),
        "Action": st.one_of(
            st.sampled_from(
                ["*", "sso:*", "sso:CreateInstance", "sso:[C]reateInstance", "s3:*", "sso:Create?nstance"]
            ),
            st.lists(st.sampled_from(["sso:*", "s3:*", "SSO:CREATE*"]), min_size=1, max_size=3),
        ),
        "NotAction": st.sampled_from(["s3:*", "sso:*", ["iam:*", "sso:Describe*"]]),
        "Resource": st.sampled_from(
            [
                "*",
                "arn:aws:sso:::instance/*",
                "arn:aws:sso:::instance/ssoins-1",
                "arn:aws:sso:::permissionSet/*",
            ]
        ),
        "NotResource": st.sampled_from(["arn:aws:sso:::permissionSet/*", "arn:aws:sso:::instance/*"]),
        "Condition": st.dictionaries(
            st.sampled_from(OPERATORS),
            st.dictionaries(
                st.sampled_from(KEYS), st.sampled_from([ACCOUNT, "4*", ["o-exampleorg1/*"], None])
            ),
            max_size=2,
        ),
    },
)
statements = st.one_of(plausible_statements, json_values)


def documents(statement: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"Statement": st.lists(statement, max_size=4)},
        optional={"Version": st.sampled_from(["2012-10-17", "2008-10-17"])},
    )


policy_sets = st.lists(st.tuples(st.sampled_from(["p-1", "p-2", "p-3"]), documents(statements)), max_size=4)
org_paths = st.one_of(st.none(), st.just(ORG_PATH), st.text(max_size=12))


@SETTINGS
@given(
    policy_sets,
    st.text(max_size=12),
    org_paths,
    st.sampled_from(["aws", "aws-cn", "aws-us-gov", ""]),
    st.booleans(),
    st.booleans(),
)
def test_an_unconditional_deny_of_everything_always_denies(
    others: list[tuple[str, dict[str, Any]]],
    account_id: str,
    org_path: str | None,
    partition: str,
    single: bool,
    as_text: bool,
) -> None:
    deny: dict[str, Any] = {"Effect": "Deny", "Action": "*", "Resource": "*"}
    # The deny alone as the Statement object, or last in a list after other statements.
    company = others[0][1]["Statement"] if others else []
    document: dict[str, Any] = {"Statement": deny if single else [*company, deny]}
    policies = [*others, ("p-deny", json.dumps(document) if as_text else document)]
    reading = read_create_instance_denial(policies, account_id, org_path, partition)
    assert reading.denied
    assert "p-deny" in reading.denied_by


@SETTINGS
@given(policy_sets, statements, st.integers(min_value=0, max_value=3), org_paths)
def test_adding_a_statement_never_denies_less(
    policies: list[tuple[str, dict[str, Any]]], extra: Any, where: int, org_path: str | None
) -> None:
    before = read_create_instance_denial(policies, ACCOUNT, org_path)
    if policies:
        index = where % len(policies)
        policy_id, document = policies[index]
        grown = {**document, "Statement": [*document["Statement"], extra]}
        after_policies = [*policies[:index], (policy_id, grown), *policies[index + 1 :]]
    else:
        after_policies = [("p-new", {"Statement": [extra]})]
    after = read_create_instance_denial(after_policies, ACCOUNT, org_path)
    assert set(before.denied_by) <= set(after.denied_by)
    assert after.denied or not before.denied


arbitrary_documents = st.one_of(
    json_values,
    json_values.map(json.dumps),
    st.text(max_size=30),
    st.dictionaries(json_keys, json_values, max_size=4),
    documents(json_values),
)


@SETTINGS
@given(
    st.lists(st.tuples(st.text(max_size=6), arbitrary_documents), max_size=4), st.text(max_size=12), org_paths
)
def test_a_reading_never_raises_and_its_notes_name_the_policy(
    policies: list[tuple[str, Any]], account_id: str, org_path: str | None
) -> None:
    reading = read_create_instance_denial(policies, account_id, org_path)
    assert isinstance(reading, DenialReading)
    ids = [policy_id for policy_id, _ in policies]
    assert all(policy_id in ids for policy_id in reading.denied_by)
    assert all(
        isinstance(note, str) and any(note.startswith(f"{i} ") for i in ids) for note in reading.doubts
    )
    assert read_create_instance_denial(policies, account_id, org_path) == reading  # deterministic


# --- Resource against sampled instance ARNs --------------------------------------------------------------

arn_patterns = st.lists(
    st.sampled_from(["arn", ":", "aws", "sso", "instance", "Instance", "/", "*", "?", "ssoins-", "a", "-cn"]),
    max_size=10,
).map("".join)
instance_ids = st.one_of(
    st.from_regex(r"(sso)?ins-[a-zA-Z0-9.-]{16}", fullmatch=True),
    st.text(alphabet="ssoin-a/*?", min_size=1, max_size=8),
)


@SETTINGS
@given(
    st.lists(arn_patterns, min_size=1, max_size=3),
    st.booleans(),
    st.lists(instance_ids, min_size=1, max_size=5),
)
def test_a_resource_verdict_agrees_with_sampled_instance_arns(
    resources: list[str], negated: bool, ids: list[str]
) -> None:
    """Denied: every sampled instance ARN matches (under the widest reading); no doubt and not
    denied: none does (a NotResource the other way round)."""
    element = "NotResource" if negated else "Resource"
    document = {"Statement": [{"Effect": "Deny", "Action": "sso:CreateInstance", element: resources}]}
    reading = read_create_instance_denial([("p-1", document)], ACCOUNT)
    arns = [f"arn:aws:sso:::instance/{instance_id}" for instance_id in ids]
    matched = [any(reference(r, arn, ignore_case=False) for r in resources) for arn in arns]
    if reading.denied:
        assert not any(matched) if negated else all(matched)
    elif not reading.doubts:
        assert all(matched) if negated else not any(matched)


# --- the reading by level, over generated allow-list and deny-list SCP sets ---------------------------------
#
# The oracle evaluates one concrete call as AWS's SCP evaluation describes it (a Deny that applies at any
# level denies; every level must hold an Allow that applies), with every value known: the Region, the
# principal, the new instance's id. The reader knows none of them, so it must be right for each.


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _request_values(key: str, context: Context, org_path: str) -> list[str]:
    return {
        "aws:principalaccount": [sets.ACCOUNT],
        "aws:resourceaccount": [sets.ACCOUNT],
        "aws:requestedregion": [context.region],
        "aws:principalarn": [context.principal],
        "aws:principalorgpaths": [org_path],
    }[key.lower()]


def _clause_holds(operator: str, key: str, listed: list[str], context: Context, org_path: str) -> bool:
    qualifier, _, base = operator.removesuffix("IfExists").rpartition(":")
    negated, like = "Not" in base, base.endswith("Like")

    def holds(value: str) -> bool:
        hit = any(reference(p, value, ignore_case=False) if like else p == value for p in listed)
        return hit != negated

    values = _request_values(key, context, org_path)
    return any(map(holds, values)) if qualifier == "ForAnyValue" else all(map(holds, values))


def _applies(statement: dict[str, Any], context: Context, org_path: str) -> bool:
    element = "Action" if "Action" in statement else "NotAction"
    named = any(reference(a, "sso:CreateInstance", ignore_case=True) for a in _listed(statement[element]))
    element = "Resource" if "Resource" in statement else "NotResource"
    covered = any(reference(r, context.instance_arn, ignore_case=False) for r in _listed(statement[element]))
    condition = statement.get("Condition", {})
    return (
        named == ("Action" in statement)
        and covered == ("Resource" in statement)
        and all(
            _clause_holds(operator, key, _listed(values), context, org_path)
            for operator, clause in condition.items()
            for key, values in clause.items()
        )
    )


def aws_allows(scps: ScpSet, context: Context) -> bool:
    """AWS's SCP evaluation of one concrete CreateInstance call."""
    by_level = [
        [statement for _, document in level.policies for statement in document["Statement"]]
        for level in scps.levels
    ]
    if any(
        s["Effect"] == "Deny" and _applies(s, context, scps.org_path) for listed in by_level for s in listed
    ):
        return False
    return all(
        any(s["Effect"] == "Allow" and _applies(s, context, scps.org_path) for s in listed)
        for listed in by_level
    )


def read(scps: ScpSet) -> ScpReading:
    return read_create_instance(scps.attached(), sets.ACCOUNT, scps.targets, scps.org_path)


LEVEL_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(LEVEL_SETTINGS, max_examples=200)
@given(sets.scp_sets())
def test_the_reading_by_level_holds_for_every_call_it_could_be(scps: ScpSet) -> None:
    """Denied: AWS denies the call whatever its Region, principal and instance id; not denied: AWS
    allows it for each; undetermined otherwise, with doubts."""
    reading = read(scps)
    event(reading.outcome)
    allowed = [aws_allows(scps, context) for context in sets.CONTEXTS]
    if reading.denied:
        assert not any(allowed), scps.describe()
    elif not reading.doubts:
        assert all(allowed), scps.describe()
    if any(allowed):
        assert not reading.denied, scps.describe()


@LEVEL_SETTINGS
@given(sets.scp_sets())
def test_the_deny_side_of_the_reading_by_level_is_the_deny_only_reading(scps: ScpSet) -> None:
    by_level = read(scps)
    deny_only = read_create_instance_denial(
        [(policy_id, document) for policy_id, _, document in scps.attached()], sets.ACCOUNT, scps.org_path
    )
    assert by_level.denied_by == deny_only.denied_by


@LEVEL_SETTINGS
@given(sets.scp_sets(), st.integers(min_value=0, max_value=3))
def test_a_level_left_without_an_allow_denies_by_omission(scps: ScpSet, where: int) -> None:
    index = where % len(scps.levels)
    level = scps.levels[index]
    kept: list[tuple[str, dict[str, Any]]] = []
    for policy_id, document in level.policies:
        denies = [s for s in document["Statement"] if s["Effect"] == "Deny"]
        if denies:
            kept.append((policy_id, {**document, "Statement": denies}))
    if not kept:  # a level keeps at least one SCP: a deny-list of something else
        kept.append(("p-other", {"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}))
    closed = replace(
        scps, levels=(*scps.levels[:index], Level(level.target, tuple(kept)), *scps.levels[index + 1 :])
    )
    reading = read(closed)
    assert reading.denied
    assert level.target in reading.closed_levels
    assert not any(aws_allows(closed, context) for context in sets.CONTEXTS)


@LEVEL_SETTINGS
@given(sets.scp_sets())
def test_full_aws_access_at_every_level_leaves_the_deny_side_alone(scps: ScpSet) -> None:
    opened = replace(
        scps,
        levels=tuple(
            Level(level.target, (*level.policies, ("p-FullAWSAccess", sets.FULL_AWS_ACCESS)))
            for level in scps.levels
        ),
    )
    reading = read(opened)
    assert reading.closed_levels == ()
    deny_only = read_create_instance_denial(
        [(policy_id, document) for policy_id, _, document in opened.attached()], sets.ACCOUNT, scps.org_path
    )
    assert reading.denied is deny_only.denied
    assert reading.outcome == "not denied" or reading.denied or deny_only.doubts


@LEVEL_SETTINGS
@given(sets.scp_sets(), st.integers(min_value=0, max_value=3))
def test_a_level_with_no_scp_listed_is_a_doubt_never_a_denial(scps: ScpSet, where: int) -> None:
    index = where % len(scps.levels)
    target = scps.levels[index].target
    emptied = replace(scps, levels=(*scps.levels[:index], Level(target, ()), *scps.levels[index + 1 :]))
    reading = read(emptied)
    assert target not in reading.closed_levels
    assert reading.outcome != "not denied"
    if not reading.denied:
        assert any(note.startswith("no SCP is listed at ") and target in note for note in reading.doubts)


@LEVEL_SETTINGS
@given(sets.scp_sets(), sets.statements(), st.integers(min_value=0, max_value=3))
def test_a_deny_never_opens_and_an_allow_never_closes(
    scps: ScpSet, extra: dict[str, Any], where: int
) -> None:
    index = where % len(scps.levels)
    level = scps.levels[index]
    grown_level = Level(
        level.target, (*level.policies, ("p-extra", {"Version": "2012-10-17", "Statement": [extra]}))
    )
    grown = replace(scps, levels=(*scps.levels[:index], grown_level, *scps.levels[index + 1 :]))
    before, after = read(scps), read(grown)
    if extra["Effect"] == "Deny":
        assert set(before.denied_by) <= set(after.denied_by)
        assert set(before.closed_levels) <= set(after.closed_levels)
    else:
        assert after.denied_by == before.denied_by
        assert set(after.closed_levels) <= set(before.closed_levels)


@LEVEL_SETTINGS
@given(sets.scp_sets())
def test_every_doubt_names_the_policy_the_statement_and_the_level(scps: ScpSet) -> None:
    reading = read(scps)
    policies = {policy_id for policy_id, _, _ in scps.attached()}
    for note in reading.doubts:
        policy_id, _, rest = note.partition(" ")
        assert policy_id in policies, note
        assert rest.startswith(("statement '", "Statement[")), note
        assert any(
            f" at {kind} {target} " in rest for kind in ("root", "OU", "account") for target in scps.targets
        )


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.text(max_size=6),
            st.sampled_from([sets.ROOT, "ou-ab12-x", sets.ACCOUNT, "elsewhere"]),
            arbitrary_documents,
        ),
        max_size=5,
    ),
    st.one_of(st.none(), st.just((sets.ROOT, "ou-ab12-x", sets.ACCOUNT))),
    org_paths,
)
def test_a_reading_by_level_never_raises(
    policies: list[tuple[str, str, Any]], levels: tuple[str, ...] | None, org_path: str | None
) -> None:
    reading = read_create_instance(policies, sets.ACCOUNT, levels, org_path)
    assert reading.outcome in ("denied", "not denied", "undetermined")
    assert (reading.outcome == "not denied") is (not reading.denied and not reading.doubts)
    assert read_create_instance(policies, sets.ACCOUNT, levels, org_path) == reading
