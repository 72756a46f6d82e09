"""The emulated AWS world behaves like the documented API, seen through real boto3 calls."""

import json
import os
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.ssoadmin.responses import SSOAdminResponse

from emulator.environment import (
    ORGANIZATION_INSTANCE_ARN,
    PROD_INSTANCE_ARN,
    SANDBOX_INSTANCE_ARN,
    EmulatedEnvironment,
)
from emulator.identity_center import IdentityCenterEmulator, ServedCall
from emulator.organization import (
    MANAGEMENT_ACCOUNT_ID,
    OUTSIDE_ACCOUNT_ID,
    PROD_ACCOUNT_ID,
    SANDBOX_ACCOUNT_ID,
    SECURITY_ACCOUNT_ID,
    administrator_client,
    assume_role_session,
)

ARN = re.compile(r"^arn:aws:sso:::instance/ssoins-[0-9a-f]{16}$")
IDENTITY_STORE = re.compile(r"^d-[0-9a-f]{10}$")
NO_CLIENT_VALIDATION = Config(parameter_validation=False)


def member_sso(env: EmulatedEnvironment, account_id: str, region: str, config: Config | None = None) -> Any:
    """sso-admin as the guardrail sees it: the member role assumed from the central account."""
    credentials = boto3.client("sts").assume_role(
        RoleArn=env.organization.member_role_arns[account_id], RoleSessionName="guardrail"
    )["Credentials"]
    return boto3.client(
        "sso-admin",
        region_name=region,
        config=config,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def admin_sso(account_id: str, region: str) -> Any:
    """sso-admin as an administrator working inside the account."""
    return administrator_client(account_id, "sso-admin", region=region)


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


# ----------------------------------------------------------------------------- lifecycle rules
def test_created_instance_is_described_with_the_api_shapes(bare_environment: EmulatedEnvironment) -> None:
    sso = admin_sso(SANDBOX_ACCOUNT_ID, "us-east-1")
    arn = sso.create_instance(Name="q-business-trial", Tags=[{"Key": "purpose", "Value": "trial"}])[
        "InstanceArn"
    ]

    described = sso.describe_instance(InstanceArn=arn)

    assert ARN.match(arn)
    assert IDENTITY_STORE.match(described["IdentityStoreId"])
    assert described["OwnerAccountId"] == SANDBOX_ACCOUNT_ID
    assert described["Name"] == "q-business-trial"
    assert described["Status"] == "ACTIVE"
    assert isinstance(described["CreatedDate"], datetime)
    assert described["EncryptionConfigurationDetails"]["KeyType"] == "AWS_OWNED_KMS_KEY"
    assert [i["InstanceArn"] for i in sso.list_instances()["Instances"]] == [arn]


def test_second_instance_in_another_region_conflicts(environment: EmulatedEnvironment) -> None:
    sso = admin_sso(SANDBOX_ACCOUNT_ID, "eu-central-1")

    with pytest.raises(ClientError) as excinfo:
        sso.create_instance(Name="second-try")

    assert error_code(excinfo) == "ConflictException"
    assert "already exists" in excinfo.value.response["Error"]["Message"]
    assert len(environment.identity_center.instances(SANDBOX_ACCOUNT_ID)) == 1


def test_client_token_makes_create_idempotent(bare_environment: EmulatedEnvironment) -> None:
    sso = admin_sso(PROD_ACCOUNT_ID, "eu-west-1")
    first = sso.create_instance(Name="analytics-team", ClientToken="token-1")["InstanceArn"]

    again = sso.create_instance(Name="analytics-team", ClientToken="token-1")["InstanceArn"]
    with pytest.raises(ClientError) as excinfo:
        sso.create_instance(Name="analytics-team", ClientToken="token-2")

    assert again == first
    assert error_code(excinfo) == "ConflictException"
    assert len(bare_environment.identity_center.instances(PROD_ACCOUNT_ID)) == 1


def test_create_is_refused_in_the_management_account(bare_environment: EmulatedEnvironment) -> None:
    with pytest.raises(ClientError) as excinfo:
        admin_sso(MANAGEMENT_ACCOUNT_ID, "us-east-1").create_instance(Name="mgmt")

    assert error_code(excinfo) == "ValidationException"
    assert excinfo.value.response["Error"]["Message"] == (
        "CreateInstance is not supported in the organization management account."
    )
    assert bare_environment.identity_center.instances() == []


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"Name": "x" * 33}, "Name"),
        ({"Name": "has spaces"}, "Name"),
        ({"Name": "é"}, "Name"),
        ({"Tags": [{"Key": "owner", "Value": "<!channel>"}]}, "letters"),
        ({"Tags": [{"Key": "line\nbreak", "Value": "v"}]}, "letters"),
        ({"Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(76)]}, "75"),
        ({"Tags": [{"Key": "aws:reserved", "Value": "v"}]}, "aws:"),
    ],
)
def test_invalid_create_input_is_a_validation_error(
    bare_environment: EmulatedEnvironment, kwargs: dict[str, Any], fragment: str
) -> None:
    sso = member_sso(bare_environment, SANDBOX_ACCOUNT_ID, "us-east-1", NO_CLIENT_VALIDATION)

    with pytest.raises(ClientError) as excinfo:
        sso.create_instance(**kwargs)

    assert error_code(excinfo) == "ValidationException"
    assert fragment in excinfo.value.response["Error"]["Message"]
    assert bare_environment.identity_center.instances() == []


