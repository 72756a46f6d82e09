"""Deletion in enforce mode, on the emulated organization: only what the guardrail may delete."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError
from msgspec.structs import replace

from emulator.environment import PROD_INSTANCE_ARN, EmulatedEnvironment
from emulator.organization import MANAGEMENT_ACCOUNT_ID, administrator_client
from emulator.wire import ACCESS_DENIED, LOST_ANSWER, AwsError, AwsWire
from guardrail.adapters.clients import AwsClients
from guardrail.core.policy import Enforcement, Mode, Policy, RuleSettings, policy_data
from guardrail.deletion import remediator as remediate
from guardrail.deletion.guard import DeletionGuard
from guardrail.deletion.remediator import BACKOFF, InstanceRemediator, RetryRemediation
from guardrail.gather import FactGatherer, GatherSettings
from guardrail.handlers import detect
from guardrail.pipeline.events import parse_api_call
from guardrail_cli.replay import LambdaContextStub
from tests.builders import NOW, sample

PROD = "444444444444"
PENDING_TAGS = {"purpose": "trial", "owner": "alice@example.com", "expires": "2026-12-01"}


class FakeTime:
    """Monotonic time that passes only when the code under test sleeps; nothing really waits.

    ``then[n]`` runs after the n-th sleep: what AWS finished meanwhile.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self.then: dict[int, Callable[[], object]] = {}

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept.append(seconds)
        action = self.then.get(len(self.slept))
        if action is not None:
            action()


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def runtime(env: EmulatedEnvironment, time: FakeTime) -> detect.Runtime:
    """The handler's runtime, as in conftest, waiting on fake time."""
    built = detect.build_runtime(clock=lambda: NOW, sleep=time.sleep)
    built.once.register(LambdaContextStub())  # type: ignore[arg-type]
    return built


@pytest.fixture
def policy(policy: Policy) -> Policy:
    """The example policy, enforcing at once (no grace period), with unapproved accounts remediated."""
    rules = {**policy.rules, "account-not-approved": RuleSettings(action="remediate")}
    return replace(policy, mode=Mode.ENFORCE, rules=rules, enforcement=Enforcement(grace_period_hours=0))


def prod_instances(env: EmulatedEnvironment) -> list[str]:
    return [i.instance_arn for i in env.identity_center.instances(PROD)]


def the_alert(env: EmulatedEnvironment) -> dict[str, Any]:
    alerts = env.received_alerts()
    assert len(alerts) == 1, alerts
    body: dict[str, Any] = alerts[0]["body"]
    return body


def new_delivery(name: str) -> dict[str, Any]:
    event = sample(name)
    event["detail"]["eventID"] = str(uuid.uuid4())
    return event


def deletions(env: EmulatedEnvironment) -> int:
    """DeleteInstance calls served in Prod so far (a test's own setup included)."""
    return len(
        [c for c in env.identity_center.calls if c.account == PROD and c.operation == "DeleteInstance"]
    )


def pending_instance(
    env: EmulatedEnvironment, status: str = "CREATE_IN_PROGRESS"
) -> tuple[str, dict[str, Any]]:
    """A new instance in Prod (eu-central-1) in ``status``, and the event of its creation."""
    # One instance per account: remove the seeded one first.
    administrator_client(PROD, "sso-admin", region="eu-west-1").delete_instance(InstanceArn=PROD_INSTANCE_ARN)
    arn = env.identity_center.seed_instance(
        PROD,
        "eu-central-1",
        name="pending",
        status=status,  # type: ignore[arg-type]
        tags=PENDING_TAGS,
    )
    event = sample("create-instance-console-success")
    event["detail"]["awsRegion"] = event["region"] = "eu-central-1"
    event["detail"]["responseElements"]["instanceArn"] = arn
    return arn, event


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
    env: EmulatedEnvironment, runtime: detect.Runtime, time: FakeTime
) -> None:
    # A new instance that stays CREATE_IN_PROGRESS for longer than the function waits.
    arn, event = pending_instance(env)
    deletes = deletions(env)
    detect.process(event, runtime)

    body = the_alert(env)
    # While CREATE_IN_PROGRESS only Describe and Delete answer, so its tags are missing: withheld.
    assert body["action"] == "alert"
    assert body["action_reason"].startswith("remediation withheld")
    reasons = {m["fact"]: m["reason"] for m in body["missing_facts"]}
    assert "still being created" in reasons["instance"]
    assert {u["missing_fact"] for u in body["undetermined"]} == {"instance"}
    assert arn in prod_instances(env)
    assert deletions(env) == deletes
    # It was described again after each wait of the backoff, all within the gathering's deadline.
    assert time.slept == [1.0, 2.0, 4.0, 8.0]
    assert sum(time.slept) < GatherSettings(member_role_name="any", regions=()).deadline_seconds
    describes = [
        c for c in env.identity_center.calls if c.account == PROD and c.operation == "DescribeInstance"
    ]
    assert len(describes) == 1 + len(time.slept)


