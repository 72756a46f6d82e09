"""The example AWS Organization of the sample events, built inside an active ``moto.mock_aws()``.

The sample events name fixed account ids; moto gives created accounts random ids and makes the
caller's account the management account. So the organization is created by a session that acts as
111111111111, and each member account is created while moto's account-id generator is pinned to
the wanted id: every index moto keeps (its account list, member-to-management map, policy
attachments, the OrganizationAccountAccessRole it puts in the new account's IAM) then agrees,
and the only direct backend edit left is the management account's name, which no API changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from unittest import mock

import boto3
from moto.organizations import utils as organizations_utils
from moto.organizations.exceptions import InvalidInputException
from moto.organizations.models import OrganizationsBackend, organizations_backends

if TYPE_CHECKING:
    from mypy_boto3_organizations import OrganizationsClient

__all__ = [
    "ACCOUNT_NAMES",
    "CENTRAL_REGION",
    "DENY_CREATE_INSTANCE_SCP_NAME",
    "MANAGEMENT_ACCOUNT_ID",
    "MAX_ACCOUNT_NAME",
    "MAX_OU_NAME",
    "MEMBER_ROLE_NAME",
    "ORGANIZATIONS_READER_ROLE_NAME",
    "OUTSIDE_ACCOUNT_ID",
    "PROD_ACCOUNT_ID",
    "SANDBOX_ACCOUNT_ID",
    "SECURITY_ACCOUNT_ID",
    "ExampleOrganization",
    "account_session",
    "add_member_accounts",
    "administrator_client",
    "administrator_credentials",
    "assume_role_session",
    "build_example_organization",
    "check_account_name",
    "check_ou_name",
    "create_member_role",
    "model_name_rules",
]

MANAGEMENT_ACCOUNT_ID = "111111111111"
SECURITY_ACCOUNT_ID = "222222222222"
SANDBOX_ACCOUNT_ID = "333333333333"
PROD_ACCOUNT_ID = "444444444444"
OUTSIDE_ACCOUNT_ID = "999999999999"
CENTRAL_REGION = "us-east-1"

ACCOUNT_NAMES: Mapping[str, str] = MappingProxyType(
    {
        MANAGEMENT_ACCOUNT_ID: "Management",
        SECURITY_ACCOUNT_ID: "Security Tooling",
        SANDBOX_ACCOUNT_ID: "Sandbox Bob",
        PROD_ACCOUNT_ID: "Prod Analytics",
    }
)

MEMBER_ROLE_NAME = "IdentityCenterGuardrailMemberRole"
ORGANIZATIONS_READER_ROLE_NAME = "IdentityCenterGuardrailOrganizationsReader"
DENY_CREATE_INSTANCE_SCP_NAME = "DenyIdentityCenterAccountInstances"
# moto puts this role in every account it creates for an organization, as AWS does.
_ADMIN_ROLE_NAME = "OrganizationAccountAccessRole"
_MANAGEMENT_EMAIL = "management@example.com"

# The names Organizations accepts, and nothing beyond: CreateAccount takes 1 to 50 printable ASCII
# characters (`<`, `>`, `*`, `|` and `[` included); an OU name is 1 to 128 characters of any kind,
# line breaks included. moto checks neither.
MAX_ACCOUNT_NAME = 50
MAX_OU_NAME = 128

# Member accounts: id -> (email, OU path or None for the root, account tags).
_MEMBERS: Mapping[str, tuple[str, str | None, Mapping[str, str]]] = {
    SECURITY_ACCOUNT_ID: ("security-tooling@example.com", None, {"team": "security"}),
    SANDBOX_ACCOUNT_ID: (
        "sandbox-bob@example.com",
        "Sandbox",
        {"owner": "bob@example.com", "team": "sandbox"},
    ),
    PROD_ACCOUNT_ID: (
        "prod-analytics@example.com",
        "Workloads/Prod",
        {"owner": "alice@example.com", "team": "analytics", "environment": "prod"},
    ),
}

_DENY_CREATE_INSTANCE_SCP = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyIdentityCenterAccountInstances",
            "Effect": "Deny",
            "Action": "sso:CreateInstance",
            "Resource": "*",
        }
    ],
}

_MEMBER_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "sso:DescribeInstance",
                "sso:ListInstances",
                "sso:ListTagsForResource",
                "sso:ListApplications",
                "sso:TagResource",
                "sso:DeleteInstance",
                "account:ListRegions",
                # The sweep's coverage check: the forwarding rule and its dead-letter queue.
                "events:DescribeRule",
                "events:ListTargetsByRule",
                "sqs:GetQueueUrl",
                "sqs:GetQueueAttributes",
            ],
            "Resource": "*",
        }
    ],
}

_READER_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "organizations:DescribeOrganization",
                "organizations:DescribeAccount",
                "organizations:DescribeOrganizationalUnit",
                "organizations:DescribePolicy",
                "organizations:ListAccounts",
                "organizations:ListParents",
                "organizations:ListPoliciesForTarget",
                "organizations:ListTagsForResource",
            ],
            "Resource": "*",
        }
    ],
}


@dataclass(frozen=True)
class ExampleOrganization:
    """Ids and role ARNs of the example organization, as tests and the demo need to refer to them."""

    organization_id: str
    root_id: str
    management_account_id: str
    security_account_id: str
    sandbox_account_id: str
    prod_account_id: str
    outside_account_id: str
    account_names: Mapping[str, str]
    ou_ids: Mapping[str, str]
    deny_create_instance_scp_id: str
    member_role_name: str
    member_role_arns: Mapping[str, str]
    organizations_reader_role_name: str
    organizations_reader_role_arn: str

    @property
    def member_account_ids(self) -> tuple[str, ...]:
        """Every account of the organization with the guardrail's member role (all but management)."""
        return tuple(self.member_role_arns)

    def with_accounts(
        self, names: Mapping[str, str], *, member_role_arns: Mapping[str, str], ou_ids: Mapping[str, str]
    ) -> ExampleOrganization:
        """The same organization, knowing of accounts and OUs added since it was built."""
        return replace(
            self,
            account_names=MappingProxyType({**self.account_names, **names}),
            member_role_arns=MappingProxyType({**self.member_role_arns, **member_role_arns}),
            ou_ids=MappingProxyType({**self.ou_ids, **ou_ids}),
        )


