"""Credentials for the reads: the Organizations reader role and the member role of each account.

Role sessions are cached well inside their hour, so that a burst of events for one account, or
every Region of one account in a sweep, assumes its role once: STS throttles per calling account.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from guardrail.adapters.clients import AwsClients
from guardrail.gather.cache import TtlCache

SESSION_NAME = "identity-center-guardrail"
# Assumed-role credentials last an hour; keep them well inside that.
SESSION_SECONDS = 2700.0


class Sessions:
    def __init__(
        self,
        clients: AwsClients,
        *,
        member_role_name: str | None,
        organizations_role_arn: str | None,
        partition: str,
        clock: Callable[[], float] = time.monotonic,
        deleter_role_name: str | None = None,
    ) -> None:
        self._clients = clients
        self._member_role_name = member_role_name
        self._deleter_role_name = deleter_role_name
        self._organizations_role_arn = organizations_role_arn
        self._partition = partition
        self._cache = TtlCache(SESSION_SECONDS, clock)

    def organizations(self) -> AwsClients:
        """Clients that may read Organizations: the reader role's, or the function's own (a
        delegated administrator)."""
        role = self._organizations_role_arn
        if not role:
            return self._clients
        return self._cache.get(("role", role), lambda: self._clients.assume(role, SESSION_NAME))

    def member(self, account_id: str) -> AwsClients:
        """Clients acting inside a member account through its member role."""
        if self._member_role_name is None:
            raise RuntimeError("no member role is configured for these sessions")
        role = f"arn:{self._partition}:iam::{account_id}:role/{self._member_role_name}"
        return self._cache.get(("role", role), lambda: self._clients.assume(role, SESSION_NAME))

    def deleter(self, account_id: str) -> AwsClients:
        """Clients that may delete (and describe) instances in a member account: its deleter role."""
        if self._deleter_role_name is None:
            raise RuntimeError("no deleter role is configured: remediation_enabled is off")
        role = f"arn:{self._partition}:iam::{account_id}:role/{self._deleter_role_name}"
        return self._cache.get(("role", role), lambda: self._clients.assume(role, SESSION_NAME))
