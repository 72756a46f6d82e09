"""The facts a decision is made from, in one typed structure.

A decision judges a **subject** (an instance in one account and Region, or a CreateInstance attempt
that made none) for a **trigger**: why it is looked at now, an API call CloudTrail recorded or a
sweep that listed the instance. Rules read what an instance *is* from the subject and the facts
gathered about it, and only the rules about a call read the call.

Everything here is plain data: the Lambda gathers it from CloudTrail and AWS APIs, the CLI reads it
from a JSON file, and the decision core reads nothing else. An event is trusted only for what
CloudTrail vouches for (who called what, where, with which outcome); what an instance *is* (owner,
status, tags, applications) comes from the sso-admin API.
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
    # On an instance (not on a permission set or application: the event pattern tells them apart).
    TAG = "TagResource"
    UNTAG = "UntagResource"


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Actor(_Frozen, frozen=True):
    """Who made the call, as CloudTrail recorded it.

    `invoked_by` is the AWS service that made the call on the caller's behalf
    (`userIdentity.invokedBy`, e.g. `cloudformation.amazonaws.com` for a resource of a stack);
    `invoked_by_delegate` the account of a product provider that made it with IAM temporary
    delegated access (`userIdentity.invokedByDelegate.accountId`), outside the organization.
    """

    arn: str | None = None
    type: str | None = None
    account_id: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    invoked_by: str | None = None
    invoked_by_delegate: str | None = None


class Occasion(StrEnum):
    """The kinds of trigger; each rule says which it judges."""

    CREATE_SUCCEEDED = "CreateInstance (succeeded)"
    CREATE_FAILED = "CreateInstance (failed)"
    DELETE_SUCCEEDED = "DeleteInstance (succeeded)"
    DELETE_FAILED = "DeleteInstance (failed)"
    UPDATE_SUCCEEDED = "UpdateInstance (succeeded)"
    UPDATE_FAILED = "UpdateInstance (failed)"
    TAG_SUCCEEDED = "TagResource (succeeded)"
    TAG_FAILED = "TagResource (failed)"
    UNTAG_SUCCEEDED = "UntagResource (succeeded)"
    UNTAG_FAILED = "UntagResource (failed)"
    SWEEP = "sweep"
    GRACE_ENDED = "grace period ended"


class ApiCall(_Frozen, frozen=True, tag="api-call", tag_field="kind"):
    """A trigger: one instance API call, normalized from its CloudTrail record."""

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

    @property
    def occasion(self) -> Occasion:
        return Occasion(f"{self.operation.value} ({self.outcome.value})")

    @property
    def time(self) -> datetime:
        return self.event_time

    @property
    def subject(self) -> Subject:
        """What the call is about: its account, its Region and the instance it names, if any."""
        return Subject(account_id=self.account_id, region=self.region, instance_arn=self.instance_arn)


class Observation(_Frozen, frozen=True, tag="sweep", tag_field="kind"):
    """A trigger: a sweep of the organization listed the instance."""

    run_id: str
    observed_at: datetime

    @property
    def occasion(self) -> Occasion:
        return Occasion.SWEEP

    @property
    def time(self) -> datetime:
        return self.observed_at


class GraceEnded(_Frozen, frozen=True, tag="grace-ended", tag_field="kind"):
    """A trigger: the grace period of a pending deletion is over; the instance is judged afresh."""

    scheduled_at: datetime
    deadline: datetime
    rules: tuple[str, ...] = ()

    @property
    def occasion(self) -> Occasion:
        return Occasion.GRACE_ENDED

    @property
    def time(self) -> datetime:
        return self.deadline


Trigger = ApiCall | Observation | GraceEnded


class Subject(_Frozen, frozen=True):
    """What is judged: an instance of one account, where it lives, or (for a CreateInstance that made
    none) the account and Region of the attempt. An instance ARN holds neither account nor Region."""

    account_id: AccountId
    region: str
    instance_arn: str | None = None


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
    """An Identity Center instance as DescribeInstance and ListInstances report it.

    `region` is where the instance lives: its `PrimaryRegion` when the listing gives one, else the
    Region it was listed or described in.
    """

    instance_arn: str
    region: str
    owner_account_id: str | None = None
    name: str | None = None
    status: str | None = None
    created_date: datetime | None = None
    tags: dict[str, str] = msgspec.field(default_factory=dict)


class ApplicationFacts(_Frozen, frozen=True):
    """An application attached to an instance (ListApplications): what deleting the instance breaks."""

    application_arn: str
    name: str | None = None
    # `arn:aws:sso::aws:applicationProvider/…` marks an AWS managed application.
    provider_arn: str | None = None
    status: str | None = None


class ServiceControlPolicy(_Frozen, frozen=True):
    """An SCP attached to the account, one of its OUs or the root."""

    policy_id: str
    target_id: str
    document: str
    name: str | None = None


class Fact(StrEnum):
    """The facts gathered about a subject, by name: each is a field of `Facts`, and what
    `MissingFact` and a rule's `Undetermined` say is missing (the same strings in alerts and files)."""

    ORGANIZATION = "organization"
    ACCOUNT = "account"
    INSTANCE = "instance"
    ACCOUNT_INSTANCES = "account_instances"
    APPLICATIONS = "applications"
    ORGANIZATION_INSTANCES = "organization_instances"
    SERVICE_CONTROL_POLICIES = "service_control_policies"


class MissingFact(_Frozen, frozen=True):
    """A fact that could not be gathered, and why: decisions that need it become incomplete."""

    fact: Fact
    reason: str
    # The AWS error code that made it missing, when AWS answered with one: `ResourceNotFoundException`
    # for the instance means it is gone, not unknown.
    code: str | None = None


class Facts(_Frozen, frozen=True):
    """Everything the decision core may read about one subject, looked at for one trigger.

    Each field between `trigger` and `missing` is one `Fact`, under its name."""

    subject: Subject
    trigger: Trigger
    organization: OrganizationFacts | None = None
    account: AccountFacts | None = None
    instance: InstanceFacts | None = None
    # For the collections below, None means "not gathered" and () means "gathered, there is none".
    # Instances of the same account in every Region looked at, the subject's included.
    account_instances: tuple[InstanceFacts, ...] | None = None
    # Applications attached to the subject's instance.
    applications: tuple[ApplicationFacts, ...] | None = None
    # The organization instance(s) of Identity Center, seen from the management account.
    organization_instances: tuple[InstanceFacts, ...] | None = None
    # SCPs in force on the account: attached to it, to each OU above it, and to the root.
    service_control_policies: tuple[ServiceControlPolicy, ...] | None = None
    missing: tuple[MissingFact, ...] = ()

    @property
    def instance_gone(self) -> bool:
        """Whether AWS said the subject's instance does not exist (rather than failing to say)."""
        return self.instance is None and any(
            m.fact == Fact.INSTANCE and m.code == "ResourceNotFoundException" for m in self.missing
        )

    @property
    def call(self) -> ApiCall | None:
        """The API call that triggered the look, or None for a sweep."""
        return self.trigger if isinstance(self.trigger, ApiCall) else None
