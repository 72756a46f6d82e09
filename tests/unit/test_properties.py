"""Properties of `decide` over generated facts and policies.

The strategies build valid `Facts` and `Policy` objects around a small pool of accounts, OUs,
Regions and instances, so that generated exemptions, approvals and SCP conditions often hit the
call they are judged against; facts are dropped at random (recorded as missing, as the Lambda does).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from msgspec import to_builtins
from msgspec.structs import replace

from guardrail.core.catalogue import RULE_IDS, RULES_BY_ID
from guardrail.core.dates import parse_day
from guardrail.core.decision import Action, Decision, Verdict, decide
from guardrail.core.facts import (
    AccountFacts,
    Actor,
    ApiCall,
    ApplicationFacts,
    Fact,
    Facts,
    InstanceFacts,
    InstanceStatus,
    MissingFact,
    Observation,
    Occasion,
    Operation,
    OrganizationalUnit,
    OrganizationFacts,
    Outcome,
    ServiceControlPolicy,
    Subject,
)
from guardrail.core.policy import (
    Approvals,
    Enforcement,
    Exemption,
    Mode,
    Policy,
    RuleSettings,
    Severity,
    TagRequirements,
)
from guardrail.core.rules import Evaluation, about_organization_instance
from guardrail.core.strict import convert
from guardrail.core.triggers import traits

MANAGEMENT = "111111111111"
ACCOUNTS = (MANAGEMENT, "222222222222", "333333333333", "444444444444", "555555555555")
REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2")
ARNS = tuple(f"arn:aws:sso:::instance/ssoins-{index:016x}" for index in range(4))
ROOT = OrganizationalUnit(id="r-ab12", name="Root")
OUS = (
    OrganizationalUnit(id="ou-ab12-sandbox", name="Sandbox"),
    OrganizationalUnit(id="ou-ab12-sandboxes", name="Sandboxes"),
    OrganizationalUnit(id="ou-ab12-workload", name="Workloads"),
    OrganizationalUnit(id="ou-ab12-prod", name="Prod"),
)
OU_TARGETS = ("Sandbox", "Workloads", "Workloads/Prod", "Sandbox/Prod", "r-ab12", "ou-ab12-prod", "Sand")
RULE_LIST = sorted(RULE_IDS)
START = datetime(2026, 10, 1, tzinfo=UTC)
FACT_NAMES = (
    Fact.APPLICATIONS,
    Fact.ORGANIZATION,
    Fact.ACCOUNT,
    Fact.INSTANCE,
    Fact.ACCOUNT_INSTANCES,
    Fact.ORGANIZATION_INSTANCES,
    Fact.SERVICE_CONTROL_POLICIES,
)

REMEDIATE_ALL = {rule: RuleSettings(action="remediate") for rule in RULE_LIST}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

accounts = st.sampled_from(ACCOUNTS)
regions = st.sampled_from(REGIONS)
arns = st.sampled_from(ARNS)
days = st.integers(min_value=-40, max_value=200)
moments = st.builds(lambda d, s: START + timedelta(days=d, seconds=s), days, st.integers(0, 86_399))
dates = days.map(lambda d: (START + timedelta(days=d)).date())

tags = st.fixed_dictionaries(
    {},
    optional={
        "purpose": st.sampled_from(["trial", "no-org-adoption", "isolated-users", "poc", ""]),
        "owner": st.sampled_from(["bob@example.com", ""]),
        "expires": st.one_of(dates.map(date.isoformat), st.sampled_from(["soon", "", " 2026-12-01 "])),
    },
)


@st.composite
def instances(
    draw: st.DrawFn, arn: str | None = None, region: str | None = None, owner: Any = None
) -> InstanceFacts:
    return InstanceFacts(
        instance_arn=arn or draw(arns),
        region=region or draw(regions),
        owner_account_id=owner if owner is not None else draw(st.one_of(st.none(), accounts)),
        status=draw(st.sampled_from(["ACTIVE", "ACTIVE", None, *(s.value for s in InstanceStatus)])),
        created_date=draw(st.one_of(st.none(), moments)),
        tags=draw(tags),
    )


@st.composite
def scp_documents(draw: st.DrawFn) -> str:
    statements = []
    for _ in range(draw(st.integers(0, 2))):
        statement: dict[str, Any] = {
            "Effect": draw(st.sampled_from(["Deny", "Allow"])),
            draw(st.sampled_from(["Action", "NotAction"])): draw(
                st.sampled_from(
                    ["sso:CreateInstance", "sso:Create*", "sso:*", "*", "s3:*", ["ec2:*", "sso:*"]]
                )
            ),
            "Resource": draw(st.sampled_from(["*", ["*"], "arn:aws:sso:::instance/*"])),
        }
        if draw(st.booleans()):
            operator = draw(st.sampled_from(["StringNotEquals", "StringEquals", "StringLike", "Bool"]))
            key = draw(st.sampled_from(["aws:PrincipalAccount", "aws:PrincipalOrgID"]))
            statement["Condition"] = {operator: {key: draw(st.lists(accounts, max_size=2))}}
        statements.append(statement)
    return draw(st.one_of(st.just(json.dumps({"Statement": statements})), st.just("not json")))


@st.composite
def calls(draw: st.DrawFn) -> ApiCall:
    # CreateInstance, and its success, are what most rules judge: draw them more often.
    operation = draw(st.sampled_from([Operation.CREATE] * 3 + [Operation.DELETE, Operation.UPDATE]))
    outcome = draw(st.sampled_from([Outcome.SUCCEEDED] * 3 + [Outcome.FAILED]))
    created = operation is Operation.CREATE and outcome is Outcome.SUCCEEDED
    failed_create = operation is Operation.CREATE and outcome is Outcome.FAILED
    return ApiCall(
        event_id=draw(st.sampled_from(["evt-1", "evt-2"])),
        operation=operation,
        event_time=draw(moments),
        account_id=draw(accounts),
        region=draw(regions),
        outcome=outcome,
        instance_arn=None if failed_create else draw(st.sampled_from([*ARNS, None]) if created else arns),
        error_code=draw(st.sampled_from(["AccessDenied", "ConflictException", None]))
        if not created
        else None,
        error_message=draw(st.one_of(st.none(), st.just("refused"))),
        actor=Actor(
            arn="arn:aws:iam::333333333333:user/bob",
            type=draw(st.sampled_from(["IAMUser", "IAMUser", "AssumedRole", "Root"])),
        ),
    )


@st.composite
def facts_for(draw: st.DrawFn, call: ApiCall) -> Facts:
    """Facts about `call`; the instance is mostly owned by the call's account, sometimes not."""
    owner = draw(
        st.sampled_from([call.account_id, call.account_id, call.account_id, MANAGEMENT, "999999999999"])
    )
    instance = draw(instances(arn=call.instance_arn, region=call.region, owner=owner))
    others = draw(st.lists(instances(), max_size=2))
    # A successful creation is sometimes seen by a sweep instead: the same subject, another trigger.
    trigger: ApiCall | Observation = call
    if call.occasion is Occasion.CREATE_SUCCEEDED and call.instance_arn and draw(st.booleans()):
        trigger = Observation(run_id="run-1", observed_at=call.event_time)
    fields: dict[str, Any] = {
        "subject": call.subject,
        "trigger": trigger,
        "organization": OrganizationFacts(organization_id="o-exampleorg1", management_account_id=MANAGEMENT),
        "account": AccountFacts(
            account_id=call.account_id,
            name=draw(st.sampled_from(["Sandbox Bob", "Prod Analytics", None])),
            parents=(ROOT, *draw(st.lists(st.sampled_from(OUS), max_size=3, unique=True))),
            tags=draw(st.dictionaries(st.sampled_from(["team", "owner"]), st.just("x"), max_size=2)),
        ),
        "instance": instance if call.instance_arn else None,
        "account_instances": tuple(draw(st.permutations([instance, *others])))
        if call.instance_arn
        else tuple(others),
        "organization_instances": tuple(draw(st.lists(instances(owner=MANAGEMENT), max_size=1))),
        "applications": draw(
            st.sampled_from(
                [
                    (),
                    (),
                    (
                        ApplicationFacts(
                            application_arn="arn:aws:sso::333333333333:application/ssoins-1/apl-1"
                        ),
                    ),
                ]
            )
        ),
        "service_control_policies": tuple(
            ServiceControlPolicy(policy_id=f"p-{index}", target_id="r-ab12", document=document)
            for index, document in enumerate(draw(st.lists(scp_documents(), max_size=3)))
        ),
    }
    dropped = draw(
        st.one_of(st.just([]), st.lists(st.sampled_from(FACT_NAMES), min_size=1, max_size=3, unique=True))
    )
    if fields["instance"] is None and Fact.INSTANCE not in dropped and draw(st.booleans()):
        dropped.append(Fact.INSTANCE)  # the Lambda records an undescribed instance as missing
    for name in dropped:
        fields[name] = None
    fields["missing"] = tuple(MissingFact(fact=name, reason="AccessDenied") for name in dropped)
    return Facts(**fields)


