"""The first step of a sweep: the organization, read once, and the accounts to sweep.

Organizations answers only the management account or a delegated administrator: the reads go
through the Organizations reader role, as the detect function's do. The OU tree is read one level
at a time, each level's OUs concurrently, and lists every account with its parent (no separate
ListAccounts, which would page through the organization a second time); the SCPs and their
targets are read concurrently too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from guardrail.adapters.identity_center import InstanceReader
from guardrail.adapters.organizations import OrganizationsReader
from guardrail.gather.deadline import reason
from guardrail.gather.organization import ORGANIZATIONS_REGION
from guardrail.gather.sessions import Sessions
from guardrail.sweep.snapshot import Account, Policy, Snapshot, Unit

# Reads in flight at once: Organizations throttles an account's calls (limits unpublished).
CONCURRENT_READS = 8


@dataclass(frozen=True)
class Plan:
    """The snapshot, and the accounts a worker must read: every ACTIVE account but the management
    account (it holds the organization instance, not an account instance)."""

    snapshot: Snapshot
    to_sweep: tuple[str, ...]
    # Accounts by state, and the management account, counted, not swept.
    counts: dict[str, int]


def plan(sessions: Sessions, organization_instance_region: str | None) -> Plan:
    org = OrganizationsReader(sessions.organizations().client("organizations", ORGANIZATIONS_REGION))
    with ThreadPoolExecutor(max_workers=CONCURRENT_READS, thread_name_prefix="plan") as pool:
        organization = pool.submit(org.organization)
        scps = pool.submit(_policies, org, pool.map)
        root_id = org.root_id()
        units, listed = _tree(org, root_id, pool.map)
        instances, instances_missing = _organization_instances(sessions, organization_instance_region)
        snapshot = Snapshot(
            organization=organization.result(),
            root_id=root_id,
            units=units,
            accounts={
                str(a["Id"]): Account(
                    account_id=str(a["Id"]),
                    name=a.get("Name"),
                    state=str(a.get("State") or a.get("Status") or "ACTIVE"),
                    parent_id=parent,
                )
                for a, parent in listed
            },
            policies=scps.result()[0],
            attachments=scps.result()[1],
            organization_instances=instances,
            organization_instances_missing=instances_missing,
        )
    management = snapshot.organization.management_account_id
    counts = Counter(account.state for account in snapshot.accounts.values())
    to_sweep = tuple(
        sorted(
            a.account_id
            for a in snapshot.accounts.values()
            if a.state == "ACTIVE" and a.account_id != management
        )
    )
    return Plan(snapshot, to_sweep, {"listed": len(snapshot.accounts), **counts})


MapFn = Callable[..., Any]


def _tree(
    org: OrganizationsReader, root_id: str, map_: MapFn
) -> tuple[dict[str, Unit], list[tuple[dict[str, Any], str]]]:
    """Every OU (name and parent), and every account with its parent, one level per round trip."""
    units: dict[str, Unit] = {}
    accounts: list[tuple[dict[str, Any], str]] = []
    level = [root_id]
    while level:
        children = list(
            map_(lambda parent: (parent, org.units_under(parent), org.accounts_under(parent)), level)
        )
        level = []
        for parent, found_units, found_accounts in children:
            for unit_id, name in found_units:
                units[unit_id] = Unit(name=name, parent_id=parent)
                level.append(unit_id)
            accounts.extend((account, parent) for account in found_accounts)
    return units, accounts


def _policies(org: OrganizationsReader, map_: MapFn) -> tuple[dict[str, Policy], dict[str, tuple[str, ...]]]:
    """Every SCP's document, and which targets each is attached to."""
    listed = org.service_control_policies()
    read = list(map_(lambda p: (p[0], p[1], org.policy_document(p[0]), org.targets_of(p[0])), listed))
    policies = {policy_id: Policy(name=name, document=document) for policy_id, name, document, _ in read}
    attachments: dict[str, list[str]] = {}
    for policy_id, _, _, targets in read:
        for target in targets:
            attachments.setdefault(target, []).append(policy_id)
    return policies, {target: tuple(ids) for target, ids in attachments.items()}


def _organization_instances(
    sessions: Sessions, region: str | None
) -> tuple[tuple[Any, ...] | None, str | None]:
    if region is None:
        return None, "no organization_instance_region is configured"
    try:
        client = sessions.organizations().client("sso-admin", region)
        # The management account cannot hold an account instance: what it lists is the organization's.
        return tuple(InstanceReader(client, region).list()), None
    except Exception as error:  # a missing fact, never a failed sweep
        return None, reason(error)
