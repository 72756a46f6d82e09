"""In-memory model of the IAM Identity Center instance lifecycle, served through moto.

moto's sso-admin knows nothing of account instances: it answers ListInstances with one ACTIVE
instance per account and Region and cannot create, describe or delete one. The guardrail's whole
job is about those calls, so this module replaces moto's handlers for the instance actions with a
single model that follows the documented rules (one instance per account, refusal in the
management account, visibility only in the owner's account and Region, owner-only deletion,
status transitions, paging). Any boto3 ``sso-admin`` client created under ``moto.mock_aws()``,
including one built from assumed-role credentials, reaches it; moto maps credentials to accounts.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType, TracebackType
from typing import Any, ClassVar, Literal, NamedTuple, Self

from moto.core.exceptions import JsonRESTError
from moto.organizations.models import organizations_backends
from moto.ssoadmin.exceptions import ConflictException, ResourceNotFoundException
from moto.ssoadmin.responses import SSOAdminResponse
from moto.utilities.utils import get_partition

from emulator.account_regions import AccountRegions

__all__ = [
    "AccessDeniedException",
    "ApplicationRecord",
    "IdentityCenterEmulator",
    "InstanceRecord",
    "InstanceStatus",
    "ServedCall",
    "UnrecognizedClientException",
    "ValidationException",
    "tag_text_allowed",
]

InstanceStatus = Literal["CREATE_IN_PROGRESS", "CREATE_FAILED", "ACTIVE", "DELETE_IN_PROGRESS"]

INSTANCE_ARN_PATTERN = re.compile(r"^arn:aws(-[a-z]{1,5}){0,3}:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$")
# What AWS accepts (checked against its documentation, not only the SDK's looser service model,
# which allows names of 255): an instance name of 1 to 32 characters of `[\w+=,.@-]`, `\w` read as
# AWS's patterns read it (ASCII letters, digits and `_`); tag keys of 1 to 128 and values of up to
# 256 Unicode letters, numbers, separators (spaces, and the line and paragraph separators) and
# `_.:/=+-@`; application names of 1 to 100 characters of any kind, line breaks included.
_NAME_PATTERN = re.compile(r"^[\w+=,.@-]+$", re.ASCII)
_MAX_NAME_LENGTH = 32
_TAG_CATEGORIES = ("L", "N", "Z")  # \p{L}, \p{N}, \p{Z}
_TAG_PUNCTUATION = frozenset("_.:/=+-@")
_MAX_APPLICATION_NAME = 100
_MAX_TAGS = 75
_MAX_PAGE = 10
_DEFAULT_ENCRYPTION = {"KeyType": "AWS_OWNED_KMS_KEY", "EncryptionStatus": "ENABLED"}
_ALREADY_EXISTS = "An instance of IAM Identity Center already exists in this account."
_MANAGEMENT_REFUSED = "CreateInstance is not supported in the organization management account."

# moto handler method name -> API operation this model serves.
_OPERATIONS: Mapping[str, str] = {
    "create_instance": "CreateInstance",
    "describe_instance": "DescribeInstance",
    "delete_instance": "DeleteInstance",
    "list_instances": "ListInstances",
    "update_instance": "UpdateInstance",
    "list_tags_for_resource": "ListTagsForResource",
    "tag_resource": "TagResource",
    "untag_resource": "UntagResource",
    "list_applications": "ListApplications",
}
_APPLICATION_PROVIDER = "arn:aws:sso::aws:applicationProvider/"


class ValidationException(JsonRESTError):
    """Invalid input; also the management-account refusal of CreateInstance."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__(error_type="ValidationException", message=message)