def test_an_instance_that_settles_while_the_function_waits_is_fully_checked(
    env: EmulatedEnvironment, runtime: detect.Runtime, time: FakeTime
) -> None:
    arn, event = pending_instance(env)
    time.then[2] = env.identity_center.complete_pending  # creation ends during the second wait
    detect.process(event, runtime)

    body = the_alert(env)
    assert time.slept == [1.0, 2.0]
    assert (body["missing_facts"], body["undetermined"]) == ([], [])
    assert body["instance"]["status"] == "ACTIVE"
    assert body["instance"]["tags"] == PENDING_TAGS  # read once it was ACTIVE
    assert body["verdict"] == "violation"
    assert "account-not-approved" in {f["rule"] for f in body["findings"]}
    # Every fact in, the instance ACTIVE and owned by Prod: the policy's remediation goes ahead.
    assert (body["action"], body["remediation"]["status"]) == ("delete-instance", "deleted")
    assert arn not in prod_instances(env)


def test_an_instance_whose_creation_failed_is_not_waited_for(
    env: EmulatedEnvironment, runtime: detect.Runtime, time: FakeTime
) -> None:
    arn, event = pending_instance(env, status="CREATE_FAILED")
    deletes = deletions(env)
    detect.process(event, runtime)

    body = the_alert(env)
    assert time.slept == []
    assert body["action"] == "alert"
    assert "instance" in {m["fact"] for m in body["missing_facts"]}
    assert arn in prod_instances(env)
    assert deletions(env) == deletes


def test_the_wait_for_an_instance_to_settle_ends_before_the_deadline(
    env: EmulatedEnvironment, time: FakeTime
) -> None:
    _, event = pending_instance(env)
    settings = dataclasses.replace(runtime_settings(), deadline_seconds=8.0)
    gatherer = FactGatherer(AwsClients(), settings, clock=time.clock, sleep=time.sleep)

    facts = gatherer.gather(parse_api_call(event))

    # Waits of 1 and 2 s leave 5 s; one of 4 s would leave too little to describe and read tags.
    assert time.slept == [1.0, 2.0]
    reasons = {m.fact: m.reason for m in facts.missing}
    assert reasons == {
        "instance": "the instance was still being created (CREATE_IN_PROGRESS) after 3 s of waiting; "
        "its tags cannot be read before it is ACTIVE",
        "applications": "needs instance, which is missing",
    }


def move_prod_to(env: EmulatedEnvironment, ou_path: str) -> None:
    """An administrator moves the Prod account, as in the Organizations console."""
    organizations = administrator_client(MANAGEMENT_ACCOUNT_ID, "organizations")
    (parent,) = organizations.list_parents(ChildId=PROD)["Parents"]
    organizations.move_account(
        AccountId=PROD, SourceParentId=parent["Id"], DestinationParentId=env.organization.ou_ids[ou_path]
    )


def test_an_account_moved_into_an_approved_ou_within_the_cache_window_keeps_its_instance(
    env: EmulatedEnvironment, runtime: detect.Runtime
) -> None:
    """The audit's case: the cached OU chain says Workloads/Prod, Organizations says Sandbox."""
    detect.process(sample("create-instance-denied-by-scp"), runtime)  # the SCP denies; Prod is cached
    assert the_alert(env)["ou_path"] == "Workloads/Prod"
    move_prod_to(env, "Sandbox")  # the administrator approves the team's account...

    with AwsWire() as wire, wire.recording() as calls:
        detect.process(sample("create-instance-console-success"), runtime)  # ...and the team retries

    body = the_alert(env)
    assert body["ou_path"] == "Sandbox"
    assert "account-not-approved" not in {f["rule"] for f in body["findings"]}
    assert body["action"] != "delete-instance"
    assert body["remediation"] is None
    assert prod_instances(env) == [PROD_INSTANCE_ARN]
    assert deletions(env) == 0
    # The cached facts asked for the deletion: the organization was read again to confirm it.
    assert ("organizations", "ListParents") in {(c.service, c.operation) for c in calls}

    # What was read refreshed the cache: the next event sees Sandbox without reading it again.
    # (Another caller's attempt: the same one repeated would be held back as a series.)
    another = new_delivery("create-instance-denied-by-scp")
    another["detail"]["userIdentity"]["arn"] = "arn:aws:iam::444444444444:user/dave"
    with AwsWire() as wire, wire.recording() as calls:
        detect.process(another, runtime)
    assert the_alert(env)["ou_path"] == "Sandbox"
    assert [c for c in calls if c.service == "organizations"] == []