def test_name_of_32_characters_and_75_tags_are_accepted(bare_environment: EmulatedEnvironment) -> None:
    # The worst tags AWS allows: any letter, number or separator (a line separator too) and _.:/=+-@.
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(74)]
    tags.append({"Key": "note", "Value": "x\u2028_it_ @here https://example.com"})

    arn = admin_sso(SANDBOX_ACCOUNT_ID, "us-east-1").create_instance(Name="x" * 32, Tags=tags)["InstanceArn"]

    (record,) = bare_environment.identity_center.instances()
    assert record.instance_arn == arn
    assert len(record.tags) == 75


# ----------------------------------------------------------------------------- visibility
def test_account_instance_is_visible_only_in_its_account_and_region(environment: EmulatedEnvironment) -> None:
    home = member_sso(environment, SANDBOX_ACCOUNT_ID, "us-east-1")
    assert home.describe_instance(InstanceArn=SANDBOX_INSTANCE_ARN)["Name"] == "q-business-trial"
    assert [i["InstanceArn"] for i in home.list_instances()["Instances"]] == [SANDBOX_INSTANCE_ARN]

    other_region = member_sso(environment, SANDBOX_ACCOUNT_ID, "eu-west-1")
    other_account = member_sso(environment, PROD_ACCOUNT_ID, "us-east-1")
    for client in (other_region, other_account, admin_sso(MANAGEMENT_ACCOUNT_ID, "us-east-1")):
        with pytest.raises(ClientError) as excinfo:
            client.describe_instance(InstanceArn=SANDBOX_INSTANCE_ARN)
        assert error_code(excinfo) == "ResourceNotFoundException"
    assert other_region.list_instances()["Instances"] == []


def test_listing_shows_only_own_instances_never_motos_defaults(environment: EmulatedEnvironment) -> None:
    def listed(client: Any) -> list[tuple[str, str]]:
        return [(i["InstanceArn"], i["OwnerAccountId"]) for i in client.list_instances()["Instances"]]

    assert listed(admin_sso(MANAGEMENT_ACCOUNT_ID, "us-east-1")) == [
        (ORGANIZATION_INSTANCE_ARN, MANAGEMENT_ACCOUNT_ID)
    ]
    assert listed(member_sso(environment, PROD_ACCOUNT_ID, "eu-west-1")) == [
        (PROD_INSTANCE_ARN, PROD_ACCOUNT_ID)
    ]
    assert listed(member_sso(environment, SECURITY_ACCOUNT_ID, "us-east-1")) == []
    assert listed(admin_sso(OUTSIDE_ACCOUNT_ID, "us-east-1")) == []
    # Members do not see the organization instance unless the emulator is told they do.
    assert listed(member_sso(environment, SANDBOX_ACCOUNT_ID, "us-east-1")) == [
        (SANDBOX_INSTANCE_ARN, SANDBOX_ACCOUNT_ID)
    ]