class AccessDeniedException(JsonRESTError):
    """A non-owner tried to delete an instance it can see (the organization instance)."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__(error_type="AccessDeniedException", message=message)


class UnrecognizedClientException(JsonRESTError):
    """A call in a Region the account has not enabled: its credentials are not valid there."""

    code = 403

    def __init__(self) -> None:
        super().__init__(
            error_type="UnrecognizedClientException",
            message="The security token included in the request is invalid.",
        )


class ServedCall(NamedTuple):
    """One API call the emulator answered, successful or not."""

    account: str
    region: str
    operation: str


@dataclass(frozen=True)
class ApplicationRecord:
    """An application attached to an instance, as ListApplications returns it."""

    application_arn: str
    instance_arn: str
    account_id: str
    name: str
    provider: str
    status: str = "ENABLED"

    def item(self) -> dict[str, Any]:
        return {
            "ApplicationArn": self.application_arn,
            "ApplicationProviderArn": _APPLICATION_PROVIDER + self.provider,
            "Name": self.name,
            "ApplicationAccount": self.account_id,
            "InstanceArn": self.instance_arn,
            "Status": self.status,
        }


@dataclass(frozen=True)
class InstanceRecord:
    """Immutable snapshot of one instance; the emulator swaps records instead of mutating them."""

    instance_arn: str
    identity_store_id: str
    owner_account_id: str
    region: str
    name: str | None
    status: InstanceStatus
    created_date: datetime
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    status_reason: str | None = None
    client_token: str | None = None
    encryption: Mapping[str, str] = field(default_factory=lambda: MappingProxyType(_DEFAULT_ENCRYPTION))

    def metadata(self, *, with_owner: bool = True) -> dict[str, Any]:
        """The InstanceMetadata shape ListInstances returns (CreatedDate as epoch seconds)."""
        item: dict[str, Any] = {
            "InstanceArn": self.instance_arn,
            "IdentityStoreId": self.identity_store_id,
            "CreatedDate": self.created_date.timestamp(),
            "Status": self.status,
        }
        if with_owner:
            item["OwnerAccountId"] = self.owner_account_id
        # Newer responses: where the instance lives, and every Region it serves (one, unreplicated).
        item["PrimaryRegion"] = self.region
        item["Regions"] = [
            {
                "RegionName": self.region,
                "Status": "ACTIVE",
                "IsPrimaryRegion": True,
                "AddedDate": self.created_date.timestamp(),
            }
        ]
        if self.name is not None:
            item["Name"] = self.name
        if self.status_reason is not None:
            item["StatusReason"] = self.status_reason
        return item


class _Caller(NamedTuple):
    account: str
    region: str


class IdentityCenterEmulator:
    """Identity Center instances of every account and Region, answering sso-admin calls under moto.

    ``initial_status`` is the status CreateInstance leaves a new instance in; with
    ``delete_immediately`` False, DeleteInstance leaves it DELETE_IN_PROGRESS. ``complete_pending``
    finishes both, so tests decide exactly when the asynchronous work "happens".
    ``organization_instance_visible_to_members`` makes ListInstances and DescribeInstance in the
    organization's member accounts also show the management account's instance in its Region:
    AWS documents ListInstances as returning instances "created in or visible to" the caller
    without saying whether that includes the organization instance, so both cases can be tested.
    ``owner_in_listings`` False models older ListInstances responses, which carry no
    ``OwnerAccountId`` (DescribeInstance still does). With ``regions``, a call in a Region the
    account has not enabled fails with UnrecognizedClientException (assumed: AWS documents that
    such a Region cannot be used, not the error code).
    """

    _installed: ClassVar[IdentityCenterEmulator | None] = None

    def __init__(
        self,
        management_account_id: str,
        *,
        initial_status: Literal["ACTIVE", "CREATE_IN_PROGRESS", "CREATE_FAILED"] = "ACTIVE",
        delete_immediately: bool = True,
        organization_instance_visible_to_members: bool = False,
        owner_in_listings: bool = True,
        regions: AccountRegions | None = None,
    ) -> None:
        self.management_account_id = management_account_id
        self.owner_in_listings = owner_in_listings
        self.regions = regions
        self._applications: dict[str, list[ApplicationRecord]] = {}
        self.initial_status: Literal["ACTIVE", "CREATE_IN_PROGRESS", "CREATE_FAILED"] = initial_status
        self.delete_immediately = delete_immediately
        self.organization_instance_visible_to_members = organization_instance_visible_to_members
        self.calls: list[ServedCall] = []
        self._instances: dict[str, InstanceRecord] = {}
        self._lock = threading.RLock()
        self._originals: dict[str, Callable[..., Any] | None] = {}

    # ----------------------------------------------------------------- plumbing into moto
    def install(self) -> Self:
        """Serve the instance actions of every sso-admin request from this model."""
        if IdentityCenterEmulator._installed is not None:
            raise RuntimeError("another IdentityCenterEmulator is installed; uninstall it first")
        for method in _OPERATIONS:
            self._originals[method] = SSOAdminResponse.__dict__.get(method)
            setattr(SSOAdminResponse, method, self._handler(method))
        IdentityCenterEmulator._installed = self
        return self

    def uninstall(self) -> None:
        """Give moto its own handlers back (deleting those it never had)."""
        if IdentityCenterEmulator._installed is not self:
            return
        for method, original in self._originals.items():
            if original is None:
                delattr(SSOAdminResponse, method)
            else:
                setattr(SSOAdminResponse, method, original)
        self._originals.clear()
        IdentityCenterEmulator._installed = None

    def __enter__(self) -> Self:
        return self.install()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()

    def _handler(self, method: str) -> Callable[[SSOAdminResponse], str]:
        # A plain function, not a bound method: moto only dispatches to class attributes that
        # inspect.isfunction accepts.
        def handle(response: SSOAdminResponse) -> str:
            return self._serve(response, method)

        handle.__name__ = method
        return handle

    def _serve(self, response: SSOAdminResponse, method: str) -> str:
        caller = _Caller(str(response.current_account), str(response.region))
        body = response.body
        params: dict[str, Any] = json.loads(body) if body else {}
        operation: Callable[[_Caller, dict[str, Any]], dict[str, Any]] = getattr(self, f"_{method}")
        with self._lock:
            self.calls.append(ServedCall(caller.account, caller.region, _OPERATIONS[method]))
            if self.regions is not None and not self.regions.is_enabled(caller.account, caller.region):
                raise UnrecognizedClientException()
            return json.dumps(operation(caller, params))

    # ----------------------------------------------------------------- direct API
    def seed_instance(
        self,
        account_id: str,
        region: str,
        *,
        name: str,
        tags: Mapping[str, str] | None = None,
        status: InstanceStatus = "ACTIVE",
        instance_arn: str | None = None,
        created_date: datetime | None = None,
        race: bool = False,
    ) -> str:
        """Put an existing instance in place without an API call (so the ARN can match an event).

        Seeding in the management account makes the organization instance. The one-instance-per-
        account rule holds, so the model never reaches a state AWS cannot be in, except with
        ``race``: a second instance, as two CreateInstance calls that raced might leave.
        """
        try:
            _validate_name(name or None)  # "" stands for an instance created without a name
        except ValidationException as error:
            raise ValueError(error.message) from error
        with self._lock:
            if self._owned_by(account_id) and not race:
                raise ValueError(f"account {account_id} already has an instance")
            if instance_arn is not None:
                if not INSTANCE_ARN_PATTERN.match(instance_arn):
                    raise ValueError(f"not an instance ARN: {instance_arn}")
                if instance_arn in self._instances:
                    raise ValueError(f"instance {instance_arn} already exists")
            tag_map = dict(tags or {})
            try:
                _validate_tags([{"Key": k, "Value": v} for k, v in tag_map.items()])
            except ValidationException as error:
                raise ValueError(error.message) from error
            record = self._new_record(
                account_id,
                region,
                name=name,
                tags=tag_map,
                status=status,
                instance_arn=instance_arn,
                created_date=created_date,
            )
            self._instances[record.instance_arn] = record
            return record.instance_arn

    def attach_application(self, instance_arn: str, *, name: str, provider: str = "qbusiness") -> str:
        """Attach an AWS managed application to an instance (as creating one in its account does).

        Its name is whatever its creator chose: 1 to 100 characters of any kind, as AWS allows."""
        if not 1 <= len(name) <= _MAX_APPLICATION_NAME:
            raise ValueError(f"an application name is 1 to {_MAX_APPLICATION_NAME} characters long")
        with self._lock:
            record = self._instances.get(instance_arn)
            if record is None:
                raise ValueError(f"no instance {instance_arn}")
            arn = f"arn:{get_partition(record.region)}:sso::{record.owner_account_id}:application/{instance_arn.rsplit('/', 1)[-1]}/apl-{secrets.token_hex(8)}"
            self._applications.setdefault(instance_arn, []).append(
                ApplicationRecord(arn, instance_arn, record.owner_account_id, name, provider)
            )
            return arn

    def instances(self, account_id: str | None = None) -> list[InstanceRecord]:
        """All instances (or one account's), oldest first, as immutable snapshots."""
        with self._lock:
            records = [r for r in self._instances.values() if account_id in (None, r.owner_account_id)]
        return sorted(records, key=lambda r: (r.created_date, r.instance_arn))

    def complete_pending(self, *, create_outcome: Literal["ACTIVE", "CREATE_FAILED"] = "ACTIVE") -> list[str]:
        """Finish every CREATE_IN_PROGRESS and DELETE_IN_PROGRESS instance; return their ARNs."""
        changed: list[str] = []
        with self._lock:
            for arn, record in list(self._instances.items()):
                if record.status == "CREATE_IN_PROGRESS":
                    reason = "Instance creation failed." if create_outcome == "CREATE_FAILED" else None
                    self._instances[arn] = replace(record, status=create_outcome, status_reason=reason)
                    changed.append(arn)
                elif record.status == "DELETE_IN_PROGRESS":
                    del self._instances[arn]
                    changed.append(arn)
        return changed

    # ----------------------------------------------------------------- model helpers
    def _new_record(
        self,
        account_id: str,
        region: str,
        *,
        name: str | None,
        tags: Mapping[str, str],
        status: InstanceStatus,
        instance_arn: str | None = None,
        created_date: datetime | None = None,
        client_token: str | None = None,
    ) -> InstanceRecord:
        partition = get_partition(region)
        return InstanceRecord(
            instance_arn=instance_arn or f"arn:{partition}:sso:::instance/ssoins-{secrets.token_hex(8)}",
            identity_store_id=f"d-{secrets.token_hex(5)}",
            owner_account_id=account_id,
            region=region,
            name=name,
            status=status,
            created_date=created_date or datetime.now(UTC),
            tags=MappingProxyType(dict(tags)),
            status_reason="Instance creation failed." if status == "CREATE_FAILED" else None,
            client_token=client_token,
        )

    def _owned_by(self, account_id: str) -> InstanceRecord | None:
        return next((r for r in self._instances.values() if r.owner_account_id == account_id), None)

    def _is_member(self, account_id: str) -> bool:
        # Organization membership comes from moto's own Organizations model.
        master = organizations_backends.master_accounts.get(account_id)
        return master is not None and master[0] == self.management_account_id

    def _visible_to(self, record: InstanceRecord, caller: _Caller, *, all_regions: bool = False) -> bool:
        if record.region != caller.region and not all_regions:
            return False
        if record.owner_account_id == caller.account:
            return True
        return (
            self.organization_instance_visible_to_members
            and record.owner_account_id == self.management_account_id
            and self._is_member(caller.account)
        )

    def _lookup(self, caller: _Caller, instance_arn: Any) -> InstanceRecord:
        if not isinstance(instance_arn, str) or not INSTANCE_ARN_PATTERN.match(instance_arn):
            raise ValidationException(f"Invalid instance ARN: {instance_arn}")
        record = self._instances.get(instance_arn)
        if record is None or not self._visible_to(record, caller):
            raise ResourceNotFoundException(f"Instance {instance_arn} not found.")
        return record

    def _require_active(self, record: InstanceRecord) -> None:
        # Only an ACTIVE instance accepts more than Describe and Delete.
        if record.status != "ACTIVE":
            raise ConflictException(
                f"Instance {record.instance_arn} is {record.status}; the operation is not allowed now."
            )

    # ----------------------------------------------------------------- operations
    def _create_instance(self, caller: _Caller, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("Name")
        _validate_name(name)
        tags = params.get("Tags") or []
        _validate_tags(tags)
        if caller.account == self.management_account_id:
            raise ValidationException(_MANAGEMENT_REFUSED)
        token = params.get("ClientToken")
        existing = self._owned_by(caller.account)
        if existing is not None:
            if token is not None and existing.client_token == token:
                return {"InstanceArn": existing.instance_arn}
            raise ConflictException(_ALREADY_EXISTS)
        record = self._new_record(
            caller.account,
            caller.region,
            name=name,
            tags={t["Key"]: t["Value"] for t in tags},
            status=self.initial_status,
            client_token=token,
        )
        self._instances[record.instance_arn] = record
        return {"InstanceArn": record.instance_arn}

    def _describe_instance(self, caller: _Caller, params: dict[str, Any]) -> dict[str, Any]:
        record = self._lookup(caller, params.get("InstanceArn"))
        return {**record.metadata(), "EncryptionConfigurationDetails": dict(record.encryption)}

    def _delete_instance(self, caller: _Caller, params: dict[str, Any]) -> dict[str, Any]:
        record = self._lookup(caller, params.get("InstanceArn"))
        if record.owner_account_id != caller.account:
            raise AccessDeniedException("Only the account that owns the instance can call this API.")
        if record.status == "DELETE_IN_PROGRESS":
            raise ConflictException(f"Instance {record.instance_arn} is already being deleted.")
        if self.delete_immediately:
            del self._instances[record.instance_arn]
        else:
            self._instances[record.instance_arn] = replace(record, status="DELETE_IN_PROGRESS")
        return {}

    def _list_instances(self, caller: _Caller, params: dict[str, Any]) -> dict[str, Any]:
        # ALL_REGIONS: "the instances that the caller owns or that are shared with the caller across
        # all Regions"; CURRENT_REGION (the default): those of the Region called.
        scope = params.get("RegionScope", "CURRENT_REGION")
        if scope not in ("CURRENT_REGION", "ALL_REGIONS"):
            raise ValidationException("RegionScope must be CURRENT_REGION or ALL_REGIONS.")
        max_results = params.get("MaxResults", _MAX_PAGE)
        if not isinstance(max_results, int) or isinstance(max_results, bool) or not 1 <= max_results <= 100:
            raise ValidationException("MaxResults must be between 1 and 100.")
        start = _decode_token(params.get("NextToken"))
        visible = sorted(
            (
                r
                for r in self._instances.values()
                if self._visible_to(r, caller, all_regions=scope == "ALL_REGIONS")
            ),
            key=lambda r: (r.created_date, r.instance_arn),
        )
        end = start + min(max_results, _MAX_PAGE)
        page: dict[str, Any] = {
            "Instances": [r.metadata(with_owner=self.owner_in_listings) for r in visible[start:end]]
        }
        if end < len(visible):
            page["NextToken"] = _encode_token(end)
        return page

    def _update_instance(self, caller: _Caller, params: dict[str, Any]) -> dict[str, Any]:
        record = self._lookup(caller, params.get("InstanceArn"))
        if record.owner_account_id != caller.account:
            raise AccessDeniedException("Only the account that owns the instance can call this API.")
        self._require_active(record)
        changes: dict[str, Any] = {}
        if "Name" in params:
            _validate_name(params["Name"])
            changes["name"] = params["Name"]
        encryption = params.get("EncryptionConfiguration")
        if encryption is not None:
            key_type = encryption.get("KeyType")
            if key_type not in ("AWS_OWNED_KMS_KEY", "CUSTOMER_MANAGED_KEY"):
                raise ValidationException(f"Invalid KeyType: {key_type}")
            details = {"KeyType": key_type, "EncryptionStatus": "ENABLED"}
            if key_type == "CUSTOMER_MANAGED_KEY":
                if not encryption.get("KmsKeyArn"):
                    raise ValidationException("KmsKeyArn is required for CUSTOMER_MANAGED_KEY.")
                details["KmsKeyArn"] = encryption["KmsKeyArn"]
            changes["encryption"] = MappingProxyType(details)
        self._instances[record.instance_arn] = replace(record, **changes)
        return {}

    def _tagged_instance(self, caller: _Caller, params: dict[str, Any], *, write: bool) -> InstanceRecord:
        resource_arn = params.get("ResourceArn")
        if not isinstance(resource_arn, str) or not INSTANCE_ARN_PATTERN.match(resource_arn):
            raise NotImplementedError(
                f"IdentityCenterEmulator models tags of instances only, not of {resource_arn}"
            )
        record = self._lookup(caller, resource_arn)
        if write and record.owner_account_id != caller.account:
            raise AccessDeniedException("Only the account that owns the instance can change its tags.")
        self._require_active(record)
        return record

    def _list_tags_for_resource(self, caller: _Caller, params: dict[str, Any]) -> dict[str, Any]:
        record = self._tagged_instance(caller, params, write=False)
        return {"Tags": [{"Key": k, "Value": v} for k, v in record.tags.items()]}

    def _tag_resource(self, caller: _Caller, params: dict[str, Any]) -> dict[str, Any]:
        record = self._tagged_instance(caller, params, write=True)
        new_tags = params.get("Tags") or []
        _validate_tags(new_tags)
        merged = {**record.tags, **{t["Key"]: t["Value"] for t in new_tags}}
        if len(merged) > _MAX_TAGS:
            raise ValidationException(f"A resource can have at most {_MAX_TAGS} tags.")
        self._instances[record.instance_arn] = replace(record, tags=MappingProxyType(merged))
        return {}

    def _untag_resource(self, caller: _Caller, params: dict[str, Any]) -> dict[str, Any]:
        record = self._tagged_instance(caller, params, write=True)
        keys = params.get("TagKeys") or []
        if not 1 <= len(keys) <= _MAX_TAGS:
            raise ValidationException(f"TagKeys must hold 1 to {_MAX_TAGS} keys.")
        remaining = {k: v for k, v in record.tags.items() if k not in keys}
        self._instances[record.instance_arn] = replace(record, tags=MappingProxyType(remaining))
        return {}

    def _list_applications(self, caller: _Caller, params: dict[str, Any]) -> dict[str, Any]:
        record = self._lookup(caller, params.get("InstanceArn"))
        self._require_active(record)
        max_results = params.get("MaxResults", _MAX_PAGE)
        start = _decode_token(params.get("NextToken"))
        owned = [a for a in self._applications.get(record.instance_arn, []) if a.account_id == caller.account]
        end = start + min(max_results, _MAX_PAGE)
        page: dict[str, Any] = {"Applications": [a.item() for a in owned[start:end]]}
        if end < len(owned):
            page["NextToken"] = _encode_token(end)
        return page


def _validate_name(name: Any) -> None:
    if name is None:
        return
    if not isinstance(name, str) or not 1 <= len(name) <= _MAX_NAME_LENGTH:
        raise ValidationException(f"Name must be a string of 1 to {_MAX_NAME_LENGTH} characters.")
    if not _NAME_PATTERN.match(name):
        raise ValidationException(f"Name must match {_NAME_PATTERN.pattern}.")


def tag_text_allowed(text: str) -> bool:
    """Whether every character of `text` is one AWS allows in a tag key or value."""
    return all(ch in _TAG_PUNCTUATION or unicodedata.category(ch)[0] in _TAG_CATEGORIES for ch in text)


def _validate_tags(tags: Sequence[Mapping[str, Any]]) -> None:
    if len(tags) > _MAX_TAGS:
        raise ValidationException(f"A resource can have at most {_MAX_TAGS} tags.")
    keys = [t.get("Key") for t in tags]
    if len(set(keys)) != len(keys):
        raise ValidationException("Tag keys must be unique.")
    for tag in tags:
        key, value = tag.get("Key"), tag.get("Value")
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise ValidationException("Tag keys must be 1 to 128 characters long.")
        if key.lower().startswith("aws:"):
            raise ValidationException("Tag keys starting with 'aws:' are reserved.")
        if not isinstance(value, str) or len(value) > 256:
            raise ValidationException("Tag values must be at most 256 characters long.")
        if not tag_text_allowed(key) or not tag_text_allowed(value):
            raise ValidationException(
                "Tag keys and values may hold only letters, numbers, separators and _.:/=+-@."
            )


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: Any) -> int:
    if token is None or token == "":
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(str(token).encode()))["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError) as error:
        raise ValidationException("Invalid NextToken.") from error
    if not isinstance(offset, int) or offset < 0:
        raise ValidationException("Invalid NextToken.")
    return offset
