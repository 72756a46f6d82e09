from datetime import date

import pytest
from msgspec.structs import replace

from guardrail.core.catalogue import RULE_IDS, RULES_BY_ID
from guardrail.core.decision import Action, Decision, Verdict, decide
from guardrail.core.facts import Fact, Facts, MissingFact, Operation, Outcome
from guardrail.core.policy import Approvals, Exemption, Mode, Policy, RuleSettings, Severity
from tests.builders import (
    INSTANCE_ARN,
    MANAGEMENT,
    NOW,
    PROD,
    SANDBOX,
    call,
    facts,
    instance,
    sandbox_account,
)

SANDBOX_APPROVED = Policy(approved=Approvals(organizational_units=("Sandbox",)))


def rules(decision: Decision) -> list[str]:
    return [f.rule for f in decision.findings]


def test_compliant_trial_in_approved_ou() -> None:
    decision = decide(facts(), SANDBOX_APPROVED, NOW)
    assert decision.verdict is Verdict.COMPLIANT
    assert decision.action is Action.NONE
    assert decision.findings == ()


@pytest.mark.parametrize(
    "approved",
    [
        Approvals(accounts=(SANDBOX,)),
        Approvals(organizational_units=("ou-ab12-sandbox",)),
        Approvals(organizational_units=("r-ab12",)),
        Approvals(organizational_units=("Sandbox",)),
    ],
)
def test_approval_by_account_ou_id_root_or_path(approved: Approvals) -> None:
    assert "account-not-approved" not in rules(decide(facts(), Policy(approved=approved), NOW))


def test_nested_ou_approval_covers_accounts_below() -> None:
    policy = Policy(approved=Approvals(organizational_units=("Workloads",)))
    prod = facts(call=call(account_id=PROD), instance=instance(owner_account_id=PROD))
    assert "account-not-approved" not in rules(decide(prod, policy, NOW))
    # ...but a path that only shares a prefix does not approve.
    policy = Policy(approved=Approvals(organizational_units=("Workloads/Pro",)))
    assert "account-not-approved" in rules(decide(prod, policy, NOW))


def test_unapproved_account_is_a_high_violation_with_its_ou_in_the_reason() -> None:
    prod = facts(call=call(account_id=PROD), instance=instance(owner_account_id=PROD))
    decision = decide(prod, SANDBOX_APPROVED, NOW)
    assert decision.verdict is Verdict.VIOLATION
    assert decision.severity is Severity.HIGH
    finding = decision.findings[0]
    assert finding.rule == "account-not-approved"
    assert PROD in finding.reason
    assert "Workloads/Prod" in finding.reason


def test_failed_attempt_in_management_account() -> None:
    attempt = facts(
        call=call(
            account_id=MANAGEMENT, outcome=Outcome.FAILED, instance_arn=None, error_code="ValidationException"
        ),
        instance=None,
    )
    decision = decide(attempt, SANDBOX_APPROVED, NOW)
    assert set(rules(decision)) >= {"management-account-attempt", "attempt-denied"}
    assert "account-not-approved" not in rules(decision)  # nothing was created
    assert decision.severity is Severity.HIGH
    assert decision.action is Action.ALERT


def test_blocked_attempt_is_low_severity() -> None:
    attempt = facts(
        call=call(account_id=PROD, outcome=Outcome.FAILED, instance_arn=None, error_code="AccessDenied"),
        instance=None,
        service_control_policies=(),
    )
    decision = decide(attempt, Policy(approved=Approvals(accounts=(PROD,))), NOW)
    assert rules(decision) == ["attempt-denied"]
    assert decision.severity is Severity.LOW
    assert "AccessDenied" in decision.findings[0].reason


