from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from guardrail.channels.alert_topic import SnsAlertPublisher
from guardrail.core.alert import (
    HEADROOM,
    KEPT_TEXT,
    MARKER,
    SHORT_TEXT,
    SNS_MESSAGE_LIMIT,
    SUBJECT_LIMIT,
    Alert,
    attribute_size,
    build_alert,
    encode,
    fit,
    subject,
    utf8_size,
)
from guardrail.core.catalogue import RULES
from guardrail.core.decision import Finding, Verdict, decide
from guardrail.core.facts import (
    AccountFacts,
    Actor,
    Fact,
    Facts,
    InstanceFacts,
    MissingFact,
    Operation,
    OrganizationalUnit,
    Outcome,
)
from guardrail.core.policy import Approvals, Policy, Severity
from guardrail.pipeline.events import MAX_TAGS, MAX_TEXT
from tests.builders import MANAGEMENT, NOW, PROD, SANDBOX, call, facts, instance

LETTER4 = "\U00020000"  # a CJK letter (\p{L}, allowed in tags) of 4 bytes in UTF-8, 12 as ASCII escapes
EMOJI = "\U0001f4a5"  # 4 bytes; CloudTrail text fields carry any character
CJK = "漢"  # 3 bytes, 6 as an ASCII escape

STABLE_KEYS = {
    "event_id",
    "event_name",
    "event_time",
    "account_id",
    "account_name",
    "region",
    "instance_arn",
    "actor",
    "outcome",
    "verdict",
    "severity",
    "findings",
    "action",
    "truncated",
}


def alert_for(the_facts: Facts, policy: Policy | None = None) -> Alert:
    policy = policy or Policy()
    return build_alert(the_facts, decide(the_facts, policy, NOW), mode=policy.mode.value)


def test_body_has_the_documented_keys_and_is_json() -> None:
    alert = alert_for(facts())
    assert set(alert.body) >= STABLE_KEYS
    assert set(alert.body["actor"]) == {
        "arn",
        "type",
        "source_ip",
        "user_agent",
        "invoked_by",
        "invoked_by_delegate",
    }
    assert json.loads(alert.message())["event_id"] == "evt-1"
    assert alert.body["findings"][0]["rule"] == "account-not-approved"
    assert alert.body["findings"][0]["reason"]


def test_attributes_let_subscribers_filter() -> None:
    alert = alert_for(facts())
    assert alert.attributes["verdict"] == "violation"
    assert alert.attributes["severity"] == "high"
    assert alert.attributes["account_id"] == "333333333333"
    assert "account-not-approved" in alert.attributes["rules"]


def test_subject_reads_at_a_glance() -> None:
    alert = alert_for(facts())
    assert alert.subject.startswith("[HIGH] Account instance created in 333333333333 Sandbox Bob (us-east-1)")
    assert "account-not-approved" in alert.subject


def test_subject_is_short_ascii_single_line_whatever_the_account_name() -> None:
    name = "Équipe données\n" + "x" * 200
    the_facts = facts(
        call=call(account_id=PROD),
        instance=instance(owner_account_id=PROD),
        account=AccountFacts(account_id=PROD, name=name),
    )
    subject = alert_for(the_facts).subject
    assert len(subject) <= SUBJECT_LIMIT
    assert subject.isascii()
    assert "\n" not in subject
    # The name is shortened, not the rule or the count of the others.
    assert "?quipe donn" in subject
    assert "... (us-east-1): account-not-approved +1" in subject


