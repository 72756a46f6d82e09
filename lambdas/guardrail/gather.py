"""Gathering the facts about one call from AWS, in one place.

Two branches run concurrently: the organization side (organization, account, SCPs and the
organization instance, cached across warm invocations because they change rarely) and the member
side (the instance and every Region's instances, read through a role in the member account, one
Region per thread). A fact that cannot be gathered is recorded as missing with the reason, never
guessed: the decision turns incomplete instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from guardrail.adapters.clients import AwsClients
from guardrail.adapters.identity_center import InstanceReader
from guardrail.adapters.organizations import OrganizationsReader
from guardrail.core.facts import (
    AccountFacts,
    ApiCall,
    Facts,
    InstanceFacts,
    MissingFact,
    Operation,
    OrganizationFacts,
    Outcome,
    ServiceControlPolicy,
)

T = TypeVar("T")
SESSION_NAME = "identity-center-guardrail"


@dataclass(frozen=True)
class GatherSettings:
    member_role_name: str
    regions: tuple[str, ...]
    organizations_role_arn: str | None = None
    organization_instance_region: str | None = None
    cache_seconds: float = 300.0
    partition: str = "aws"


class _Missing(Exception):  # noqa: N818 - carries a missing fact out of a branch
    def __init__(self, fact: str, reason: str) -> None:
        super().__init__(reason)
        self.fact = MissingFact(fact=fact, reason=reason)


def _reason(error: Exception) -> str:
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"{err.get('Code', 'ClientError')}: {err.get('Message', '')}".strip()
    return f"{type(error).__name__}: {error}"


class TtlCache:
    """A small thread-safe cache: Organizations data and role sessions outlive one invocation."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._items: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, load: Callable[[], T]) -> T:
        now = self._clock()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]  # type: ignore[no-any-return]
        value = load()  # outside the lock: loads are network calls and may run concurrently
        with self._lock:
            self._items[key] = (now + self._seconds, value)
        return value