def check_account_name(name: object) -> None:
    """Refuse, as Organizations' CreateAccount does, an account name it does not accept."""
    if (
        not isinstance(name, str)
        or not 1 <= len(name) <= MAX_ACCOUNT_NAME
        or not all(" " <= ch <= "~" for ch in name)
    ):
        raise InvalidInputException(
            f"You provided a value that does not match the required pattern: an account name is 1 to "
            f"{MAX_ACCOUNT_NAME} printable ASCII characters."
        )


def check_ou_name(name: object) -> None:
    """Refuse, as Organizations does, an OU name it does not accept."""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_OU_NAME:
        raise InvalidInputException(f"An OU name is 1 to {MAX_OU_NAME} characters long.")


def model_name_rules(stack: ExitStack) -> None:
    """Until `stack` closes, moto's Organizations refuses the account and OU names AWS refuses, so
    that tests create the worst names AWS allows, and never names it does not."""
    create_account = OrganizationsBackend.create_account
    create_unit = OrganizationsBackend.create_organizational_unit
    update_unit = OrganizationsBackend.update_organizational_unit

    def checked_account(self: OrganizationsBackend, **kwargs: Any) -> Any:
        check_account_name(kwargs.get("AccountName"))
        return create_account(self, **kwargs)

    def checked_unit(self: OrganizationsBackend, **kwargs: Any) -> Any:
        check_ou_name(kwargs.get("Name"))
        return create_unit(self, **kwargs)

    def checked_rename(self: OrganizationsBackend, **kwargs: Any) -> Any:
        check_ou_name(kwargs.get("Name"))
        return update_unit(self, **kwargs)

    for name, patched in (
        ("create_account", checked_account),
        ("create_organizational_unit", checked_unit),
        ("update_organizational_unit", checked_rename),
    ):
        stack.enter_context(mock.patch.object(OrganizationsBackend, name, patched))


def _default_account_name(ou_name: str, account_id: str) -> str:
    """`<OU name> <id>`, kept within what CreateAccount accepts whatever the OU is called."""
    room = MAX_ACCOUNT_NAME - len(account_id) - 1
    ascii_name = "".join(ch for ch in ou_name if " " <= ch <= "~")[:room].strip()
    return f"{ascii_name} {account_id}" if ascii_name else account_id


def assume_role_session(
    role_arn: str, *, region: str = CENTRAL_REGION, session_name: str = "emulator"
) -> boto3.Session:
    """A boto3 session holding credentials of ``role_arn``, obtained from STS with the ambient ones."""
    return boto3.Session(region_name=region, **_assume_role(role_arn, region, session_name))


