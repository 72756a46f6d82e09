"""Fact names are one enumeration: each names a field of `Facts` (what a rule reads and what an
alert lists missing), and the assembly keeps one slot per name."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import msgspec

from guardrail.core.facts import Fact, Facts, MissingFact, Occasion, Subject
from guardrail.gather.assembly import Found, Wanted, assemble
from guardrail.gather.deadline import Missing
from tests.builders import call, prod_account

SUBJECT = Subject(account_id="444444444444", region="us-east-1")
# The fields of `Facts` that are not facts gathered about the subject.
NOT_FACTS = {"subject", "trigger", "missing"}


def test_every_fact_is_a_field_of_facts_and_every_field_a_fact() -> None:
    fields = set(Facts.__struct_fields__)
    assert {fact.value for fact in Fact} <= fields
    assert fields - NOT_FACTS == {fact.value for fact in Fact}


def test_the_assembly_keeps_one_slot_per_fact() -> None:
    assert {f.name for f in dataclasses.fields(Found)} - {"missing"} == {fact.value for fact in Fact}


def test_a_fact_name_is_written_as_the_same_string() -> None:
    missing = MissingFact(fact=Fact.ACCOUNT_INSTANCES, reason="throttled")
    assert msgspec.json.encode(missing) == b'{"fact":"account_instances","reason":"throttled","code":null}'
    assert msgspec.json.decode(msgspec.json.encode(missing), type=MissingFact) == missing
    assert f"{missing.fact} not known" == "account_instances not known"


def test_a_member_side_that_cannot_be_read_makes_each_fact_it_reads_missing_after_the_organizations() -> None:
    created = call(instance_arn=None)
    assert Wanted.of(created.subject, created).no_instance_arn

    def organization(found: Found, wanted: Wanted) -> None:
        found.account = found.read(Fact.ACCOUNT, prod_account)
        found.lack(Fact.ORGANIZATION, "throttled")

    def member(wanted: Wanted) -> Callable[[], Found]:
        def unreadable() -> Found:
            raise Missing("cannot assume the member role: AccessDenied")

        return unreadable

    facts = assemble(created.subject, created, organization, member)
    assert facts.account == prod_account()
    assert [(m.fact, m.reason) for m in facts.missing] == [
        (Fact.ORGANIZATION, "throttled"),
        (Fact.ACCOUNT_INSTANCES, "cannot assume the member role: AccessDenied"),
        (Fact.INSTANCE, "the event carries no instance ARN"),
    ]


def test_only_the_organization_side_is_read_without_a_member_side() -> None:
    seen: list[Wanted] = []

    def organization(found: Found, wanted: Wanted) -> None:
        seen.append(wanted)

    created = call()
    assert created.occasion == Occasion.CREATE_SUCCEEDED
    facts = assemble(SUBJECT, created, organization)
    # No instance named, and none recorded missing: what the account is, whatever its instances.
    assert facts.missing == ()
    assert seen == [Wanted(judged=True, organization_instances=True, describes=False, no_instance_arn=True)]