# The longest rule id, the longest severity tag and a Region name of the longest kind.
LONGEST_RULE = max((rule.id for rule in RULES), key=len)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.text(max_size=60),
    others=st.integers(min_value=0, max_value=len(RULES) - 1),
    region=st.sampled_from(["us-east-1", "ap-southeast-2", "eusc-de-east-1", "us-gov-west-1"]),
    operation=st.sampled_from(list(Operation)),
    outcome=st.sampled_from(list(Outcome)),
)
def test_the_subject_keeps_the_lead_rule_whole_and_the_count_visible(
    name: str, others: int, region: str, operation: Operation, outcome: Outcome
) -> None:
    the_facts = facts(
        call=call(operation=operation, outcome=outcome, region=region, error_code="AccessDenied"),
        account=AccountFacts(account_id=SANDBOX, name=name or None),
    )
    decision = decide(the_facts, Policy(), NOW)
    findings = (
        Finding(LONGEST_RULE, Severity.CRITICAL, "why", {}),
        *tuple(Finding("scp-gap", Severity.LOW, "why", {}) for _ in range(others)),
    )
    worst = dataclasses.replace(
        decision, findings=findings, verdict=Verdict.VIOLATION, severity=Severity.CRITICAL
    )
    text = subject(the_facts, worst)
    assert len(text) <= SUBJECT_LIMIT
    assert text.isascii()
    assert text.startswith("[CRITICAL] ")
    assert f" in {SANDBOX}" in text
    assert f"({region}): {LONGEST_RULE}" in text
    assert text.endswith(f" +{others}" if others else LONGEST_RULE)


@pytest.mark.parametrize(
    ("operation", "outcome", "error", "headline"),
    [
        (Operation.CREATE, Outcome.SUCCEEDED, None, "Account instance created"),
        (Operation.CREATE, Outcome.FAILED, "AccessDenied", "Blocked CreateInstance"),
        (Operation.CREATE, Outcome.FAILED, "AccessDeniedException", "Blocked CreateInstance"),
        (Operation.CREATE, Outcome.FAILED, "ConflictException", "Refused CreateInstance"),
        (Operation.CREATE, Outcome.FAILED, "ThrottlingException", "Throttled CreateInstance"),
        (Operation.CREATE, Outcome.FAILED, "InternalServerException", "Failed CreateInstance"),
        (Operation.DELETE, Outcome.SUCCEEDED, None, "Account instance deleted"),
        (Operation.UPDATE, Outcome.SUCCEEDED, None, "Account instance updated"),
        (Operation.DELETE, Outcome.FAILED, "X", "Failed DeleteInstance"),
        (Operation.UPDATE, Outcome.FAILED, "AccessDenied", "Blocked UpdateInstance"),
    ],
)
def test_subject_headline_per_call(
    operation: Operation, outcome: Outcome, error: str | None, headline: str
) -> None:
    the_call = call(operation=operation, outcome=outcome, error_code=error)
    assert f"] {headline} in 333333333333 Sandbox Bob (us-east-1)" in alert_for(facts(call=the_call)).subject


def test_the_subject_and_the_body_lead_with_the_most_severe_finding() -> None:
    expired = facts(instance=instance(tags={"purpose": "trial", "owner": "bob", "expires": "2026-11-01"}))
    policy = Policy(approved=Approvals(accounts=(SANDBOX,)), allowed_regions=("eu-west-1",))
    alert = alert_for(expired, policy)
    # Catalogue order puts region-not-allowed (medium) first; trial-expired (high) leads.
    assert [f["rule"] for f in alert.body["findings"]] == ["trial-expired", "region-not-allowed"]
    assert alert.subject.endswith("(us-east-1): trial-expired +1")


def test_the_body_keeps_the_decisions_order_whatever_it_is() -> None:
    """The body lists findings as the decision does: a body that sorted them itself (by rule, by
    catalogue) would disagree with the subject and the other channels."""
    the_facts = facts()
    decision = decide(the_facts, Policy(), NOW)
    findings = tuple(
        Finding(rule, severity, "why", {})
        for rule, severity in (
            ("root-user", Severity.HIGH),
            ("account-not-approved", Severity.HIGH),
            ("scp-gap", Severity.MEDIUM),
            ("attempt-denied", Severity.LOW),
        )
    )
    body = build_alert(the_facts, dataclasses.replace(decision, findings=findings), mode="dry-run").body
    assert [f["rule"] for f in body["findings"]] == [f.rule for f in findings]