def account_session(account_id: str, *, region: str = CENTRAL_REGION) -> boto3.Session:
    """Act as an administrator of ``account_id`` (e.g. a user creating an instance in it).

    It assumes OrganizationAccountAccessRole. moto checks neither that the role exists nor its
    trust policy, which is what lets this also act in the management account, the outside
    account, or before the organization exists.
    """
    return boto3.Session(region_name=region, **_administrator_credentials(account_id, region))


def _assume_role(role_arn: str, region: str, session_name: str, sts: Any = None) -> dict[str, Any]:
    credentials = (sts or boto3.client("sts", region_name=region)).assume_role(
        RoleArn=role_arn, RoleSessionName=session_name
    )["Credentials"]
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


def _administrator_credentials(account_id: str, region: str, sts: Any = None) -> dict[str, Any]:
    return _assume_role(f"arn:aws:iam::{account_id}:role/{_ADMIN_ROLE_NAME}", region, "administrator", sts)


def administrator_credentials(
    account_id: str, *, region: str = CENTRAL_REGION, sts: Any = None
) -> dict[str, Any]:
    """Keyword arguments for ``boto3.client`` acting as an administrator of ``account_id``: one
    AssumeRole for as many clients as a set-up needs."""
    return _administrator_credentials(account_id, region, sts)


def administrator_client(
    account_id: str, service: str, *, region: str = CENTRAL_REGION, sts: Any = None
) -> Any:
    """Like ``account_session(...).client(service)``, but cheaper.

    Clients of boto3's default session share its loaded service models; a new Session per account
    reloads them, which made every emulated environment slow to start. ``sts`` (a client with the
    ambient credentials) saves creating one per call when many accounts are set up in a row.
    """
    make_client: Callable[..., Any] = boto3.client  # the stubs only accept literal service names
    return make_client(service, region_name=region, **_administrator_credentials(account_id, region, sts))


def build_example_organization(region: str = CENTRAL_REGION) -> ExampleOrganization:
    """Create the organization, its OUs, the deny SCP and the guardrail's roles; call under mock_aws."""
    organizations: OrganizationsClient = administrator_client(
        MANAGEMENT_ACCOUNT_ID, "organizations", region=region
    )
    organization = organizations.create_organization(FeatureSet="ALL")["Organization"]
    root_id = organizations.list_roots()["Roots"][0]["Id"]
    organizations.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    _rename_management_account(MANAGEMENT_ACCOUNT_ID, ACCOUNT_NAMES[MANAGEMENT_ACCOUNT_ID])

    ou_ids: dict[str, str] = {}
    for path in ("Sandbox", "Workloads", "Workloads/Prod"):
        parent_path, _, name = path.rpartition("/")
        parent_id = ou_ids[parent_path] if parent_path else root_id
        ou = organizations.create_organizational_unit(ParentId=parent_id, Name=name)
        ou_ids[path] = ou["OrganizationalUnit"]["Id"]

    for account_id, (email, ou_path, tags) in _MEMBERS.items():
        with mock.patch.object(organizations_utils, "make_random_account_id", return_value=account_id):
            organizations.create_account(
                AccountName=ACCOUNT_NAMES[account_id],
                Email=email,
                Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
            )
        if ou_path is not None:
            organizations.move_account(
                AccountId=account_id, SourceParentId=root_id, DestinationParentId=ou_ids[ou_path]
            )

    policy = organizations.create_policy(
        Name=DENY_CREATE_INSTANCE_SCP_NAME,
        Description="Member accounts may not create IAM Identity Center account instances",
        Type="SERVICE_CONTROL_POLICY",
        Content=json.dumps(_DENY_CREATE_INSTANCE_SCP),
    )
    scp_id = policy["Policy"]["PolicySummary"]["Id"]
    organizations.attach_policy(PolicyId=scp_id, TargetId=ou_ids["Workloads"])

    member_role_arns = {
        account_id: _create_role(account_id, MEMBER_ROLE_NAME, _MEMBER_ROLE_POLICY, region)
        for account_id in _MEMBERS
    }
    reader_role_arn = _create_role(
        MANAGEMENT_ACCOUNT_ID, ORGANIZATIONS_READER_ROLE_NAME, _READER_ROLE_POLICY, region
    )

    return ExampleOrganization(
        organization_id=organization["Id"],
        root_id=root_id,
        management_account_id=MANAGEMENT_ACCOUNT_ID,
        security_account_id=SECURITY_ACCOUNT_ID,
        sandbox_account_id=SANDBOX_ACCOUNT_ID,
        prod_account_id=PROD_ACCOUNT_ID,
        outside_account_id=OUTSIDE_ACCOUNT_ID,
        account_names=ACCOUNT_NAMES,
        ou_ids=MappingProxyType(ou_ids),
        deny_create_instance_scp_id=scp_id,
        member_role_name=MEMBER_ROLE_NAME,
        member_role_arns=MappingProxyType(member_role_arns),
        organizations_reader_role_name=ORGANIZATIONS_READER_ROLE_NAME,
        organizations_reader_role_arn=reader_role_arn,
    )