@pytest.mark.parametrize("operation", [Operation.DELETE, Operation.UPDATE])
def test_delete_and_update_are_informational(operation: Operation) -> None:
    decision = decide(facts(call=call(operation=operation)), Policy(), NOW)
    assert decision.verdict is Verdict.INFO
    assert decision.severity is Severity.INFO
    assert (decision.findings, decision.suppressed, decision.undetermined) == ((), (), ())
    assert decision.action is Action.NONE
    assert decision.action_reason == f"{operation.value} is recorded for the audit trail"


ORGANIZATION_ARN = "arn:aws:sso:::instance/ssoins-00000000000000aa"


def org_deletion(outcome: Outcome = Outcome.SUCCEEDED, **overrides: object) -> Facts:
    the_call = call(
        operation=Operation.DELETE,
        account_id=MANAGEMENT,
        instance_arn=ORGANIZATION_ARN,
        outcome=outcome,
        error_code="AccessDenied" if outcome is Outcome.FAILED else None,
    )
    return facts(call=the_call, instance=None, account_instances=None, **overrides)


def test_deleting_the_organization_instance_is_a_high_violation() -> None:
    decision = decide(org_deletion(), Policy(), NOW)
    assert decision.verdict is Verdict.VIOLATION
    assert decision.severity is Severity.HIGH
    assert rules(decision) == ["org-instance-deleted"]
    assert decision.action is Action.ALERT


def test_deleting_the_organization_instance_is_never_remediated() -> None:
    policy = Policy(mode=Mode.ENFORCE, rules={"org-instance-deleted": RuleSettings(action="remediate")})
    decision = decide(org_deletion(), policy, NOW)
    assert decision.action is Action.ALERT
    assert decision.action_reason == "remediation withheld: no instance was created"


def test_a_refused_deletion_of_the_organization_instance_is_as_visible_as_an_attempt_in_the_management_account() -> (
    None
):
    decision = decide(org_deletion(Outcome.FAILED), Policy(), NOW)
    assert decision.verdict is Verdict.VIOLATION
    assert [(f.rule, f.severity) for f in decision.findings] == [
        ("org-instance-delete-attempt", Severity.HIGH)
    ]
    assert decision.severity.rank >= RULES_BY_ID["management-account-attempt"].severity.rank


def test_a_deletion_in_an_unknown_organization_is_incomplete() -> None:
    """Without the organization, nobody can say the deleted instance was not the organization's."""
    decision = decide(org_deletion(organization=None), Policy(), NOW)
    assert decision.verdict is Verdict.INCOMPLETE
    assert [(u.rule, u.missing_fact) for u in decision.undetermined] == [
        ("org-instance-deleted", "organization")
    ]
    assert decision.action is Action.ALERT


def test_an_exempted_deletion_of_the_organization_instance_is_informational() -> None:
    planned = Exemption(
        account_id=MANAGEMENT, expires=date(2026, 12, 1), ticket="CHG-7", reason="planned migration"
    )
    decision = decide(org_deletion(), Policy(exemptions=(planned,)), NOW)
    assert decision.verdict is Verdict.INFO
    assert [s.rule for s in decision.suppressed] == ["org-instance-deleted"]
    assert decision.action is Action.NONE


def test_a_disabled_org_instance_rule_leaves_the_deletion_informational() -> None:
    policy = Policy(rules={"org-instance-deleted": RuleSettings(enabled=False)})
    assert decide(org_deletion(organization=None), policy, NOW).verdict is Verdict.INFO


def test_missing_facts_make_the_decision_incomplete_not_compliant() -> None:
    gap = facts(
        instance=None,
        account_instances=None,
        missing=(MissingFact(fact=Fact.INSTANCE, reason="AccessDenied"),),
    )
    decision = decide(gap, SANDBOX_APPROVED, NOW)
    assert decision.verdict is Verdict.INCOMPLETE
    assert {u.missing_fact for u in decision.undetermined} >= {"instance", "account_instances"}
    assert decision.action is Action.ALERT


