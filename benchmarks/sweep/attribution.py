"""Which member account each call is about, and the longest chains of calls per account."""

from __future__ import annotations

import re
import statistics
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import boto3

from benchmarks.sweep.settings import GOAL_READ_ROUND_TRIPS
from emulator.wire import WireCall, longest_chain

_MEMBER_SERVICES = frozenset({"sso-admin", "account", "eventbridge", "events", "sqs"})
# Calls made by the central account about one account: the role assumption, the recorder's.
_ABOUT_AN_ACCOUNT = frozenset({"sts", "dynamodb", "sns"})
_TAG = "|about:"
_ACCOUNT_ID = re.compile(r"(?<!\d)\d{12}(?!\d)")
_INSTANCE_ARN = re.compile(r"arn:aws:sso:::instance/ssoins-[0-9a-f]{16}")


class Attribution:
    """Which member account a call is about, for the calls its credentials do not tell.

    A `before-call` handler on each worker session names the account in the calling thread's name
    (which the wire records): the account of the role ARN for AssumeRole, the account or instance
    named in a recorder's DynamoDB or SNS call. The member role's own calls carry the account's
    credentials, which the wire maps to the account."""

    def __init__(self, members: set[str], owner_of: dict[str, str]) -> None:
        self._members = members
        self._owner_of = owner_of

    def register(self, session: boto3.session.Session) -> None:
        session.events.register("before-call", self._tag)

    def _tag(self, model: Any, params: Any, **_: Any) -> None:
        thread = threading.current_thread()
        base = thread.name.partition(_TAG)[0]
        about = None
        if model.service_model.service_name in _ABOUT_AN_ACCOUNT:
            about = self._about(str(params))
        thread.name = base + (_TAG + about if about else "")

    def _about(self, text: str) -> str | None:
        for match in _INSTANCE_ARN.finditer(text):
            owner = self._owner_of.get(match.group())
            if owner in self._members:
                return owner
        for match in _ACCOUNT_ID.finditer(text):
            if match.group() in self._members:
                return match.group()
        return None

    def account_of(self, call: WireCall) -> str | None:
        about = call.thread.partition(_TAG)[2]
        if about:
            return about if call.service in _ABOUT_AN_ACCOUNT else None
        if call.service in _MEMBER_SERVICES:
            account = call.account
            return account if account in self._members else None
        return None


@dataclass(frozen=True)
class ChainFigures:
    """Longest chains of calls one after another, per account."""

    accounts: int
    with_instance: int
    median: float
    max: int
    max_with_instance: int
    over_goal: int  # accounts whose chain is longer than GOAL_READ_ROUND_TRIPS
    example: list[str]  # the longest chain of an account with an instance (or of any account)


def by_service(calls: Sequence[WireCall]) -> dict[str, int]:
    return dict(sorted(Counter(c.service for c in calls).items()))


def attribute(
    attribution: Attribution, calls: Sequence[WireCall]
) -> tuple[dict[str, list[WireCall]], list[WireCall]]:
    """The calls about each account, and the rest (the batch's snapshot and report)."""
    by_account: dict[str, list[WireCall]] = {}
    rest: list[WireCall] = []
    for call in calls:
        account = attribution.account_of(call)
        if account is None:
            rest.append(call)
        else:
            by_account.setdefault(account, []).append(call)
    return by_account, rest


def is_read(call: WireCall) -> bool:
    return call.service in _MEMBER_SERVICES or call.service == "sts"


def chains(
    by_account: dict[str, list[WireCall]], with_instance: set[str], keep: Callable[[WireCall], bool]
) -> ChainFigures:
    chains = {account: longest_chain([c for c in calls if keep(c)]) for account, calls in by_account.items()}
    sizes = [len(chain) for chain in chains.values()] or [0]
    instance_chains = [chains[a] for a in with_instance if a in chains]
    longest = max(instance_chains or list(chains.values()) or [[]], key=len)
    return ChainFigures(
        accounts=len(chains),
        with_instance=len(instance_chains),
        median=statistics.median(sizes),
        max=max(sizes),
        max_with_instance=max((len(c) for c in instance_chains), default=0),
        over_goal=sum(size > GOAL_READ_ROUND_TRIPS for size in sizes),
        example=[c.name + (" (throttled)" if c.throttled else "") for c in longest],
    )
