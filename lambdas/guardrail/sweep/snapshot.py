"""The organization as one sweep sees it, read once by the planner and shared by every worker.

Reading the organization top-down (the OU tree, then each SCP's targets) costs calls in the
number of OUs and SCPs, not of accounts, where reading each account's chain of parents and its
SCPs would cost several calls per account: at ten thousand accounts, that is the difference
between a thousand calls and forty thousand against an API whose throttling is not published.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from guardrail.core.facts import (
    AccountFacts,
    InstanceFacts,
    OrganizationalUnit,
    OrganizationFacts,
    ServiceControlPolicy,
)

AccountState = Literal["ACTIVE", "SUSPENDED", "PENDING_CLOSURE", "CLOSED"]


class Unit(msgspec.Struct, frozen=True):
    name: str
    parent_id: str


class Account(msgspec.Struct, frozen=True):
    account_id: str
    name: str | None
    state: str
    parent_id: str | None = None


class Policy(msgspec.Struct, frozen=True):
    name: str | None
    document: str


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    organization: OrganizationFacts
    root_id: str
    units: dict[str, Unit]
    # By account id; every account of the organization, whatever its state.
    accounts: dict[str, Account]
    policies: dict[str, Policy]
    # Target (account, OU or root) id -> the ids of the SCPs attached to it directly.
    attachments: dict[str, tuple[str, ...]]
    # None when they could not be read, with the reason; () when there is none.
    organization_instances: tuple[InstanceFacts, ...] | None = None
    organization_instances_missing: str | None = None

    def account(self, account_id: str) -> Account | None:
        return self.accounts.get(account_id)

    def account_facts(self, account_id: str) -> AccountFacts | None:
        """The account with its chain of parents from the root down; None if not placed in the tree."""
        account = self.account(account_id)
        if account is None or account.parent_id is None:
            return None
        chain: list[OrganizationalUnit] = []
        parent: str | None = account.parent_id
        while parent is not None and parent != self.root_id:
            unit = self.units.get(parent)
            if unit is None:
                return None
            chain.append(OrganizationalUnit(id=parent, name=unit.name))
            parent = unit.parent_id
        chain.append(OrganizationalUnit(id=self.root_id, name="Root"))
        return AccountFacts(account_id=account_id, name=account.name, parents=tuple(reversed(chain)))

    def policies_for(self, facts: AccountFacts) -> tuple[ServiceControlPolicy, ...]:
        """The SCPs in force on the account: attached to it, to each OU above it and to the root."""
        targets = [facts.account_id, *(unit.id for unit in facts.parents)]
        return tuple(
            ServiceControlPolicy(
                policy_id=policy_id,
                target_id=target,
                name=self.policies[policy_id].name,
                document=self.policies[policy_id].document,
            )
            for target in targets
            for policy_id in self.attachments.get(target, ())
            if policy_id in self.policies
        )