def test_unapproved_account_without_account_facts_is_still_judged_by_account_list() -> None:
    policy = Policy(approved=Approvals(accounts=(SANDBOX,)))
    decision = decide(facts(account=None), policy, NOW)
    assert "account-not-approved" not in rules(decision)
    assert "account-not-approved" not in {u.rule for u in decision.undetermined}


def test_exemption_suppresses_only_the_rules_it_names() -> None:
    exemption = Exemption(
        account_id=PROD,
        expires=date(2027, 1, 1),
        ticket="SEC-1",
        reason="pilot",
        rules=("account-not-approved",),
    )
    prod = facts(call=call(account_id=PROD), instance=instance(owner_account_id=PROD, tags={}))
    decision = decide(prod, Policy(exemptions=(exemption,)), NOW)
    assert [s.rule for s in decision.suppressed] == ["account-not-approved"]
    assert "account-not-approved" not in rules(decision)
    assert "missing-justification" in rules(decision)


def test_remediation_is_dry_run_by_default_and_needs_proven_ownership() -> None:
    policy = Policy(rules={"account-not-approved": RuleSettings(action="remediate")})
    assert decide(facts(), policy, NOW).action is Action.WOULD_DELETE
    enforce = replace(policy, mode=Mode.ENFORCE)
    assert decide(facts(), enforce, NOW).action is Action.DELETE
    not_owned = facts(instance=instance(owner_account_id=MANAGEMENT))
    decision = decide(not_owned, enforce, NOW)
    assert decision.action is Action.ALERT
    assert "owned by" in decision.action_reason
    pending = facts(instance=instance(status="CREATE_IN_PROGRESS"))
    assert decide(pending, enforce, NOW).action is Action.ALERT


def test_severity_override_from_policy() -> None:
    policy = Policy(rules={"account-not-approved": RuleSettings(severity=Severity.CRITICAL)})
    assert decide(facts(), policy, NOW).severity is Severity.CRITICAL


def test_disabled_rule_does_not_fire() -> None:
    policy = Policy(rules={"account-not-approved": RuleSettings(enabled=False)})
    assert "account-not-approved" not in rules(decide(facts(), policy, NOW))


# -- remediation is withheld unless ownership is proven --------------------------------------------

REMEDIATE_ALL = {rule: RuleSettings(action="remediate") for rule in RULE_IDS}
INSTANCE_RULES = (
    "missing-justification",
    "trial-expiry",
    "trial-expired",
    "purpose-conflicts-with-org-instance",
)


def remediating(*disabled: str) -> Policy:
    rules = {**REMEDIATE_ALL, **{rule: RuleSettings(enabled=False) for rule in disabled}}
    return Policy(mode=Mode.ENFORCE, rules=rules)


def test_remediation_of_a_proven_account_instance() -> None:
    decision = decide(facts(), remediating(), NOW)
    assert decision.action is Action.DELETE
    assert decision.action_reason == "account-not-approved, scp-gap ask for remediation"


@pytest.mark.parametrize(
    ("the_facts", "disabled", "blocker"),
    [
        (
            facts(
                call=call(outcome=Outcome.FAILED, instance_arn=None, error_code="AccessDenied"), instance=None
            ),
            (),
            "no instance was created",
        ),
        (
            facts(missing=(MissingFact(fact=Fact.ACCOUNT, reason="throttled"),)),
            (),
            "facts are missing (account)",
        ),
        (facts(instance=None, account_instances=()), INSTANCE_RULES, "the instance could not be described"),
        (
            facts(organization=None),
            ("management-account-attempt", "scp-gap"),
            "the organization could not be described",
        ),
        (
            facts(instance=instance(owner_account_id=None)),
            (),
            "the instance is owned by None, not by 333333333333",
        ),
        (
            # (The rules that read the instance wait for it to be ACTIVE: the next test.)
            facts(instance=instance(status="CREATE_IN_PROGRESS")),
            INSTANCE_RULES,
            "the instance is CREATE_IN_PROGRESS, not ACTIVE",
        ),
        (facts(instance=instance(status=None)), (), "the instance is None, not ACTIVE"),
    ],
)
def test_remediation_is_withheld_without_proof(
    the_facts: Facts, disabled: tuple[str, ...], blocker: str
) -> None:
    decision = decide(the_facts, remediating(*disabled), NOW)
    assert decision.verdict is Verdict.VIOLATION
    assert decision.undetermined == ()
    assert decision.action is Action.ALERT
    assert decision.action_reason == f"remediation withheld: {blocker}"


