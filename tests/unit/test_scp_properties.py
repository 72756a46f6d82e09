"""Properties of the SCP reader over generated patterns, statements and documents.

The wildcard matcher is checked against a regular expression built the obvious way; the reading
against what must hold whatever the policies say: an unconditional deny of everything denies, more
statements never deny less, nothing raises, and a Resource verdict agrees with sampled instance ARNs.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardrail.core.scp import DenialReading, matches_wildcard, read_create_instance_denial

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
