"""The real detect handler, run event by event against the embedded emulation of an example organization.

The emulation (moto plus the Identity Center model in `emulator`) stands in for AWS: the handler
assumes roles, reads Organizations and sso-admin, claims the event in DynamoDB and publishes to
an SNS topic whose messages are read back from a subscribed queue, as a subscriber receives
them; what it rejects is read back from the dead-letter queue. Before each event the emulation
is made to hold what the event shows to exist (`emulator.announced`).

The function's logs go to standard error, so that standard output holds only the results.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from guardrail.core.policy import Policy, policy_data
from guardrail.environment import (
    DetectEnvironment,
    SweepPlannerEnvironment,
    SweepSummaryEnvironment,
    SweepWorkerEnvironment,
)
from guardrail_cli.report import Outcome


@dataclass(frozen=True)
class LambdaContextStub:
    """The few attributes Powertools reads from a Lambda context."""

    function_name: str = "identity-center-guardrail-detect"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:222222222222:function:identity-center-guardrail-detect"
    )
    aws_request_id: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def handler_environment(env: Any, policy_path: Path) -> dict[str, str]:
    """The function's environment, as the CDK stack sets it, pointed at the emulation."""
    org = env.organization
    function = DetectEnvironment(
        alert_topic_arn=env.topic_arn,
        dead_letter_queue_url=env.dead_letter_queue_url,
        idempotency_table_name=env.idempotency_table_name,
        inventory_table_name=env.inventory_table_name,
        member_role_name=org.member_role_name,
        organizations_role_arn=org.organizations_reader_role_arn,
        instance_regions=("us-east-1", "eu-west-1", "eu-central-1"),
        organization_instance_region="us-east-1",
        policy_path=str(policy_path),
        deletion_schedule_group=env.deletion_schedule_group,
        deletion_target_arn=env.detect_function_arn,
        deletion_scheduler_role_arn=env.deletion_scheduler_role_arn,
    )
    return {
        **function.variables(),
        "POWERTOOLS_SERVICE_NAME": "identity-center-guardrail",
        "POWERTOOLS_METRICS_NAMESPACE": "IdentityCenterGuardrail",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "ERROR"),
    }


def sweep_environment(env: Any, policy_path: Path, regions: tuple[str, ...]) -> dict[str, str]:
    """The sweep functions' environments (planner, worker, summary) with the detect function's, as
    the stacks set them, pointed at the emulation; ``regions`` are the Regions the worker lists."""
    org = env.organization
    return {
        **handler_environment(env, policy_path),
        **SweepPlannerEnvironment(
            reports_bucket=env.reports_bucket,
            organizations_role_arn=org.organizations_reader_role_arn,
            organization_instance_region="us-east-1",
        ).variables(),
        **SweepWorkerEnvironment(
            reports_bucket=env.reports_bucket,
            inventory_table_name=env.inventory_table_name,
            alert_topic_arn=env.topic_arn,
            member_role_name=org.member_role_name,
            instance_regions=regions,
            policy_path=str(policy_path),
            idempotency_table_name=env.idempotency_table_name,
            deletion_schedule_group=env.deletion_schedule_group,
            deletion_target_arn=env.detect_function_arn,
            deletion_scheduler_role_arn=env.deletion_scheduler_role_arn,
        ).variables(),
        **SweepSummaryEnvironment(
            reports_bucket=env.reports_bucket, alert_topic_arn=env.topic_arn, policy_path=str(policy_path)
        ).variables(),
    }


@contextmanager
def _logs_to_stderr(logger: Any, level: str) -> Iterator[None]:
    """Powertools logs to standard output, as Lambda wants; here that stream is the results'.

    The level is set again too: the logger took its level from the environment at import, which
    may have come before the function's environment was set (as in the test suite)."""
    handler = logger.registered_handler
    previous_level = logger.log_level
    logger.setLevel(level)
    previous = handler.setStream(sys.stderr) if isinstance(handler, logging.StreamHandler) else None
    try:
        yield
    finally:
        logger.setLevel(previous_level)
        if previous is not None:
            handler.setStream(previous)


class EmulatedRunner:
    """Context manager: the emulated world, the function's environment pointed at it, `handle`."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._stack = ExitStack()
        self._context: Any = LambdaContextStub()

    def __enter__(self) -> Self:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.close()

    def _start(self) -> None:
        from emulator.announced import AnnouncedInstances
        from emulator.environment import EmulatedEnvironment

        stack = self._stack
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        self.world = stack.enter_context(EmulatedEnvironment())
        policy_path = scratch / "policy.json"
        policy_path.write_text(json.dumps(policy_data(self._policy)), encoding="utf-8")
        stack.enter_context(_environment(handler_environment(self.world, policy_path)))
        from guardrail.handlers import detect

        self._detect = detect
        stack.enter_context(_logs_to_stderr(detect.logger, os.environ["POWERTOOLS_LOG_LEVEL"]))
        # Powertools warns when an invocation that failed recorded no metric: not news here.
        stack.enter_context(warnings.catch_warnings())
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        detect.runtime.cache_clear()
        stack.callback(detect.runtime.cache_clear)
        self._announced = AnnouncedInstances(self.world)

    def handle(self, event: dict[str, Any]) -> Outcome:
        notes = tuple(self._announced.prepare(event))
        try:
            with contextlib.redirect_stdout(sys.stderr):  # whatever else prints is no result
                result = self._detect.handler(event, self._context)
        except Exception as error:  # Lambda would retry twice, then dead-letter the event
            self.world.received_alerts()
            return Outcome(
                "failed", reason=f"invocation failed: {type(error).__name__}: {error}", notes=notes
            )
        alerts = self.world.received_alerts()
        letters = self.world.dead_letters()
        status = str(result["status"])
        if status == "rejected":
            reason = next(
                (str(letter["attributes"].get("reason")) for letter in letters), result.get("reason")
            )
            return Outcome("rejected", reason=f"dead-letter queue: {reason}", notes=notes)
        return Outcome(status, alert=alerts[0] if alerts else None, notes=notes)


def doctor_settings(env: Any, regions: tuple[str, ...]) -> Any:
    """What `guardrail doctor` reads of the guardrail deployed in the emulation (`emulator.central`,
    `emulator.forwarding`), as a deployment's configuration would name it."""
    from emulator.forwarding import CENTRAL_BUS_NAME
    from guardrail_cli.doctor import DoctorSettings

    org = env.organization
    return DoctorSettings(
        central_account_id=org.security_account_id,
        central_region=env.region,
        central_bus_name=CENTRAL_BUS_NAME,
        member_role_name=org.member_role_name,
        regions=regions,
        organizations_role_arn=org.organizations_reader_role_arn,
    )