def add_member_accounts(
    organization: ExampleOrganization,
    count: int,
    *,
    ou_path: str = "Fleet",
    first_account_id: int = 500_000_000_000,
    region: str = CENTRAL_REGION,
    account_names: Sequence[str] = (),
) -> ExampleOrganization:
    """Add ``count`` member accounts (with the guardrail's member role) under the OU ``ou_path``.

    For tests that need an organization of realistic size, e.g. a burst of events from hundreds of
    accounts. Missing OUs along the path are created below the root. Account ids count up from
    ``first_account_id``, skipping ids already taken. ``account_names`` names the first accounts
    added (Organizations refuses what it does not accept: `check_account_name`); the others are
    named after their OU and id. Returns the organization with the new accounts, OUs and role
    ARNs; call under the same ``mock_aws()``.
    """
    organizations: OrganizationsClient = administrator_client(
        MANAGEMENT_ACCOUNT_ID, "organizations", region=region
    )
    ou_ids = dict(organization.ou_ids)
    parent_id = organization.root_id
    parts = ou_path.split("/")
    for depth in range(1, len(parts) + 1):
        path = "/".join(parts[:depth])
        if path not in ou_ids:
            created = organizations.create_organizational_unit(ParentId=parent_id, Name=parts[depth - 1])
            ou_ids[path] = created["OrganizationalUnit"]["Id"]
        parent_id = ou_ids[path]

    taken = {
        *organization.member_role_arns,
        organization.management_account_id,
        organization.outside_account_id,
    }
    role_arns = dict(organization.member_role_arns)
    names = dict(organization.account_names)
    chosen = list(account_names)
    sts = boto3.client("sts", region_name=region)
    candidate = first_account_id
    for index in range(count):
        while f"{candidate:012d}" in taken:
            candidate += 1
        account_id = f"{candidate:012d}"
        taken.add(account_id)
        names[account_id] = (
            chosen[index] if index < len(chosen) else _default_account_name(parts[-1], account_id)
        )
        with mock.patch.object(organizations_utils, "make_random_account_id", return_value=account_id):
            organizations.create_account(AccountName=names[account_id], Email=f"aws+{account_id}@example.com")
        organizations.move_account(
            AccountId=account_id, SourceParentId=organization.root_id, DestinationParentId=parent_id
        )
        role_arns[account_id] = _create_role(account_id, MEMBER_ROLE_NAME, _MEMBER_ROLE_POLICY, region, sts)
    return replace(
        organization,
        ou_ids=MappingProxyType(ou_ids),
        member_role_arns=MappingProxyType(role_arns),
        account_names=MappingProxyType(names),
    )


def create_member_role(account_id: str, *, region: str = CENTRAL_REGION, sts: Any = None) -> str:
    """The guardrail's member role in one account, as the member-roles StackSet creates it."""
    return _create_role(account_id, MEMBER_ROLE_NAME, _MEMBER_ROLE_POLICY, region, sts)


def _rename_management_account(account_id: str, name: str) -> None:
    # moto names the management account "master"; Organizations has no API to rename an account.
    backend = organizations_backends[account_id]["aws"]
    account = backend.get_account_by_id(account_id)
    account.name = name
    account.email = _MANAGEMENT_EMAIL
    if backend.org is not None:
        backend.org.master_account_email = _MANAGEMENT_EMAIL


def _create_role(
    account_id: str, role_name: str, policy: Mapping[str, Any], region: str, sts: Any = None
) -> str:
    """Create a role in ``account_id`` that the central security account may assume."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{SECURITY_ACCOUNT_ID}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam = administrator_client(account_id, "iam", region=region, sts=sts)
    arn: str = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role_name, PolicyName="guardrail", PolicyDocument=json.dumps(policy))
    return arn
