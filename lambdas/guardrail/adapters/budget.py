"""No AWS call attempt that could outlive the invocation.

Gathering has its own deadline, but what follows it (the fresh reading, DescribeInstance and
DeleteInstance, the follow-up reads, Publish, the DynamoDB writes) would each have up to
attempts x (connect + read timeout) against the function's timeout. A Lambda killed mid-call
leaves no trace of what it did; one that stops first fails cleanly and is retried, and a retry
after a deletion finds the deletion claimed and reports it as done (`remediate`).

So every attempt of every call made through the function's session is checked, at the moment it
would be sent, against the invocation's remaining time: it starts only if its worst case (the
clients' connect and read timeouts) still fits, with a margin for the function to return. An
attempt refused raises `OutOfTime`, a botocore error: where a read failing is a missing fact it
becomes one, and where an action needs it the invocation fails and is retried.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError

from guardrail.adapters.clients import CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS

# What one attempt may take at worst with the clients' configuration, and what is kept after it.
ATTEMPT_SECONDS = float(CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS)
MARGIN_SECONDS = 1.0


class OutOfTime(BotoCoreError):
    fmt = "{reason}"


class CallBudget:
    """Registered once on the function's boto3 session, before it makes any client (a client
    copies the session's handlers when it is created); told each invocation's remaining time."""

    def __init__(
        self,
        session: boto3.session.Session,
        *,
        attempt_seconds: float = ATTEMPT_SECONDS,
        margin_seconds: float = MARGIN_SECONDS,
    ) -> None:
        self._attempt = attempt_seconds
        self._margin = margin_seconds
        self._remaining: Callable[[], float] | None = None
        # First, ahead of any handler that would answer the request in its place (a stub, an emulation).
        session.events.register_first("before-send", self._check)

    def begin(self, remaining_seconds: Callable[[], float] | None) -> None:
        """The invocation's clock (None: unbounded, as for local runs). Lambda runs one invocation
        at a time in an execution environment, so one clock serves every thread of it."""
        self._remaining = remaining_seconds

    def _check(self, request: Any = None, event_name: str = "", **_: Any) -> None:
        if self._remaining is None:
            return
        left = self._remaining()
        if left < self._attempt + self._margin:
            call = event_name.removeprefix("before-send.")
            raise OutOfTime(
                reason=f"{left:.1f} s of the invocation left: not enough for an attempt of {call} "
                f"(up to {self._attempt:g} s); left to the retry"
            )