def test_organization_instance_can_be_shown_to_members_but_not_outsiders() -> None:
    with EmulatedEnvironment(organization_instance_visible_to_members=True) as env:
        member = member_sso(env, SANDBOX_ACCOUNT_ID, "us-east-1")
        owners = [i["OwnerAccountId"] for i in member.list_instances()["Instances"]]
        outsider = admin_sso(OUTSIDE_ACCOUNT_ID, "us-east-1").list_instances()["Instances"]
        other_region = member_sso(env, SANDBOX_ACCOUNT_ID, "eu-west-1").list_instances()["Instances"]

    assert sorted(owners) == [MANAGEMENT_ACCOUNT_ID, SANDBOX_ACCOUNT_ID]
    assert outsider == []
    assert other_region == []


def test_calls_are_recorded_with_the_callers_account_and_region(environment: EmulatedEnvironment) -> None:
    member_sso(environment, SANDBOX_ACCOUNT_ID, "us-east-1").describe_instance(
        InstanceArn=SANDBOX_INSTANCE_ARN
    )
    with pytest.raises(ClientError):
        member_sso(environment, PROD_ACCOUNT_ID, "ap-southeast-2").describe_instance(
            InstanceArn=SANDBOX_INSTANCE_ARN
        )

    assert environment.identity_center.calls == [
        ServedCall(SANDBOX_ACCOUNT_ID, "us-east-1", "DescribeInstance"),
        ServedCall(PROD_ACCOUNT_ID, "ap-southeast-2", "DescribeInstance"),
    ]


# ----------------------------------------------------------------------------- deletion
def test_only_the_owner_can_delete(environment: EmulatedEnvironment) -> None:
    for account_id in (MANAGEMENT_ACCOUNT_ID, SECURITY_ACCOUNT_ID):
        with pytest.raises(ClientError) as excinfo:
            admin_sso(account_id, "us-east-1").delete_instance(InstanceArn=SANDBOX_INSTANCE_ARN)
        assert error_code(excinfo) == "ResourceNotFoundException"
    assert [r.instance_arn for r in environment.identity_center.instances(SANDBOX_ACCOUNT_ID)] == [
        SANDBOX_INSTANCE_ARN
    ]

    member_sso(environment, SANDBOX_ACCOUNT_ID, "us-east-1").delete_instance(InstanceArn=SANDBOX_INSTANCE_ARN)

    assert environment.identity_center.instances(SANDBOX_ACCOUNT_ID) == []


def test_member_seeing_the_organization_instance_still_cannot_delete_it() -> None:
    with EmulatedEnvironment(organization_instance_visible_to_members=True) as env:
        member = member_sso(env, SANDBOX_ACCOUNT_ID, "us-east-1")
        assert member.describe_instance(InstanceArn=ORGANIZATION_INSTANCE_ARN)["OwnerAccountId"] == (
            MANAGEMENT_ACCOUNT_ID
        )
        with pytest.raises(ClientError) as excinfo:
            member.delete_instance(InstanceArn=ORGANIZATION_INSTANCE_ARN)
        remaining = [r.instance_arn for r in env.identity_center.instances(MANAGEMENT_ACCOUNT_ID)]

    assert error_code(excinfo) == "AccessDeniedException"
    assert remaining == [ORGANIZATION_INSTANCE_ARN]


