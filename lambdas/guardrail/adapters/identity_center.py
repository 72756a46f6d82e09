"""Reads of Identity Center instances in one account (sso-admin).

An account instance is visible only in its own account, so these clients always act as a role
inside the member account.
"""

from __future__ import annotations

from typing import Any

from guardrail.adapters.clients import pages
from guardrail.core.facts import ApplicationFacts, InstanceFacts

ALL_REGIONS = "ALL_REGIONS"


def lists_all_regions(client: Any) -> bool:
    """Whether this client's service model knows `ListInstances(RegionScope=ALL_REGIONS)`.

    Decided from the loaded model, not by catching a failure: the Lambda runtime's botocore may be
    older than the one the tests pin, and an unknown parameter fails before any call is made.
    """
    operation = client.meta.service_model.operation_model("ListInstances")
    return "RegionScope" in operation.input_shape.members


class InstanceReader:
    def __init__(self, client: Any, region: str) -> None:
        self._client = client
        self._region = region

    def _facts(self, raw: dict[str, Any], tags: dict[str, str] | None = None) -> InstanceFacts:
        return InstanceFacts(
            instance_arn=raw["InstanceArn"],
            # Where the instance lives: its primary Region when the response says, else this one.
            region=raw.get("PrimaryRegion") or self._region,
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

    def applications(self, instance_arn: str) -> tuple[ApplicationFacts, ...]:
        """The applications attached to the instance: what deleting it would break."""
        return tuple(
            ApplicationFacts(
                application_arn=raw["ApplicationArn"],
                name=raw.get("Name"),
                provider_arn=raw.get("ApplicationProviderArn"),
                status=raw.get("Status"),
            )
            for page in pages(self._client.list_applications, InstanceArn=instance_arn)
            for raw in page.get("Applications", [])
        )

    def list(self, *, all_regions: bool = False) -> list[InstanceFacts]:
        """The instances this Region's endpoint lists; with `all_regions`, those of every Region."""
        scope = {"RegionScope": ALL_REGIONS} if all_regions else {}
        instances: list[InstanceFacts] = []
        for page in pages(self._client.list_instances, **scope):
            instances.extend(self._facts(raw) for raw in page.get("Instances", []))
        return instances

    def delete(self, instance_arn: str) -> None:
        """Only the owner account can delete its instance: the client must act inside it."""
        self._client.delete_instance(InstanceArn=instance_arn)
