"""Enforcement against a stateful model: random interleavings of what owners, AWS and an attacker
do, played on the emulated organization through the real detect handler, with the documented
promises checked after every step.

What happens: instances are created, tagged and untagged (each with its CloudTrail event), accounts
move between an approved and an unapproved OU, exemptions are granted and run out, the policy
switches between enforce and dry-run, applications are attached, owners delete their own instances,
the clock moves, Scheduler fires what is due (late, twice, from two environments at once, beside a
tag change of the same instance), AWS throttles, times out or refuses any read or DeleteInstance,
and someone invokes the function with deletion-due inputs the guardrail never scheduled. Several
accounts fall due at once, against a small hourly cap.

After every step (docs/enforcement.md lists the same):
- no instance is deleted before the latest grace deadline of the remediating rules broken then (a
  rule's deadline counted, generously, from the first moment it was ever broken);
- none is deleted that is compliant or exempted, the organization instance, not ACTIVE, serving
  applications without the policy's consent, or while the policy is in dry-run;
- at most the cap of deletions in any hour; at most one DeleteInstance per instance reaches AWS;
- every alert has an id of its own.
When the example ends, the world is made quiet (faults healed, dead-lettered invocations
replayed as an operator would, time run on): every pending deletion ends, deleted or cancelled.

`GUARDRAIL_MODEL_EXAMPLES` and `GUARDRAIL_MODEL_STEPS` (or `make fuzz`) run it longer.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from unittest import mock

import hypothesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from emulator.environment import EmulatedEnvironment
from emulator.function_environment import handler_environment
from emulator.organization import MANAGEMENT_ACCOUNT_ID, administrator_client
from emulator.scheduler import due_schedules, schedules
from emulator.wire import ACCESS_DENIED, READ_TIMEOUT, THROTTLING, AwsError, AwsWire, Timeout
from guardrail.core.policy import Approvals, Enforcement, Exemption, Mode, Policy, RuleSettings, policy_data
from guardrail.handlers import detect
from guardrail.pipeline.patterns import INSTANCE_EVENT_PATTERN, matches
from guardrail_cli.emulated import LambdaContextStub
from tests.builders import sample, tag_event

EXAMPLES = int(os.environ.get("GUARDRAIL_MODEL_EXAMPLES", "10"))
STEPS = int(os.environ.get("GUARDRAIL_MODEL_STEPS", "25"))
START = datetime(2026, 11, 10, 9, 30, tzinfo=UTC)
REGION = "us-east-1"
APPROVED_OU, UNAPPROVED_OU = "Sandbox", "Fleet"
# The two rules the model's policy remediates, each with its own grace period.
NOT_APPROVED, UNJUSTIFIED = "account-not-approved", "missing-justification"
ORGANIZATION_INSTANCE = "arn:aws:sso:::instance/ssoins-00000000000000aa"
# Lambda's asynchronous invocations: the first attempt and two retries, then the dead-letter queue.
ATTEMPTS = 3
FAULTS: dict[str, AwsError | Timeout] = {
    "throttling": THROTTLING,
    "timeout": READ_TIMEOUT,
    "access-denied": ACCESS_DENIED,
}
FAULTED_CALLS = [
    ("sso-admin", "DescribeInstance"),
    ("sso-admin", "ListTagsForResource"),
    ("sso-admin", "ListApplications"),
    ("sso-admin", "ListInstances"),
    ("sso-admin", "DeleteInstance"),
    ("organizations", "*"),
    ("sts", "AssumeRole"),
    ("scheduler", "*"),
    ("dynamodb", "*"),
    ("sns", "Publish"),
]


def note(what: str, detail: str = "") -> None:
    """A figure for `--hypothesis-show-statistics` (Hypothesis takes them from the test's thread only)."""
    if threading.current_thread() is threading.main_thread():
        hypothesis.event(what, detail)


@dataclass
class Instance:
    """An account instance as the model knows the truth of it."""

    arn: str
    account: str
    tags: dict[str, str]
    applications: int = 0
    # When each remediating rule was first broken (exempted or not), in the instance's life.
    first_broken: dict[str, datetime] = field(default_factory=dict)
    gone: bool = False


class EnforcementModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.stack = ExitStack()
        self.env = self.stack.enter_context(EmulatedEnvironment(seed_instances=False))
        self.env.identity_center.seed_instance(
            MANAGEMENT_ACCOUNT_ID, REGION, name="organization", instance_arn=ORGANIZATION_INSTANCE
        )
        self.accounts = self.env.add_member_accounts(4, ou_path=UNAPPROVED_OU)
        self.ou = dict.fromkeys(self.accounts, UNAPPROVED_OU)
        self.wire = self.stack.enter_context(AwsWire())
        self.policy_path = Path(self.stack.enter_context(TemporaryDirectory())) / "policy.json"
        self.policy = Policy()
        self.policy_path.write_text(json.dumps(policy_data(self.policy)))
        self.stack.enter_context(
            mock.patch.dict(
                os.environ,
                {
                    **handler_environment(self.env, self.policy_path),
                    "CHAT_TOPIC_ARN": self.env.chat_topic_arn,
                },
            )
        )
        self.now = START
        self.instances: dict[str, Instance] = {}  # by account
        self.exemptions: list[Exemption] = []
        self.mode = Mode.ENFORCE
        self.grace: dict[str, int] = {}
        self.cap = 1
        self.deletions_by_hour: Counter[str] = Counter()
        self.guardrail_delete_calls: Counter[str] = Counter()
        self.alert_ids: set[str] = set()
        self.dead_lettered: list[dict[str, Any]] = []
        self.served = 0  # DeleteInstance calls the emulation served, checked so far
        self.runtime: detect.Runtime | None = None

    # -- the world ------------------------------------------------------------------------------------
    def clock(self) -> datetime:
        return self.now

    def deploy(self) -> None:
        """Ship the current policy and start a fresh function with it, as a deployment does."""
        rules = {
            NOT_APPROVED: RuleSettings(action="remediate", grace_period_hours=self.grace[NOT_APPROVED]),
            UNJUSTIFIED: RuleSettings(action="remediate", grace_period_hours=self.grace[UNJUSTIFIED]),
        }
        self.policy = Policy(
            mode=self.mode,
            approved=Approvals(organizational_units=(APPROVED_OU,)),
            rules=rules,
            exemptions=tuple(self.exemptions),
            enforcement=Enforcement(grace_period_hours=0, max_deletions_per_hour=self.cap),
        )
        self.policy_path.write_text(json.dumps(policy_data(self.policy)))
        detect.runtime.cache_clear()
        self.runtime = self.fresh_runtime()

    def fresh_runtime(self) -> detect.Runtime:
        """A new execution environment of the function (a cold start), on the model's clock."""
        runtime = detect.build_runtime(clock=self.clock, sleep=lambda seconds: None)
        runtime.once.register(LambdaContextStub())  # type: ignore[arg-type]
        return runtime

    def invoke(self, event: dict[str, Any], runtime: detect.Runtime | None = None) -> dict[str, Any] | None:
        """One asynchronous invocation: retried by Lambda when it fails, then dead-lettered."""
        runtime = runtime or self.runtime
        assert runtime is not None
        for _ in range(ATTEMPTS):
            try:
                result = detect.process(event, runtime)
            except Exception as error:  # Lambda retries a failed invocation
                note("an invocation failed", type(error).__name__)
                continue
            note("outcome", str(result.get("status")))
            return result
        note("dead-lettered after Lambda's retries")
        self.dead_lettered.append(event)
        return None

    def deliver(self, event: dict[str, Any]) -> None:
        """What the deployed rules deliver reaches the function; CloudTrail dates it now."""
        detail = event["detail"]
        detail["eventTime"] = event["time"] = self.now.isoformat().replace("+00:00", "Z")
        if matches(INSTANCE_EVENT_PATTERN, event):
            self.invoke(event)

    def instance_of(self, index: int) -> Instance | None:
        found = self.instances.get(self.accounts[index % len(self.accounts)])
        return found if found is not None and not found.gone else None

    def sso(self, account: str) -> Any:
        """The owner's own client in `account` (assumed past any fault the model injected)."""
        with self.wire.bystanding():
            return administrator_client(account, "sso-admin", region=REGION)

    def due(self) -> list[Any]:
        """What Scheduler fires now (the model looks at the world past any fault it injected)."""
        with self.wire.bystanding():
            return due_schedules(self.env.scheduler_client(), self.env.deletion_schedule_group, self.now)

    def pending(self) -> list[dict[str, Any]]:
        with self.wire.bystanding():
            return [s.input for s in schedules(self.env.scheduler_client(), self.env.deletion_schedule_group)]

    # -- what the truth says ----------------------------------------------------------------------------
    def broken(self, instance: Instance) -> set[str]:
        """The remediating rules the instance breaks now (exemptions aside)."""
        broken = set()
        if self.ou[instance.account] != APPROVED_OU:
            broken.add(NOT_APPROVED)
        if instance.tags.get("purpose") != "isolated-users" or not instance.tags.get("owner"):
            broken.add(UNJUSTIFIED)
        return broken

    def exempted(self, instance: Instance, rule_id: str) -> bool:
        today = self.now.date()
        return any(
            x.instance_arn == instance.arn and x.expires >= today and (not x.rules or rule_id in x.rules)
            for x in self.exemptions
        )

    def note_broken(self) -> None:
        for instance in self.instances.values():
            for rule_id in self.broken(instance):
                instance.first_broken.setdefault(rule_id, self.now)

    # -- the promises --------------------------------------------------------------------------------
    def check_deletions(self) -> None:
        """Every DeleteInstance the guardrail got AWS to serve since the last step was allowed."""
        served = [c for c in self.env.identity_center.calls if c.operation == "DeleteInstance"]
        new, self.served = served[self.served :], len(served)
        for call in new:
            instance = self.instances.get(call.account)
            assert instance is not None, f"DeleteInstance in {call.account}, which has no account instance"
            self.guardrail_delete_calls[instance.arn] += 1
            assert self.guardrail_delete_calls[instance.arn] == 1, (
                f"a second DeleteInstance of {instance.arn}"
            )
            assert call.account != MANAGEMENT_ACCOUNT_ID, "the organization instance was deleted"
            assert self.mode is Mode.ENFORCE, "deleted in dry-run"
            assert instance.applications == 0, "deleted an instance serving applications"
            demanding = {r for r in self.broken(instance) if not self.exempted(instance, r)}
            assert demanding, f"deleted {instance.arn}, which no remediating rule faults"
            for rule_id in demanding:
                deadline = instance.first_broken[rule_id] + timedelta(hours=self.grace[rule_id])
                assert deadline <= self.now, f"deleted before {rule_id}'s grace period ended ({deadline})"
            hour = self.now.strftime("%Y-%m-%dT%H")
            self.deletions_by_hour[hour] += 1
            note("an instance deleted by the guardrail")
            assert self.deletions_by_hour[hour] <= self.cap, f"more than {self.cap} deletions in {hour}"
            instance.gone = True

    def check_alerts(self) -> None:
        with self.wire.bystanding():
            received = self.env.received_alerts()
        for alert in received:
            identifier = alert["body"]["alert_id"]
            assert identifier not in self.alert_ids, f"two alerts share the id {identifier}"
            self.alert_ids.add(identifier)

    @invariant()
    def promises_hold(self) -> None:
        if self.runtime is None:
            return
        self.check_deletions()
        self.check_alerts()
        self.note_broken()

    # -- the steps -------------------------------------------------------------------------------------
    @initialize(
        grace_not_approved=st.sampled_from([0, 2, 30]),
        grace_unjustified=st.sampled_from([0, 5, 72]),
        cap=st.sampled_from([1, 2]),
    )
    def start(self, grace_not_approved: int, grace_unjustified: int, cap: int) -> None:
        self.grace = {NOT_APPROVED: grace_not_approved, UNJUSTIFIED: grace_unjustified}
        self.cap = cap
        self.deploy()

    @rule(index=st.integers(0, 3), purpose=st.booleans(), owner=st.booleans())
    def create_instance(self, index: int, purpose: bool, owner: bool) -> None:
        account = self.accounts[index]
        if self.instance_of(index) is not None:
            return
        tags = {
            **({"purpose": "isolated-users"} if purpose else {}),
            **({"owner": "bob@example.com"} if owner else {}),
        }
        with self.wire.bystanding():
            arn = self.sso(account).create_instance(
                Name=f"model-{account}", Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
            )["InstanceArn"]
        self.instances[account] = Instance(arn, account, tags)
        self.note_broken()
        event = sample("create-instance-console-success")
        detail = event["detail"]
        event["account"] = detail["recipientAccountId"] = detail["userIdentity"]["accountId"] = account
        event["region"] = detail["awsRegion"] = REGION
        detail["eventID"] = str(uuid.uuid4())
        detail["responseElements"]["instanceArn"] = arn
        self.deliver(event)

    @rule(index=st.integers(0, 3), key=st.sampled_from(["purpose", "owner"]), present=st.booleans())
    def retag(self, index: int, key: str, present: bool) -> None:
        instance = self.instance_of(index)
        if instance is None:
            return
        value = {"purpose": "isolated-users", "owner": "carol@example.com"}[key]
        client = self.sso(instance.account)
        if present:
            with self.wire.bystanding():
                client.tag_resource(
                    InstanceArn=instance.arn, ResourceArn=instance.arn, Tags=[{"Key": key, "Value": value}]
                )
            instance.tags[key] = value
            event = tag_event("TagResource", instance.arn, tags={key: value}, account_id=instance.account)
        else:
            with self.wire.bystanding():
                client.untag_resource(InstanceArn=instance.arn, ResourceArn=instance.arn, TagKeys=[key])
            instance.tags.pop(key, None)
            event = tag_event("UntagResource", instance.arn, tag_keys=(key,), account_id=instance.account)
        self.note_broken()
        self.deliver(event)

    @rule(index=st.integers(0, 3), approved=st.booleans())
    def move_account(self, index: int, approved: bool) -> None:
        """An OU move is no instance event: the guardrail learns of it when it next reads."""
        account = self.accounts[index]
        target = APPROVED_OU if approved else UNAPPROVED_OU
        if self.ou[account] == target:
            return
        with self.wire.bystanding():
            organizations = administrator_client(MANAGEMENT_ACCOUNT_ID, "organizations", region=REGION)
            [parent] = organizations.list_parents(ChildId=account)["Parents"]
            root = organizations.list_roots()["Roots"][0]["Id"]
            listed = organizations.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
            units = {u["Name"]: u["Id"] for u in listed}
            organizations.move_account(
                AccountId=account, SourceParentId=parent["Id"], DestinationParentId=units[target]
            )
        self.ou[account] = target

    @rule(index=st.integers(0, 3), only_approval=st.booleans(), days=st.integers(0, 4))
    def exempt(self, index: int, only_approval: bool, days: int) -> None:
        instance = self.instance_of(index)
        if instance is None:
            return
        self.exemptions.append(
            Exemption(
                instance_arn=instance.arn,
                expires=self.now.date() + timedelta(days=days),
                ticket="SEC-1",
                reason="kept for a review",
                rules=(NOT_APPROVED,) if only_approval else (),
            )
        )
        self.deploy()

    @rule(enforce=st.booleans())
    def switch_mode(self, enforce: bool) -> None:
        self.mode = Mode.ENFORCE if enforce else Mode.DRY_RUN
        self.deploy()

    @rule(index=st.integers(0, 3))
    def attach_application(self, index: int) -> None:
        instance = self.instance_of(index)
        if instance is None:
            return
        self.env.identity_center.attach_application(instance.arn, name="q-business")
        instance.applications += 1

    @rule(index=st.integers(0, 3))
    def owner_deletes(self, index: int) -> None:
        instance = self.instance_of(index)
        if instance is None:
            return
        self.check_deletions()  # what the guardrail did before is checked before the owner acts
        with self.wire.bystanding():
            self.sso(instance.account).delete_instance(InstanceArn=instance.arn)
        self.served += 1  # the owner's own call
        instance.gone = True
        event = sample("delete-instance")
        detail = event["detail"]
        event["account"] = detail["recipientAccountId"] = detail["userIdentity"]["accountId"] = (
            instance.account
        )
        event["region"] = detail["awsRegion"] = REGION
        detail["eventID"] = str(uuid.uuid4())
        detail["requestParameters"] = {"instanceArn": instance.arn}
        self.deliver(event)

    @rule(hours=st.integers(1, 80))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        self.env.identity_center.complete_pending()  # deletions under way finish

    @rule(twice=st.booleans(), concurrently=st.booleans())
    def scheduler_fires(self, twice: bool, concurrently: bool) -> None:
        """Scheduler at the model's time (late, as the clock may have run past the due times):
        at least once, sometimes twice, sometimes from two environments at once."""
        for schedule in self.due():
            if concurrently:
                self.at_once([schedule.input, schedule.input])
            else:
                self.invoke(schedule.input)
                if twice:
                    self.invoke(schedule.input)

    @rule()
    def firings_race_tag_changes(self) -> None:
        """Three triggers for one instance at once: each due schedule's firing, and two tag changes of
        its instance (each an event of its own), from execution environments of their own."""
        due = self.due()  # what Scheduler fires is handed to the function, whatever else happens
        racing: list[dict[str, Any]] = []
        for schedule in due:
            instance = next(
                (i for i in self.instances.values() if i.arn == schedule.input["instance_arn"]), None
            )
            if instance is None or instance.gone:
                continue
            with self.wire.bystanding():
                self.sso(instance.account).tag_resource(
                    InstanceArn=instance.arn, ResourceArn=instance.arn, Tags=[{"Key": "note", "Value": "x"}]
                )
            instance.tags["note"] = "x"
            for _ in range(2):
                event = tag_event(
                    "TagResource", instance.arn, tags={"note": "x"}, account_id=instance.account
                )
                event["detail"]["eventTime"] = event["time"] = self.now.isoformat().replace("+00:00", "Z")
                racing.append(event)
        self.at_once([*(s.input for s in due), *racing])

    @rule()
    def the_organization_instance_is_retagged(self) -> None:
        with self.wire.bystanding():
            self.sso(MANAGEMENT_ACCOUNT_ID).tag_resource(
                InstanceArn=ORGANIZATION_INSTANCE,
                ResourceArn=ORGANIZATION_INSTANCE,
                Tags=[{"Key": "cost-center", "Value": "identity"}],
            )
        event = tag_event(
            "TagResource",
            ORGANIZATION_INSTANCE,
            tags={"cost-center": "identity"},
            account_id=MANAGEMENT_ACCOUNT_ID,
        )
        self.deliver(event)

    def at_once(self, inputs: list[dict[str, Any]]) -> None:
        """Each input in an execution environment of its own, all at the same time."""
        runtimes = [self.fresh_runtime() for _ in inputs]
        threads = [
            threading.Thread(target=self.invoke, args=(i, r)) for i, r in zip(inputs, runtimes, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    @rule(index=st.integers(0, 3), early=st.booleans())
    def someone_invokes_a_forged_firing(self, index: int, early: bool) -> None:
        """The function invoked with a deletion-due input the guardrail did not schedule: every
        rule's deadline long past, and a due time of the attacker's choosing (now, to skip the grace
        period, or any other), for an instance with a pending deletion or without one."""
        instance = self.instance_of(index)
        if instance is None:
            return
        mine = next((p for p in self.pending() if p["instance_arn"] == instance.arn), None)
        long_ago = (START - timedelta(days=365)).isoformat()
        forged = {
            "kind": "deletion-due",
            "instance_arn": instance.arn,
            "account_id": instance.account,
            "region": REGION,
            "demands": {NOT_APPROVED: long_ago, UNJUSTIFIED: long_ago},
            "scheduled_at": long_ago,
            "due": (self.now if early else self.now - timedelta(days=3)).isoformat(),
        }
        if mine is not None and forged["due"] == mine["due"]:
            return  # that is the real schedule's own due time
        result = self.invoke(forged)
        assert result is not None, "a forged firing made the function fail rather than refuse it"
        assert result["status"] in ("rejected", "duplicate"), result

    @rule(fault=st.sampled_from(sorted(FAULTS)), call=st.sampled_from(FAULTED_CALLS), times=st.integers(1, 4))
    def aws_misbehaves(self, fault: str, call: tuple[str, str], times: int) -> None:
        self.wire.fail(call[0], call[1], error=FAULTS[fault], times=times)

    @rule()
    def aws_recovers(self) -> None:
        self.wire.heal()

    # -- the end: a quiet world ------------------------------------------------------------------------
    def teardown(self) -> None:
        try:
            if self.runtime is not None:
                self.quiet_world_settles()
        finally:
            detect.runtime.cache_clear()
            self.stack.close()

    def quiet_world_settles(self) -> None:
        """Faults healed and dead letters replayed, time runs on: every pending deletion ends."""
        self.wire.heal()
        self.check_deletions()
        for event in self.dead_lettered:  # an operator replays the dead-letter queue (docs/operations.md)
            self.invoke(event)
            self.check_deletions()
        for _ in range(24 * 8):
            if not self.pending():
                break
            self.now += timedelta(hours=1)
            self.env.identity_center.complete_pending()
            self.note_broken()
            for schedule in self.due():
                self.invoke(schedule.input)
                self.check_deletions()
        left = [pending["instance_arn"] for pending in self.pending()]
        assert left == [], f"pending deletions that never ended: {left}"
        self.check_alerts()


EnforcementModel.TestCase.settings = settings(
    max_examples=EXAMPLES,
    # The same examples every run in CI (the calls they make are held to tests/iam/calls.json);
    # `make fuzz` explores new ones.
    derandomize=not os.environ.get("GUARDRAIL_MODEL_RANDOM"),
    # Shrinking replays whole worlds: bounded, so that a failure is reported in minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
    + ([Phase.shrink] if os.environ.get("GUARDRAIL_MODEL_SHRINK") else []),
    stateful_step_count=STEPS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_enforcement_keeps_its_promises = EnforcementModel.TestCase