def test_deleting_frees_the_account_for_a_new_instance(environment: EmulatedEnvironment) -> None:
    sso = member_sso(environment, SANDBOX_ACCOUNT_ID, "us-east-1")
    sso.delete_instance(InstanceArn=SANDBOX_INSTANCE_ARN)

    with pytest.raises(ClientError) as excinfo:
        sso.describe_instance(InstanceArn=SANDBOX_INSTANCE_ARN)
    new_arn = admin_sso(SANDBOX_ACCOUNT_ID, "eu-central-1").create_instance(Name="again")["InstanceArn"]

    assert error_code(excinfo) == "ResourceNotFoundException"
    assert new_arn != SANDBOX_INSTANCE_ARN


# ----------------------------------------------------------------------------- status transitions
def test_pending_creation_allows_only_describe_and_delete(bare_environment: EmulatedEnvironment) -> None:
    bare_environment.identity_center.initial_status = "CREATE_IN_PROGRESS"
    sso = admin_sso(SANDBOX_ACCOUNT_ID, "us-east-1")
    arn = sso.create_instance(Name="pending")["InstanceArn"]

    assert sso.describe_instance(InstanceArn=arn)["Status"] == "CREATE_IN_PROGRESS"
    blocked: list[Callable[[], object]] = [
        lambda: sso.update_instance(InstanceArn=arn, Name="renamed"),
        lambda: sso.list_tags_for_resource(ResourceArn=arn),
        lambda: sso.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}]),
        lambda: sso.untag_resource(ResourceArn=arn, TagKeys=["k"]),
    ]
    for call in blocked:
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_code(excinfo) == "ConflictException"

    assert bare_environment.identity_center.complete_pending() == [arn]
    sso.update_instance(InstanceArn=arn, Name="renamed")
    described = sso.describe_instance(InstanceArn=arn)
    assert (described["Status"], described["Name"]) == ("ACTIVE", "renamed")


def test_pending_creation_can_be_deleted(bare_environment: EmulatedEnvironment) -> None:
    bare_environment.identity_center.initial_status = "CREATE_IN_PROGRESS"
    sso = admin_sso(SANDBOX_ACCOUNT_ID, "us-east-1")
    arn = sso.create_instance(Name="pending")["InstanceArn"]

    sso.delete_instance(InstanceArn=arn)

    assert bare_environment.identity_center.instances() == []


def test_failed_creation_still_occupies_the_account(bare_environment: EmulatedEnvironment) -> None:
    bare_environment.identity_center.initial_status = "CREATE_IN_PROGRESS"
    sso = admin_sso(SANDBOX_ACCOUNT_ID, "us-east-1")
    arn = sso.create_instance(Name="doomed")["InstanceArn"]
    bare_environment.identity_center.complete_pending(create_outcome="CREATE_FAILED")

    described = sso.describe_instance(InstanceArn=arn)
    with pytest.raises(ClientError) as excinfo:
        sso.create_instance(Name="retry")

    assert described["Status"] == "CREATE_FAILED"
    assert described["StatusReason"]
    assert error_code(excinfo) == "ConflictException"


def test_deletion_can_stay_in_progress_until_completed(environment: EmulatedEnvironment) -> None:
    environment.identity_center.delete_immediately = False
    sso = member_sso(environment, SANDBOX_ACCOUNT_ID, "us-east-1")

    sso.delete_instance(InstanceArn=SANDBOX_INSTANCE_ARN)
    status = sso.describe_instance(InstanceArn=SANDBOX_INSTANCE_ARN)["Status"]
    with pytest.raises(ClientError) as excinfo:
        sso.delete_instance(InstanceArn=SANDBOX_INSTANCE_ARN)
    completed = environment.identity_center.complete_pending()

    assert status == "DELETE_IN_PROGRESS"
    assert error_code(excinfo) == "ConflictException"
    assert completed == [SANDBOX_INSTANCE_ARN]
    assert sso.list_instances()["Instances"] == []


# ----------------------------------------------------------------------------- paging
@pytest.mark.parametrize("max_results", [0, 101])
def test_max_results_outside_1_to_100_is_rejected(environment: EmulatedEnvironment, max_results: int) -> None:
    sso = member_sso(environment, SANDBOX_ACCOUNT_ID, "us-east-1", NO_CLIENT_VALIDATION)

    with pytest.raises(ClientError) as excinfo:
        sso.list_instances(MaxResults=max_results)

    assert error_code(excinfo) == "ValidationException"


