"""Does a set of service control policies deny `sso:CreateInstance` to an account?

A pure reading of SCP documents, deliberately conservative: a statement counts as denying only
when it certainly applies to the account. A Deny whose Condition could exempt the account (or
that we cannot read) does not count, so the guardrail errs towards reporting a gap.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from typing import Any

ACTION = "sso:createinstance"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _matches(pattern: Any, action: str) -> bool:
    return isinstance(pattern, str) and fnmatch.fnmatchcase(action, pattern.lower())


def _covers_action(statement: Mapping[str, Any]) -> bool:
    if "Action" in statement:
        return any(_matches(pattern, ACTION) for pattern in _as_list(statement["Action"]))
    if "NotAction" in statement:
        return not any(_matches(pattern, ACTION) for pattern in _as_list(statement["NotAction"]))
    return False


# Condition operators we can judge for an account id: operator -> (negated, wildcards allowed).
_ACCOUNT_OPERATORS = {
    "StringEquals": (False, False),
    "StringLike": (False, True),
    "StringNotEquals": (True, False),
    "StringNotLike": (True, True),
}


# Operators on the multivalued aws:PrincipalOrgPaths: operator -> (negated). An account has one
# path, so ForAllValues and ForAnyValue agree on it.
_ORG_PATH_OPERATORS = {
    "ForAllValues:StringLike": False,
    "ForAnyValue:StringLike": False,
    "ForAllValues:StringNotLike": True,
    "ForAnyValue:StringNotLike": True,
}


def _clause_holds(operator: str, key: str, values: Any, account_id: str, org_path: str | None) -> bool:
    listed = [str(v) for v in _as_list(values)]
    if key in {"aws:principalaccount", "aws:resourceaccount"} and operator in _ACCOUNT_OPERATORS:
        negated, wildcards = _ACCOUNT_OPERATORS[operator]
        # The ...Equals operators compare literally: only the ...Like ones know wildcards.
        matched = any(fnmatch.fnmatchcase(account_id, v) if wildcards else account_id == v for v in listed)
        return matched != negated
    if key == "aws:principalorgpaths" and operator in _ORG_PATH_OPERATORS and org_path is not None:
        matched = any(fnmatch.fnmatchcase(org_path, v) for v in listed)
        return matched != _ORG_PATH_OPERATORS[operator]
    return False  # a condition on anything else may or may not hold: not certain


def _condition_applies(condition: Any, account_id: str, org_path: str | None) -> bool:
    """True only when the condition certainly holds for calls made in `account_id`."""
    if not condition:
        return True
    if not isinstance(condition, Mapping):
        return False
    for operator, clauses in condition.items():
        if not isinstance(clauses, Mapping):
            return False
        for key, values in clauses.items():
            if not _clause_holds(str(operator), str(key).lower(), values, account_id, org_path):
                return False
    return True


def denies_create_instance(
    document: str | Mapping[str, Any], account_id: str, org_path: str | None = None
) -> bool:
    """Whether one SCP document certainly denies `sso:CreateInstance` for `account_id`.

    `org_path` is the account's `aws:PrincipalOrgPaths` value (`o-…/r-…/ou-…/`), when known.
    """
    try:
        policy = json.loads(document) if isinstance(document, str) else document
    except json.JSONDecodeError:
        return False
    if not isinstance(policy, Mapping):
        return False
    for statement in _as_list(policy.get("Statement")):
        if (
            isinstance(statement, Mapping)
            and statement.get("Effect") == "Deny"
            and _covers_action(statement)
            # NotResource may carve out the very resource: not certain, so not counted.
            and "NotResource" not in statement
            and _as_list(statement.get("Resource", "*")) == ["*"]
            and _condition_applies(statement.get("Condition"), account_id, org_path)
        ):
            return True
    return False


def any_denies_create_instance(
    documents: Iterable[str | Mapping[str, Any]], account_id: str, org_path: str | None = None
) -> bool:
    return any(denies_create_instance(document, account_id, org_path) for document in documents)
