"""Reads of Identity Center instances in one account and Region (sso-admin).

An account instance is visible only in its own account and Region, so these clients always act
as a role inside the member account.
"""

from __future__ import annotations

from typing import Any

from guardrail.adapters.clients import pages
from guardrail.core.facts import InstanceFacts


class InstanceReader:
    def __init__(self, client: Any, region: str) -> None:
        self._client = client
        self._region = region

    def _facts(self, raw: dict[str, Any], tags: dict[str, str] | None = None) -> InstanceFacts:
        return InstanceFacts(
            instance_arn=raw["InstanceArn"],
            region=self._region,
            owner_account_id=raw.get("OwnerAccountId"),
            name=raw.get("Name"),
            status=raw.get("Status"),
            created_date=raw.get("CreatedDate"),
            tags=tags or {},
        )

    def describe(self, instance_arn: str) -> InstanceFacts:
        """DescribeInstance alone (owner, status, name): callers read `tags` concurrently if needed."""
        return self._facts(self._client.describe_instance(InstanceArn=instance_arn))

    def tags(self, instance_arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        for page in pages(
            self._client.list_tags_for_resource, InstanceArn=instance_arn, ResourceArn=instance_arn
        ):
            tags.update({tag["Key"]: tag["Value"] for tag in page.get("Tags", [])})
        return tags

    def list(self) -> list[InstanceFacts]:
        instances: list[InstanceFacts] = []
        for page in pages(self._client.list_instances):
            instances.extend(self._facts(raw) for raw in page.get("Instances", []))
        return instances

    def delete(self, instance_arn: str) -> None:
        """Only the owner account can delete its instance: the client must act inside it."""
        self._client.delete_instance(InstanceArn=instance_arn)