def test_next_token_pages_through_every_visible_instance() -> None:
    with EmulatedEnvironment(organization_instance_visible_to_members=True) as env:
        sso = member_sso(env, SANDBOX_ACCOUNT_ID, "us-east-1")
        first = sso.list_instances(MaxResults=1)
        second = sso.list_instances(MaxResults=1, NextToken=first["NextToken"])
        paginated = [
            i["InstanceArn"]
            for page in sso.get_paginator("list_instances").paginate(PaginationConfig={"PageSize": 1})
            for i in page["Instances"]
        ]
        with pytest.raises(ClientError) as excinfo:
            sso.list_instances(NextToken="not-a-token")

    assert len(first["Instances"]) == 1
    assert "NextToken" not in second
    page_arns = [first["Instances"][0]["InstanceArn"], second["Instances"][0]["InstanceArn"]]
    assert sorted(page_arns) == sorted([ORGANIZATION_INSTANCE_ARN, SANDBOX_INSTANCE_ARN])
    assert paginated == page_arns
    assert error_code(excinfo) == "ValidationException"


# ----------------------------------------------------------------------------- tags
def test_tags_round_trip(environment: EmulatedEnvironment) -> None:
    sso = member_sso(environment, SANDBOX_ACCOUNT_ID, "us-east-1")

    def tags() -> dict[str, str]:
        listed = sso.list_tags_for_resource(
            InstanceArn=SANDBOX_INSTANCE_ARN, ResourceArn=SANDBOX_INSTANCE_ARN
        )
        return {t["Key"]: t["Value"] for t in listed["Tags"]}

    assert tags() == {"purpose": "trial", "owner": "bob@example.com", "expires": "2026-12-15"}
    sso.tag_resource(ResourceArn=SANDBOX_INSTANCE_ARN, Tags=[{"Key": "guardrail", "Value": "flagged"}])
    sso.untag_resource(ResourceArn=SANDBOX_INSTANCE_ARN, TagKeys=["expires"])
    assert tags() == {"purpose": "trial", "owner": "bob@example.com", "guardrail": "flagged"}
    with pytest.raises(ClientError) as excinfo:
        member_sso(environment, SANDBOX_ACCOUNT_ID, "eu-west-1").list_tags_for_resource(
            ResourceArn=SANDBOX_INSTANCE_ARN
        )
    assert error_code(excinfo) == "ResourceNotFoundException"


# ----------------------------------------------------------------------------- plugging into moto
def test_uninstall_restores_motos_own_handlers() -> None:
    originals = {name: SSOAdminResponse.__dict__.get(name) for name in ("list_instances", "create_instance")}
    with mock_aws():
        sso = boto3.client("sso-admin", region_name="us-east-1")
        with IdentityCenterEmulator(MANAGEMENT_ACCOUNT_ID):
            assert sso.list_instances()["Instances"] == []
            with pytest.raises(RuntimeError):
                IdentityCenterEmulator(MANAGEMENT_ACCOUNT_ID).install()
        moto_default = sso.list_instances()["Instances"]

    assert len(moto_default) == 1  # moto's built-in instance is back
    assert {name: SSOAdminResponse.__dict__.get(name) for name in originals} == originals
    assert "create_instance" not in SSOAdminResponse.__dict__


def test_seeding_keeps_one_instance_per_account() -> None:
    emulator = IdentityCenterEmulator(MANAGEMENT_ACCOUNT_ID)
    emulator.seed_instance(SANDBOX_ACCOUNT_ID, "us-east-1", name="first", instance_arn=SANDBOX_INSTANCE_ARN)

    with pytest.raises(ValueError, match="already has an instance"):
        emulator.seed_instance(SANDBOX_ACCOUNT_ID, "eu-west-1", name="second")
    with pytest.raises(ValueError, match="not an instance ARN"):
        emulator.seed_instance(PROD_ACCOUNT_ID, "eu-west-1", name="bad", instance_arn="arn:aws:sso:::nope")
    with pytest.raises(ValueError, match="reserved"):
        emulator.seed_instance(PROD_ACCOUNT_ID, "eu-west-1", name="bad", tags={"aws:cloudformation": "x"})
    assert [r.owner_account_id for r in emulator.instances()] == [SANDBOX_ACCOUNT_ID]


