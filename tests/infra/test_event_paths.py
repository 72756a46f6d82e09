"""Each instance event reaches the detect function by exactly one chain of rules, read from the templates.

The organization's EventBridge rules are assembled from what the deployment puts where: the central
stack's rules (central account, central Region), the forwarding StackSet's template in every
account under its targets (every account but the management account: the example targets the
root) and every Region it lists, and the management Region stacks. An instance call recorded in an
account and Region starts on that account's default bus there; each matching rule hands it to its
targets: the detect function ends a chain, another bus continues it, once (EventBridge does not
route an event received from another bus to a third one). A bus target counts only if the central
bus's policy lets the rule's role put events on it (same account: the role's own policy suffices,
which test_stacksets.py asserts).

Unlike test_forwarding.py (moto, one account and Region at a time), this counts every path: a rule
on the central account's default bus as well as its forwarding rule would be two.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from guardrail.pipeline.patterns import matches
from infra.application import CENTRAL_STACK_NAME
from infra.constructs.member_stacksets import FORWARDING_STACKSET_NAME
from tests.infra.support import (
    DETECT_HANDLER,
    Document,
    Synthesized,
    load_event,
    pseudo_parameters,
    resolve,
    resources,
)

MANAGEMENT_ACCOUNT = "111111111111"
CENTRAL_ACCOUNT = "222222222222"
MEMBER_ACCOUNTS = ("333333333333", "444444444444")
ORGANIZATION_ID = "o-exampleorg1"
DETECT = "detect function"
Bus = tuple[str, str, str]  # account, Region, bus name


@dataclass(frozen=True)
class Target:
    arn: str  # DETECT, or an event bus's ARN
    role_arn: str | None


@dataclass(frozen=True)
class Rule:
    where: str  # which template put it there, for the failure message
    pattern: Document
    targets: tuple[Target, ...]


def _bus_of(arn: str) -> Bus:
    _, _, service, region, account, resource = arn.split(":", 5)
    assert service == "events"
    kind, name = resource.split("/", 1)
    assert kind == "event-bus"
    return account, region, name


class Organization:
    """Every rule of the example organization, on the bus it is on."""

    def __init__(self, s: Synthesized) -> None:
        self.rules: dict[Bus, list[Rule]] = {}
        self.bus_policies: dict[Bus, list[Document]] = {}
        self._central(s)
        forwarding = s.member_template(FORWARDING_STACKSET_NAME)
        (group,) = s.stack_sets()[FORWARDING_STACKSET_NAME]["StackInstancesGroup"]
        assert group["DeploymentTargets"] == {"OrganizationalUnitIds": [s.config.root_id]}
        # Service-managed StackSets deploy to every account under the root but the management account.
        for account in (CENTRAL_ACCOUNT, *MEMBER_ACCOUNTS):
            for region in group["Regions"]:
                self._add(forwarding, account, region, f"forwarding StackSet in {account} {region}")
        for region in s.config.management_forwarding_regions:
            self._add(
                s.management_region(region), MANAGEMENT_ACCOUNT, region, f"management Region stack {region}"
            )

    def _central(self, s: Synthesized) -> None:
        document = s.stack_document(CENTRAL_STACK_NAME)
        region = s.config.central_region
        buses = {
            logical_id: bus["Properties"]["Name"]
            for logical_id, bus in resources(document, "AWS::Events::EventBus").items()
        }
        detect = s.function_id(DETECT_HANDLER)
        for policy in resources(document, "AWS::Events::EventBusPolicy").values():
            bus = (CENTRAL_ACCOUNT, region, buses[policy["Properties"]["EventBusName"]["Ref"]])
            statement = resolve(policy["Properties"]["Statement"], pseudo_parameters(CENTRAL_ACCOUNT, region))
            self.bus_policies.setdefault(bus, []).append(statement)
        for rule in resources(document, "AWS::Events::Rule").values():
            properties = rule["Properties"]
            bus_name = buses[properties["EventBusName"]["Ref"]] if "EventBusName" in properties else "default"
            targets = []
            for target in properties["Targets"]:
                # The central stack's only rule target is the detect function.
                assert target["Arn"] == {"Fn::GetAtt": [detect, "Arn"]}
                targets.append(Target(DETECT, None))
            self.rules.setdefault((CENTRAL_ACCOUNT, region, bus_name), []).append(
                Rule("central stack", properties["EventPattern"], tuple(targets))
            )

    def _add(self, template: Document, account: str, region: str, where: str) -> None:
        pseudo = pseudo_parameters(account, region)
        for rule in resources(template, "AWS::Events::Rule").values():
            properties = resolve(rule["Properties"], pseudo)
            bus = (account, region, properties.get("EventBusName", "default"))
            targets = tuple(Target(t["Arn"], t.get("RoleArn")) for t in properties["Targets"])
            self.rules.setdefault(bus, []).append(Rule(where, properties["EventPattern"], targets))

    def _may_put_events(self, bus: Bus, sender_account: str, role_arn: str | None) -> bool:
        if sender_account == bus[0]:
            return role_arn is not None  # the role's own policy (asserted in test_stacksets.py)
        for statement in self.bus_policies.get(bus, []):
            condition = statement["Condition"]
            if statement["Effect"] != "Allow" or statement["Action"] != "events:PutEvents":
                continue
            if condition["StringEquals"]["aws:PrincipalOrgID"] != ORGANIZATION_ID:
                continue
            if role_arn is not None and fnmatch.fnmatchcase(
                role_arn, condition["ArnLike"]["aws:PrincipalArn"]
            ):
                return True
        return False

    def chains(self, bus: Bus, event: Document, *, forwarded: bool = False) -> Iterator[list[str]]:
        """Each chain of rules by which an event on `bus` reaches the detect function."""
        for rule in self.rules.get(bus, []):
            if not matches(rule.pattern, event):
                continue
            for target in rule.targets:
                if target.arn == DETECT:
                    yield [rule.where]
                elif not forwarded:
                    receiver = _bus_of(target.arn)
                    if self._may_put_events(receiver, bus[0], target.role_arn):
                        for chain in self.chains(receiver, event, forwarded=True):
                            yield [rule.where, *chain]


def _instance_event(account: str, region: str) -> dict[str, Any]:
    """A CreateInstance recorded in `account` and `region`, as CloudTrail puts it on that default bus."""
    event = load_event("create-instance-console-success.json")
    event["account"] = event["detail"]["recipientAccountId"] = account
    event["region"] = event["detail"]["awsRegion"] = region
    return event


@pytest.fixture(params=["synthesized", "synthesized_delegated_admin"])
def organization(request: pytest.FixtureRequest) -> Organization:
    s: Synthesized = request.getfixturevalue(request.param)
    return Organization(s)


def _chains(organization: Organization, account: str, region: str) -> list[list[str]]:
    return list(organization.chains((account, region, "default"), _instance_event(account, region)))


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-east-1"])
def test_the_central_accounts_call_reaches_the_function_once_in_any_region(
    organization: Organization, region: str
) -> None:
    """In the central Region as elsewhere: its forwarding rule, then the central bus's rule."""
    assert _chains(organization, CENTRAL_ACCOUNT, region) == [
        [f"forwarding StackSet in {CENTRAL_ACCOUNT} {region}", "central stack"]
    ]