def test_subject_tail_per_verdict() -> None:
    approved = Policy(approved=Approvals(accounts=(SANDBOX,)))
    assert alert_for(facts(), approved).subject.endswith(": compliant")
    assert alert_for(facts(), approved).subject.startswith("[OK] ")
    incomplete = alert_for(facts(account_instances=None), approved).subject
    assert incomplete.startswith("[CHECK] ")
    assert incomplete.endswith(": facts missing")
    info = alert_for(facts(call=call(operation=Operation.DELETE))).subject
    assert info.startswith("[INFO] ")
    assert info.endswith("(us-east-1)")
    two = alert_for(facts()).subject  # account-not-approved and scp-gap
    assert two.endswith(": account-not-approved +1")


def test_subject_without_account_name() -> None:
    subject = alert_for(facts(account=None), Policy()).subject
    assert "in 333333333333 (us-east-1)" in subject


def test_body_of_a_failed_attempt_has_no_instance() -> None:
    attempt = facts(
        call=call(outcome=Outcome.FAILED, instance_arn=None, error_code="AccessDenied"), instance=None
    )
    body = alert_for(attempt).body
    assert body["instance"] is None
    assert body["instance_arn"] is None
    assert body["error_code"] == "AccessDenied"
    assert body["outcome"] == "failed"


def test_remediation_outcome_is_reported_in_the_body() -> None:
    the_facts = facts()
    decision = decide(the_facts, Policy(), NOW)
    assert build_alert(the_facts, decision, mode="enforce").body["remediation"] is None
    outcome = {"status": "deleted", "detail": "DeleteInstance accepted"}
    assert (
        build_alert(the_facts, decision, mode="enforce", remediation=outcome).body["remediation"] == outcome
    )


# -- the organization instance -------------------------------------------------------------------

ORGANIZATION_ARN = "arn:aws:sso:::instance/ssoins-00000000000000aa"
MANAGEMENT_ACCOUNT = AccountFacts(
    account_id=MANAGEMENT, name="Management", parents=(OrganizationalUnit(id="r-ab12", name="Root"),)
)


def in_management(operation: Operation, outcome: Outcome = Outcome.SUCCEEDED, **overrides: Any) -> Facts:
    the_call = call(
        operation=operation,
        outcome=outcome,
        account_id=MANAGEMENT,
        instance_arn=ORGANIZATION_ARN,
        error_code="AccessDenied" if outcome is Outcome.FAILED else None,
    )
    fields: dict[str, Any] = {"instance": None, "account_instances": None, "account": MANAGEMENT_ACCOUNT}
    return facts(call=the_call, **{**fields, **overrides})


def test_deleting_the_organization_instance_has_its_own_headline_and_pages() -> None:
    alert = alert_for(in_management(Operation.DELETE))
    assert alert.subject == (
        "[HIGH] Organization instance deleted in 111111111111 Management (us-east-1): org-instance-deleted"
    )
    assert (alert.attributes["verdict"], alert.attributes["severity"]) == ("violation", "high")
    assert alert.attributes["rules"] == ["org-instance-deleted"]
    assert alert.body["findings"][0]["facts"] == {"account_id": MANAGEMENT, "instance_arn": ORGANIZATION_ARN}


def test_other_calls_on_the_organization_instance_name_it() -> None:
    assert alert_for(in_management(Operation.UPDATE)).subject == (
        "[INFO] Organization instance updated in 111111111111 Management (us-east-1)"
    )
    # A refused attempt on the organization instance is at least as visible as its deletion.
    assert alert_for(in_management(Operation.DELETE, Outcome.FAILED)).subject.startswith(
        "[HIGH] Blocked DeleteInstance in 111111111111"
    )
    # Without the organization the function cannot tell which instance it was: a person must check.
    unknown = alert_for(in_management(Operation.DELETE, organization=None)).subject
    assert unknown == "[CHECK] Instance deleted in 111111111111 Management (us-east-1): facts missing"


# -- serialization: UTF-8, as SNS counts it ------------------------------------------------------