# ----------------------------------------------------------------------------- the example organization
def organizations_reader(env: EmulatedEnvironment) -> Any:
    return assume_role_session(env.organization.organizations_reader_role_arn).client("organizations")


def test_sample_instances_are_seeded_as_the_events_imply(environment: EmulatedEnvironment) -> None:
    sandbox = member_sso(environment, SANDBOX_ACCOUNT_ID, "us-east-1").describe_instance(
        InstanceArn=SANDBOX_INSTANCE_ARN
    )
    prod = member_sso(environment, PROD_ACCOUNT_ID, "eu-west-1").describe_instance(
        InstanceArn=PROD_INSTANCE_ARN
    )
    organization = admin_sso(MANAGEMENT_ACCOUNT_ID, "us-east-1").describe_instance(
        InstanceArn=ORGANIZATION_INSTANCE_ARN
    )

    assert (sandbox["Name"], sandbox["OwnerAccountId"]) == ("q-business-trial", SANDBOX_ACCOUNT_ID)
    assert (prod["Name"], prod["OwnerAccountId"]) == ("analytics-team", PROD_ACCOUNT_ID)
    assert organization["OwnerAccountId"] == MANAGEMENT_ACCOUNT_ID


def test_accounts_have_fixed_ids_names_and_tags(environment: EmulatedEnvironment) -> None:
    organizations = organizations_reader(environment)

    names = {
        account_id: organizations.describe_account(AccountId=account_id)["Account"]["Name"]
        for account_id in (MANAGEMENT_ACCOUNT_ID, SECURITY_ACCOUNT_ID, SANDBOX_ACCOUNT_ID, PROD_ACCOUNT_ID)
    }
    listed = sorted(a["Id"] for a in organizations.list_accounts()["Accounts"])
    tags = organizations.list_tags_for_resource(ResourceId=SANDBOX_ACCOUNT_ID)["Tags"]
    with pytest.raises(ClientError) as excinfo:
        organizations.describe_account(AccountId=OUTSIDE_ACCOUNT_ID)

    assert names == {
        MANAGEMENT_ACCOUNT_ID: "Management",
        SECURITY_ACCOUNT_ID: "Security Tooling",
        SANDBOX_ACCOUNT_ID: "Sandbox Bob",
        PROD_ACCOUNT_ID: "Prod Analytics",
    }
    assert listed == [MANAGEMENT_ACCOUNT_ID, SECURITY_ACCOUNT_ID, SANDBOX_ACCOUNT_ID, PROD_ACCOUNT_ID]
    assert {"Key": "owner", "Value": "bob@example.com"} in tags
    assert error_code(excinfo) == "AccountNotFoundException"


def test_ou_tree_places_prod_under_workloads(environment: EmulatedEnvironment) -> None:
    organizations = organizations_reader(environment)
    ou_ids = environment.organization.ou_ids

    chain: list[str] = []
    child = PROD_ACCOUNT_ID
    while True:
        (parent,) = organizations.list_parents(ChildId=child)["Parents"]
        chain.append(parent["Id"])
        if parent["Type"] == "ROOT":
            break
        child = parent["Id"]
    sandbox_accounts = organizations.list_accounts_for_parent(ParentId=ou_ids["Sandbox"])["Accounts"]

    assert chain == [ou_ids["Workloads/Prod"], ou_ids["Workloads"], environment.organization.root_id]
    assert [a["Id"] for a in sandbox_accounts] == [SANDBOX_ACCOUNT_ID]


