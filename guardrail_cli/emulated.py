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
import threading
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from emulator.function_environment import handler_environment
from guardrail.core.policy import Policy, policy_data
from guardrail_cli.report import Outcome

# The emulation's central (security tooling) account, `emulator.organization.SECURITY_ACCOUNT_ID`:
# named here so that a replay that never needs the emulation never imports it.
EMULATED_CENTRAL_ACCOUNT = "222222222222"


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
    """Context manager: the emulated world, the function's environment pointed at it, `handle`.

    The world (moto, the example organization, the function) is set up on the first event, not
    on entry: a log without instance events, the common case for most of a trail's files, never
    pays the second or two it takes."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._stack = ExitStack()
        self._context: Any = LambdaContextStub()
        self._started = False
        self._starting: threading.Thread | None = None
        self._failure: BaseException | None = None

    def __enter__(self) -> Self:
        return self

    def start_soon(self) -> None:
        """Set the world up in the background, while the caller goes on reading the logs: most of
        reading is decompression, which leaves the interpreter free for it."""
        if self._started or self._starting is not None:
            return
        self._starting = threading.Thread(target=self._start_or_keep_failure, name="emulation", daemon=True)
        self._starting.start()

    def _start_or_keep_failure(self) -> None:
        try:
            self._start()
        except BaseException as error:  # raised again where the world is wanted
            self._failure = error

    def start(self) -> None:
        """Set the world up now (the first `handle` does it otherwise), or wait for `start_soon`'s."""
        if self._started:
            return
        if self._starting is not None:
            self._starting.join()
        else:
            self._start_or_keep_failure()
        if self._failure is not None:
            self._stack.close()
            raise self._failure
        self._started = True

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._starting is not None:
            self._starting.join()
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
        detect.runtime()  # the function's cold start, here rather than on the first event
        self._announced = AnnouncedInstances(self.world)
        # One client for reading what subscribers receive, rather than one per event.
        self._sqs = self.world.central_client("sqs")

    def _drain(self, queue_url: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while batch := self._sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", []):
            self._sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
            messages.extend(batch)
        return messages

    def _alerts(self) -> list[dict[str, Any]]:
        """What the alert topic's subscribers received: subject, parsed body and attributes (as
        `EmulatedEnvironment.received_alerts`, with the client kept)."""
        alerts = []
        for message in self._drain(self.world.alert_queue_url):
            envelope = json.loads(message["Body"])
            alerts.append(
                {
                    "subject": envelope.get("Subject"),
                    "body": json.loads(envelope["Message"]),
                    "attributes": {
                        name: attribute["Value"]
                        for name, attribute in envelope.get("MessageAttributes", {}).items()
                    },
                }
            )
        return alerts

    def _rejection(self) -> str | None:
        """The reason the dead-letter queue's last message gives."""
        reasons = [
            m.get("MessageAttributes", {}).get("reason", {}).get("StringValue")
            for m in self._drain(self.world.dead_letter_queue_url)
        ]
        return next((str(r) for r in reasons if r), None)

    def handle(self, event: dict[str, Any]) -> Outcome:
        self.start()
        try:
            notes = tuple(self._announced.prepare(event))
        except Exception as error:  # the emulation could not take the event: said, not hidden
            return Outcome("failed", reason=f"the emulation could not apply the event: {error}")
        try:
            with contextlib.redirect_stdout(sys.stderr):  # whatever else prints is no result
                result = self._detect.handler(event, self._context)
        except Exception as error:  # Lambda would retry twice, then dead-letter the event
            self._alerts()
            return Outcome(
                "failed", reason=f"invocation failed: {type(error).__name__}: {error}", notes=notes
            )
        alerts = self._alerts()
        status = str(result["status"])
        if status == "rejected":
            reason = self._rejection() or result.get("reason")
            return Outcome("rejected", reason=f"dead-letter queue: {reason}", notes=notes)
        if status == "recorded":  # judged and recorded in the inventory: no news to alert
            return Outcome("nothing-new", reason="judged and recorded; no change worth an alert", notes=notes)
        if status == "duplicate":
            return Outcome("duplicate", notes=notes)
        if status != "alerted":
            return Outcome("failed", reason=f"the function answered status {status!r}", notes=notes)
        return Outcome("alerted", alert=alerts[0] if alerts else None, notes=notes)


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
