"""EventBridge rules invoking Lambda functions, run in-process: the real detect handler behind the
emulated central bus.

moto keeps a function's configuration but cannot run its code without Docker, and its rules
deliver to log groups, archives, queues and buses only (a Lambda target makes PutEvents fail).
While `FunctionTargets` is entered, a rule whose target is one of the functions it was given
delivers to it as EventBridge and Lambda do:

- asynchronously: PutEvents answers at once, the function runs on a thread of its own;
- the event as Lambda receives it (`time` in ISO 8601, no moto-only keys);
- with the function's configured environment (its `Environment.Variables`, as GetFunction shows
  them), its code root holding the policy (`LAMBDA_TASK_ROOT`), metrics and tracing off and logs on
  standard error, so that a command's standard output stays its own;
- an invocation that raises is tried twice more, as Lambda's asynchronous invocation does, then
  recorded on the function's on-failure destination (a queue), as Lambda records it.

And, as EventBridge does, a disabled rule delivers to no target (moto's delivers), and PutEvents
refuses an entry whose source starts with `aws.` from any
caller (`NotAuthorizedForSourceException`); only AWS services put such events (moto's own
forwarding between buses still does).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from unittest import mock

from moto.awslambda.models import lambda_backends
from moto.events.models import Rule
from moto.events.responses import EventsHandler

from guardrail.handlers.environment import LOCAL_POWERTOOLS

__all__ = ["FunctionTargets", "Invocation"]

# Lambda's asynchronous invocation: the first attempt and two retries.
ATTEMPTS = 3
_SERVICE_SOURCE_PREFIX = "aws."
# The states in which a rule delivers.
_ENABLED = ("ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
_NOT_AUTHORIZED = {
    "ErrorCode": "NotAuthorizedForSourceException",
    "ErrorMessage": "Not authorized for the source.",
}


@dataclass(frozen=True)
class _Context:
    """The attributes of a Lambda context the handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    timeout_seconds: int
    started: float = field(default_factory=time.monotonic)
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


@dataclass
class Invocation:
    """One event delivered to a function: what it returned, or the error of its last attempt."""

    function_arn: str
    event: dict[str, Any]
    attempts: int = 0
    result: Any = None
    error: BaseException | None = None


def _as_lambda_receives(event: dict[str, Any]) -> dict[str, Any]:
    delivered = {k: v for k, v in event.items() if k != "ingestion-time"}
    moment = delivered.get("time")
    if isinstance(moment, int | float):
        delivered["time"] = datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return delivered