class FactGatherer:
    def __init__(
        self,
        clients: AwsClients,
        settings: GatherSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clients = clients
        self._settings = settings
        self._cache = TtlCache(settings.cache_seconds, clock)
        # Assumed-role credentials last an hour; keep them well inside that.
        self._sessions = TtlCache(min(settings.cache_seconds * 6, 2700.0), clock)
        # Two pools, so that the member branch never waits for a thread its own Region reads hold.
        self._branches = ThreadPoolExecutor(max_workers=1, thread_name_prefix="member")
        self._per_region = ThreadPoolExecutor(max_workers=len(settings.regions) + 1, thread_name_prefix="region")

    # -- credentials -------------------------------------------------------------------------
    def _org_clients(self) -> AwsClients:
        role = self._settings.organizations_role_arn
        if not role:
            return self._clients
        return self._sessions.get(("role", role), lambda: self._clients.assume(role, SESSION_NAME))

    def _member_clients(self, account_id: str) -> AwsClients:
        role = f"arn:{self._settings.partition}:iam::{account_id}:role/{self._settings.member_role_name}"
        return self._sessions.get(("role", role), lambda: self._clients.assume(role, SESSION_NAME))

    def _org(self) -> OrganizationsReader:
        return OrganizationsReader(self._org_clients().client("organizations", "us-east-1"))

    # -- organization side -------------------------------------------------------------------
    def _attempt(self, fact: str, load: Callable[[], T]) -> T:
        try:
            return load()
        except (ClientError, BotoCoreError, KeyError, ValueError) as error:
            raise _Missing(fact, _reason(error)) from error

    def _organization(self) -> OrganizationFacts:
        return self._attempt("organization", lambda: self._cache.get("org", lambda: self._org().organization()))

    def _account(self, account_id: str) -> AccountFacts:
        return self._attempt(
            "account", lambda: self._cache.get(("account", account_id), lambda: self._org().account(account_id))
        )

    def _scps(self, account: AccountFacts) -> tuple[ServiceControlPolicy, ...]:
        targets = [account.account_id, *(unit.id for unit in account.parents)]

        def load(target: str) -> tuple[ServiceControlPolicy, ...]:
            return self._cache.get(("scp", target), lambda: self._org().service_control_policies(target))

        return self._attempt(
            "service_control_policies", lambda: tuple(p for target in targets for p in load(target))
        )

    def _organization_instances(self, organization: OrganizationFacts) -> tuple[InstanceFacts, ...]:
        region = self._settings.organization_instance_region
        if not region:
            raise _Missing("organization_instances", "no organization_instance_region is configured")

        def load() -> tuple[InstanceFacts, ...]:
            reader = InstanceReader(self._org_clients().client("sso-admin", region), region)
            return tuple(
                i for i in reader.list() if i.owner_account_id == organization.management_account_id
            )

        return self._attempt("organization_instances", lambda: self._cache.get("org-instances", load))

    def _organization_side(self, call: ApiCall) -> tuple[dict[str, Any], list[MissingFact]]:
        found: dict[str, Any] = {}
        missing: list[MissingFact] = []
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("organization", self._organization),
            ("account", lambda: self._account(call.account_id)),
        ]
        if call.operation is Operation.CREATE:
            steps += [
                ("service_control_policies", lambda: self._scps(found["account"])),
                ("organization_instances", lambda: self._organization_instances(found["organization"])),
            ]
        for name, step in steps:
            try:
                found[name] = step()
            except _Missing as gap:
                missing.append(gap.fact)
            except KeyError as gap:  # a step needs a fact that was already found missing
                missing.append(MissingFact(fact=name, reason=f"needs {gap.args[0]}, which is missing"))
        return found, missing

    # -- member side -------------------------------------------------------------------------
    def _member_side(self, call: ApiCall) -> tuple[dict[str, Any], list[MissingFact]]:
        found: dict[str, Any] = {}
        missing: list[MissingFact] = []
        try:
            clients = self._attempt("member_role", lambda: self._member_clients(call.account_id))
        except _Missing as gap:
            wanted = ["account_instances"] + (["instance"] if self._describes(call) else [])
            return found, [MissingFact(fact=f, reason=f"cannot assume the member role: {gap.fact.reason}")
                           for f in wanted]

        def reader(region: str) -> InstanceReader:
            return InstanceReader(clients.client("sso-admin", region), region)

        regions = tuple(dict.fromkeys((call.region, *self._settings.regions)))
        listing = {region: self._per_region.submit(reader(region).list) for region in regions}
        if self._describes(call):
            assert call.instance_arn is not None
            try:
                found["instance"] = reader(call.region).describe(call.instance_arn)
            except (ClientError, BotoCoreError) as error:
                missing.append(MissingFact(fact="instance", reason=_reason(error)))
        instances: list[InstanceFacts] = []
        failures: list[str] = []
        for region, future in listing.items():
            try:
                instances.extend(future.result())
            except (ClientError, BotoCoreError) as error:
                failures.append(f"{region}: {_reason(error)}")
        if failures:
            missing.append(MissingFact(fact="account_instances", reason="; ".join(failures)))
        else:
            found["account_instances"] = tuple(instances)
        return found, missing

    @staticmethod
    def _describes(call: ApiCall) -> bool:
        return (
            call.operation is Operation.CREATE
            and call.outcome is Outcome.SUCCEEDED
            and call.instance_arn is not None
        )

    # -- together ----------------------------------------------------------------------------
    def gather(self, call: ApiCall) -> Facts:
        """All facts the decision may need for this call; Delete and Update need only the account."""
        member = self._branches.submit(self._member_side, call) if call.operation is Operation.CREATE else None
        org_found, missing = self._organization_side(call)
        found = dict(org_found)
        if member is not None:
            member_found, member_missing = member.result()
            found.update(member_found)
            missing += member_missing
        if call.operation is Operation.CREATE and call.outcome is Outcome.SUCCEEDED and not call.instance_arn:
            missing.append(MissingFact(fact="instance", reason="the event carries no instance ARN"))
        return Facts(call=call, missing=tuple(missing), **found)