def test_the_message_is_utf8_json_not_ascii_escapes() -> None:
    the_facts = facts(instance=instance(tags={"purpose": "trial", "owner": "山田", "équipe": "données"}))
    message = alert_for(the_facts).message()
    assert '"owner": "山田"' in message
    assert "\\u" not in message
    assert json.loads(message)["instance"]["tags"]["équipe"] == "données"


@pytest.mark.parametrize(
    ("odd", "decoded"),
    [
        (chr(0xD800), chr(0xD800)),
        (chr(0xDFFF), chr(0xDFFF)),
        (chr(0xD83D) + chr(0xDCA5), EMOJI),  # a pair held as two code points is the character it encodes
        (chr(0xFFFE), chr(0xFFFE)),
        (chr(0xFFFF), chr(0xFFFF)),
    ],
    ids=["lone-high-surrogate", "lone-low-surrogate", "surrogate-pair", "U+FFFE", "U+FFFF"],
)
def test_characters_utf8_or_sqs_cannot_carry_stay_escaped(odd: str, decoded: str) -> None:
    """Lone surrogates (CloudTrail text may hold them) cannot be encoded as UTF-8; U+FFFE and U+FFFF
    are refused by SQS subscribers. Escaped, they decode to the same text."""
    alert = alert_for(facts(call=call(actor=Actor(user_agent=f"agent{odd}\x00\n"))))
    message = alert.message()
    message.encode("utf-8")  # would raise on a raw surrogate
    assert all(ch not in message for ch in odd)
    assert json.loads(message)["actor"]["user_agent"] == f"agent{decoded}\x00\n"


class RecordingSns:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, **request: Any) -> dict[str, str]:
        self.published.append(request)
        return {"MessageId": "m-1"}


def sns_counted_size(request: dict[str, Any]) -> int:
    """What SNS counts against its limit: the message, and each attribute's name, type and value."""
    attributes = sum(
        utf8_size(name) + utf8_size(value["DataType"]) + utf8_size(value["StringValue"])
        for name, value in request["MessageAttributes"].items()
    )
    return utf8_size(request["Message"]) + attributes


def test_size_counts_the_attributes_as_the_publisher_sends_them() -> None:
    alert = alert_for(facts())  # two rules fire: the String.Array attribute holds both
    sns = RecordingSns()
    SnsAlertPublisher(sns, "arn:aws:sns:us-east-1:222222222222:alerts").publish(alert)
    assert alert.size() == sns_counted_size(sns.published[0])
    assert attribute_size(alert.attributes) == alert.size() - utf8_size(alert.sns_message())
    sent = sns.published[0]
    assert sent["MessageStructure"] == "json"
    variants = json.loads(sent["Message"])
    assert set(variants) == {"default", "email"}  # every other protocol gets `default`
    assert json.loads(variants["default"]) == alert.body
    assert variants["email"] == alert.email()


# -- the size guard ------------------------------------------------------------------------------


def hostile_tags(char: str = LETTER4, *, count: int = MAX_TAGS, value_length: int = 256) -> dict[str, str]:
    """As many tags as AWS allows, each as long as allowed: keys of 128 and values of 256 characters.

    The purpose and expiry tags are there (with absurd values, which rules quote), the owner is not.
    """
    tags = {"purpose": char * value_length, "expires": char * value_length}
    for index in range(count - len(tags)):
        tags[f"{index:03d}" + char * 125] = char * value_length
    return tags