def test_workloads_ou_carries_the_scp_denying_create_instance(environment: EmulatedEnvironment) -> None:
    organizations = organizations_reader(environment)
    scp_id = environment.organization.deny_create_instance_scp_id

    attached = organizations.list_policies_for_target(
        TargetId=environment.organization.ou_ids["Workloads"], Filter="SERVICE_CONTROL_POLICY"
    )["Policies"]
    content = json.loads(organizations.describe_policy(PolicyId=scp_id)["Policy"]["Content"])
    sandbox_attached = organizations.list_policies_for_target(
        TargetId=environment.organization.ou_ids["Sandbox"], Filter="SERVICE_CONTROL_POLICY"
    )["Policies"]

    assert scp_id in [p["Id"] for p in attached]
    assert content["Statement"][0]["Effect"] == "Deny"
    assert content["Statement"][0]["Action"] == "sso:CreateInstance"
    assert scp_id not in [p["Id"] for p in sandbox_attached]


def test_members_see_the_organization_and_roles_exist(environment: EmulatedEnvironment) -> None:
    member_view = administrator_client(SANDBOX_ACCOUNT_ID, "organizations").describe_organization()
    iam = administrator_client(PROD_ACCOUNT_ID, "iam")
    trust = iam.get_role(RoleName=environment.organization.member_role_name)["Role"][
        "AssumeRolePolicyDocument"
    ]

    assert member_view["Organization"]["MasterAccountId"] == MANAGEMENT_ACCOUNT_ID
    assert member_view["Organization"]["Id"] == environment.organization.organization_id
    assert trust["Statement"][0]["Principal"]["AWS"] == f"arn:aws:iam::{SECURITY_ACCOUNT_ID}:root"
    assert environment.organization.organizations_reader_role_arn == (
        f"arn:aws:iam::{MANAGEMENT_ACCOUNT_ID}:role/IdentityCenterGuardrailOrganizationsReader"
    )


# ----------------------------------------------------------------------------- the environment
def test_default_identity_is_the_central_account(environment: EmulatedEnvironment) -> None:
    identity = boto3.client("sts").get_caller_identity()

    assert identity["Account"] == SECURITY_ACCOUNT_ID
    assert os.environ["AWS_DEFAULT_REGION"] == environment.region


def test_environment_variables_are_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "someone-elses-profile")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "original")

    with EmulatedEnvironment(seed_instances=False):
        inside = (os.environ.get("AWS_PROFILE"), os.environ["AWS_ACCESS_KEY_ID"])

    assert inside[0] is None
    assert inside[1] != "original"
    assert (os.environ["AWS_PROFILE"], os.environ["AWS_ACCESS_KEY_ID"]) == (
        "someone-elses-profile",
        "original",
    )


def test_alerts_keep_subject_body_and_attributes(environment: EmulatedEnvironment) -> None:
    topic = boto3.client("sns").get_topic_attributes(TopicArn=environment.topic_arn)["Attributes"]
    boto3.client("sns").publish(
        TopicArn=environment.topic_arn,
        Subject="Identity Center account instance created",
        Message=json.dumps({"account": SANDBOX_ACCOUNT_ID, "instanceArn": SANDBOX_INSTANCE_ARN}),
        MessageAttributes={"severity": {"DataType": "String", "StringValue": "HIGH"}},
    )

    alerts = environment.received_alerts()

    assert topic["KmsMasterKeyId"] == environment.kms_key_arn
    assert alerts == [
        {
            "subject": "Identity Center account instance created",
            "body": {"account": SANDBOX_ACCOUNT_ID, "instanceArn": SANDBOX_INSTANCE_ARN},
            "attributes": {"severity": "HIGH"},
        }
    ]
    assert environment.received_alerts() == []  # drained


