"""Whose an instance listed in a member account is: the account's own, or the organization's.

A member account's ListInstances shows the organization instance too, and older responses carry
no `OwnerAccountId`. An instance is the account's own when its owner says so, or, with no owner
given, when it is not one of the organization instances; which must then be known.
"""

from __future__ import annotations

from collections.abc import Collection

from guardrail.core.facts import InstanceFacts


def is_own_instance(
    instance: InstanceFacts, account_id: str, organization_arns: Collection[str] | None
) -> bool | None:
    """True or False, or None when the owner is not given and the organization instances are unknown."""
    if organization_arns is not None and instance.instance_arn in organization_arns:
        return False
    if instance.owner_account_id is not None:
        return instance.owner_account_id == account_id
    return None if organization_arns is None else True
