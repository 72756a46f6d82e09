"""EventBridge may deliver an event more than once, even at the same moment: one alert per event."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from emulator.environment import EmulatedEnvironment
from guardrail.handlers import detect
from tests.reliability.conftest import fresh

pytestmark = pytest.mark.usefixtures("clean")


def test_deliveries_spread_over_other_events_give_one_alert(
    world: EmulatedEnvironment, runtime: detect.Runtime
) -> None:
    repeated = fresh("create-instance-console-success")
    others = [fresh("update-instance"), fresh("delete-instance")]
    statuses = [
        detect.process(e, runtime)["status"] for e in (repeated, others[0], repeated, others[1], repeated)
    ]
    assert statuses == ["alerted", "alerted", "duplicate", "alerted", "duplicate"]
    alerted = [a["body"]["event_id"] for a in world.received_alerts()]
    assert sorted(alerted) == sorted(e["detail"]["eventID"] for e in (repeated, *others))


def test_concurrent_deliveries_of_one_event_give_one_alert(
    world: EmulatedEnvironment, runtime: detect.Runtime
) -> None:
    """Deliveries that race the first one find its claim in progress: duplicates being handled,
    not failures (a failure would trip the errors alarm, and Lambda would retry it for nothing)."""
    event = fresh("create-instance-console-success")
    deliveries = 6
    start = threading.Barrier(deliveries)

    def deliver() -> dict[str, object]:
        start.wait()
        return detect.process(event, runtime)

    with ThreadPoolExecutor(deliveries) as pool:
        results = list(pool.map(lambda _: deliver(), range(deliveries)))

    statuses = [r["status"] for r in results]
    assert statuses.count("alerted") == 1, statuses
    assert statuses.count("duplicate") == deliveries - 1, statuses
    assert len(world.received_alerts()) == 1
    assert detect.process(event, runtime)["status"] == "duplicate"  # and after: the stored result


def test_concurrent_distinct_events_each_give_their_alert(
    world: EmulatedEnvironment, runtime: detect.Runtime
) -> None:
    events = [
        fresh(name) for name in ("create-instance-console-success", "create-instance-cli-trial-tagged")
    ] * 4
    events = [fresh(e) for e in events]  # eight distinct ids, two accounts, run together
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda e: detect.process(e, runtime)["status"], events))
    assert statuses == ["alerted"] * 8
    alerted = sorted(a["body"]["event_id"] for a in world.received_alerts())
    assert alerted == sorted(e["detail"]["eventID"] for e in events)
