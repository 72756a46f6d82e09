"""Generated SCP sets attached at every level of an organization, for the SCP reader's properties.

An account sits under the root and up to two OUs; each level (the root, each OU, the account) holds
`FullAWSAccess` or not (replaced by allow-lists) and a few generated policies of Deny and Allow
statements: `Action`/`NotAction` with wildcards, `Resource`/`NotResource` with the ARNs
CreateInstance acts on (and others), conditions on the principal, the account, the organization path
and the Region. Every document is valid IAM, so that an IAM simulator takes it as AWS would.

`CONTEXTS` are the values the reader cannot know before a call (the Region, the principal, the new
instance's id): what the generated conditions and patterns name, and values they miss.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

ACCOUNT = "444444444444"
OTHER_ACCOUNT = "555555555555"
ORGANIZATION = "o-exampleorg1"
ROOT = "r-ab12"
OUS = ("ou-ab12-workload", "ou-ab12-prod")
FULL_AWS_ACCESS: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
PRINCIPALS = (f"arn:aws:iam::{ACCOUNT}:role/Admin", f"arn:aws:iam::{ACCOUNT}:role/Developer")
INSTANCE_IDS = ("ssoins-1111222233334444", "ins-5555666677778888")


@dataclass(frozen=True)
class Context:
    """What a CreateInstance call carries that the reader cannot know in advance."""

    region: str
    principal: str
    instance_id: str

    @property
    def instance_arn(self) -> str:
        return f"arn:aws:sso:::instance/{self.instance_id}"


CONTEXTS = tuple(Context(*values) for values in itertools.product(REGIONS, PRINCIPALS, INSTANCE_IDS))

ACTIONS = (
    "*",
    "sso:*",
    "sso:CreateInstance",
    "SSO:createinstance",
    "sso:Create*",
    "sso:Create?nstance",
    "sso:*Instance",
    "sso:Describe*",
    "sso:DeleteInstance",
    "s3:*",
    "ec2:*",
    "iam:*",
)
RESOURCES = (
    "*",
    "arn:aws:sso:::instance/*",
    "arn:*:sso:::instance/*",
    "arn:aws:sso:::*",
    "arn:aws:sso:::instance/ssoins-*",
    f"arn:aws:sso:::instance/{INSTANCE_IDS[0]}",
    "arn:aws:sso:::permissionSet/*",
    "arn:aws-cn:sso:::instance/*",
    "arn:aws:s3:::*",
)
STRING_OPERATORS = (
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "StringNotEqualsIfExists",
)
SET_OPERATORS = (
    "ForAnyValue:StringLike",
    "ForAllValues:StringLike",
    "ForAnyValue:StringNotLike",
    "ForAllValues:StringNotLike",
)
# Condition keys and values that hit the account, its path and CONTEXTS, and values that miss them.
SINGLE_VALUED: dict[str, tuple[list[str], ...]] = {
    "aws:PrincipalAccount": ([ACCOUNT], [OTHER_ACCOUNT], ["4444*"], ["5*", OTHER_ACCOUNT]),
    "aws:ResourceAccount": ([ACCOUNT], [OTHER_ACCOUNT, "4*"]),
    "aws:RequestedRegion": (["eu-west-1"], ["us-*"], ["eu-west-1", "us-east-1"], ["ap-*"]),
    "aws:PrincipalArn": (["arn:aws:iam::*:role/Admin"], [f"arn:aws:iam::{ACCOUNT}:role/Dev*"]),
}
ORG_PATHS: tuple[list[str], ...] = (
    [f"{ORGANIZATION}/{ROOT}/{OUS[0]}/*"],
    [f"{ORGANIZATION}/{ROOT}/ou-ab12-sandbox/*"],
    [f"{ORGANIZATION}/*"],
)


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, dict[str, list[str]]]:
    condition: dict[str, dict[str, list[str]]] = {}
    for _ in range(draw(st.integers(1, 2))):
        if draw(st.integers(0, 4)) == 0:
            operator, key, values = draw(st.sampled_from(SET_OPERATORS)), "aws:PrincipalOrgPaths", ORG_PATHS
        else:
            key = draw(st.sampled_from(sorted(SINGLE_VALUED)))
            operator, values = draw(st.sampled_from(STRING_OPERATORS)), SINGLE_VALUED[key]
        condition.setdefault(operator, {})[key] = list(draw(st.sampled_from(values)))
    return condition


def _one_or_list(pool: tuple[str, ...]) -> st.SearchStrategy[str | list[str]]:
    return st.one_of(
        st.sampled_from(pool), st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True)
    )


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": draw(st.sampled_from(["Deny", "Allow"]))}
    if draw(st.booleans()):
        statement["Sid"] = draw(st.sampled_from(["Guard", "AllowListed", "Regional"]))
    statement[draw(st.sampled_from(["Action", "Action", "NotAction"]))] = draw(_one_or_list(ACTIONS))
    statement[draw(st.sampled_from(["Resource", "Resource", "Resource", "NotResource"]))] = draw(
        _one_or_list(RESOURCES)
    )
    if draw(st.integers(0, 2)) == 0:
        statement["Condition"] = draw(conditions())
    return statement


def documents() -> st.SearchStrategy[dict[str, Any]]:
    return st.lists(statements(), min_size=1, max_size=3).map(
        lambda listed: {"Version": "2012-10-17", "Statement": listed}
    )


@dataclass(frozen=True)
class Level:
    """One level (the root, an OU or the account) and the SCPs attached to it: (policy id, document)."""

    target: str
    policies: tuple[tuple[str, dict[str, Any]], ...]


@dataclass(frozen=True)
class ScpSet:
    levels: tuple[Level, ...]
    """The root first, then each OU down, then the account."""

    @property
    def org_path(self) -> str:
        return "/".join([ORGANIZATION, *(level.target for level in self.levels[:-1])]) + "/"

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(level.target for level in self.levels)

    def attached(self) -> list[tuple[str, str, str]]:
        """What the reader takes: (policy id, target id, document as JSON text)."""
        return [
            (policy_id, level.target, json.dumps(document))
            for level in self.levels
            for policy_id, document in level.policies
        ]

    def describe(self) -> str:
        return json.dumps({level.target: dict(level.policies) for level in self.levels}, indent=1)


@st.composite
def scp_sets(draw: st.DrawFn) -> ScpSet:
    """FullAWSAccess stays at most levels (as in most organizations); where it is replaced, the level
    holds only generated policies, so that allow-lists decide there."""
    targets = (ROOT, *OUS[: draw(st.integers(0, len(OUS)))], ACCOUNT)
    counter = itertools.count(1)
    levels = []
    for target in targets:
        policies: list[tuple[str, dict[str, Any]]] = []
        if draw(st.integers(0, 3)) > 0:
            policies.append(("p-FullAWSAccess", FULL_AWS_ACCESS))
        for document in draw(st.lists(documents(), min_size=0 if policies else 1, max_size=2)):
            policies.append((f"p-{next(counter)}", document))
        levels.append(Level(target, tuple(policies)))
    return ScpSet(tuple(levels))