def worst_case_facts(outcome: Outcome = Outcome.SUCCEEDED, *, text: int = MAX_TEXT, **tags: Any) -> Facts:
    """Everything an alert quotes at the largest size the Lambda can see (events clip text fields to
    MAX_TEXT characters; AWS bounds tags, names and OU paths)."""
    long_text = EMOJI * text
    the_tags = hostile_tags(**tags)
    the_instance = instance(
        instance_arn=long_text, name=LETTER4 * 255, tags=the_tags, status="ACTIVE", owner_account_id=PROD
    )
    others = tuple(
        InstanceFacts(
            instance_arn=f"arn:aws:sso:::instance/ssoins-{i:016x}", region=region, owner_account_id=PROD
        )
        for i, region in enumerate(("eu-west-1", "eu-central-1", "ap-southeast-2"))
    )
    the_call = call(
        account_id=PROD,
        outcome=outcome,
        instance_arn=long_text,
        error_code=long_text if outcome is Outcome.FAILED else None,
        error_message=long_text,
        requested_name=long_text,
        requested_tags=the_tags,
        actor=Actor(
            arn=long_text, type=long_text, account_id=long_text, source_ip=long_text, user_agent=long_text
        ),
    )
    account = AccountFacts(
        account_id=PROD,
        name=LETTER4 * 50,
        parents=(
            OrganizationalUnit(id="r-ab12", name="Root"),
            *(OrganizationalUnit(id=f"ou-ab12-{i}", name=LETTER4 * 128) for i in range(5)),
        ),
    )
    return facts(
        call=the_call, instance=the_instance, account=account, account_instances=(the_instance, *others)
    )


def alert_with_remediation(the_facts: Facts) -> Alert:
    decision = decide(the_facts, Policy(), NOW)
    remediation = {"status": "failed", "detail": "DeleteInstance failed: " + EMOJI * 1000}
    return build_alert(the_facts, decision, mode="enforce", remediation=remediation)


def assert_keeps_what_people_act_on(alert: Alert, the_facts: Facts, *, exactly: bool = True) -> None:
    """Verdict, severity, action, account, Region, instance ARN, findings, remediation: all there."""
    decision = decide(the_facts, Policy(), NOW)
    body, call_ = alert.body, the_facts.call
    assert call_ is not None

    def same(kept: str | None, original: str | None) -> None:
        if exactly or kept == original:
            assert kept == original
        else:  # only the last resort shortens these, never to nothing
            assert kept is not None
            assert original is not None
            assert kept == original[:KEPT_TEXT] + MARKER

    assert body["verdict"] == decision.verdict.value
    assert body["severity"] == decision.severity.value
    assert (body["action"], body["action_reason"]) == (decision.action.value, decision.action_reason)
    assert (body["account_id"], body["region"], body["event_name"]) == (
        call_.account_id,
        call_.region,
        call_.operation.value,
    )
    same(body["instance_arn"], call_.instance_arn)
    assert [(f["rule"], f["severity"]) for f in body["findings"]] == [
        (f.rule, f.severity.value) for f in decision.findings
    ]
    for kept, finding in zip(body["findings"], decision.findings, strict=True):
        same(kept["reason"], finding.reason)
    assert body["remediation"]["status"] == "failed"
    same(body["remediation"]["detail"], "DeleteInstance failed: " + EMOJI * 1000)


@pytest.mark.parametrize("outcome", [Outcome.SUCCEEDED, Outcome.FAILED])
def test_the_worst_case_the_lambda_can_see_fits_sns_whole(outcome: Outcome) -> None:
    the_facts = worst_case_facts(outcome)
    alert = alert_with_remediation(the_facts)
    assert alert.size() <= SNS_MESSAGE_LIMIT - HEADROOM
    assert alert.body["truncated"] == []  # as UTF-8 it fits without shortening anything
    assert len(alert.body["instance"]["tags"]) == MAX_TAGS
    assert_keeps_what_people_act_on(alert, the_facts)
    # ...whereas escaped as ASCII, the instance's tags alone were over the limit.
    assert utf8_size(json.dumps(alert.body["instance"]["tags"])) > SNS_MESSAGE_LIMIT


def test_a_missing_owner_no_longer_repeats_every_tag_in_the_finding() -> None:
    the_facts = worst_case_facts(char=CJK)
    alert = alert_with_remediation(the_facts)
    finding = next(f for f in alert.body["findings"] if f["rule"] == "missing-justification")
    assert set(finding["facts"]["tags"]) == {"purpose"}
    assert finding["facts"]["missing_tags"] == ["owner"]