def test_a_still_unapproved_account_loses_its_instance_on_facts_read_fresh(
    env: EmulatedEnvironment, runtime: detect.Runtime
) -> None:
    detect.process(sample("create-instance-denied-by-scp"), runtime)  # every organization fact cached
    env.received_alerts()

    with AwsWire() as wire, wire.recording() as calls:
        detect.process(sample("create-instance-console-success"), runtime)

    body = the_alert(env)
    assert body["ou_path"] == "Workloads/Prod"
    assert (body["action"], body["remediation"]["status"]) == ("delete-instance", "deleted")
    assert prod_instances(env) == []
    # Although all of it was cached, the organization was read again before deleting.
    read_again = {c.operation for c in calls if c.service == "organizations"}
    assert {
        "DescribeOrganization",
        "DescribeAccount",
        "ListParents",
        "DescribeOrganizationalUnit",
        "ListPoliciesForTarget",
        "DescribePolicy",
    } <= read_again
    operations = [(c.service, c.operation) for c in calls]
    assert operations.index(("sso-admin", "DeleteInstance")) > max(
        i for i, (service, _) in enumerate(operations) if service == "organizations"
    )


def test_with_nothing_to_delete_a_warm_function_reads_nothing_from_organizations(
    env: EmulatedEnvironment, runtime: detect.Runtime
) -> None:
    detect.process(sample("create-instance-denied-by-scp"), runtime)
    env.received_alerts()
    another = new_delivery("create-instance-denied-by-scp")  # another caller's: news, not a repeat
    another["detail"]["userIdentity"]["arn"] = "arn:aws:iam::444444444444:user/dave"
    with AwsWire() as wire, wire.recording() as calls:
        detect.process(another, runtime)
    assert the_alert(env)["action"] != "delete-instance"
    assert [c for c in calls if c.service == "organizations"] == []


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
    env: EmulatedEnvironment, runtime: detect.Runtime, time: FakeTime
) -> None:
    event = sample("create-instance-console-success")
    with AwsWire() as wire:
        wire.fail("sso-admin", "DeleteInstance", error=ACCESS_DENIED)
        detect.process(event, runtime)
        body = env.received_alerts()[0]["body"]
        assert body["remediation"]["status"] == "failed"
        assert "AccessDenied" in body["remediation"]["detail"]
        assert prod_instances(env) == [PROD_INSTANCE_ARN]

        # Conflicts that outlast the in-invocation backoff hand the event back to Lambda's retry.
        wire.heal()
        busy = AwsError("ConflictException", 409, "busy")
        wire.fail("sso-admin", "DeleteInstance", error=busy, times=len(BACKOFF) + 1)
        retried = {**event, "detail": {**event["detail"], "eventID": "another-delivery"}}
        with pytest.raises(RetryRemediation):
            detect.process(retried, runtime)
        assert env.received_alerts() == []  # nothing published: the retry will
        assert time.slept == list(BACKOFF)
        assert prod_instances(env) == [PROD_INSTANCE_ARN]
        assert detect.process(retried, runtime)["status"] == "alerted"
        assert env.received_alerts()[0]["body"]["remediation"]["status"] == "deleted"
    assert prod_instances(env) == []


def test_a_passing_conflict_is_waited_out_within_the_invocation(
    env: EmulatedEnvironment, runtime: detect.Runtime, time: FakeTime
) -> None:
    with AwsWire() as wire:
        wire.fail("sso-admin", "DeleteInstance", error=AwsError("ConflictException", 409, "busy"), times=1)
        assert detect.process(sample("create-instance-console-success"), runtime)["status"] == "alerted"
    assert env.received_alerts()[0]["body"]["remediation"]["status"] == "deleted"
    assert time.slept[0] == BACKOFF[0]
    assert prod_instances(env) == []


