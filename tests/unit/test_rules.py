"""Each rule of the catalogue, branch by branch: when it fires, what it says, which facts it needs."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from guardrail.core.catalogue import RULE_IDS, RULES, RULES_BY_ID
from guardrail.core.decision import decide
from guardrail.core.facts import (
    AccountFacts,
    Actor,
    Facts,
    Occasion,
    Operation,
    OrganizationalUnit,
    Outcome,
    ServiceControlPolicy,
)
from guardrail.core.policy import Approvals, Exemption, Policy, Purpose, Severity, TagRequirements
from guardrail.core.rules import (
    Evaluation,
    Hit,
    Undetermined,
    about_organization_instance,
)
from tests.builders import (
    ALLOW_ALL_SCP,
    DENY_SCP,
    INSTANCE_ARN,
    MANAGEMENT,
    NOW,
    PROD,
    SANDBOX,
    call,
    facts,
    instance,
)

OTHER_ARN = "arn:aws:sso:::instance/ssoins-0123456789abcdef"
CATALOGUE = {
    "account-not-approved",
    "management-account-attempt",
    "org-instance-deleted",
    "org-instance-delete-attempt",
    "region-not-allowed",
    "missing-justification",
    "trial-expiry",
    "trial-expired",
    "purpose-conflicts-with-org-instance",
    "second-instance",
    "scp-gap",
    "attempt-denied",
    "root-user",
    "exemption-expired",
    "delegated-access",
}


def check(rule_id: str, the_facts: Facts, policy: Policy | None = None, now: datetime = NOW) -> Hit | None:
    return RULES_BY_ID[rule_id].check(Evaluation(the_facts, policy or Policy(), now))


def tagged(**tags: str) -> Facts:
    return facts(instance=instance(tags=tags))


def failed_attempt(account_id: str = SANDBOX, **overrides: Any) -> Facts:
    attempt = call(
        account_id=account_id, outcome=Outcome.FAILED, instance_arn=None, error_code="AccessDenied"
    )
    return facts(call=attempt, instance=None, **overrides)


# -- the catalogue -------------------------------------------------------------------------------


def test_the_catalogue_holds_exactly_the_documented_rules() -> None:
    assert RULE_IDS == CATALOGUE
    assert len(RULES) == len(CATALOGUE)  # ids are unique
    assert set(RULES_BY_ID) == CATALOGUE


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_every_rule_is_documented(rule: Any) -> None:
    for text in (rule.summary, rule.constraint, rule.fix):
        assert text.strip().endswith((".", ")")), f"{rule.id}: {text!r}"
    assert rule.applies_to
    assert rule.applies_to <= set(Occasion)
    assert isinstance(rule.severity, Severity)


# -- accessors refuse to guess -------------------------------------------------------------------


@pytest.mark.parametrize(
    "fact",
    [
        "organization",
        "account",
        "instance",
        "account_instances",
        "organization_instances",
        "service_control_policies",
    ],
)
def test_a_missing_fact_makes_its_accessor_undetermined(fact: str) -> None:
    evaluation = Evaluation(facts(**{fact: None}), Policy(), NOW)
    with pytest.raises(Undetermined) as raised:
        getattr(evaluation, fact)()
    assert raised.value.fact == fact


def test_collections_gathered_empty_are_not_missing() -> None:
    evaluation = Evaluation(
        facts(account_instances=(), organization_instances=(), service_control_policies=()), Policy(), NOW
    )
    assert evaluation.account_instances() == ()
    assert evaluation.organization_instances() == ()
    assert evaluation.service_control_policies() == ()


# -- approval ------------------------------------------------------------------------------------


def approval(approved: Approvals, the_facts: Facts | None = None) -> str | None:
    return Evaluation(the_facts or facts(), Policy(approved=approved), NOW).approval()


def test_approval_names_what_approves_the_account() -> None:
    assert approval(Approvals(accounts=(SANDBOX,))) == SANDBOX
    assert approval(Approvals(organizational_units=("ou-ab12-sandbox",))) == "ou-ab12-sandbox"
    assert approval(Approvals(organizational_units=("r-ab12",))) == "r-ab12"
    assert approval(Approvals(organizational_units=("Sandbox",))) == "Sandbox"


def test_approval_follows_the_tree_not_string_prefixes() -> None:
    prod = facts(call=call(account_id=PROD))
    assert approval(Approvals(organizational_units=("Workloads",)), prod) == "Workloads"
    assert approval(Approvals(organizational_units=("Workloads/Prod",)), prod) == "Workloads/Prod"
    assert approval(Approvals(organizational_units=("Workloads/Pro", "Prod", "Work")), prod) is None


def test_approval_without_ous_needs_no_account_facts() -> None:
    assert approval(Approvals(accounts=(PROD,)), facts(account=None)) is None


def test_approval_by_ou_needs_the_account_facts() -> None:
    with pytest.raises(Undetermined, match="account"):
        approval(Approvals(organizational_units=("Sandbox",)), facts(account=None))


# -- account-not-approved ------------------------------------------------------------------------


def test_account_not_approved_names_the_ou_path() -> None:
    hit = check("account-not-approved", facts())
    assert hit is not None
    assert "Sandbox" in hit.reason
    assert hit.facts == {"account_id": SANDBOX, "ou_path": "Sandbox"}


def test_account_not_approved_at_the_root_and_without_account_facts() -> None:
    at_root = facts(
        account=AccountFacts(account_id=SANDBOX, parents=(OrganizationalUnit(id="r-ab12", name="Root"),))
    )
    hit = check("account-not-approved", at_root)
    assert hit is not None
    assert "'(root)'" in hit.reason
    hit = check("account-not-approved", facts(account=None))
    assert hit is not None
    assert "OU path" not in hit.reason
    assert hit.facts["ou_path"] is None


def test_account_not_approved_is_quiet_for_an_approved_account() -> None:
    assert check("account-not-approved", facts(), Policy(approved=Approvals(accounts=(SANDBOX,)))) is None


# -- management-account-attempt ------------------------------------------------------------------


def test_management_account_attempt() -> None:
    hit = check("management-account-attempt", failed_attempt(MANAGEMENT))
    assert hit is not None
    assert hit.facts == {"management_account_id": MANAGEMENT, "error_code": "AccessDenied"}
    assert check("management-account-attempt", failed_attempt(SANDBOX)) is None


# -- org-instance-deleted ------------------------------------------------------------------------

ORGANIZATION_ARN = "arn:aws:sso:::instance/ssoins-00000000000000aa"


def deletion(
    account_id: str = MANAGEMENT, instance_arn: str | None = ORGANIZATION_ARN, **overrides: Any
) -> Facts:
    the_call = call(operation=Operation.DELETE, account_id=account_id, instance_arn=instance_arn)
    return facts(call=the_call, instance=None, account_instances=None, **overrides)


def test_org_instance_deleted_fires_in_the_management_account() -> None:
    hit = check("org-instance-deleted", deletion())
    assert hit is not None
    assert hit.reason == (
        f"DeleteInstance removed the organization instance {ORGANIZATION_ARN} in the management account "
        f"{MANAGEMENT}: Identity Center access ends for the whole organization"
    )
    assert hit.facts == {"account_id": MANAGEMENT, "instance_arn": ORGANIZATION_ARN}


def test_org_instance_deleted_without_an_arn_in_the_event() -> None:
    hit = check("org-instance-deleted", deletion(instance_arn=None))
    assert hit is not None
    assert "organization instance (ARN not recorded) in the management account" in hit.reason


def test_org_instance_deleted_is_quiet_for_an_account_instance() -> None:
    assert check("org-instance-deleted", deletion(SANDBOX, INSTANCE_ARN)) is None


def test_org_instance_deleted_needs_the_organization_unless_the_arn_is_listed() -> None:
    with pytest.raises(Undetermined, match="organization"):
        check("org-instance-deleted", deletion(organization=None))
    listed = instance(instance_arn=ORGANIZATION_ARN, owner_account_id=MANAGEMENT)
    hit = check("org-instance-deleted", deletion(organization=None, organization_instances=(listed,)))
    assert hit is not None


def test_about_organization_instance() -> None:
    listed = instance(instance_arn=ORGANIZATION_ARN, owner_account_id=MANAGEMENT)
    assert about_organization_instance(deletion()) is True
    assert about_organization_instance(deletion(SANDBOX, INSTANCE_ARN)) is False
    assert about_organization_instance(deletion(organization=None)) is None
    assert about_organization_instance(deletion(organization=None, organization_instances=None)) is None
    assert about_organization_instance(deletion(SANDBOX, ORGANIZATION_ARN, organization_instances=(listed,)))
    # An event without an instance ARN matches no listed instance.
    assert about_organization_instance(deletion(instance_arn=None, organization_instances=(listed,))) is True


# -- region-not-allowed --------------------------------------------------------------------------


def test_region_not_allowed() -> None:
    assert check("region-not-allowed", facts(), Policy(allowed_regions=None)) is None
    assert check("region-not-allowed", facts(), Policy(allowed_regions=("us-east-1",))) is None
    hit = check("region-not-allowed", facts(), Policy(allowed_regions=("eu-west-1", "eu-central-1")))
    assert hit is not None
    assert hit.reason == "The instance is in us-east-1; the policy allows eu-west-1, eu-central-1"
    assert hit.facts == {"region": "us-east-1", "allowed_regions": ["eu-west-1", "eu-central-1"]}


def test_an_empty_region_list_allows_no_region() -> None:
    hit = check("region-not-allowed", facts(), Policy(allowed_regions=()))
    assert hit is not None
    assert hit.reason.endswith("allows no Region")


# -- missing-justification -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "problems"),
    [
        ({}, ["no 'purpose' tag", "no 'owner' tag"]),
        ({"owner": "bob@example.com"}, ["no 'purpose' tag"]),
        ({"purpose": "trial"}, ["no 'owner' tag"]),
        ({"purpose": "trial", "owner": ""}, ["no 'owner' tag"]),
        ({"purpose": "poc", "owner": "bob"}, ["'purpose' is 'poc', not one of"]),
    ],
)
def test_missing_justification_says_what_is_wrong(tags: dict[str, str], problems: list[str]) -> None:
    hit = check("missing-justification", tagged(**tags))
    assert hit is not None
    for problem in problems:
        assert problem in hit.reason
    assert hit.facts["tags"] == tags  # the builders' tags are only the ones the rule reads


@pytest.mark.parametrize(
    ("tags", "missing"),
    [
        ({}, ["purpose", "owner"]),
        ({"purpose": "trial"}, ["owner"]),
        ({"purpose": "trial", "owner": ""}, ["owner"]),
        ({"purpose": "poc", "owner": "bob"}, []),
        ({"purpose": "", "owner": "bob"}, []),  # there, but not an allowed purpose
        ({"owner": "bob"}, ["purpose"]),
    ],
)
def test_missing_justification_cites_only_the_tags_it_read(tags: dict[str, str], missing: list[str]) -> None:
    # Whatever else the instance carries (75 tags of 384 characters each are allowed) stays out
    # of the finding: the alert holds the instance's tags once, under `instance.tags`.
    crowded = {f"team-{index:02d}": "漢" * 256 for index in range(70)}
    hit = check("missing-justification", tagged(**tags, **crowded))
    assert hit is not None
    assert hit.facts == {
        "tags": tags,
        "missing_tags": missing,
        "allowed_purposes": ["trial", "no-org-adoption", "isolated-users"],
    }


def test_missing_justification_uses_the_policy_tag_keys_and_purposes() -> None:
    policy = Policy(
        tags=TagRequirements(purpose_key="use-case", owner_key="team", allowed_purposes=(Purpose.TRIAL,))
    )
    assert check("missing-justification", tagged(**{"use-case": "trial", "team": "data"}), policy) is None
    hit = check("missing-justification", tagged(**{"use-case": "isolated-users", "team": "data"}), policy)
    assert hit is not None
    assert "not one of trial" in hit.reason


def test_missing_justification_needs_the_instance() -> None:
    with pytest.raises(Undetermined, match="instance"):
        check("missing-justification", facts(instance=None))


# -- trial-expiry and trial-expired --------------------------------------------------------------

TRIAL = {"purpose": "trial", "owner": "bob@example.com"}  # created 2026-11-02 by the builders


@pytest.mark.parametrize(
    ("tags", "fires", "says"),
    [
        ({"purpose": "isolated-users"}, False, None),
        (TRIAL, True, "has no 'expires' tag"),
        ({**TRIAL, "expires": "next spring"}, True, "'next spring' is not a date"),
        ({**TRIAL, "expires": "2027-01-31"}, False, None),  # 90 days, the default maximum
        ({**TRIAL, "expires": " 2027-01-31 "}, False, None),  # surrounding spaces are forgiven
        ({**TRIAL, "expires": "2027-02-01"}, True, "runs 91 days"),
    ],
)
def test_trial_expiry(tags: dict[str, str], fires: bool, says: str | None) -> None:
    hit = check("trial-expiry", tagged(**tags))
    assert (hit is not None) == fires
    if hit is not None:
        assert says is not None
        assert says in hit.reason
        assert hit.facts["created"] == "2026-11-02"
        assert hit.facts["max_trial_days"] == 90


def test_trial_length_counts_from_the_event_when_the_creation_date_is_unknown() -> None:
    late_call = call(event_time=datetime(2026, 12, 1, tzinfo=UTC))
    the_facts = facts(
        call=late_call, instance=instance(created_date=None, tags={**TRIAL, "expires": "2027-02-01"})
    )
    assert check("trial-expiry", the_facts) is None  # 62 days from the event
    the_facts = facts(
        call=late_call, instance=instance(created_date=None, tags={**TRIAL, "expires": "2027-03-02"})
    )
    hit = check("trial-expiry", the_facts)
    assert hit is not None
    assert hit.facts["created"] == "2026-12-01"


@pytest.mark.parametrize(
    ("tags", "today", "fires"),
    [
        ({"purpose": "isolated-users", "expires": "2026-01-01"}, date(2026, 11, 10), False),
        ({**TRIAL, "expires": "not a date"}, date(2026, 11, 10), False),  # trial-expiry speaks
        (TRIAL, date(2026, 11, 10), False),
        ({**TRIAL, "expires": "2026-11-10"}, date(2026, 11, 10), False),  # the last day
        ({**TRIAL, "expires": "2026-11-09"}, date(2026, 11, 10), True),
    ],
)
def test_trial_expired(tags: dict[str, str], today: date, fires: bool) -> None:
    now = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    hit = check("trial-expired", tagged(**tags), now=now)
    assert (hit is not None) == fires
    if hit is not None:
        assert hit.facts == {"expires": "2026-11-09", "today": "2026-11-10"}


# -- purpose-conflicts-with-org-instance ---------------------------------------------------------


def test_purpose_conflicts_with_an_organization_instance() -> None:
    org_instance = instance(instance_arn=OTHER_ARN, owner_account_id=MANAGEMENT)
    no_adoption = {"purpose": "no-org-adoption", "owner": "bob"}
    conflicting = facts(instance=instance(tags=no_adoption), organization_instances=(org_instance,))
    hit = check("purpose-conflicts-with-org-instance", conflicting)
    assert hit is not None
    assert hit.facts == {"organization_instance_arn": OTHER_ARN}
    assert check("purpose-conflicts-with-org-instance", facts(instance=instance(tags=no_adoption))) is None
    other_purpose = facts(organization_instances=(org_instance,))
    assert check("purpose-conflicts-with-org-instance", other_purpose) is None


def test_purpose_conflict_needs_the_organization_instances_only_for_no_org_adoption() -> None:
    assert check("purpose-conflicts-with-org-instance", facts(organization_instances=None)) is None
    no_adoption = facts(instance=instance(tags={"purpose": "no-org-adoption"}), organization_instances=None)
    with pytest.raises(Undetermined, match="organization_instances"):
        check("purpose-conflicts-with-org-instance", no_adoption)


# -- second-instance -----------------------------------------------------------------------------


def test_second_instance_lists_the_other_instances() -> None:
    existing = instance(instance_arn=OTHER_ARN, region="eu-west-1")
    hit = check("second-instance", facts(account_instances=(instance(), existing)))
    assert hit is not None
    assert hit.facts == {"other_instances": [{"instance_arn": OTHER_ARN, "region": "eu-west-1"}]}


def test_second_instance_counts_instances_of_unknown_owner_but_not_other_owners() -> None:
    unknown_owner = instance(instance_arn=OTHER_ARN, owner_account_id=None)
    assert check("second-instance", facts(account_instances=(instance(), unknown_owner))) is not None
    org_instance = instance(instance_arn=OTHER_ARN, owner_account_id=MANAGEMENT)
    assert check("second-instance", facts(account_instances=(instance(), org_instance))) is None


def test_second_instance_on_a_failed_attempt_counts_every_instance() -> None:
    hit = check("second-instance", failed_attempt(account_instances=(instance(),)))
    assert hit is not None
    assert INSTANCE_ARN in hit.reason


def test_second_instance_leaves_the_management_account_to_its_own_rule() -> None:
    org_instance = instance(instance_arn=OTHER_ARN, owner_account_id=MANAGEMENT)
    assert check("second-instance", failed_attempt(MANAGEMENT, account_instances=(org_instance,))) is None
    # Without organization facts the account cannot be told apart: judge the instances.
    unknown = failed_attempt(MANAGEMENT, organization=None, account_instances=(org_instance,))
    assert check("second-instance", unknown) is not None


# -- scp-gap -------------------------------------------------------------------------------------


def scps(*documents: str) -> tuple[ServiceControlPolicy, ...]:
    """The documents attached to the root, beside FullAWSAccess at every level above the Sandbox account."""
    full = tuple(
        ServiceControlPolicy(policy_id="p-FullAWSAccess", target_id=target, document=ALLOW_ALL_SCP)
        for target in ("r-ab12", "ou-ab12-sandbox", SANDBOX)
    )
    return full + tuple(
        ServiceControlPolicy(policy_id=f"p-{index}", target_id="r-ab12", document=document)
        for index, document in enumerate(documents)
    )


def test_scp_gap_fires_for_an_unapproved_account_without_a_deny() -> None:
    hit = check("scp-gap", facts(service_control_policies=scps(ALLOW_ALL_SCP, "{}")))
    assert hit is not None
    assert hit.facts == {
        "scps_checked": ["p-FullAWSAccess", "p-0", "p-1"],
        "certain": False,
        "doubts": [
            "p-1 at root r-ab12 was not read (it may deny or allow): its Statement is missing or neither an "
            "object nor a list"
        ],
    }
    assert "none of the 3 SCPs in force on it certainly denies" in hit.reason


def test_scp_gap_says_which_statement_it_could_not_evaluate() -> None:
    statement = {
        "Sid": "DenyOutsideEurope",
        "Effect": "Deny",
        "Action": "sso:CreateInstance",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}},
    }
    hit = check("scp-gap", facts(service_control_policies=scps(json.dumps({"Statement": [statement]}))))
    assert hit is not None
    note = (
        "p-0 statement 'DenyOutsideEurope' at root r-ab12 may deny it but was not counted: condition key "
        "aws:RequestedRegion cannot be evaluated"
    )
    assert hit.facts["doubts"][0].startswith(note)
    assert note in hit.reason


def test_scp_gap_reads_resources_in_the_partition_of_the_region() -> None:
    document = json.dumps(
        {
            "Statement": [
                {"Effect": "Deny", "Action": "sso:CreateInstance", "Resource": "arn:aws-cn:sso:::instance/*"}
            ]
        }
    )
    china = facts(call=call(region="cn-north-1"), service_control_policies=scps(document))
    assert check("scp-gap", china) is None
    assert check("scp-gap", facts(service_control_policies=scps(document))) is not None


def test_scp_gap_is_closed_by_a_deny_or_an_approval_and_never_applies_to_management() -> None:
    assert check("scp-gap", facts(service_control_policies=scps(ALLOW_ALL_SCP, DENY_SCP))) is None
    approved = Policy(approved=Approvals(accounts=(SANDBOX,)))
    assert check("scp-gap", facts(service_control_policies=()), approved) is None
    assert check("scp-gap", failed_attempt(MANAGEMENT, service_control_policies=())) is None


def test_scp_gap_honours_a_condition_exempting_the_account() -> None:
    statement = {
        "Effect": "Deny",
        "Action": "sso:CreateInstance",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:PrincipalAccount": [SANDBOX]}},
    }
    exempting = json.dumps({"Statement": [statement]})
    assert check("scp-gap", facts(service_control_policies=scps(exempting))) is not None
    assert (
        check("scp-gap", facts(call=call(account_id=PROD), service_control_policies=scps(exempting))) is None
    )


# -- attempt-denied ------------------------------------------------------------------------------


def test_attempt_denied_reports_the_error() -> None:
    hit = check("attempt-denied", failed_attempt())
    assert hit is not None
    assert hit.reason == "CreateInstance failed with AccessDenied: no message"
    vague = facts(
        call=call(outcome=Outcome.FAILED, instance_arn=None, error_message="explicit deny in an SCP")
    )
    hit = check("attempt-denied", vague)
    assert hit is not None
    assert hit.reason == "CreateInstance failed with an error: explicit deny in an SCP"
    assert hit.facts == {"error_code": None, "error_message": "explicit deny in an SCP"}


# -- root-user -----------------------------------------------------------------------------------

ROOT = Actor(arn=f"arn:aws:iam::{SANDBOX}:root", type="Root", account_id=SANDBOX, source_ip="203.0.113.9")
EVERY_CALL = [(operation, outcome) for operation in Operation for outcome in Outcome]


def call_by(actor: Actor, operation: Operation, outcome: Outcome) -> Facts:
    """A call on the Sandbox account's own instance (a failed CreateInstance names none)."""
    failed = outcome is Outcome.FAILED
    the_call = call(
        operation=operation,
        outcome=outcome,
        actor=actor,
        error_code="AccessDenied" if failed else None,
        instance_arn=None if failed and operation is Operation.CREATE else INSTANCE_ARN,
    )
    return facts(call=the_call)