def beyond_aws_facts() -> Facts:
    """What only a hand-written facts file (`guardrail evaluate --facts`) can hold."""
    huge = EMOJI * 100_000
    the_facts = worst_case_facts(count=1_000, value_length=1_000)
    assert the_facts.call is not None
    huge_call = replace(the_facts.call, instance_arn=huge, actor=Actor(arn=huge, user_agent=huge))
    return replace(
        the_facts,
        subject=huge_call.subject,
        trigger=huge_call,
        missing=tuple(
            MissingFact(fact=tuple(Fact)[i % len(Fact)], reason=EMOJI * 2_000) for i in range(2_000)
        ),
    )


def test_beyond_what_aws_allows_the_guard_shortens_the_largest_parts_and_says_so() -> None:
    the_facts = beyond_aws_facts()
    alert = alert_with_remediation(the_facts)
    assert alert.size() <= SNS_MESSAGE_LIMIT - HEADROOM
    notes = alert.body["truncated"]
    fields = [note["field"] for note in notes]
    # The largest first: the tags, then the two huge actor texts (ties go by name), ...
    assert fields[:3] == ["instance.tags", "actor.arn", "actor.user_agent"]
    assert notes[0] == {
        "field": "instance.tags",
        "bytes": utf8_size(encode(dict(the_facts.instance.tags))),  # type: ignore[union-attr]
        "items": 1_000,
    }
    assert alert.body["instance"]["tags"] == {}
    assert alert.body["actor"]["user_agent"] == EMOJI * SHORT_TEXT + MARKER
    # ... and as a last resort the missing facts (2,000 of them), and the huge instance ARN is
    # clipped, not dropped. The missing facts' own notes went with the list.
    assert {
        "field": "missing_facts",
        "bytes": notes[fields.index("missing_facts")]["bytes"],
        "items": 2_000,
    } in notes
    assert alert.body["missing_facts"] == []
    assert not any(field.startswith("missing_facts[") for field in fields)
    assert "instance_arn" in fields
    assert_keeps_what_people_act_on(alert, the_facts, exactly=False)
    assert alert.subject.startswith("[HIGH] Account instance created in 444444444444")


def test_the_guard_leaves_an_alert_that_fits_alone() -> None:
    alert = alert_for(facts())
    assert alert.body["truncated"] == []
    assert alert.message() == json.dumps(alert.body, sort_keys=True, ensure_ascii=False)
    assert fit(alert.body, utf8_size(alert.message())) is alert.body


def test_the_guard_is_deterministic_and_breaks_ties_by_field_name() -> None:
    body: dict[str, Any] = {"actor": {"user_agent": "u" * 1_000, "arn": "a" * 1_000}, "truncated": []}
    budget = utf8_size(encode(body)) - 500
    first, again = fit(body, budget), fit(body, budget)
    assert first == again
    assert [n["field"] for n in first["truncated"]] == ["actor.arn"]
    assert first["actor"] == {"arn": "a" * SHORT_TEXT + MARKER, "user_agent": "u" * 1_000}
    assert body["actor"]["arn"] == "a" * 1_000  # the original is not touched


def test_the_guard_makes_no_shortening_that_costs_more_than_it_saves() -> None:
    body: dict[str, Any] = {"actor": {"user_agent": "u" * (SHORT_TEXT + len(MARKER) + 1)}, "truncated": []}
    assert fit(body, utf8_size(encode(body)) - 1) == body  # the note would outweigh one character


# -- properties ----------------------------------------------------------------------------------

GUARD = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
# Identity Center's tag pattern: letters, numbers, spaces and _.:/=+-@ of any script.
tag_characters = st.characters(categories=["L", "N", "Zs"], include_characters="_.:/=+-@")