@st.composite
def exemptions(draw: st.DrawFn, expires: Any = dates) -> Exemption:
    target = draw(st.sampled_from(["account_id", "instance_arn"]))
    return Exemption(
        **{target: draw(accounts if target == "account_id" else arns)},
        expires=draw(expires),
        ticket=draw(st.sampled_from(["SEC-1", "SEC-2", "SEC-3"])),
        reason="generated",
        rules=tuple(draw(st.lists(st.sampled_from(RULE_LIST), max_size=3, unique=True))),
    )


policies = st.builds(
    Policy,
    mode=st.sampled_from(list(Mode)),
    approved=st.builds(
        Approvals,
        accounts=st.lists(accounts, max_size=2, unique=True).map(tuple),
        organizational_units=st.lists(st.sampled_from(OU_TARGETS), max_size=2, unique=True).map(tuple),
    ),
    allowed_regions=st.one_of(st.none(), st.lists(regions, max_size=3, unique=True).map(tuple)),
    tags=st.one_of(
        st.just(TagRequirements()),
        st.builds(
            TagRequirements,
            allowed_purposes=st.lists(st.sampled_from(["trial", "isolated-users"]), min_size=1).map(tuple),
        ),
    ),
    max_trial_days=st.integers(min_value=1, max_value=120),
    enforcement=st.builds(
        Enforcement,
        grace_period_hours=st.sampled_from([0, 0, 24]),
        delete_instances_with_applications=st.booleans(),
    ),
    exemptions=st.lists(exemptions(), max_size=2).map(tuple),
    rules=st.one_of(
        st.dictionaries(
            st.sampled_from(RULE_LIST),
            st.builds(
                RuleSettings,
                enabled=st.booleans(),
                severity=st.one_of(st.none(), st.sampled_from(list(Severity))),
                action=st.sampled_from(["alert", "remediate"]),
            ),
            max_size=4,
        ),
        st.just(REMEDIATE_ALL),
    ),
)