@pytest.mark.parametrize(("operation", "outcome"), EVERY_CALL, ids=lambda value: str(value))
def test_root_user_fires_on_every_instance_call_succeeded_or_failed(
    operation: Operation, outcome: Outcome
) -> None:
    the_facts = call_by(ROOT, operation, outcome)
    hit = check("root-user", the_facts)
    assert hit is not None
    failed = " (it failed: AccessDenied)" if outcome is Outcome.FAILED else ""
    assert hit.reason == f"{operation.value} was called by the root user of account {SANDBOX}{failed}"
    assert hit.facts == {"actor_arn": ROOT.arn, "source_ip": "203.0.113.9", "user_agent": None}
    # Through the decision too: the rule judges this occasion, and its finding is reported.
    decision = decide(the_facts, Policy(approved=Approvals(accounts=(SANDBOX,))), NOW)
    assert "root-user" in [finding.rule for finding in decision.findings]


@pytest.mark.parametrize(("operation", "outcome"), EVERY_CALL, ids=lambda value: str(value))
@pytest.mark.parametrize("actor_type", ["IAMUser", "AssumedRole", "AWSService", None])
def test_root_user_is_quiet_for_any_other_caller(
    operation: Operation, outcome: Outcome, actor_type: str | None
) -> None:
    actor = Actor(arn=f"arn:aws:iam::{SANDBOX}:user/root", type=actor_type, account_id=SANDBOX)
    assert check("root-user", call_by(actor, operation, outcome)) is None