@pytest.mark.parametrize(
    ("delete_immediately", "expected"),
    [
        (True, "the instance no longer exists"),
        (False, "the instance is now DELETE_IN_PROGRESS, not deleted by the guardrail"),
    ],
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
    guard = DeletionGuard(AwsClients().client("dynamodb"), env.idempotency_table_name, max_per_hour=3)
    result = InstanceRemediator(gatherer.member_clients, guard).delete(facts, holder="an event")

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


def test_when_the_fresh_reading_fails_nothing_is_deleted_and_the_alert_says_why(
    env: EmulatedEnvironment, runtime: detect.Runtime
) -> None:
    """The cached facts call for a deletion, but Organizations refuses the confirming reads."""
    detect.process(sample("create-instance-denied-by-scp"), runtime)  # every organization fact cached
    env.received_alerts()

    with AwsWire() as wire:
        refused = wire.fail("organizations", error=ACCESS_DENIED)
        detect.process(sample("create-instance-console-success"), runtime)

    assert refused.hits >= 1  # only the confirming reads went to Organizations: the rest was cached
    body = the_alert(env)
    assert body["action"] not in {"delete-instance", "would-delete-instance"}
    assert body["remediation"] is None
    assert {"organization", "account"} <= {m["fact"] for m in body["missing_facts"]}
    assert prod_instances(env) == [PROD_INSTANCE_ARN]
    assert deletions(env) == 0


# -- bounded in time: no call outlives the invocation, and a slow AWS never loses a deletion -------


@dataclasses.dataclass(frozen=True)
class EndingContext(LambdaContextStub):
    """An invocation about to end: the claim it holds expires at once, as Lambda's timeout makes it."""

    def get_remaining_time_in_millis(self) -> int:
        return 1


def causes(error: BaseException) -> list[BaseException]:
    """The error and what it was raised from or during, innermost last."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def root_cause(error: BaseException) -> BaseException:
    return causes(error)[-1]


def delete_calls(env: EmulatedEnvironment) -> int:
    return len([c for c in env.identity_center.calls if c.operation == "DeleteInstance"])


def test_a_lost_answer_to_delete_instance_is_still_reported_as_the_deletion_it_was(
    env: EmulatedEnvironment, runtime: detect.Runtime
) -> None:
    """DeleteInstance reached AWS, its answer did not come back, and botocore's retry met the
    instance already gone: deleted, not `skipped: the instance no longer exists`."""
    with AwsWire() as wire:
        wire.fail("sso-admin", "DeleteInstance", error=LOST_ANSWER, times=1)
        detect.process(sample("create-instance-console-success"), runtime)
    body = env.received_alerts()[0]["body"]
    assert body["remediation"]["status"] == "deleted"
    assert delete_calls(env) == 2  # the unanswered attempt and botocore's retry
    assert prod_instances(env) == []


def test_time_running_out_after_the_deletion_leaves_the_retry_to_say_it_was_done(
    env: EmulatedEnvironment, runtime: detect.Runtime
) -> None:
    """The invocation has 3 s left once DeleteInstance is accepted: nothing more is attempted (the
    follow-up reads, the alert), it fails, and its retry reports the deletion, not a skip."""
    assert runtime.budget is not None
    runtime.budget.begin(lambda: 3.0 if delete_calls(env) else 60.0)
    runtime.once.register(EndingContext())  # type: ignore[arg-type]
    event = sample("create-instance-console-success")
    with pytest.raises(IdempotencyPersistenceLayerError) as failed:  # not even the claim's release fits
        detect.process(event, runtime)
    assert "OutOfTime" in str(root_cause(failed.value))  # the alert was not even attempted
    assert env.received_alerts() == []
    assert prod_instances(env) == []

    runtime.budget.begin(None)  # Lambda's retry: a new invocation, with its whole time
    runtime.once.register(LambdaContextStub())  # type: ignore[arg-type]
    assert detect.process(event, runtime)["status"] == "alerted"
    body = env.received_alerts()[0]["body"]
    assert body["remediation"]["status"] == "deleted"
    assert "an earlier attempt" in body["remediation"]["detail"]
    assert delete_calls(env) == 1


def test_too_little_time_to_delete_deletes_nothing_and_the_retry_does(
    env: EmulatedEnvironment, runtime: detect.Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """5 s are left when the remediator starts: not even its DescribeInstance fits."""
    assert runtime.budget is not None
    left = [60.0]
    runtime.budget.begin(lambda: left[0])
    delete = remediate.InstanceRemediator.delete

    def late_delete(remediator: InstanceRemediator, facts: Any, holder: str) -> Any:
        left[0] = 5.0  # both readings of the facts are in; what follows must fit in 5 s
        return delete(remediator, facts, holder)

    monkeypatch.setattr(remediate.InstanceRemediator, "delete", late_delete)
    runtime.once.register(EndingContext())  # type: ignore[arg-type]
    event = sample("create-instance-console-success")
    with pytest.raises(IdempotencyPersistenceLayerError) as failed:
        detect.process(event, runtime)
    assert any(isinstance(e, RetryRemediation) for e in causes(failed.value))
    monkeypatch.undo()
    assert (delete_calls(env), prod_instances(env), env.received_alerts()) == (0, [PROD_INSTANCE_ARN], [])

    runtime.budget.begin(None)
    runtime.once.register(LambdaContextStub())  # type: ignore[arg-type]
    detect.process(event, runtime)
    assert env.received_alerts()[0]["body"]["remediation"]["status"] == "deleted"
    assert prod_instances(env) == []