def test_an_instance_still_being_created_is_judged_once_it_is_active_and_never_deleted_meanwhile() -> None:
    being_created = facts(instance=instance(status="CREATE_IN_PROGRESS", tags={}))
    decision = decide(being_created, remediating(), NOW)
    # Its tags cannot be read yet: the rules that read them wait, rather than find them missing.
    assert "missing-justification" not in rules(decision)
    assert {u.rule for u in decision.undetermined} >= {"missing-justification", "trial-expiry"}
    assert decision.action is Action.ALERT
    in_approved_ou = Policy(mode=Mode.ENFORCE, approved=Approvals(organizational_units=("Sandbox",)))
    approved = decide(replace(being_created, account=sandbox_account()), in_approved_ou, NOW)
    assert approved.verdict is Verdict.INCOMPLETE


def test_the_management_accounts_own_instance_is_never_deleted() -> None:
    # AWS refuses account instances there; if the facts ever say one was created, only alert.
    mine = facts(call=call(account_id=MANAGEMENT), instance=instance(owner_account_id=MANAGEMENT))
    decision = decide(mine, remediating(), NOW)
    assert "management-account-attempt" in rules(decision)
    assert decision.action_reason == (
        "remediation withheld: the instance belongs to the management account (the organization instance)"
    )


def test_remediation_waits_for_every_rule_to_be_determined() -> None:
    partial = facts(
        account_instances=None, missing=(MissingFact(fact=Fact.ACCOUNT_INSTANCES, reason="AccessDenied"),)
    )
    decision = decide(partial, remediating(), NOW)
    assert decision.verdict is Verdict.VIOLATION  # findings stand, even with an unknown
    assert [u.rule for u in decision.undetermined] == ["second-instance"]
    assert decision.action_reason == "remediation withheld: some rules lacked the facts they need"


def test_a_disabled_rule_needs_no_facts() -> None:
    policy = remediating("second-instance")
    decision = decide(facts(account_instances=None), policy, NOW)
    assert decision.undetermined == ()
    assert decision.action is Action.DELETE


def test_violation_severity_is_the_highest_finding() -> None:
    policy = Policy(
        approved=Approvals(accounts=(SANDBOX,)),
        rules={"missing-justification": RuleSettings(severity=Severity.LOW)},
        allowed_regions=("eu-west-1",),
    )
    decision = decide(facts(instance=instance(tags={})), policy, NOW)
    assert sorted(rules(decision)) == ["missing-justification", "region-not-allowed"]
    assert decision.severity is Severity.MEDIUM


def test_an_exemption_covers_the_instance_it_names() -> None:
    exemption = Exemption(instance_arn=INSTANCE_ARN, expires=NOW.date(), ticket="SEC-2", reason="last day")
    decision = decide(facts(), Policy(exemptions=(exemption,)), NOW)
    assert decision.verdict is Verdict.COMPLIANT
    assert [(s.rule, s.ticket, s.expires) for s in decision.suppressed] == [
        ("account-not-approved", "SEC-2", "2026-11-10"),
        ("scp-gap", "SEC-2", "2026-11-10"),
    ]
    expired = replace(exemption, expires=date(2026, 11, 9))
    decision = decide(facts(), Policy(exemptions=(expired,)), NOW)
    assert decision.suppressed == ()
    assert sorted(rules(decision)) == ["account-not-approved", "exemption-expired", "scp-gap"]
