"""A flood of refused attempts through the handler: one alert, the rest held and said once; anything
new among them alerts at once. (`python -m benchmarks --only flood` plays 1,000.)"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from emulator.environment import EmulatedEnvironment
from guardrail.handlers import detect
from guardrail_cli.emulated import LambdaContextStub
from tests.builders import NOW, sample

CALLER = "arn:aws:sts::444444444444:assumed-role/Deployer/ci"


def refused(minutes: float, *, caller: str = CALLER, account: str = "444444444444") -> dict[str, Any]:
    event = sample("create-instance-denied-by-scp")
    detail = event["detail"]
    detail["eventID"] = str(uuid.uuid4())
    detail["eventTime"] = (NOW + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
    detail["userIdentity"]["arn"] = caller
    event["account"] = detail["recipientAccountId"] = detail["userIdentity"]["accountId"] = account
    return event


def test_a_flood_alerts_once_holds_the_rest_and_says_them_on_the_next_alert_past_the_window(
    env: EmulatedEnvironment,
) -> None:
    now = [NOW]
    runtime = detect.build_runtime(clock=lambda: now[0])
    runtime.once.register(LambdaContextStub())  # type: ignore[arg-type]
    statuses = []
    for attempt in range(20):
        now[0] = NOW + timedelta(seconds=9 * attempt)
        statuses.append(detect.process(refused(attempt * 0.15), runtime)["status"])
        if attempt == 10:  # news among the flood: another caller, another account, a creation
            for event in (
                refused(1.5, caller="arn:aws:iam::444444444444:user/mallory"),
                refused(1.5, account="333333333333"),
                sample("create-instance-cli-trial-tagged"),
            ):
                assert detect.process(event, runtime)["status"] == "alerted"
    assert statuses == ["alerted"] + ["recorded"] * 19
    alerts = env.received_alerts()
    assert len(alerts) == 4
    assert alerts[0]["body"]["series"]["held_before"] == 0

    now[0] = NOW + timedelta(minutes=61)  # the window is over: the series' next call alerts
    assert detect.process(refused(61), runtime)["status"] == "alerted"
    [after] = env.received_alerts()
    assert after["body"]["series"]["held_before"] == 19
    assert after["body"]["series"]["since"] == NOW.isoformat()
