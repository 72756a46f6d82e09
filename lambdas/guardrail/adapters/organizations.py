"""Reads of AWS Organizations: the organization, an account's place in it, and its SCPs."""

from __future__ import annotations

from typing import Any

from guardrail.adapters.clients import pages
from guardrail.core.facts import OrganizationFacts


class OrganizationsReader:
    """Organizations answers only in the management account or a delegated one: the caller
    passes a client with such credentials."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def organization(self) -> OrganizationFacts:
        organization = self._client.describe_organization()["Organization"]
        return OrganizationFacts(
            organization_id=organization["Id"], management_account_id=organization["MasterAccountId"]
        )

    def account_name(self, account_id: str) -> str | None:
        name: str | None = self._client.describe_account(AccountId=account_id)["Account"].get("Name")
        return name

    def parent_of(self, child_id: str) -> tuple[str, str]:
        """The direct parent of an account or OU: its id and type (ROOT or ORGANIZATIONAL_UNIT)."""
        parent = self._client.list_parents(ChildId=child_id)["Parents"][0]
        return str(parent["Id"]), str(parent["Type"])

    def unit_name(self, unit_id: str) -> str:
        return str(
            self._client.describe_organizational_unit(OrganizationalUnitId=unit_id)["OrganizationalUnit"][
                "Name"
            ]
        )

    def attached_policies(self, target_id: str) -> list[tuple[str, str | None]]:
        """Ids and names of the SCPs attached directly to one target (account, OU or root)."""
        return [
            (str(summary["Id"]), summary.get("Name"))
            for page in pages(
                self._client.list_policies_for_target, TargetId=target_id, Filter="SERVICE_CONTROL_POLICY"
            )
            for summary in page["Policies"]
        ]

    def policy_document(self, policy_id: str) -> str:
        return str(self._client.describe_policy(PolicyId=policy_id)["Policy"]["Content"])

    def tags(self, resource_id: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        for page in pages(self._client.list_tags_for_resource, ResourceId=resource_id):
            tags.update({tag["Key"]: tag["Value"] for tag in page["Tags"]})
        return tags

    # -- the whole organization, for a sweep ----------------------------------------------------------
    def accounts(self) -> list[dict[str, Any]]:
        """Every account (`Id`, `Name`, `State`), paged to the end: a page may be empty before it."""
        return [account for page in pages(self._client.list_accounts) for account in page.get("Accounts", [])]

    def root_id(self) -> str:
        roots = [root for page in pages(self._client.list_roots) for root in page.get("Roots", [])]
        return str(roots[0]["Id"])

    def units_under(self, parent_id: str) -> list[tuple[str, str]]:
        """Ids and names of the OUs directly under a parent (the root or an OU)."""
        return [
            (str(unit["Id"]), str(unit["Name"]))
            for page in pages(self._client.list_organizational_units_for_parent, ParentId=parent_id)
            for unit in page.get("OrganizationalUnits", [])
        ]

    def accounts_under(self, parent_id: str) -> list[dict[str, Any]]:
        """The accounts directly under a parent, with the fields `accounts` gives (`Id`, `Name`,
        `State`): walking the tree lists every account once, so a sweep needs no ListAccounts."""
        return [
            account
            for page in pages(self._client.list_accounts_for_parent, ParentId=parent_id)
            for account in page.get("Accounts", [])
        ]

    def service_control_policies(self) -> list[tuple[str, str | None]]:
        """Ids and names of every SCP of the organization."""
        return [
            (str(summary["Id"]), summary.get("Name"))
            for page in pages(self._client.list_policies, Filter="SERVICE_CONTROL_POLICY")
            for summary in page.get("Policies", [])
        ]

    def targets_of(self, policy_id: str) -> list[str]:
        """The accounts, OUs and roots a policy is attached to directly."""
        return [
            str(target["TargetId"])
            for page in pages(self._client.list_targets_for_policy, PolicyId=policy_id)
            for target in page.get("Targets", [])
        ]
