"""Deletion in enforce mode, on the emulated organization: only what the guardrail may delete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from msgspec.structs import replace

from emulator.environment import PROD_INSTANCE_ARN, EmulatedEnvironment
from emulator.organization import administrator_client
from emulator.wire import ACCESS_DENIED, AwsError, AwsWire
from guardrail.adapters.clients import AwsClients
from guardrail.core.policy import Mode, Policy, RuleSettings, policy_data
from guardrail.events import parse_api_call
from guardrail.gather import FactGatherer, GatherSettings
from guardrail.handlers import detect
from guardrail.remediate import InstanceRemediator, RetryRemediation
from guardrail_cli.replay import LambdaContextStub
from tests.builders import NOW, sample

PROD = "444444444444"


@pytest.fixture
def policy(policy: Policy) -> Policy:
    """The example policy, enforcing, with unapproved accounts remediated."""
    rules = {**policy.rules, "account-not-approved": RuleSettings(action="remediate")}
    return replace(policy, mode=Mode.ENFORCE, rules=rules)


def prod_instances(env: EmulatedEnvironment) -> list[str]:
    return [i.instance_arn for i in env.identity_center.instances(PROD)]


def test_an_unapproved_instance_is_deleted_and_the_alert_says_so(
    env: EmulatedEnvironment, runtime: detect.Runtime
) -> None:
    assert prod_instances(env) == [PROD_INSTANCE_ARN]
    detect.process(sample("create-instance-console-success"), runtime)

    body = env.received_alerts()[0]["body"]
    assert body["action"] == "delete-instance"
    assert body["remediation"]["status"] == "deleted"
    assert prod_instances(env) == []
    assert ("444444444444", "eu-west-1", "DeleteInstance") in env.identity_center.calls


def test_an_instance_gone_before_deletion_is_reported_not_failed(
    env: EmulatedEnvironment, runtime: detect.Runtime
) -> None:
    event = sample("create-instance-console-success")
    event["detail"]["responseElements"]["instanceArn"] = "arn:aws:sso:::instance/ssoins-0000000000000bad"
    detect.process(event, runtime)

    body = env.received_alerts()[0]["body"]
    assert body["action"] != "delete-instance"  # no instance could be described: withheld
    assert "instance" in {m["fact"] for m in body["missing_facts"]}
    assert prod_instances(env) == [PROD_INSTANCE_ARN]


def test_an_instance_still_being_created_is_left_alone(
    env: EmulatedEnvironment, runtime: detect.Runtime
) -> None:
    # One instance per account: remove the seeded one, then a new one is still being created.
    administrator_client(PROD, "sso-admin", region="eu-west-1").delete_instance(InstanceArn=PROD_INSTANCE_ARN)
    arn = env.identity_center.seed_instance(PROD, "eu-central-1", name="pending", status="CREATE_IN_PROGRESS")
    event = sample("create-instance-console-success")
    event["detail"]["awsRegion"] = event["region"] = "eu-central-1"
    event["detail"]["responseElements"]["instanceArn"] = arn
    detect.process(event, runtime)

    body = env.received_alerts()[0]["body"]
    # While CREATE_IN_PROGRESS only Describe and Delete answer, so its tags are missing: withheld.
    assert body["action"] == "alert"
    assert body["action_reason"].startswith("remediation withheld")
    assert "instance" in {m["fact"] for m in body["missing_facts"]}
    assert arn in [i.instance_arn for i in env.identity_center.instances(PROD)]


def test_dry_run_reports_what_it_would_delete_and_deletes_nothing(
    env: EmulatedEnvironment, policy: Policy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dry_run = tmp_path / "dry-run.json"
    dry_run.write_text(json.dumps(policy_data(replace(policy, mode=Mode.DRY_RUN))))
    monkeypatch.setenv("POLICY_PATH", str(dry_run))
    runtime = detect.build_runtime(clock=lambda: NOW)
    runtime.once.register(LambdaContextStub())  # type: ignore[arg-type]
    detect.process(sample("create-instance-console-success"), runtime)

    body = env.received_alerts()[0]["body"]
    assert body["action"] == "would-delete-instance"
    assert body["remediation"] is None
    assert prod_instances(env) == [PROD_INSTANCE_ARN]


def test_a_refused_deletion_is_reported_and_a_conflict_is_retried(
    env: EmulatedEnvironment, runtime: detect.Runtime
) -> None:
    event = sample("create-instance-console-success")
    with AwsWire() as wire:
        wire.fail("sso-admin", "DeleteInstance", error=ACCESS_DENIED)
        detect.process(event, runtime)
        body = env.received_alerts()[0]["body"]
        assert body["remediation"]["status"] == "failed"
        assert "AccessDenied" in body["remediation"]["detail"]
        assert prod_instances(env) == [PROD_INSTANCE_ARN]

        wire.heal()
        wire.fail("sso-admin", "DeleteInstance", error=AwsError("ConflictException", 409, "busy"), times=1)
        retried = {**event, "detail": {**event["detail"], "eventID": "another-delivery"}}
        with pytest.raises(RetryRemediation):
            detect.process(retried, runtime)
        assert env.received_alerts() == []  # nothing published: the retry will
        assert detect.process(retried, runtime)["status"] == "alerted"
        assert env.received_alerts()[0]["body"]["remediation"]["status"] == "deleted"
    assert prod_instances(env) == []


@pytest.mark.parametrize(
    ("delete_immediately", "expected"),
    [(True, "the instance no longer exists"), (False, "the instance is now DELETE_IN_PROGRESS")],
)
def test_an_instance_deleted_by_its_owner_meanwhile_is_skipped(
    env: EmulatedEnvironment, delete_immediately: bool, expected: str
) -> None:
    """Between gathering and deleting, the owner may delete the instance: re-verification sees it."""
    call = parse_api_call(sample("create-instance-console-success"))
    gatherer = FactGatherer(AwsClients(), runtime_settings())
    facts = gatherer.gather(call)
    assert facts.instance is not None
    assert facts.instance.status == "ACTIVE"

    env.identity_center.delete_immediately = delete_immediately
    administrator_client(PROD, "sso-admin", region="eu-west-1").delete_instance(InstanceArn=PROD_INSTANCE_ARN)
    result = InstanceRemediator(gatherer.member_clients).delete(facts)

    assert (result.status, result.detail) == ("skipped", expected)
    deletes = [c for c in env.identity_center.calls if c.account == PROD and c.operation == "DeleteInstance"]
    assert len(deletes) == 1  # the owner's own: the guardrail deleted nothing


def runtime_settings() -> GatherSettings:
    return GatherSettings(
        member_role_name="IdentityCenterGuardrailMemberRole",
        regions=("us-east-1", "eu-west-1", "eu-central-1"),
        organizations_role_arn="arn:aws:iam::111111111111:role/IdentityCenterGuardrailOrganizationsReader",
        organization_instance_region="us-east-1",
    )