@dataclass(frozen=True)
class Scenario:
    facts: Facts
    policy: Policy
    now: datetime


@st.composite
def scenarios(draw: st.DrawFn, remediating: bool = False) -> Scenario:
    """`remediating` asks every rule for remediation: where deleting is even on the table."""
    call = draw(calls())
    policy = draw(policies)
    if remediating:
        policy = replace(policy, rules=REMEDIATE_ALL)
    return Scenario(draw(facts_for(call)), policy, draw(moments))


def fired_rules(decision: Decision) -> set[str]:
    return {f.rule for f in decision.findings} | {s.rule for s in decision.suppressed}


# -- properties ----------------------------------------------------------------------------------


@SETTINGS
@given(scenarios())
def test_the_decision_is_deterministic(s: Scenario) -> None:
    first = decide(s.facts, s.policy, s.now)
    again = decide(convert(to_builtins(s.facts), Facts), convert(to_builtins(s.policy), Policy), s.now)
    assert first == again


@SETTINGS
@given(scenarios())
def test_verdict_invariants(s: Scenario) -> None:
    decision = decide(s.facts, s.policy, s.now)  # never raises on valid facts
    occasion = s.facts.trigger.occasion
    if occasion is Occasion.SWEEP:
        # A sweep is judged by the instance-state rules alone, and deletes nothing.
        judged = {f.rule for f in decision.findings} | {x.rule for x in decision.suppressed}
        judged |= {u.rule for u in decision.undetermined}
        assert not judged & {
            "management-account-attempt",
            "attempt-denied",
            "root-user",
            "org-instance-deleted",
        }
        assert decision.action is not Action.DELETE  # a sweep schedules a deletion, at most
    judged = {f.rule for f in decision.findings} | {x.rule for x in decision.suppressed}
    judged |= {u.rule for u in decision.undetermined}
    # Every rule judged judges the trigger's occasion.
    assert all(occasion in RULES_BY_ID[rule].applies_to for rule in judged)
    kind = traits(occasion)
    organization_instance = kind.judges_state and about_organization_instance(s.facts) is True
    if organization_instance:
        # The organization instance is never judged by the rules about account instances.
        assert not any(RULES_BY_ID[rule].judges_instance_state for rule in judged)
    if (not kind.judges or organization_instance) and not decision.findings and not decision.undetermined:
        # Only the calls themselves are judged; with nothing found it is recorded, as info.
        assert decision.verdict is Verdict.INFO
        assert decision.action is Action.NONE
        return
    assert (decision.verdict is Verdict.VIOLATION) == bool(decision.findings)
    assert (decision.verdict is Verdict.INCOMPLETE) == (not decision.findings and bool(decision.undetermined))
    assert (decision.verdict is Verdict.COMPLIANT) == (not decision.findings and not decision.undetermined)
    if decision.findings:
        assert decision.severity == max((f.severity for f in decision.findings), key=lambda sev: sev.rank)
    else:
        assert decision.action in {Action.NONE, Action.ALERT}
    findings, suppressed = [f.rule for f in decision.findings], [x.rule for x in decision.suppressed]
    undetermined = [u.rule for u in decision.undetermined]
    everything = findings + suppressed + undetermined
    assert len(everything) == len(set(everything))  # each rule ends in at most one place
    assert all(s.policy.settings(rule).enabled for rule in everything)
    assert all(f.facts and f.reason for f in decision.findings)  # findings carry the facts they used