# -- exemption-expired ---------------------------------------------------------------------------


def exemption(expires: date, account_id: str | None = None, instance_arn: str | None = None) -> Exemption:
    return Exemption(
        expires=expires,
        ticket=f"SEC-{expires.day}",
        reason="pilot",
        account_id=account_id,
        instance_arn=instance_arn,
    )


def test_exemption_expired_lists_the_expired_exemptions_of_the_account_or_instance() -> None:
    policy = Policy(
        exemptions=(
            exemption(date(2026, 11, 9), account_id=SANDBOX),  # expired yesterday
            exemption(date(2026, 11, 8), instance_arn=INSTANCE_ARN),  # expired, by instance
            exemption(date(2026, 11, 10), account_id=SANDBOX),  # last day: still valid
            exemption(date(2026, 11, 1), account_id=PROD),  # another account
            exemption(date(2026, 11, 1), instance_arn=OTHER_ARN),  # another instance
        )
    )
    hit = check("exemption-expired", facts(), policy)
    assert hit is not None
    assert hit.facts == {
        "exemptions": [
            {"ticket": "SEC-9", "expires": "2026-11-09"},
            {"ticket": "SEC-8", "expires": "2026-11-08"},
        ]
    }


def test_exemption_expired_is_quiet_without_expired_exemptions() -> None:
    assert check("exemption-expired", facts(), Policy()) is None
    valid = Policy(exemptions=(exemption(date(2026, 11, 10), account_id=SANDBOX),))
    assert check("exemption-expired", facts(), valid) is None
    # A failed call has no instance ARN: an instance exemption cannot match it.
    by_instance = Policy(exemptions=(exemption(date(2026, 11, 1), instance_arn=INSTANCE_ARN),))
    assert check("exemption-expired", failed_attempt(), by_instance) is None


