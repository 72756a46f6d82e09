"""Run the real detect handler over events, against an emulated example organization.

The emulation (moto plus the Identity Center model in `emulator`) stands in for AWS: the handler
assumes roles, reads Organizations and sso-admin, and publishes to an SNS topic whose messages
are read back from a subscribed queue and printed, as an email subscriber would receive them.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guardrail.core.alert import Alert
from guardrail.core.policy import Policy, policy_data
from guardrail.environment import DetectEnvironment
from guardrail_cli.render import render

ENVELOPE_FIELDS = (
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
)


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


def as_eventbridge(record: dict[str, Any]) -> dict[str, Any]:
    """Wrap a raw CloudTrail record (from a trail's log file) the way EventBridge delivers it."""
    return {
        "version": "0",
        "id": str(
            uuid.uuid5(uuid.NAMESPACE_URL, str(record.get("eventID", json.dumps(record, sort_keys=True))))
        ),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws." + str(record.get("eventSource", "unknown")).split(".")[0],
        "account": record.get("recipientAccountId", ""),
        "time": record.get("eventTime", ""),
        "region": record.get("awsRegion", ""),
        "resources": [],
        "detail": record,
    }


def events_from(path: Path) -> list[Any]:
    """Events in a file: one EventBridge event, a list of them, or a CloudTrail log ({"Records": []})."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and isinstance(data.get("Records"), list):
        return [as_eventbridge(r) if isinstance(r, dict) else r for r in data["Records"]]
    if isinstance(data, dict) and "detail" not in data and "eventSource" in data:
        return [as_eventbridge(data)]
    return data if isinstance(data, list) else [data]


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
        member_role_name=org.member_role_name,
        organizations_role_arn=org.organizations_reader_role_arn,
        instance_regions=("us-east-1", "eu-west-1", "eu-central-1"),
        organization_instance_region="us-east-1",
        policy_path=str(policy_path),
    )
    return {
        **function.variables(),
        "POWERTOOLS_SERVICE_NAME": "identity-center-guardrail",
        "POWERTOOLS_METRICS_NAMESPACE": "IdentityCenterGuardrail",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "ERROR"),
    }


def replay(paths: list[Path], policy: Policy, *, as_json: bool = False) -> int:
    from emulator.environment import EmulatedEnvironment

    events = [(path, event) for path in paths for event in events_from(path)]
    with tempfile.TemporaryDirectory() as scratch, EmulatedEnvironment() as env:
        policy_path = Path(scratch) / "policy.json"
        policy_path.write_text(json.dumps(policy_data(policy)), encoding="utf-8")
        with _environment(handler_environment(env, policy_path)):
            from guardrail.handlers import detect

            detect.runtime.cache_clear()
            failures = 0
            for path, event in events:
                try:
                    result = detect.handler(event, LambdaContextStub())
                except Exception as error:  # the Lambda would be retried, then dead-lettered
                    failures += 1
                    print(f"== {path.name}: invocation failed ({type(error).__name__}: {error})")
                    continue
                print(f"== {path.name}: {result['status']}")
                for alert in env.received_alerts():
                    print(json.dumps(alert, indent=2, sort_keys=True) if as_json else _render(alert))
                for letter in env.dead_letters():
                    print(
                        f"dead-letter queue <- event {letter['attributes'].get('event_id')}: "
                        f"{letter['attributes'].get('reason')}"
                    )
                print()
            detect.runtime.cache_clear()
    print(f"{len(events)} events replayed, {failures} invocation failures")
    return 1 if failures else 0


def _render(received: dict[str, Any]) -> str:
    attributes = received["attributes"]
    alert = Alert(received["subject"], received["body"], attributes)
    return render(alert) + f"\nattrs     {json.dumps(attributes, sort_keys=True)}"