@SETTINGS
@given(st.one_of(scenarios(), scenarios(remediating=True)))
def test_no_deletion_without_proof(s: Scenario) -> None:
    decision = decide(s.facts, s.policy, s.now)
    if decision.action not in {Action.DELETE, Action.WOULD_DELETE, Action.SCHEDULE_DELETE}:
        assert decision.delete_after is None
        return
    subject, instance = s.facts.subject, s.facts.instance
    occasion = s.facts.trigger.occasion
    assert s.facts.missing == ()
    assert decision.undetermined == ()
    assert occasion in {Occasion.CREATE_SUCCEEDED, Occasion.SWEEP}  # of the occasions drawn
    assert not (occasion is Occasion.SWEEP and decision.action is Action.DELETE)  # a sweep only schedules
    assert s.facts.applications is not None
    assert not s.facts.applications or s.policy.enforcement.delete_instances_with_applications
    assert decision.delete_after is not None
    assert decision.delete_after >= s.now
    assert instance is not None
    assert instance.instance_arn == subject.instance_arn
    assert instance.owner_account_id == subject.account_id
    assert instance.owner_account_id != MANAGEMENT
    assert instance.status == InstanceStatus.ACTIVE
    assert any(s.policy.settings(f.rule).action == "remediate" for f in decision.findings)
    assert (decision.action is Action.WOULD_DELETE) == (s.policy.mode is Mode.DRY_RUN)


def test_the_strategies_do_reach_deletion() -> None:
    """Guards the property above against passing vacuously."""
    found = find(
        scenarios(remediating=True),
        lambda s: decide(s.facts, s.policy, s.now).action is Action.DELETE,
        settings=settings(max_examples=1_000, deadline=None, database=None, phases=[Phase.generate]),
    )
    assert found.facts.instance is not None