# -- findings carry their facts ------------------------------------------------------------------


INSTANCE_STATE_RULES = [
    "account-not-approved",
    "region-not-allowed",
    "missing-justification",
    "trial-expiry",
    "trial-expired",
    "purpose-conflicts-with-org-instance",
    "second-instance",
    "scp-gap",
    "exemption-expired",
]


def judging(occasion: Occasion) -> list[str]:
    return [rule.id for rule in RULES if occasion in rule.applies_to]


def test_a_sweep_is_judged_by_exactly_the_instance_state_rules() -> None:
    assert judging(Occasion.SWEEP) == INSTANCE_STATE_RULES
    # ... which judge a successful CreateInstance too, with the rules about the call.
    assert set(INSTANCE_STATE_RULES) <= set(judging(Occasion.CREATE_SUCCEEDED))
    call_only = set(judging(Occasion.CREATE_SUCCEEDED)) - set(INSTANCE_STATE_RULES)
    assert call_only == {"management-account-attempt", "root-user", "delegated-access"}


def test_applies_to_matches_the_call_kinds() -> None:
    assert RULES_BY_ID["attempt-denied"].applies_to == frozenset({Occasion.CREATE_FAILED})
    assert Occasion.CREATE_SUCCEEDED in RULES_BY_ID["account-not-approved"].applies_to
    assert Occasion.CREATE_FAILED not in RULES_BY_ID["account-not-approved"].applies_to
    # On a DeleteInstance only the deletion of the organization instance and the caller are judged;
    # on an UpdateInstance only the caller.
    assert judging(Occasion.DELETE_SUCCEEDED) == ["org-instance-deleted", "root-user", "delegated-access"]
    assert (
        judging(Occasion.UPDATE_SUCCEEDED)
        == judging(Occasion.UPDATE_FAILED)
        == [
            "root-user",
            "delegated-access",
        ]
    )


