"""Do the service control policies in force on an account certainly deny `sso:CreateInstance`?

A pure reading of SCP documents, as AWS evaluates them ("SCP evaluation", AWS Organizations User
Guide): an action is allowed only if an SCP at *every* level from the root, through each OU, to the
account allows it, and an explicit Deny at any level denies it. So the call is denied either by a
Deny or by omission, at a level none of whose statements allows it (an allow-list that replaced
`FullAWSAccess` and leaves `sso:CreateInstance` out). Since September 2025 SCPs take the whole IAM
language, Allow statements included (conditions, `NotAction`, `Resource`, `NotResource`).

The reading is deliberately cautious, so that the guardrail errs towards reporting a gap: a
statement counts as denying (or as allowing) only when its Effect is exactly `Deny` (or `Allow`) and
its action, its resource and every condition certainly apply to a CreateInstance call made in the
account. A Deny that may apply is not counted as denying; an Allow that may apply keeps its level
from being counted as denying by omission. Whatever cannot be told (an unknown condition key or
operator, a Resource that may or may not cover the new instance, a malformed statement, a document
that is not JSON, a level with no SCP listed) adds a note saying which policy, statement and level,
and why. A statement that certainly does not apply (another action, a condition that excepts the
account) gets no note.

What IAM evaluates, and where it says so:

- "Actions, resources, and condition keys for AWS IAM Identity Center" (Service Authorization
  Reference, service prefix `sso`): `CreateInstance` (access level Write) lists one resource type,
  `Instance*` (required), whose ARN is `arn:${Partition}:sso:::instance/${InstanceId}`, and the
  condition keys `aws:RequestTag/${TagKey}`, `aws:ResourceTag/${TagKey}`, `aws:TagKeys` and
  `sso:PrimaryRegion`. (An earlier edition of the page, "... AWS IAM Identity Center (successor to
  AWS Single Sign-On)", listed `Instance*` too, with only `aws:RequestTag/${TagKey}` and
  `aws:TagKeys`, and `iam:CreateServiceLinkedRole` and `organizations:DescribeOrganization` as
  dependent actions.) The same page says that an action listing no resource type takes only `"*"`
  as its Resource. CreateInstance lists one, so Resource and NotResource are matched against the
  ARN of the instance being created, whose id nobody knows before the call: a pattern covers the
  call only if it matches `arn:<partition>:sso:::instance/` followed by any non-empty id (without
  a colon: the id lies in the ARN's last segment), and misses it only if it matches no such ARN;
  anything in between is a doubt. Ids look like `ssoins-` and 16 characters today, but the reader
  does not rely on it: `.../instance/ssoins-*` is a doubt.
- "IAM JSON policy elements: Resource" (IAM User Guide): `*` and `?` are the wildcards of ARNs,
  meant to be used within a colon-separated segment; a `*` that is the last character of a segment
  can expand beyond the colon; the service segment takes no wildcard. Names in ARNs are case
  sensitive, and ARNs are matched case-sensitively here. As the spanning rule is loosely stated,
  both readings are taken: a pattern covers the instance only if it does with its wildcards kept
  within their segment (bar a segment-final `*`; a pattern with a wildcard in the service segment
  then matches nothing), and misses it only if it does even when every wildcard spans colons.
- Actions match case-insensitively, the `...Like` condition operators case-sensitively (a
  case-insensitive string match is the separate StringEqualsIgnoreCase); both know only `*` (any
  run of characters, possibly empty) and `?` (exactly one). Every other character, `[` included,
  is literal.

Conditions judged: `aws:PrincipalAccount` and `aws:ResourceAccount` (the account the call is made
in) with StringEquals, StringLike, StringNotEquals and StringNotLike; `aws:PrincipalOrgPaths` (the
account's one OU path, when given) with ForAllValues: or ForAnyValue: StringLike and StringNotLike.
Key names ignore case, operator names do not. `...IfExists` reads as the operator itself, as these
keys are present in every such call. Policy variables (`${...}`, under Version 2012-10-17) are not
resolved: a value holding one is a doubt. A statement without Resource or NotResource applies to
every resource.

Notes of the Deny side alone read `<policy id> statement '<Sid>' was not counted: <why>`, or
`<policy id> Statement[<n>]` (n from 0) for a statement without a Sid, and `<policy id> was not read:
<why>` for a document; the reading by level adds the level (`at root r-…`, `at OU ou-…`, `at account
…`) and says which way the statement may go.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

ACTION: Final = "sso:CreateInstance"

# --- IAM's wildcards ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    """One pattern character: a literal, `?` (one character) or `*` (any run, possibly empty)."""

    kind: Literal["literal", "one", "many"]
    char: str = ""
    spans_colon: bool = True


_Tokens = tuple[_Token, ...]
_Positions = frozenset[int]


def _compile(pattern: str) -> _Tokens:
    return tuple(
        _Token("many") if c == "*" else _Token("one") if c == "?" else _Token("literal", c) for c in pattern
    )


def _compile_within_segments(pattern: str) -> _Tokens | None:
    """The narrow ARN reading: wildcards stay in their segment unless a `*` ends it.

    None when a wildcard stands in the service segment, which IAM does not allow: it matches nothing.
    """
    tokens: list[_Token] = []
    segment = 0
    for index, char in enumerate(pattern):
        if char not in "*?":
            tokens.append(_Token("literal", char))
            if char == ":":
                segment += 1
            continue
        if segment == 2:
            return None
        ends_segment = char == "*" and pattern[index + 1 : index + 2] in ("", ":")
        tokens.append(_Token("many" if char == "*" else "one", spans_colon=ends_segment))
    return tuple(tokens)


def _closure(tokens: _Tokens, positions: Iterable[int]) -> _Positions:
    """Positions reachable without reading: a `*` may match nothing."""
    reached: set[int] = set()
    pending = list(positions)
    while pending:
        position = pending.pop()
        if position in reached:
            continue
        reached.add(position)
        if position < len(tokens) and tokens[position].kind == "many":
            pending.append(position + 1)
    return frozenset(reached)


def _step(tokens: _Tokens, positions: _Positions, char: str, ignore_case: bool = False) -> _Positions:
    following: list[int] = []
    for position in positions:
        if position == len(tokens):
            continue
        token = tokens[position]
        if token.kind == "literal":
            if token.char == char or (ignore_case and token.char.casefold() == char.casefold()):
                following.append(position + 1)
        elif char != ":" or token.spans_colon:
            following.append(position if token.kind == "many" else position + 1)
    return _closure(tokens, following)


def _run(tokens: _Tokens, text: str, ignore_case: bool = False) -> _Positions:
    positions = _closure(tokens, [0])
    for char in text:
        if not positions:
            break
        positions = _step(tokens, positions, char, ignore_case)
    return positions


def matches_wildcard(pattern: str, text: str, *, ignore_case: bool = False) -> bool:
    """IAM's matching: `*` any run of characters, `?` exactly one, every other character literal.

    Simulated as a set of pattern positions, so it takes linear time whatever the pattern.
    """
    tokens = _compile(pattern)
    return len(tokens) in _run(tokens, text, ignore_case)


# Bounds on exploring which instance ids a set of ARN patterns matches; past them, a doubt.
_MAX_STATES: Final = 2_000
_MAX_WORK: Final = 500_000


def _id_coverage(patterns: Sequence[_Tokens], prefix: str) -> tuple[bool, bool] | None:
    """Over every `prefix + id` with a non-empty id: (all matched by a pattern, some matched).

    An id holds no colon (it lies within the ARN's last segment). Explores the patterns' joint
    states over a finite alphabet that stands for every other character: each literal of the
    patterns and one character that is none of them. None when the patterns are too intricate to
    explore within the bounds.
    """
    literals = {t.char for tokens in patterns for t in tokens if t.kind == "literal"} - {":"}
    other = next(chr(code) for code in itertools.count(0xE000) if chr(code) not in literals)
    alphabet = sorted(literals | {other})
    work = 0

    def step(state: tuple[_Positions, ...], char: str) -> tuple[_Positions, ...]:
        nonlocal work
        work += sum(len(positions) for positions in state) + 1
        return tuple(_step(t, p, char) for t, p in zip(patterns, state, strict=True))

    start = tuple(_run(tokens, prefix) for tokens in patterns)
    pending = [step(start, char) for char in alphabet]
    seen: set[tuple[_Positions, ...]] = set()
    every, some = True, False
    while pending:
        state = pending.pop()
        if state in seen:
            continue
        seen.add(state)
        if len(seen) > _MAX_STATES or work > _MAX_WORK:
            return None
        if any(len(t) in p for t, p in zip(patterns, state, strict=True)):
            some = True
        else:
            every = False
        if some and not every:
            break
        pending.extend(step(state, char) for char in alphabet)
    return every, some


# --- judging a statement -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Judgement:
    """Three-valued truth of a part of a statement: True, False, or None with why it cannot be told."""

    holds: bool | None
    doubts: tuple[str, ...] = ()


_TRUE: Final = _Judgement(True)
_FALSE: Final = _Judgement(False)


def _known(holds: bool) -> _Judgement:
    return _TRUE if holds else _FALSE


def _unknown(reason: str) -> _Judgement:
    return _Judgement(None, (reason,))


def _all(judgements: Iterable[_Judgement]) -> _Judgement:
    """Conjunction: one certain False settles it (later parts are not judged), else doubts add up."""
    doubts: list[str] = []
    for judgement in judgements:
        if judgement.holds is False:
            return _FALSE
        doubts.extend(judgement.doubts)
    return _Judgement(None, tuple(dict.fromkeys(doubts))) if doubts else _TRUE


@dataclass(frozen=True, slots=True)
class _Call:
    """The CreateInstance call judged, and whether the policy's Version makes `${...}` variables."""

    account_id: str
    org_path: str | None
    partition: str
    variables: bool = False

    @property
    def instance_arn_prefix(self) -> str:
        return f"arn:{self.partition}:sso:::instance/"


def _show(value: Any, limit: int = 80, *, quote: bool = False) -> str:
    """A short, stable rendering of a policy value for a note: a string as is, else JSON.

    Tuples are the reader's own lists of patterns: one of them reads as that pattern.
    """
    if isinstance(value, tuple) and len(value) == 1 and isinstance(value[0], str):
        value = value[0]
    if isinstance(value, str) and not quote:
        text = value
    else:
        try:
            text = json.dumps(
                list(value) if isinstance(value, tuple) else value, ensure_ascii=False, default=str
            )
        except (TypeError, ValueError, RecursionError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _strings(value: Any) -> tuple[str, ...] | None:
    """A string or a non-empty list of strings, as IAM requires of Action and Resource; else None."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _condition_values(value: Any) -> tuple[str, ...] | None:
    """Condition values as IAM compares them (strings; numbers and booleans as written in JSON)."""
    items = value if isinstance(value, list | tuple) else () if value is None else (value,)
    texts: list[str] = []
    for item in items:
        if isinstance(item, bool):
            texts.append("true" if item else "false")
        elif isinstance(item, str | int):
            texts.append(str(item))
        else:
            return None
    return tuple(texts)


_ELEMENTS: Final = frozenset({"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"})


def _judge_elements(statement: Mapping[Any, Any]) -> _Judgement:
    unknown = sorted(str(key) for key in statement if key not in _ELEMENTS)
    if unknown:
        return _unknown(f"{', '.join(unknown)} is not an SCP statement element")
    return _TRUE


_Effect = Literal["Deny", "Allow"]


def _judge_effect(statement: Mapping[Any, Any], wanted: _Effect) -> _Judgement:
    effect = statement.get("Effect")
    if effect == wanted:
        return _TRUE
    if effect in ("Deny", "Allow"):
        return _FALSE
    if "Effect" not in statement:
        return _unknown("it has no Effect")
    return _unknown(f'Effect {_show(effect)} is neither "Deny" nor "Allow" (IAM takes no other spelling)')


def _judge_action(statement: Mapping[Any, Any]) -> _Judgement:
    has_action, has_not_action = "Action" in statement, "NotAction" in statement
    if has_action == has_not_action:
        return _unknown(
            "it has both Action and NotAction" if has_action else "it has neither Action nor NotAction"
        )
    element = "Action" if has_action else "NotAction"
    patterns = _strings(statement[element])
    if patterns is None:
        return _unknown(f"{element} {_show(statement[element])} is not a string or a list of strings")
    matched = any(matches_wildcard(pattern, ACTION, ignore_case=True) for pattern in patterns)
    return _known(matched == has_action)


def _judge_resource(statement: Mapping[Any, Any], call: _Call) -> _Judgement:
    has_resource, has_not_resource = "Resource" in statement, "NotResource" in statement
    if has_resource and has_not_resource:
        return _unknown("it has both Resource and NotResource")
    if not (has_resource or has_not_resource):
        return _TRUE
    element = "Resource" if has_resource else "NotResource"
    patterns = _strings(statement[element])
    if patterns is None:
        return _unknown(f"{element} {_show(statement[element])} is not a string or a list of strings")
    variable = [p for p in patterns if call.variables and "${" in p]
    plain = [p for p in patterns if p not in variable]
    prefix = call.instance_arn_prefix
    narrow = _id_coverage([t for p in plain if (t := _compile_within_segments(p)) is not None], prefix)
    broad = _id_coverage([_compile(p) for p in plain], prefix)
    if narrow is None or broad is None:
        return _unknown(f"{element} {_show(patterns)} is too intricate to evaluate")
    if narrow[0]:
        return _known(has_resource)  # matches the new instance whatever its id
    if variable:
        return _unknown(f"{element} {_show(variable)} holds a policy variable, not resolved here")
    if not broad[1]:
        return _known(not has_resource)  # matches no instance ARN of the partition
    return _unknown(
        f"{element} {_show(patterns)} may or may not match the new instance ({prefix} followed by an id "
        "not known before the call)"
    )


# Operators judged on the account id: operator -> (negated, wildcards allowed).
_ACCOUNT_OPERATORS: Final = {
    "StringEquals": (False, False),
    "StringLike": (False, True),
    "StringNotEquals": (True, False),
    "StringNotLike": (True, True),
}
_ACCOUNT_KEYS: Final = frozenset({"aws:principalaccount", "aws:resourceaccount"})

# Operators on the multivalued aws:PrincipalOrgPaths: an account has one path, so ForAllValues and
# ForAnyValue agree on it.
_ORG_PATH_OPERATORS: Final = {
    "ForAllValues:StringLike": (False, True),
    "ForAnyValue:StringLike": (False, True),
    "ForAllValues:StringNotLike": (True, True),
    "ForAnyValue:StringNotLike": (True, True),
}
_ORG_PATH_KEY: Final = "aws:principalorgpaths"


def _judge_clause(operator: str, key: str, values: Any, call: _Call) -> _Judgement:
    base = operator.removesuffix("IfExists")  # the keys judged are always present in the call
    lowered = key.lower()
    rule: tuple[bool, bool] | None
    subject: str | None
    if lowered in _ACCOUNT_KEYS:
        rule, subject = _ACCOUNT_OPERATORS.get(base), call.account_id
    elif lowered == _ORG_PATH_KEY:
        rule, subject = _ORG_PATH_OPERATORS.get(base), call.org_path
    else:
        return _unknown(f"condition key {key} cannot be evaluated for a call not yet made")
    if rule is None:
        return _unknown(f"operator {operator} on {key} is not evaluated")
    if subject is None:
        return _unknown(f"condition key {key} needs the account's OU path, which is not known")
    listed = _condition_values(values)
    if listed is None:
        return _unknown(f"{operator} {key} has a value that is not a string: {_show(values)}")
    if call.variables and any("${" in value for value in listed):
        return _unknown(f"{operator} {key} holds a policy variable, not resolved here")
    negated, wildcards = rule
    # Only the ...Like operators know wildcards: the ...Equals ones compare literally.
    matched = any(matches_wildcard(v, subject) if wildcards else v == subject for v in listed)
    return _known(matched != negated)


def _judge_condition(statement: Mapping[Any, Any], call: _Call) -> _Judgement:
    condition = statement.get("Condition")
    if condition is None or (isinstance(condition, Mapping) and not condition):
        return _TRUE
    if not isinstance(condition, Mapping):
        return _unknown(f"Condition {_show(condition)} is not a JSON object")

    def clauses() -> Iterator[_Judgement]:
        for operator, clause in condition.items():
            if not isinstance(clause, Mapping):
                yield _unknown(f"Condition {operator} is not a JSON object of keys")
                continue
            for key, values in clause.items():
                yield _judge_clause(str(operator), str(key), values, call)

    return _all(clauses())


def _judge_statement(statement: Any, call: _Call, effect: _Effect) -> _Judgement:
    """Whether the statement denies (or allows) the call: cheap parts first, as a certain False ends it."""
    if not isinstance(statement, Mapping):
        return _unknown(f"it is not a JSON object: {_show(statement, quote=True)}")

    def parts() -> Iterator[_Judgement]:  # lazily: _all stops at the first certain False
        yield _judge_effect(statement, effect)
        yield _judge_action(statement)
        yield _judge_elements(statement)
        yield _judge_condition(statement, call)
        yield _judge_resource(statement, call)

    return _all(parts())


# --- reading policies ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DenialReading:
    """What the SCPs say of `sso:CreateInstance` for an account, and what they left unsaid."""

    denied_by: tuple[str, ...]
    """Ids of the policies that certainly deny the call, in the order given."""
    doubts: tuple[str, ...]
    """One note per statement that might deny but was not counted (or document not read), and why."""

    @property
    def denied(self) -> bool:
        return bool(self.denied_by)


def _parse(document: Any) -> tuple[Mapping[Any, Any] | None, str]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except (ValueError, RecursionError):
            return None, "the document is not JSON"
    if not isinstance(document, Mapping):
        return None, "the document is not a JSON object"
    return document, ""


def _label(default: str, statement: Any) -> str:
    sid = statement.get("Sid") if isinstance(statement, Mapping) else None
    return f"statement {_show(sid, 60)!r}" if isinstance(sid, str) and sid else default


_Doubt = tuple[str, tuple[str, ...]]  # a statement's label, and why it cannot be told


@dataclass(frozen=True, slots=True)
class _PolicyJudgement:
    """One document read both ways: whether it certainly denies, certainly allows, and the doubts."""

    problem: str = ""
    """Why the document was not read at all; then it may deny and may allow."""
    denies: bool = False
    deny_doubts: tuple[_Doubt, ...] = ()
    allows: bool = False
    allow_doubts: tuple[_Doubt, ...] = ()


def _judge_policy(document: Any, call: _Call) -> _PolicyJudgement:
    policy, problem = _parse(document)
    if policy is None:
        return _PolicyJudgement(problem=problem)
    call = replace(call, variables=policy.get("Version") == "2012-10-17")
    statements = policy.get("Statement")
    if isinstance(statements, Mapping):
        labelled = [("Statement", statements)]
    elif isinstance(statements, list):
        labelled = [(f"Statement[{index}]", statement) for index, statement in enumerate(statements)]
    else:
        return _PolicyJudgement(problem="its Statement is missing or neither an object nor a list")
    denies = allows = False
    deny_doubts: list[_Doubt] = []
    allow_doubts: list[_Doubt] = []
    for default, statement in labelled:
        deny = _judge_statement(statement, call, "Deny")
        allow = _judge_statement(statement, call, "Allow")
        denies, allows = denies or bool(deny.holds), allows or bool(allow.holds)
        if deny.holds is None:
            deny_doubts.append((_label(default, statement), deny.doubts))
        if allow.holds is None:
            allow_doubts.append((_label(default, statement), allow.doubts))
    return _PolicyJudgement("", denies, tuple(deny_doubts), allows, tuple(allow_doubts))


def read_create_instance_denial(
    policies: Iterable[tuple[str, str | Mapping[str, Any]]],
    account_id: str,
    org_path: str | None = None,
    partition: str = "aws",
) -> DenialReading:
    """Read the Deny side alone of SCPs in force on `account_id`, for a CreateInstance call made there.

    `policies` are `(policy_id, document)` pairs, the document as JSON text or parsed. `org_path` is
    the account's `aws:PrincipalOrgPaths` value (`o-…/r-…/ou-…/`), when known; `partition` is the
    ARN partition of the account (`aws`, `aws-cn`, `aws-us-gov`, …). What the Allow side says, level
    by level, is `read_create_instance`'s.
    """
    call = _Call(account_id=account_id, org_path=org_path, partition=partition)
    denied_by: dict[str, None] = {}
    doubts: dict[str, None] = {}
    for policy_id, document in policies:
        judgement = _judge_policy(document, call)
        if judgement.problem:
            doubts[f"{policy_id} was not read: {judgement.problem}"] = None
        if judgement.denies:
            denied_by[str(policy_id)] = None
        for label, why in judgement.deny_doubts:
            doubts[f"{policy_id} {label} was not counted: {'; '.join(why)}"] = None
    return DenialReading(denied_by=tuple(denied_by), doubts=tuple(doubts))


# --- reading the levels: the root, each OU down, the account ---------------------------------------------

Outcome = Literal["denied", "not denied", "undetermined"]


@dataclass(frozen=True)
class ScpReading:
    """What the SCPs in force on an account say of `sso:CreateInstance`, read as AWS evaluates them.

    Denied when a Deny certainly applies at any level, or when a level holds no statement that may
    allow the call (AWS allows an action only if every level from the root to the account allows
    it). Not denied, certainly, when every level certainly allows it and no Deny may apply, with
    nothing left unread. Anything else is undetermined, and `doubts` says why.
    """

    denied_by: tuple[str, ...]
    """Ids of the policies whose Deny certainly applies, in the order given."""
    closed_levels: tuple[str, ...]
    """The levels (target ids) where nothing may allow the call: it is denied there by omission."""
    doubts: tuple[str, ...]
    """Every statement, document or level that kept the reading from being certain, and why; empty
    when the call is certainly not denied."""

    @property
    def denied(self) -> bool:
        return bool(self.denied_by or self.closed_levels)

    @property
    def outcome(self) -> Outcome:
        return "denied" if self.denied else "undetermined" if self.doubts else "not denied"


def _level_name(target: str, account_id: str) -> str:
    if target == account_id:
        return f"account {target}"
    if target.startswith("r-"):
        return f"root {target}"
    if target.startswith("ou-"):
        return f"OU {target}"
    return f"target {target}"


def read_create_instance(
    policies: Iterable[tuple[str, str, str | Mapping[str, Any]]],
    account_id: str,
    levels: Sequence[str] | None = None,
    org_path: str | None = None,
    partition: str = "aws",
) -> ScpReading:
    """Read the SCPs in force on `account_id`, level by level, for a CreateInstance call made there.

    `policies` are `(policy_id, target_id, document)` triples: each SCP attached to the account, to
    one of its OUs or to the root, with the target it is attached to. `levels` are the target ids
    from the root down to the account itself, when known; a level with no SCP listed is a doubt (AWS
    keeps at least one on every level while SCPs are enabled), unless none is listed anywhere: then
    SCPs are not in force (disabling them detaches every SCP) and deny nothing. `org_path` and
    `partition` are as for `read_create_instance_denial`.

    Notes name the policy, its statement and its level: `<policy id> statement '<Sid>' at OU ou-… may
    deny it but was not counted: <why>`, `… may allow it, so that level was not counted as denying:
    <why>`.
    """
    attached = [(str(policy_id), str(target), document) for policy_id, target, document in policies]
    if not attached:
        return ScpReading(denied_by=(), closed_levels=(), doubts=())  # SCPs are not in force
    call = _Call(account_id=account_id, org_path=org_path, partition=partition)
    chain = list(dict.fromkeys(levels if levels is not None else (target for _, target, _ in attached)))
    at_level: dict[str, list[tuple[str, Any]]] = {target: [] for target in chain}
    outside: dict[str, None] = {}
    for policy_id, target, document in attached:
        if target in at_level:
            at_level[target].append((policy_id, document))
        else:
            outside[
                f"{policy_id} is attached to {target}, which is not the account, one of its OUs or the "
                "root: it was not read"
            ] = None
    judged: dict[tuple[str, str], _PolicyJudgement] = {}  # one policy is often attached at many levels
    denied_by: dict[str, None] = {}
    closed: list[str] = []
    doubts: dict[str, None] = {}
    for target in chain:
        level = _level_name(target, account_id)
        if not at_level[target]:
            doubts[
                f"no SCP is listed at {level}, though AWS keeps at least one on every level while SCPs are "
                "enabled: what it allows is not known"
            ] = None
            continue
        allows, may_allow = False, []
        for policy_id, document in at_level[target]:
            key = (policy_id, document) if isinstance(document, str) else None
            judgement = judged.get(key) if key else None
            if judgement is None:
                judgement = _judge_policy(document, call)
                if key:
                    judged[key] = judgement
            if judgement.problem:
                note = f"{policy_id} at {level} was not read (it may deny or allow): {judgement.problem}"
                doubts[note] = None
                may_allow.append(note)
                continue
            if judgement.denies:
                denied_by[policy_id] = None
            for label, why in judgement.deny_doubts:
                doubts[
                    f"{policy_id} {label} at {level} may deny it but was not counted: {'; '.join(why)}"
                ] = None
            allows = allows or judgement.allows
            may_allow += [
                f"{policy_id} {label} at {level} may allow it, so that level was not counted as denying: "
                f"{'; '.join(why)}"
                for label, why in judgement.allow_doubts
            ]
        if allows:
            continue
        if may_allow:
            doubts.update(dict.fromkeys(may_allow))
        else:
            closed.append(target)
    doubts.update(outside)
    if levels is None:
        doubts["the account's OUs are not known, so a level with no SCP listed may be missing"] = None
    return ScpReading(denied_by=tuple(denied_by), closed_levels=tuple(closed), doubts=tuple(doubts))


def denies_create_instance(
    document: str | Mapping[str, Any], account_id: str, org_path: str | None = None
) -> bool:
    """Whether one SCP document certainly denies `sso:CreateInstance` for `account_id`."""
    return read_create_instance_denial([("policy", document)], account_id, org_path).denied
