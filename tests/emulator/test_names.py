"""The emulation accepts the names AWS accepts, and nothing beyond: tests of hostile text then
exercise the worst a creator can really give the guardrail, never an impossible input.

Account names are 1 to 50 printable ASCII characters (`<!channel>` fits); OU names and
application names are any characters, line breaks included (1 to 128, 1 to 100); instance names
are 1 to 32 of `[A-Za-z0-9_+=,.@-]`; tag keys and values are letters, numbers, separators (the
line separator U+2028 among them) and `_.:/=+-@`.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.environment import SANDBOX_INSTANCE_ARN, EmulatedEnvironment
from emulator.identity_center import IdentityCenterEmulator
from emulator.organization import (
    CENTRAL_REGION,
    MANAGEMENT_ACCOUNT_ID,
    SANDBOX_ACCOUNT_ID,
    add_member_accounts,
    administrator_client,
    administrator_credentials,
)

# botocore checks only minimum lengths: the service refuses the rest, as AWS does.
NO_CLIENT_VALIDATION = Config(parameter_validation=False)


def organizations() -> Any:
    return administrator_client(MANAGEMENT_ACCOUNT_ID, "organizations")


def refusal(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


@pytest.mark.parametrize(
    "name",
    ["<!channel> *Deleted?* [x](https://e.example)", "x" * 50, "|~`_@here"],
    ids=["markup", "longest", "punctuation"],
)
def test_an_account_name_of_printable_ascii_up_to_50_is_accepted(
    environment: EmulatedEnvironment, name: str
) -> None:
    before = set(environment.organization.member_account_ids)
    environment.organization = add_member_accounts(
        environment.organization, 1, ou_path="Named", account_names=[name]
    )
    [account] = [a for a in environment.organization.member_account_ids if a not in before]
    described = organizations().describe_account(AccountId=account)["Account"]
    assert described["Name"] == name


@pytest.mark.parametrize(
    "name",
    ["x" * 51, "line\nbreak", "caf\u00e9", "tab\there", ""],
    ids=["51", "newline", "latin", "tab", "empty"],
)
def test_an_account_name_aws_refuses_is_refused(environment: EmulatedEnvironment, name: str) -> None:
    client = boto3.client(
        "organizations",
        region_name=CENTRAL_REGION,
        config=NO_CLIENT_VALIDATION,
        **administrator_credentials(MANAGEMENT_ACCOUNT_ID),
    )
    with pytest.raises(ClientError) as excinfo:
        client.create_account(AccountName=name, Email="refused@example.com")
    assert refusal(excinfo) == "InvalidInputException"


def test_an_ou_name_takes_any_character_up_to_128(environment: EmulatedEnvironment) -> None:
    client = organizations()
    root = environment.organization.root_id
    hostile = "Ops\n*Deleted?* skipped <!here>\u2028\u202e" + "y" * 90
    assert len(hostile) <= 128
    created = client.create_organizational_unit(ParentId=root, Name=hostile)["OrganizationalUnit"]
    assert created["Name"] == hostile
    with pytest.raises(ClientError) as excinfo:
        client.create_organizational_unit(ParentId=root, Name="z" * 129)
    assert refusal(excinfo) == "InvalidInputException"
    with pytest.raises(ClientError) as excinfo:
        client.update_organizational_unit(OrganizationalUnitId=created["Id"], Name="z" * 129)
    assert refusal(excinfo) == "InvalidInputException"


def test_an_application_name_takes_any_character_up_to_100(environment: EmulatedEnvironment) -> None:
    center = environment.identity_center
    hostile = "Q\n*Deleted?* skipped <!channel> [click](https://e.example)"
    center.attach_application(SANDBOX_INSTANCE_ARN, name=hostile)
    with pytest.raises(ValueError, match="1 to 100"):
        center.attach_application(SANDBOX_INSTANCE_ARN, name="a" * 101)
    with pytest.raises(ValueError, match="1 to 100"):
        center.attach_application(SANDBOX_INSTANCE_ARN, name="")
    listed = administrator_client(SANDBOX_ACCOUNT_ID, "sso-admin").list_applications(
        InstanceArn=SANDBOX_INSTANCE_ARN
    )["Applications"]
    assert [a["Name"] for a in listed] == [hostile]


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        (
            "x\u2028\u2029 \u3000_.:/=+-@ 漢 \U00020000 ٣",
            True,
        ),  # separators, letters and numbers of any script
        ("<!channel>", False),
        ("*bold*", False),
        ("line\nbreak", False),
        ("[x](y)", False),
        ("\u202e", False),  # a bidirectional override is a format character, not a letter
    ],
)
def test_tag_values_take_the_characters_aws_allows_and_no_other(
    environment: EmulatedEnvironment, value: str, accepted: bool
) -> None:
    sso = administrator_client(SANDBOX_ACCOUNT_ID, "sso-admin")
    tag = {"Key": "note", "Value": value}
    if accepted:
        sso.tag_resource(InstanceArn=SANDBOX_INSTANCE_ARN, ResourceArn=SANDBOX_INSTANCE_ARN, Tags=[tag])
        tags = sso.list_tags_for_resource(InstanceArn=SANDBOX_INSTANCE_ARN, ResourceArn=SANDBOX_INSTANCE_ARN)
        assert {"Key": "note", "Value": value} in tags["Tags"]
        return
    with pytest.raises(ClientError) as excinfo:
        sso.tag_resource(InstanceArn=SANDBOX_INSTANCE_ARN, ResourceArn=SANDBOX_INSTANCE_ARN, Tags=[tag])
    assert refusal(excinfo) == "ValidationException"


@pytest.mark.parametrize(
    ("name", "accepted"),
    [("a" * 32, True), ("team_1+=,.@-X", True), ("a" * 33, False), ("équipe", False), ("a b", False)],
)
def test_instance_names_are_what_aws_allows(name: str, accepted: bool) -> None:
    emulator = IdentityCenterEmulator(MANAGEMENT_ACCOUNT_ID)
    if accepted:
        arn = emulator.seed_instance(SANDBOX_ACCOUNT_ID, "us-east-1", name=name)
        assert emulator.instances()[0].instance_arn == arn
    else:
        with pytest.raises(ValueError, match="Name"):
            emulator.seed_instance(SANDBOX_ACCOUNT_ID, "us-east-1", name=name)