@st.composite
def with_valid_exemption(draw: st.DrawFn) -> tuple[Scenario, Exemption]:
    scenario = draw(scenarios())
    call = scenario.facts.subject
    exemption = draw(
        exemptions(expires=st.integers(0, 60).map(lambda d: scenario.now.date() + timedelta(days=d)))
    )
    # Usually aimed at the call's account or instance (else it must suppress nothing).
    if draw(st.integers(0, 3)):
        target = {"account_id": call.account_id, "instance_arn": None}
        if call.instance_arn and draw(st.booleans()):
            target = {"account_id": None, "instance_arn": call.instance_arn}
        exemption = replace(exemption, **target)
    return scenario, replace(exemption, ticket="NEW-1")


def covers(exemption: Exemption, call: Subject) -> bool:
    return exemption.account_id == call.account_id or (
        exemption.instance_arn is not None and exemption.instance_arn == call.instance_arn
    )


@SETTINGS
@given(with_valid_exemption())
def test_a_valid_exemption_suppresses_exactly_the_rules_it_names(case: tuple[Scenario, Exemption]) -> None:
    s, exemption = case
    without = decide(s.facts, s.policy, s.now)
    policy = replace(s.policy, exemptions=(*s.policy.exemptions, exemption))
    with_it = decide(s.facts, policy, s.now)

    fired = {f.rule for f in without.findings}
    named = set(exemption.rules) or RULE_IDS
    expected = (named & fired) if covers(exemption, s.facts.subject) else set()
    newly = {x.rule for x in with_it.suppressed if x.ticket == "NEW-1"}
    assert newly == expected
    assert set(with_it.suppressed) - set(without.suppressed) == {
        x for x in with_it.suppressed if x.ticket == "NEW-1"
    }
    assert set(without.suppressed) <= set(with_it.suppressed)
    assert with_it.findings == tuple(f for f in without.findings if f.rule not in expected)
    assert with_it.undetermined == without.undetermined


@SETTINGS
@given(scenarios(), st.data())
def test_an_expired_exemption_suppresses_nothing(s: Scenario, data: st.DataObject) -> None:
    call = s.facts.subject
    expired = data.draw(
        exemptions(expires=st.integers(1, 400).map(lambda d: s.now.date() - timedelta(days=d)))
    )
    if data.draw(st.booleans()):
        expired = replace(expired, account_id=call.account_id, instance_arn=None)
    expired = replace(expired, ticket="OLD-1")
    without = decide(s.facts, s.policy, s.now)
    with_it = decide(s.facts, replace(s.policy, exemptions=(*s.policy.exemptions, expired)), s.now)

    assert "OLD-1" not in {x.ticket for x in with_it.suppressed}

    def others(decision: Decision) -> tuple[Any, ...]:
        return tuple(f for f in decision.findings if f.rule != "exemption-expired")

    assert others(with_it) == others(without)
    assert {x for x in with_it.suppressed if x.rule != "exemption-expired"} == {
        x for x in without.suppressed if x.rule != "exemption-expired"
    }
    reported = [f for f in with_it.findings if f.rule == "exemption-expired"]
    if reported:
        assert any(e["ticket"] == "OLD-1" for e in reported[0].facts["exemptions"]) == covers(expired, call)


# -- approval: names never pass for ids, paths are sequences of names ------------------------------

# OU names as Organizations allows them: any 1 to 128 characters. Drawn mostly from the characters
# that matter here, and from the whole of Unicode.
ou_names = st.one_of(
    st.text(alphabet=st.sampled_from("ou-r/ab12 \\"), min_size=1, max_size=20),
    st.text(min_size=1, max_size=128),
    st.sampled_from(["ou-ab12-prod", "r-ab12", "Workloads/Prod", "Sandbox", "/", "Workloads"]),
)
unit_ids = st.integers(0, 10**8).map(lambda n: f"ou-ab12-{n:08d}")


@st.composite
def chains(draw: st.DrawFn) -> tuple[OrganizationalUnit, ...]:
    """The parents of an account: the root, then OUs of any names and distinct ids."""
    ids = draw(st.lists(unit_ids, max_size=5, unique=True))
    return (ROOT, *(OrganizationalUnit(id=unit_id, name=draw(ou_names)) for unit_id in ids))