class FunctionTargets:
    """Context manager: the functions named (by ARN) run in-process as their rules' targets.

    `policy_json` is the policy the functions ship (`policy.json` in their code root);
    `on_failure` sends a record to the functions' on-failure destination, if they have one. `wait`
    blocks until every delivery made so far has ended; leaving the context waits too.
    """

    def __init__(
        self,
        function_arns: tuple[str, ...],
        *,
        policy_json: str,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self._arns = function_arns
        self._policy_json = policy_json
        self._on_failure = on_failure
        self._stack = ExitStack()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.invocations: list[Invocation] = []

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
        try:
            self.wait()
        finally:
            self._stack.close()

    def wait(self, timeout: float | None = None) -> None:
        for thread in list(self._threads):
            thread.join(timeout)

    def _start(self) -> None:
        root = Path(self._stack.enter_context(tempfile.TemporaryDirectory()))
        (root / "policy.json").write_text(self._policy_json, encoding="utf-8")
        functions = [self._configuration(arn) for arn in self._arns]
        variables: dict[str, str] = {}
        for function in functions:
            variables.update(function.environment_vars)
        variables.update(
            {
                "LAMBDA_TASK_ROOT": str(root),
                **LOCAL_POWERTOOLS,
                "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "ERROR"),
            }
        )
        self._stack.enter_context(mock.patch.dict(os.environ, variables))
        # Powertools warns when an invocation that failed recorded no metric: not news here.
        self._stack.enter_context(warnings.catch_warnings())
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        self._handlers = {function.function_arn: self._handler(function) for function in functions}
        self._stack.enter_context(mock.patch.object(Rule, "send_to_targets", self._send_to_targets()))
        self._stack.enter_context(mock.patch.object(EventsHandler, "put_events", _refusing_service_sources()))

    @staticmethod
    def _configuration(arn: str) -> Any:
        _, _, _, region, account_id, _, name = arn.split(":")[:7]
        return lambda_backends[account_id][region].get_function(name)

    def _handler(self, function: Any) -> Callable[[dict[str, Any], Any], Any]:
        """The function's handler (`module.attribute`), imported in-process, its logs on stderr."""
        module_name, _, attribute = str(function.handler).rpartition(".")
        module = importlib.import_module(module_name)
        cache_clear = getattr(getattr(module, "runtime", None), "cache_clear", None)
        if callable(cache_clear):  # the runtime is built on the first event, from this environment
            cache_clear()
            self._stack.callback(cache_clear)
        logger = getattr(module, "logger", None)
        handler = getattr(logger, "registered_handler", None)
        if handler is not None and hasattr(handler, "setStream"):
            previous = handler.setStream(sys.stderr)
            self._stack.callback(handler.setStream, previous)
            level = logger.log_level  # type: ignore[union-attr]
            logger.setLevel(os.environ["POWERTOOLS_LOG_LEVEL"])  # type: ignore[union-attr]
            self._stack.callback(logger.setLevel, level)  # type: ignore[union-attr]
        target: Callable[[dict[str, Any], Any], Any] = getattr(module, attribute)
        return target

    def _send_to_targets(self) -> Callable[..., None]:
        original: Callable[..., None] = Rule.send_to_targets
        targets = self

        def send_to_targets(rule: Rule, event: Any, transform_input: bool = True) -> None:
            if rule.state not in _ENABLED:  # moto delivers for a disabled rule too
                return
            mine = [t for t in rule.targets if t["Arn"] in targets._handlers]
            if mine and rule.event_pattern.matches_event(event):
                for target in mine:
                    targets._deliver(str(target["Arn"]), _as_lambda_receives(dict(event)))
            rest = [t for t in rule.targets if t["Arn"] not in targets._handlers]
            if rest:
                saved = rule.targets
                rule.targets = rest
                try:
                    original(rule, event, transform_input)
                finally:
                    rule.targets = saved

        return send_to_targets

    def _deliver(self, arn: str, event: dict[str, Any]) -> None:
        invocation = Invocation(arn, event)
        thread = threading.Thread(target=self._invoke, args=(invocation,), name="lambda", daemon=True)
        with self._lock:
            self.invocations.append(invocation)
            self._threads.append(thread)
        thread.start()

    def _invoke(self, invocation: Invocation) -> None:
        function = self._configuration(invocation.function_arn)
        for attempt in range(1, ATTEMPTS + 1):
            invocation.attempts = attempt
            context = _Context(function.function_name, invocation.function_arn, int(function.timeout or 3))
            try:
                invocation.result = self._handlers[invocation.function_arn](invocation.event, context)
            except Exception as error:
                invocation.error = error
                continue
            invocation.error = None
            return
        self._record_failure(invocation)

    def _record_failure(self, invocation: Invocation) -> None:
        """The invocation record Lambda sends an asynchronous invocation's on-failure destination."""
        if self._on_failure is None or invocation.error is None:
            return
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{invocation.function_arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": invocation.attempts,
            },
            "requestPayload": invocation.event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {
                "errorMessage": str(invocation.error),
                "errorType": type(invocation.error).__name__,
            },
        }
        self._on_failure(json.dumps(record))


def _refusing_service_sources() -> Callable[[EventsHandler], Any]:
    """PutEvents as EventBridge answers it: an entry with an `aws.*` source is refused, the others put."""
    original: Callable[[EventsHandler], Any] = EventsHandler.put_events

    def put_events(handler: EventsHandler) -> Any:
        entries = handler._get_param("Entries") or []
        refused = [str(entry.get("Source", "")).startswith(_SERVICE_SOURCE_PREFIX) for entry in entries]
        if not any(refused) or len(entries) > 10:  # moto refuses more than 10 entries itself
            return original(handler)
        answered: list[dict[str, Any]] = []
        for entry, no in zip(entries, refused, strict=True):
            answered += [_NOT_AUTHORIZED] if no else handler.events_backend.put_events([entry])
        failed = sum("ErrorCode" in entry for entry in answered)
        return json.dumps({"FailedEntryCount": failed, "Entries": answered})

    return put_events
