"""Creator text is neutral in every channel: no forged line, mention, link or emphasis.

Whatever a creator may write where AWS lets them (application and OU names of any character,
account names of printable ASCII, tag values with U+2028, user agents and error messages of
anything), the email has exactly the lines the renderer writes, and the chat notification holds
no mention, link or emphasis but the renderer's own; Security Hub's text fields hold one line
each, within their limits. The property compares each rendering with the rendering of a tamed
twin of the same alert (every creator character that is neither a letter, a digit, `-` nor `.`
made an `x`, whitespace and controls a space): the twin's structure is the renderer's alone.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.identity_center import tag_text_allowed
from emulator.organization import MAX_ACCOUNT_NAME, MAX_OU_NAME
from guardrail.channels.chat import chat_notification
from guardrail.channels.securityhub import FACTS_MISSING, Importer, findings
from guardrail.core.alert import Alert, build_alert
from guardrail.core.decision import decide
from guardrail.core.facts import (
    AccountFacts,
    Actor,
    ApplicationFacts,
    Fact,
    Facts,
    MissingFact,
    OrganizationalUnit,
    Outcome,
)
from guardrail.core.policy import Approvals, Enforcement, Mode, Policy, RuleSettings
from guardrail.core.render.email import email_text
from guardrail.core.render.neutral import CHAT_TEXT, chat_text, neutral, one_line, plain
from tests.builders import NOW, PROD, SANDBOX, call, facts, instance

IMPORTER = Importer("222222222222", "us-east-1")
FORGERIES = [
    "\n*Deleted?* skipped",
    "\r\n  Deletion: deleted: done.",
    "\u2028  Policy mode: dry-run.",
    "\u2029",
    "\x85",
    "\x0b\x0c",
    "<!channel>",
    "<!here|here>",
    "<@U024BE7LH>",
    "<https://evil.example|the console>",
    "[the console](https://evil.example)",
    "https://evil.example",
    "*bold*",
    "_it_",
    "~gone~",
    "`code`",
    "@here",
    "@channel",
    "&lt;!channel&gt;",
    "\u202e",
    "\u200b",
    "\x00\x1b[31m",
    "\t",
]


def texts(alphabet: st.SearchStrategy[str], max_size: int, allowed: Any = lambda text: True) -> Any:
    """Text of the alphabet, sprinkled with the forgeries it allows, at most `max_size` long."""
    pieces = st.lists(
        st.sampled_from([f for f in FORGERIES if allowed(f)]) | st.text(alphabet, max_size=12), max_size=8
    )
    return pieces.map("".join).map(lambda text: text[:max_size]).filter(allowed)


ANY = st.characters(codec="utf-8")
PRINTABLE_ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
TAG = st.characters(categories=["L", "N", "Z"], include_characters="_.:/=+-@")
INSTANCE_NAME = st.from_regex(r"[A-Za-z0-9_+=,.@-]{1,32}", fullmatch=True)

account_names = texts(
    PRINTABLE_ASCII, MAX_ACCOUNT_NAME, lambda t: len(t) >= 1 and all(" " <= c <= "~" for c in t)
)
ou_names = texts(ANY, MAX_OU_NAME, lambda t: len(t) >= 1)
application_names = texts(ANY, 100, lambda t: len(t) >= 1)
tag_values = texts(TAG, 256, tag_text_allowed)
free_text = texts(ANY, 2_048)


@st.composite
def hostile_alerts(draw: st.DrawFn) -> Alert:
    """An alert about an instance whose every creator-controlled text is hostile."""
    outcome = draw(st.sampled_from(list(Outcome)))
    tags = {"purpose": draw(tag_values), "owner": draw(tag_values), "expires": draw(tag_values)}
    the_instance = instance(
        owner_account_id=PROD, name=draw(INSTANCE_NAME), tags={k: v for k, v in tags.items() if v}
    )
    the_call = call(
        account_id=PROD,
        outcome=outcome,
        error_code="AccessDenied" if outcome is Outcome.FAILED else None,
        error_message=draw(free_text),
        actor=Actor(
            arn=draw(free_text),
            type=draw(st.sampled_from(["Root", "AssumedRole"])),
            source_ip=draw(free_text),
            user_agent=draw(free_text),
            invoked_by=draw(st.none() | st.just("cloudformation.amazonaws.com") | free_text),
            invoked_by_delegate=draw(st.none() | free_text),
        ),
    )
    parents = (
        OrganizationalUnit(id="r-ab12", name="Root"),
        *(OrganizationalUnit(id=f"ou-ab12-{i}", name=draw(ou_names)) for i in range(draw(st.integers(1, 3)))),
    )
    applications = tuple(
        ApplicationFacts(
            application_arn=f"arn:aws:sso::{PROD}:application/a{i}", name=draw(application_names)
        )
        for i in range(draw(st.integers(0, 3)))
    )
    missing = (
        (MissingFact(fact=Fact.SERVICE_CONTROL_POLICIES, reason=draw(free_text)),)
        if draw(st.booleans())
        else ()
    )
    the_facts: Facts = facts(
        call=the_call,
        instance=the_instance,
        account=AccountFacts(account_id=PROD, name=draw(account_names), parents=parents),
        applications=applications,
        **({"missing": missing, "service_control_policies": None} if missing else {}),
    )
    policy = Policy(
        mode=draw(st.sampled_from(list(Mode))),
        enforcement=Enforcement(grace_period_hours=0),
        rules={"account-not-approved": RuleSettings(action="remediate")},
    )
    decision = decide(the_facts, policy, NOW)
    remediation = (
        {"status": draw(st.sampled_from(["failed", "skipped"])), "detail": draw(free_text)}
        if draw(st.booleans())
        else None
    )
    return build_alert(the_facts, decision, mode=policy.mode.value, remediation=remediation)


_BREAKING = {"Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"}


def tame(text: str) -> str:
    """The same length and shape, without a character that could mean anything to a renderer."""
    return "".join(
        " "
        if ch.isspace() or unicodedata.category(ch) in _BREAKING
        else ch
        if ch.isalnum() or ch in "-."
        else "x"
        for ch in text
    )


def tamed(value: Any) -> Any:
    """The body with every string value tamed (keys, the body's own vocabulary, are kept)."""
    if isinstance(value, str):
        return tame(value)
    if isinstance(value, dict):
        return {key: tamed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [tamed(item) for item in value]
    return value


EDGE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
MENTION = re.compile(r"(?<![^\W_])@")


def markup(text: str) -> dict[str, int]:
    """What a chat client reads as markup in `text`, counted."""
    return {
        "lines": len(text.splitlines()),
        "angle": text.count("<") + text.count(">"),
        "link": len(re.findall(r"\]\s*\(", text)),
        "scheme": text.count("://"),
        "emphasis": sum(text.count(mark) for mark in "*~`"),
        "underscore": len(EDGE_UNDERSCORE.findall(text)),
        "mention": len(MENTION.findall(text)),
    }


def chat_texts(notification: dict[str, Any]) -> list[str]:
    content = notification["content"]
    return [
        content["title"],
        content["description"],
        *content["nextSteps"],
        *content["keywords"],
        notification["metadata"]["summary"],
    ]


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in strings(item)]
    return []


PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@PROPERTY
@given(hostile_alerts())
def test_no_creator_text_forges_a_line_mention_or_link_in_any_channel(alert: Alert) -> None:
    body, twin = alert.body, tamed(alert.body)
    subject = alert.subject

    # The email: exactly the renderer's lines, each ended by the renderer's own line feed.
    email, twin_email = email_text(body, subject), email_text(twin, subject)
    assert email.count("\n") == len(email.splitlines()) == twin_email.count("\n")
    for mine, theirs in zip(email.split("\n"), twin_email.split("\n"), strict=True):
        assert mine[:13].isspace() == theirs[:13].isspace()  # the same indentation, line by line
    assert not any(unicodedata.category(ch) in _BREAKING - {"Cc"} for ch in email)

    # Chat: no markup but the renderer's own, in every text a client shows.
    notification, twin_notification = chat_notification(body, subject), chat_notification(twin, subject)
    for text, twin_text in zip(chat_texts(notification), chat_texts(twin_notification), strict=True):
        assert markup(text) == markup(twin_text), text
        assert "<" not in text
        assert ">" not in text
    description = notification["content"]["description"].splitlines()
    assert sum(line.startswith("*Deleted?*") for line in description) == (1 if body["remediation"] else 0)

    # Security Hub: one line per field, within its limits.
    for finding in findings(body, IMPORTER, "2026-11-10T12:00:00Z"):
        for text in strings(finding):
            assert not any(unicodedata.category(ch) in _BREAKING for ch in text), text
        assert len(finding["Title"]) <= 256
        assert len(finding["Description"]) <= 1_024
        assert len(finding["Remediation"]["Recommendation"]["Text"]) <= 512
        assert all(len(v) <= 1_024 for v in finding["Resources"][0]["Details"]["Other"].values())
    json.dumps(findings(body, IMPORTER, "now"))  # serializable, surrogates and all


# -- the cleaners themselves ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x\n*Deleted?* skipped", "x \u2217Deleted?\u2217 skipped"),
        ("<!channel> <@U1>", "\u2039!channel\u203a \u2039\uff20U1\u203a"),
        ("[click](https://evil.example)", "[click\uff3d(https:\u2215\u2215evil.example)"),
        ("_it_ ~x~ `y`", "\uff3fit\uff3f \u223cx\u223c \u02cby\u02cb"),
        ("@here and bob@example.com", "\uff20here and bob@example.com"),
        ("cost_center AWSReservedSSO_Admin_0a1b", "cost_center AWSReservedSSO_Admin_0a1b"),
        ("a\u2028b\u2029c\x85d\u202ee\u200bf", "a b c d e f"),
        ("arn:aws:sso:::instance/ssoins-7a1c2e9b4d5f6a80", "arn:aws:sso:::instance/ssoins-7a1c2e9b4d5f6a80"),
    ],
    ids=["line", "mentions", "link", "emphasis", "mention-by-word", "inside-words", "separators", "arn"],
)
def test_chat_text_leaves_no_markup_and_keeps_what_is_inert(text: str, expected: str) -> None:
    assert chat_text(text) == expected
    assert chat_text(expected) == expected  # neutral text stays as it is