# -- org-instance-delete-attempt ---------------------------------------------------------------------


ORGANIZATION_INSTANCE_ARN = "arn:aws:sso:::instance/ssoins-00000000000000aa"


def failed_delete(account_id: str, instance_arn: str, **more: Any) -> Facts:
    the_call = call(
        account_id=account_id,
        operation=Operation.DELETE,
        outcome=Outcome.FAILED,
        instance_arn=instance_arn,
        error_code="AccessDeniedException",
    )
    return facts(call=the_call, instance=None, **more)


def test_a_failed_delete_of_the_organization_instance_fires_wherever_it_was_tried() -> None:
    listed = (
        instance(instance_arn=ORGANIZATION_INSTANCE_ARN, owner_account_id=MANAGEMENT, region="us-east-1"),
    )
    in_management = check("org-instance-delete-attempt", failed_delete(MANAGEMENT, ORGANIZATION_INSTANCE_ARN))
    assert in_management is not None
    assert "the management account" in in_management.reason
    from_member = check(
        "org-instance-delete-attempt",
        failed_delete(SANDBOX, ORGANIZATION_INSTANCE_ARN, organization_instances=listed),
    )
    assert from_member is not None
    assert "member account 333333333333" in from_member.reason
    other = failed_delete(SANDBOX, INSTANCE_ARN, organization_instances=listed)
    assert check("org-instance-delete-attempt", other) is None


def test_whether_a_member_accounts_failed_delete_was_the_organization_instance_needs_them_read() -> None:
    with pytest.raises(Undetermined) as missing:
        check(
            "org-instance-delete-attempt", failed_delete(SANDBOX, INSTANCE_ARN, organization_instances=None)
        )
    assert missing.value.fact == "organization_instances"
