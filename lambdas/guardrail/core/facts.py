"""The facts a decision is made from, in one typed structure.

Everything here is plain data: the Lambda gathers it from CloudTrail and AWS APIs, the CLI reads it
from a JSON file, and the decision core reads nothing else. The event itself is trusted only for
what CloudTrail vouches for (who called what, where, with which outcome); what an instance *is*
(owner, status, tags) comes from the sso-admin API.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

# Constraints in Annotated metadata are checked when data is converted into these types (facts files,
# events, the policy), not when the Lambda builds them from what AWS returned.
AccountId = Annotated[str, msgspec.Meta(pattern=r"^\d{12}$")]


class _Frozen(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Immutable, strictly typed data; msgspec rather than pydantic keeps the cold start short.

    Subclasses repeat `frozen=True` for type checkers, which do not see it inherited.
    """


class Operation(StrEnum):
    """The instance API calls the guardrail listens to."""

    CREATE = "CreateInstance"
    DELETE = "DeleteInstance"
    UPDATE = "UpdateInstance"


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Actor(_Frozen, frozen=True):
    """Who made the call, as CloudTrail recorded it."""

    arn: str | None = None
    type: str | None = None
    account_id: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None


class ApiCall(_Frozen, frozen=True):
    """One instance API call, normalized from its CloudTrail record."""

    event_id: str
    operation: Operation
    event_time: datetime
    account_id: AccountId
    region: str
    outcome: Outcome
    instance_arn: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    requested_name: str | None = None
    requested_tags: dict[str, str] = msgspec.field(default_factory=dict)
    actor: Actor = msgspec.field(default_factory=Actor)


class OrganizationalUnit(_Frozen, frozen=True):
    id: str
    name: str


class OrganizationFacts(_Frozen, frozen=True):
    organization_id: str
    management_account_id: AccountId


class AccountFacts(_Frozen, frozen=True):
    """The account the call was made in, as Organizations describes it."""

    account_id: AccountId
    name: str | None = None
    # The chain of parents from the root down to the account's own OU; the root comes first.
    parents: tuple[OrganizationalUnit, ...] = ()
    tags: dict[str, str] = msgspec.field(default_factory=dict)

    @property
    def ou_path(self) -> str:
        """Names of the OUs below the root, joined with '/', e.g. 'Workloads/Prod'.

        An OU name may hold '/' itself: inside a name, '\\' and '/' are escaped with a backslash, so
        that the path names one chain of OUs ('Work\\/loads/Prod' is two OUs, not three).
        """
        return "/".join(
            unit.name.replace("\\", "\\\\").replace("/", "\\/")
            for unit in self.parents
            if not unit.id.startswith("r-")
        )


class InstanceStatus(StrEnum):
    CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
    CREATE_FAILED = "CREATE_FAILED"
    ACTIVE = "ACTIVE"
    DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"


class InstanceFacts(_Frozen, frozen=True):
    """An Identity Center instance as DescribeInstance and ListInstances report it."""

    instance_arn: str
    region: str
    owner_account_id: str | None = None
    name: str | None = None
    status: str | None = None
    created_date: datetime | None = None
    tags: dict[str, str] = msgspec.field(default_factory=dict)


class ServiceControlPolicy(_Frozen, frozen=True):
    """An SCP attached to the account, one of its OUs or the root."""

    policy_id: str
    target_id: str
    document: str
    name: str | None = None


class MissingFact(_Frozen, frozen=True):
    """A fact that could not be gathered, and why: decisions that need it become incomplete."""

    fact: str
    reason: str


class Facts(_Frozen, frozen=True):
    """Everything the decision core may read about one call."""

    call: ApiCall
    organization: OrganizationFacts | None = None
    account: AccountFacts | None = None
    instance: InstanceFacts | None = None
    # For the collections below, None means "not gathered" and () means "gathered, there is none".
    # Instances of the same account in every Region looked at, the one of the call included.
    account_instances: tuple[InstanceFacts, ...] | None = None
    # The organization instance(s) of Identity Center, seen from the management account.
    organization_instances: tuple[InstanceFacts, ...] | None = None
    # SCPs in force on the account: attached to it, to each OU above it, and to the root.
    service_control_policies: tuple[ServiceControlPolicy, ...] | None = None
    missing: tuple[MissingFact, ...] = ()
