"""The example organization as a sweep finds it: more accounts, and instances no event announced.

Added to the example organization of the sample events (its three instances stay):

| account | OU | what the sweep should find |
| --- | --- | --- |
| 555555555555 Data Science PoC | DataScience | an instance, not approved but exempted by the policy (SEC-1234) |
| 666666666666 Legacy Tools | Workloads | no member role: the account cannot be read |
| 777777777777 Sandbox Carol | Sandbox | an instance in ap-southeast-2, a Region the policy does not allow; its trial ends soon |
| 888888888888 Sandbox Dave | Sandbox | two instances, in two Regions: two creations that raced |
| 999000000001 Retired | Workloads | suspended: counted, not swept |
| 5000000000xx Fleet … | Workloads/Fleet | twenty accounts without instances |

The organization instance is visible in member accounts, as ListInstances shows it there. Every
member account with the member role has the forwarding StackSet's rule and dead-letter queue in the
Regions the example watches (`SWEEP_REGIONS`), so the sweep's coverage check finds only Legacy
Tools blind (no member role) until a test breaks something.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from unittest import mock

from moto.organizations import utils as organizations_utils

from emulator.forwarding import deploy_forwarding
from emulator.organization import (
    MANAGEMENT_ACCOUNT_ID,
    MEMBER_ROLE_NAME,
    administrator_client,
    create_member_role,
)

if TYPE_CHECKING:
    from emulator.environment import EmulatedEnvironment

DATA_SCIENCE_ACCOUNT_ID = "555555555555"
LEGACY_ACCOUNT_ID = "666666666666"
CAROL_ACCOUNT_ID = "777777777777"
DAVE_ACCOUNT_ID = "888888888888"
RETIRED_ACCOUNT_ID = "999000000001"
FLEET_ACCOUNTS = 20
# The Regions `guardrail sweep --emulated` and the sweep's tests watch.
SWEEP_REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2")

DATA_SCIENCE_INSTANCE_ARN = "arn:aws:sso:::instance/ssoins-5555aaaa5555aaaa"
CAROL_INSTANCE_ARN = "arn:aws:sso:::instance/ssoins-7777aaaa7777aaaa"
DAVE_INSTANCE_ARNS = (
    "arn:aws:sso:::instance/ssoins-8888aaaa8888aaaa",
    "arn:aws:sso:::instance/ssoins-8888bbbb8888bbbb",
)


def add_sweep_example(
    env: EmulatedEnvironment,
    *,
    today: datetime | None = None,
    forwarding_regions: tuple[str, ...] = SWEEP_REGIONS,
) -> None:
    """Grow the emulated example organization into the one above; call inside the environment.
    The forwarding is deployed in `forwarding_regions` (none when empty)."""
    today = today or datetime.now(UTC)
    organizations = administrator_client(MANAGEMENT_ACCOUNT_ID, "organizations", region=env.region)
    org = env.organization
    data_science = organizations.create_organizational_unit(ParentId=org.root_id, Name="DataScience")
    units = {"DataScience": data_science["OrganizationalUnit"]["Id"], **org.ou_ids}
    members = {
        DATA_SCIENCE_ACCOUNT_ID: ("Data Science PoC", "DataScience", True),
        LEGACY_ACCOUNT_ID: ("Legacy Tools", "Workloads", False),
        CAROL_ACCOUNT_ID: ("Sandbox Carol", "Sandbox", True),
        DAVE_ACCOUNT_ID: ("Sandbox Dave", "Sandbox", True),
        RETIRED_ACCOUNT_ID: ("Retired", "Workloads", True),
    }
    for account_id, (name, ou, with_role) in members.items():
        with mock.patch.object(organizations_utils, "make_random_account_id", return_value=account_id):
            organizations.create_account(AccountName=name, Email=f"aws+{account_id}@example.com")
        organizations.move_account(
            AccountId=account_id, SourceParentId=org.root_id, DestinationParentId=units[ou]
        )
        if with_role:
            create_member_role(account_id, region=env.region)
    organizations.close_account(AccountId=RETIRED_ACCOUNT_ID)
    env.add_member_accounts(FLEET_ACCOUNTS, ou_path="Workloads/Fleet")

    created = today - timedelta(days=20)
    ic = env.identity_center
    ic.seed_instance(
        DATA_SCIENCE_ACCOUNT_ID,
        "us-east-1",
        name="q-business-poc",
        tags={"purpose": "isolated-users", "owner": "dana@example.com"},
        instance_arn=DATA_SCIENCE_INSTANCE_ARN,
        created_date=created,
    )
    ic.attach_application(DATA_SCIENCE_INSTANCE_ARN, name="Q Business PoC", provider="qbusiness")
    ic.seed_instance(
        CAROL_ACCOUNT_ID,
        "ap-southeast-2",
        name="redshift-trial",
        tags={
            "purpose": "trial",
            "owner": "carol@example.com",
            "expires": (today + timedelta(days=10)).date().isoformat(),
        },
        instance_arn=CAROL_INSTANCE_ARN,
        created_date=created,
    )
    for arn, region in zip(DAVE_INSTANCE_ARNS, ("us-east-1", "eu-west-1"), strict=True):
        ic.seed_instance(
            DAVE_ACCOUNT_ID,
            region,
            name="dave-" + region,
            tags={"purpose": "isolated-users", "owner": "dave@example.com"},
            instance_arn=arn,
            created_date=created,
            race=True,
        )
    ic.organization_instance_visible_to_members = True
    env.organization = env.organization.with_accounts(
        {account_id: name for account_id, (name, _, _) in members.items()},
        member_role_arns={
            account_id: f"arn:aws:iam::{account_id}:role/{MEMBER_ROLE_NAME}"
            for account_id, (_, _, with_role) in members.items()
            if with_role
        },
        ou_ids={"DataScience": units["DataScience"]},
    )
    deploy_forwarding(env, forwarding_regions)