def test_every_accounts_call_reaches_the_function_once_in_every_watched_region(
    synthesized: Synthesized,
) -> None:
    organization = Organization(synthesized)
    for account in (CENTRAL_ACCOUNT, *MEMBER_ACCOUNTS):
        for region in synthesized.config.regions:
            assert len(_chains(organization, account, region)) == 1, (account, region)
    for region in synthesized.config.management_forwarding_regions:
        assert _chains(organization, MANAGEMENT_ACCOUNT, region) == [
            [f"management Region stack {region}", "central stack"]
        ]


def test_a_member_accounts_call_reaches_the_function_once(organization: Organization) -> None:
    assert _chains(organization, "444444444444", "eu-west-1") == [
        ["forwarding StackSet in 444444444444 eu-west-1", "central stack"]
    ]


def test_a_rule_on_the_central_default_bus_would_be_a_second_chain(synthesized: Synthesized) -> None:
    """The count can fail: the former default-bus rule made the central Region's events arrive twice."""
    organization = Organization(synthesized)
    bus = (CENTRAL_ACCOUNT, synthesized.config.central_region, "default")
    central_rule = organization.rules[(CENTRAL_ACCOUNT, "us-east-1", "identity-center-guardrail")][0]
    organization.rules.setdefault(bus, []).append(central_rule)
    assert len(_chains(organization, CENTRAL_ACCOUNT, "us-east-1")) == 2
    assert len(_chains(organization, CENTRAL_ACCOUNT, "eu-west-1")) == 1


def test_the_central_bus_refuses_a_role_that_is_not_the_forwarding_role(synthesized: Synthesized) -> None:
    organization = Organization(synthesized)
    bus = (CENTRAL_ACCOUNT, "us-east-1", "identity-center-guardrail")
    forwarder = "arn:aws:iam::444444444444:role/IdentityCenterGuardrailEventForwarder"
    assert organization._may_put_events(bus, "444444444444", forwarder)
    assert not organization._may_put_events(bus, "444444444444", "arn:aws:iam::444444444444:role/Admin")
    assert not organization._may_put_events(bus, "444444444444", None)


def test_an_event_that_is_no_instance_call_reaches_nothing(synthesized: Synthesized) -> None:
    organization = Organization(synthesized)
    event = load_event("not-an-instance-event-permission-set.json")
    for account in (CENTRAL_ACCOUNT, "444444444444"):
        assert list(organization.chains((account, "us-east-1", "default"), event)) == []
