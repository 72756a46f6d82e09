"""Growing the example organization to a realistic size, for bursts of events from many accounts."""

from emulator.environment import EmulatedEnvironment
from emulator.organization import assume_role_session


def test_added_accounts_sit_in_their_ou_with_the_member_role(environment: EmulatedEnvironment) -> None:
    before = environment.organization
    added = environment.add_member_accounts(3, ou_path="Fleet/Team")

    organization = environment.organization
    assert added == ["500000000000", "500000000001", "500000000002"]
    assert set(organization.member_account_ids) == {*before.member_account_ids, *added}
    assert {"Fleet", "Fleet/Team"} <= set(organization.ou_ids)
    organizations = assume_role_session(organization.organizations_reader_role_arn).client("organizations")
    for account in added:
        (parent,) = organizations.list_parents(ChildId=account)["Parents"]
        assert parent["Id"] == organization.ou_ids["Fleet/Team"]
        assert organizations.describe_account(AccountId=account)["Account"]["Name"] == f"Team {account}"
        identity = (
            assume_role_session(organization.member_role_arns[account]).client("sts").get_caller_identity()
        )
        assert identity["Account"] == account


def test_adding_again_reuses_the_ou_and_skips_taken_ids(environment: EmulatedEnvironment) -> None:
    ous = dict(environment.organization.ou_ids)
    first = environment.add_member_accounts(1, ou_path="Workloads/Prod")
    second = environment.add_member_accounts(1, ou_path="Workloads/Prod")
    assert first != second
    assert dict(environment.organization.ou_ids) == ous  # no OU was created