def approval_of(parents: tuple[OrganizationalUnit, ...], entries: tuple[str, ...]) -> str | None:
    the_facts = Facts(
        subject=Subject(account_id="333333333333", region="us-east-1"),
        trigger=Observation(run_id="run-1", observed_at=START),
        account=AccountFacts(account_id="333333333333", parents=parents),
    )
    policy = Policy(approved=Approvals(organizational_units=entries))
    return Evaluation(the_facts, policy, START).approval()


@SETTINGS
@given(chains(), st.lists(st.one_of(unit_ids, st.just("r-ab12"), st.just("r-other")), max_size=4))
def test_with_ids_only_the_names_of_the_ous_never_matter(
    parents: tuple[OrganizationalUnit, ...], entries: list[str]
) -> None:
    # Names drawn to look like the very ids approved, or like paths: only the ids decide.
    approving = approval_of(parents, tuple(entries))
    ids = {unit.id for unit in parents}
    assert (approving is not None) == any(entry in ids for entry in entries)
    renamed = tuple(replace(unit, name=entries[0] if entries else "x") for unit in parents)
    assert approval_of(renamed, tuple(entries)) == approving


@SETTINGS
@given(chains())
def test_a_name_that_looks_like_an_approved_id_or_path_never_approves(
    parents: tuple[OrganizationalUnit, ...],
) -> None:
    # Approve exactly the text of every name on the chain, and every joined prefix of the names.
    names = [unit.name for unit in parents[1:]]
    entries = set(names) | {"/".join(names[:k]) for k in range(1, len(names) + 1)}
    ids = {unit.id for unit in parents}
    # Entries as a policy can hold them, and none that is really the id of an OU on the chain.
    # (A name with blanks around it is refused in an entry: approved by id only.)
    writable = {
        e
        for e in entries
        if all(0 < len(name) <= 128 and name == name.strip() for name in e.split("/")) and e not in ids
    }
    approving = approval_of(parents, tuple(sorted(writable)))
    # A genuine approval needs a prefix of names none of which holds '/' and whose first names are
    # not id-shaped (an entry shaped as an id matches ids only, and these ids were never listed).
    first = names[0] if names else None
    genuine = (
        first is not None
        and "/" not in first
        and not first.startswith(("ou-", "r-"))
        and first == first.strip()
    )
    assert (approving is not None) == genuine
    if approving is not None:
        assert approving.split("/") == names[: len(approving.split("/"))]
        assert not any("/" in name for name in names[: len(approving.split("/"))])


# -- dates: the same instant gives the same decision, whatever its offset --------------------------

offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda minutes: timezone(timedelta(minutes=minutes)))


def at(moment: datetime | None, offset: timezone) -> datetime | None:
    return None if moment is None else moment.astimezone(offset)


@SETTINGS
@given(scenarios(), offsets, offsets, offsets)
def test_the_offset_of_a_time_never_changes_the_decision(
    s: Scenario, now_offset: timezone, created_offset: timezone, event_offset: timezone
) -> None:
    facts = s.facts
    trigger = facts.trigger
    shifted = replace(
        facts,
        trigger=replace(trigger, event_time=at(trigger.event_time, event_offset))
        if isinstance(trigger, ApiCall)
        else replace(trigger, observed_at=at(trigger.observed_at, event_offset))
        if isinstance(trigger, Observation)
        else trigger,
        instance=None
        if facts.instance is None
        else replace(facts.instance, created_date=at(facts.instance.created_date, created_offset)),
    )
    decision = decide(facts, s.policy, s.now)
    assert decide(shifted, s.policy, s.now.astimezone(now_offset)) == decision


@SETTINGS
@given(moments, offsets)
def test_an_expiry_timestamp_reads_as_its_utc_date(moment: datetime, offset: timezone) -> None:
    written = moment.astimezone(offset).isoformat()
    assert parse_day(written) == moment.astimezone(UTC).date()
    assert parse_day(moment.date().isoformat()) == moment.date()