def runs(characters: st.SearchStrategy[str], min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """Short text, or a short piece repeated to a length often at the limit: long texts (and long
    runs of 4-byte letters) come up far more often, and far faster, than from text() alone."""
    lengths = st.integers(min_size, max_size) | st.just(max_size)
    pieces = st.text(characters, min_size=1, max_size=8)
    tiled = st.builds(lambda piece, n: (piece * n)[:n], pieces, lengths)
    return st.text(characters, min_size=min_size, max_size=max(min_size, min(max_size, 32))) | tiled


def tag_maps(count: int = MAX_TAGS, key: int = 128, value: int = 256) -> st.SearchStrategy[dict[str, str]]:
    """Up to `count` tags, keys up to `key` and values up to `value` characters; full maps are common
    (the number of tags is drawn first, not grown entry by entry)."""
    letters = tag_characters | st.just(LETTER4)
    keys, values = runs(letters, 0, key - 3), runs(letters, 0, value)

    policy_tags = st.fixed_dictionaries(
        {},
        optional={"purpose": st.sampled_from(["trial", "poc"]) | values, "owner": values, "expires": values},
    )

    @st.composite
    def maps(draw: st.DrawFn) -> dict[str, str]:
        # A distinct prefix keeps the keys unique; no key starts with the reserved "aws:".
        tags = draw(policy_tags)
        number = draw(st.integers(0, count - len(tags)) | st.just(count - len(tags)))
        return tags | {f"{index:03d}" + draw(keys): draw(values) for index in range(number)}

    return maps()


AWS_TAG_MAPS = tag_maps()
any_character = st.characters(codec=None, exclude_categories=[]) | st.sampled_from(
    ["\ud800", "\udfff", "\ufffe", EMOJI, LETTER4, '"', "\\"]
)
event_texts = st.none() | runs(any_character, 0, MAX_TEXT)


@st.composite
def lambda_facts(
    draw: st.DrawFn, tags: st.SearchStrategy[dict[str, str]] = AWS_TAG_MAPS, texts: Any = event_texts
) -> Facts:
    outcome = draw(st.sampled_from(list(Outcome)))
    the_tags = draw(tags)
    arn = draw(texts) or "arn:aws:sso:::instance/ssoins-3e4f5a6b7c8d9e0f"
    the_call = call(
        operation=draw(st.sampled_from(list(Operation))),
        outcome=outcome,
        account_id=draw(st.sampled_from([SANDBOX, PROD, MANAGEMENT])),
        instance_arn=arn,
        error_code=draw(texts) if outcome is Outcome.FAILED else None,
        error_message=draw(texts),
        actor=Actor(arn=draw(texts), type=draw(texts), source_ip=draw(texts), user_agent=draw(texts)),
    )
    the_instance = instance(instance_arn=arn, tags=the_tags, owner_account_id=the_call.account_id)
    return facts(call=the_call, instance=the_instance, account_instances=(the_instance,))


@GUARD
@given(lambda_facts())
def test_any_alert_the_lambda_can_build_fits_sns_and_round_trips(the_facts: Facts) -> None:
    alert = alert_with_remediation(the_facts)
    assert alert.size() <= SNS_MESSAGE_LIMIT - HEADROOM
    assert alert.body["truncated"] == []
    assert json.loads(alert.message().encode("utf-8")) == alert.body
    assert_keeps_what_people_act_on(alert, the_facts)


@GUARD
@given(
    lambda_facts(
        tags=tag_maps(count=300, key=300, value=3_000),
        texts=st.none() | runs(any_character, 0, 40_000),
    ),
    st.integers(100_000, SNS_MESSAGE_LIMIT),
)
def test_the_guard_fits_any_budget_keeping_what_people_act_on(the_facts: Facts, budget: int) -> None:
    original = alert_with_remediation(the_facts).body
    shrunk = fit(original, budget)
    assert utf8_size(encode(shrunk)) <= budget
    fields = [note["field"] for note in shrunk["truncated"]]
    assert len(fields) == len(set(fields))
    if not fields:
        assert shrunk is original
    alert = Alert("s", shrunk, {})
    assert_keeps_what_people_act_on(alert, the_facts, exactly=False)


def test_the_size_guard_takes_a_body_of_any_kind() -> None:
    """A run's message or an operational notice has no `truncated` until the guard needs it."""
    from guardrail.core.alert import fit

    body = {"kind": "coverage", "detail": "x" * 50_000}
    shrunk = fit(body, 10_000)
    assert shrunk["truncated"][0]["field"] == "detail"
    assert "truncated" not in body  # the original is left as it was