def test_dead_letters_are_drained_with_attributes(environment: EmulatedEnvironment) -> None:
    boto3.client("sqs").send_message(
        QueueUrl=environment.dead_letter_queue_url,
        MessageBody=json.dumps({"detail-type": "AWS API Call via CloudTrail"}),
        MessageAttributes={"ERROR_CODE": {"DataType": "String", "StringValue": "SDK_CLIENT_ERROR"}},
    )

    letters = environment.dead_letters()

    assert letters == [
        {
            "body": {"detail-type": "AWS API Call via CloudTrail"},
            "attributes": {"ERROR_CODE": "SDK_CLIENT_ERROR"},
        }
    ]
    assert environment.dead_letters() == []


# -- newer API: every Region in one listing, applications, Regions an account has not enabled ------


def test_all_regions_lists_the_callers_instances_wherever_they_live(environment: EmulatedEnvironment) -> None:
    sso = member_sso(environment, PROD_ACCOUNT_ID, "us-east-1")
    assert sso.list_instances()["Instances"] == []  # the Prod instance lives in eu-west-1
    (listed,) = sso.list_instances(RegionScope="ALL_REGIONS")["Instances"]
    assert (listed["InstanceArn"], listed["PrimaryRegion"]) == (PROD_INSTANCE_ARN, "eu-west-1")
    assert [r["RegionName"] for r in listed["Regions"]] == ["eu-west-1"]


def test_all_regions_shows_the_organization_instance_to_members_only_when_it_is_visible() -> None:
    for visible in (False, True):
        with EmulatedEnvironment(organization_instance_visible_to_members=visible) as env:
            listed = member_sso(env, SANDBOX_ACCOUNT_ID, "eu-west-1").list_instances(
                RegionScope="ALL_REGIONS"
            )
            arns = {i["InstanceArn"] for i in listed["Instances"]}
            assert (ORGANIZATION_INSTANCE_ARN in arns) is visible
            assert SANDBOX_INSTANCE_ARN in arns


def test_applications_are_listed_for_their_instance_in_its_account(environment: EmulatedEnvironment) -> None:
    arn = environment.identity_center.attach_application(
        PROD_INSTANCE_ARN, name="q-business", provider="qbusiness"
    )
    sso = member_sso(environment, PROD_ACCOUNT_ID, "eu-west-1")
    (application,) = sso.list_applications(InstanceArn=PROD_INSTANCE_ARN)["Applications"]
    assert application["ApplicationArn"] == arn
    assert application["ApplicationProviderArn"] == "arn:aws:sso::aws:applicationProvider/qbusiness"
    with pytest.raises(ClientError) as raised:  # another account's instance is not visible
        member_sso(environment, SANDBOX_ACCOUNT_ID, "eu-west-1").list_applications(
            InstanceArn=PROD_INSTANCE_ARN
        )
    assert error_code(raised) == "ResourceNotFoundException"


def test_a_region_the_account_has_not_enabled_refuses_calls(environment: EmulatedEnvironment) -> None:
    with pytest.raises(ClientError) as raised:
        member_sso(environment, PROD_ACCOUNT_ID, "ap-east-1").list_instances()
    assert error_code(raised) == "UnrecognizedClientException"
    environment.account_regions.enable(PROD_ACCOUNT_ID, "ap-east-1")
    assert member_sso(environment, PROD_ACCOUNT_ID, "ap-east-1").list_instances()["Instances"] == []


def test_list_regions_says_which_regions_an_account_may_use(environment: EmulatedEnvironment) -> None:
    environment.account_regions.enable(PROD_ACCOUNT_ID, "me-central-1")
    account = administrator_client(PROD_ACCOUNT_ID, "account")
    enabled = [
        region
        for page in account.get_paginator("list_regions").paginate(
            RegionOptStatusContains=["ENABLED", "ENABLED_BY_DEFAULT"]
        )
        for region in page["Regions"]
    ]
    statuses = {r["RegionName"]: r["RegionOptStatus"] for r in enabled}
    assert statuses["me-central-1"] == "ENABLED"
    assert statuses["us-east-1"] == "ENABLED_BY_DEFAULT"
    assert "ap-east-1" not in statuses
    assert len(enabled) == 18  # the 17 Regions enabled by default, and the one enabled
