"""A flood of refused attempts, replayed through the detect function: alerts per 1,000 attempts.

One caller retries a CreateInstance an SCP refuses, every 0.9 s for 15 minutes (1,000 attempts), in
one account; among them come what must alert at once: another caller's refused attempt, the same
caller refused in another account, a throttled attempt (another error), and a successful creation.
Then, past the policy's window, the caller tries once more: that alert says how many were held.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.harness import CONTEXT, emulated_function, sample_event

START = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
ATTEMPTS = 1000
CALLER = "arn:aws:sts::444444444444:assumed-role/Deployer/ci"
# One account more in each round of news: the management account, the central one, a member, and
# two the organization does not hold.
OTHER_ACCOUNTS = ("333333333333", "222222222222", "111111111111", "999999999999", "555555555555")


@dataclass(frozen=True)
class FloodFigures:
    attempts: int
    # Alerts published for the flood itself, and for the calls that must alert at once among it.
    flood_alerts: int
    others: int
    others_alerted: int
    # Calls that were news and did not alert (there should be none), with what happened instead.
    news_held_back: tuple[str, ...]
    # What the first alert after the window says of the calls held back.
    said_held: int
    alerts_per_1000_attempts: float
    seconds: float


def _refused(
    at: datetime, *, caller: str = CALLER, account: str = "444444444444", error: str = "AccessDenied"
) -> dict[str, Any]:
    event = sample_event("create-instance-denied-by-scp", eventTime=at.isoformat().replace("+00:00", "Z"))
    detail = event["detail"]
    detail["userIdentity"]["arn"] = caller
    detail["errorCode"] = error
    event["account"] = detail["recipientAccountId"] = detail["userIdentity"]["accountId"] = account
    event["id"] = str(uuid.uuid4())
    return event


def measure_flood() -> FloodFigures:
    import time

    from guardrail.handlers import detect

    clock = [START]
    with emulated_function() as bench:
        runtime = detect.build_runtime(clock=lambda: clock[0])
        runtime.once.register(CONTEXT)
        started = time.perf_counter()
        flood_alerts = others_alerted = others = 0
        missed: list[str] = []
        for index in range(ATTEMPTS):
            clock[0] = START + timedelta(seconds=0.9 * index)
            result, _ = bench.serve(runtime, _refused(clock[0]))
            flood_alerts += result["status"] == "alerted"
            if index % 200 == 100:  # what is news, each time: never held back
                round_ = index // 200
                for kind, event in (
                    (
                        "another caller",
                        _refused(clock[0], caller=f"arn:aws:iam::444444444444:user/u{round_}"),
                    ),
                    ("another account", _refused(clock[0], account=OTHER_ACCOUNTS[round_])),
                    ("another error", _refused(clock[0], error=f"ThrottlingException{round_}")),
                    ("a successful creation", sample_event("create-instance-cli-trial-tagged")),
                ):
                    others += 1
                    result, _ = bench.serve(runtime, event)
                    if result["status"] == "alerted":
                        others_alerted += 1
                    else:
                        missed.append(f"{kind}: {result['status']}")
            if index % 100 == 99:
                bench.drain()
        clock[0] = START + timedelta(hours=2)
        bench.drain()
        bench.serve(runtime, _refused(clock[0]))
        [after] = [a for a in bench.world.received_alerts() if a["body"].get("series")]
        seconds = time.perf_counter() - started
    return FloodFigures(
        attempts=ATTEMPTS,
        flood_alerts=flood_alerts,
        others=others,
        others_alerted=others_alerted,
        said_held=after["body"]["series"]["held_before"],
        news_held_back=tuple(missed),
        alerts_per_1000_attempts=round(flood_alerts * 1000 / ATTEMPTS, 1),
        seconds=round(seconds, 1),
    )


def report_flood(figures: dict[str, Any]) -> str:
    return (
        "## A flood of refused attempts\n\n"
        f"{figures['attempts']} refused CreateInstance calls by one caller in one account within 15 "
        f"minutes: **{figures['flood_alerts']} alert(s)** ({figures['alerts_per_1000_attempts']} per 1,000 "
        f"attempts); the rest held, each in the audit trail, and said by the series' next alert past the "
        f"window: +{figures['said_held']}. Among them, {figures['others_alerted']} of {figures['others']} "
        "calls that are news (another caller, another account, another error, a successful creation) "
        f"alerted at once{'' if not figures['news_held_back'] else ': NOT ' + ', '.join(figures['news_held_back'])}. "
        f"{figures['seconds']} s on the emulation."
    )
