"""The function on the emulated AWS, set up for measuring: events, runtimes and the wire tap."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import boto3

from emulator.environment import PROD_INSTANCE_ARN, EmulatedEnvironment
from emulator.function_environment import handler_environment
from emulator.wire import AwsWire, WireCall
from guardrail.adapters.clients import AwsClients
from guardrail.core.policy import policy_data
from guardrail.core.policy_file import load_policy
from guardrail_cli.replay import LambdaContextStub

if TYPE_CHECKING:
    from guardrail.handlers.detect import Runtime

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = PROJECT_ROOT / "samples" / "events"
EXAMPLE_POLICY = PROJECT_ROOT / "policy" / "policy.yaml"
CONTEXT: Any = LambdaContextStub()


def sample_event(name: str, **detail: Any) -> dict[str, Any]:
    """A sample event with a new event id and the given detail fields."""
    event: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    event["detail"].update({"eventID": str(uuid.uuid4()), **detail})
    # The envelope states where the call was made too, and must agree with the record.
    event["account"], event["region"] = event["detail"]["recipientAccountId"], event["detail"]["awsRegion"]
    return event


def instance_arn_for(account_id: str) -> str:
    return f"arn:aws:sso:::instance/ssoins-{int(account_id):016x}"


@dataclass
class Bench:
    world: EmulatedEnvironment
    wire: AwsWire

    def runtime(self, session: boto3.session.Session | None = None) -> Runtime:
        """A just-started function: no caches, and a new boto3 session unless one is given (a
        session that served before has its service models loaded, which a cold function has not)."""
        from guardrail.handlers import detect

        built = detect.build_runtime(clients=AwsClients(session or boto3.session.Session()))
        built.once.register(CONTEXT)
        return built

    def serve(self, runtime: Runtime, event: Any) -> tuple[dict[str, Any], list[WireCall]]:
        """One event through the function; its result and the AWS calls it made."""
        from guardrail.handlers import detect

        with self.wire.recording() as calls, contextlib.redirect_stdout(io.StringIO()):
            result = detect.process(event, runtime)
        return result, calls

    def member_accounts(self, count: int, ou_path: str = "Workloads/Prod") -> list[str]:
        """New member accounts in an OU, each with an account instance in eu-west-1."""
        accounts = self.world.add_member_accounts(count, ou_path=ou_path)
        for account in accounts:
            self.world.identity_center.seed_instance(
                account, "eu-west-1", name=f"team-{account}", instance_arn=instance_arn_for(account)
            )
        return accounts

    def drain(self) -> tuple[int, int]:
        return len(self.world.received_alerts()), len(self.world.dead_letters())


def create_event(account_id: str | None = None) -> dict[str, Any]:
    """A console CreateInstance that succeeded, in Prod or in ``account_id`` (seeded by `Bench`)."""
    if account_id is None:
        return sample_event(
            "create-instance-console-success", responseElements={"instanceArn": PROD_INSTANCE_ARN}
        )
    return sample_event(
        "create-instance-console-success",
        recipientAccountId=account_id,
        responseElements={"instanceArn": instance_arn_for(account_id)},
    )


@contextlib.contextmanager
def emulated_function(latency: float = 0.0) -> Iterator[Bench]:
    """The emulated organization with the function's environment pointed at it, and a wire tap."""
    with (
        tempfile.TemporaryDirectory() as scratch,
        EmulatedEnvironment() as world,
    ):
        policy_path = Path(scratch) / "policy.json"
        policy_path.write_text(json.dumps(policy_data(load_policy(EXAMPLE_POLICY))), encoding="utf-8")
        with (
            mock.patch.dict(os.environ, handler_environment(world, policy_path)),
            AwsWire(latency=latency) as wire,
        ):
            from guardrail.handlers import detect

            namespace = detect.metrics.namespace
            detect.metrics.namespace = os.environ["POWERTOOLS_METRICS_NAMESPACE"]
            log = logging.getLogger(detect.logger.name)
            level = log.level
            log.setLevel(logging.CRITICAL)  # rejections log errors: expected here, and noise
            detect.runtime.cache_clear()
            try:
                yield Bench(world, wire)
            finally:
                detect.runtime.cache_clear()
                detect.metrics.namespace = namespace
                log.setLevel(level)
