"""`delegated-access`: a product provider made the instance call with IAM temporary delegated
access (`userIdentity.invokedByDelegate.accountId`), and the policy does not trust it."""

from __future__ import annotations

import pytest

from guardrail.core.catalogue import RULES_BY_ID
from guardrail.core.decision import Verdict, decide
from guardrail.core.facts import Actor, Operation, Outcome
from guardrail.core.policy import Approvals, Policy, Severity
from guardrail.core.policy_file import PolicyError, parse_policy
from guardrail.core.rules import Evaluation, Hit
from tests.builders import NOW, SANDBOX, call, facts

PROVIDER = "888888888888"
APPROVED = Policy(approved=Approvals(accounts=(SANDBOX,)))


def by_provider(**actor: str) -> Actor:
    return Actor(arn=f"arn:aws:sts::{SANDBOX}:assumed-role/PartnerOnboarding/s", type="AssumedRole", **actor)


def check(operation: Operation, outcome: Outcome, actor: Actor, policy: Policy = APPROVED) -> Hit | None:
    the_call = call(
        operation=operation,
        outcome=outcome,
        error_code="AccessDenied" if outcome is Outcome.FAILED else None,
        actor=actor,
    )
    return RULES_BY_ID["delegated-access"].check(Evaluation(facts(call=the_call), policy, NOW))


@pytest.mark.parametrize("operation", list(Operation))
@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_instance_call_by_an_untrusted_provider_fires(operation: Operation, outcome: Outcome) -> None:
    hit = check(operation, outcome, by_provider(invoked_by_delegate=PROVIDER))
    assert hit is not None
    assert hit.reason.startswith(f"{operation.value} was made by the product provider account {PROVIDER} ")
    assert ("(it failed: AccessDenied)" in hit.reason) is (outcome is Outcome.FAILED)
    assert hit.facts["provider_account_id"] == PROVIDER


def test_a_trusted_provider_or_no_provider_does_not_fire() -> None:
    trusting = Policy(approved=Approvals(accounts=(SANDBOX,)), trusted_providers=(PROVIDER,))
    assert (
        check(Operation.CREATE, Outcome.SUCCEEDED, by_provider(invoked_by_delegate=PROVIDER), trusting)
        is None
    )
    assert check(Operation.CREATE, Outcome.SUCCEEDED, by_provider()) is None
    # A service acting for the caller (CloudFormation) is no provider.
    assert (
        check(Operation.CREATE, Outcome.SUCCEEDED, by_provider(invoked_by="cloudformation.amazonaws.com"))
        is None
    )
    # Another provider than the trusted one still fires.
    assert check(
        Operation.CREATE, Outcome.SUCCEEDED, by_provider(invoked_by_delegate="777777777777"), trusting
    )


def test_it_is_high_and_leads_a_decision_on_an_otherwise_compliant_instance() -> None:
    the_facts = facts(call=call(actor=by_provider(invoked_by_delegate=PROVIDER)))
    decision = decide(the_facts, APPROVED, NOW)
    assert decision.verdict is Verdict.VIOLATION
    assert [(f.rule, f.severity) for f in decision.findings] == [("delegated-access", Severity.HIGH)]


@pytest.mark.parametrize("entry", ["88888888888", "provider", 888888888888])
def test_trusted_providers_are_account_ids(entry: object) -> None:
    with pytest.raises(PolicyError, match=r"^p\.yaml is invalid: trusted_providers\[0\]: "):
        parse_policy({"trusted_providers": [entry]}, source="p.yaml")
    assert parse_policy({"trusted_providers": [PROVIDER]}).trusted_providers == (PROVIDER,)