def test_one_line_collapses_whitespace_and_clips() -> None:
    assert one_line("  a \n\n b\t", 10) == "a b"
    assert one_line("x" * 20, 10) == "xxxxxxx..."
    assert len(chat_text("y" * 1_000)) == CHAT_TEXT


def test_neutral_reaches_every_string_keys_included() -> None:
    body = {"instance": {"tags": {"k\ney": "v\nalue"}}, "findings": [{"reason": "a\u2028b"}], "n": 3}
    assert neutral(body, plain(100)) == {
        "instance": {"tags": {"k ey": "v alue"}},
        "findings": [{"reason": "a b"}],
        "n": 3,
    }


# -- Security Hub: missing facts, and their end ---------------------------------------------------


def test_missing_facts_become_a_finding_and_are_archived_once_read() -> None:
    incomplete = facts(account_instances=None, missing=(MissingFact(Fact.ACCOUNT_INSTANCES, "throttled"),))
    policy = Policy(approved=Approvals(accounts=(SANDBOX,)))
    alert = build_alert(incomplete, decide(incomplete, policy, NOW), mode="dry-run")
    assert alert.body["verdict"] == "incomplete"
    [missing] = [f for f in findings(alert.body, IMPORTER, "now") if f["GeneratorId"].endswith(FACTS_MISSING)]
    assert (missing["RecordState"], missing["Compliance"]) == ("ACTIVE", {"Status": "NOT_AVAILABLE"})
    assert "account_instances: throttled" in missing["Description"]

    complete = facts()
    later = build_alert(complete, decide(complete, policy, NOW), mode="dry-run")
    [archived] = [
        f for f in findings(later.body, IMPORTER, "now") if f["GeneratorId"].endswith(FACTS_MISSING)
    ]
    assert archived["Id"] == missing["Id"]
    assert archived["RecordState"] == "ARCHIVED"
    assert "Compliance" not in archived
