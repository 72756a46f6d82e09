"""A burst: 1,000 events from 200 accounts, mixed with redeliveries and malformed events.

Every event must end with exactly one outcome: an alert, a dead-letter record, or (for a
redelivery) the duplicate status with nothing new sent. Counting both queues at the end checks
that nothing was lost or sent twice along the way.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

import pytest

from emulator.environment import EmulatedEnvironment
from guardrail.handlers import detect
from tests.reliability.conftest import CONTEXT, fresh

ACCOUNTS = 200
EVENTS = 1000
REGIONS = ("us-east-1", "eu-west-1", "eu-central-1")


@pytest.fixture(scope="module")
def fleet(world: EmulatedEnvironment) -> dict[str, tuple[str, str]]:
    """200 member accounts, each with an account instance: account id -> (Region, instance ARN)."""
    instances = {}
    for index, account in enumerate(world.add_member_accounts(ACCOUNTS, ou_path="Fleet")):
        region = REGIONS[index % len(REGIONS)]
        arn = f"arn:aws:sso:::instance/ssoins-{int(account):016x}"
        world.identity_center.seed_instance(account, region, name=f"team-{account}", instance_arn=arn)
        instances[account] = (region, arn)
    return instances


def _events(fleet: dict[str, tuple[str, str]], rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """(kind, event) pairs: 700 new events, 150 redeliveries of earlier ones, 150 malformed."""
    accounts = list(fleet)
    events: list[tuple[str, dict[str, Any]]] = []
    for index in range(700):
        account = accounts[index % len(accounts)]
        region, arn = fleet[account]
        if rng.random() < 0.8:
            event = fresh(
                "create-instance-console-success",
                recipientAccountId=account,
                awsRegion=region,
                responseElements={"instanceArn": arn},
            )
        else:
            event = fresh("create-instance-denied-by-scp", recipientAccountId=account, awsRegion=region)
        events.append(("new", event))
    for _ in range(150):
        events.append(("redelivery", rng.choice([e for kind, e in events[:700] if kind == "new"])))
    breakers = [
        lambda e: e.pop("detail"),
        lambda e: e["detail"].__setitem__("eventName", "CreateApplication"),
        lambda e: e["detail"].__setitem__("recipientAccountId", "not-an-account"),
        lambda e: e.__setitem__("detail", ["junk"]),
    ]
    for index in range(150):
        event = fresh("create-instance-console-success")
        breakers[index % len(breakers)](event)
        events.append(("malformed", event))
    rng.shuffle(events)
    return events


@pytest.mark.slow  # about 30 s on the emulation, mostly moto's
@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_every_event_of_a_burst_has_exactly_one_outcome(
    world: EmulatedEnvironment, fleet: dict[str, tuple[str, str]], clean: None
) -> None:
    events = _events(fleet, random.Random(20261110))  # noqa: S311 - a reproducible mix, not a secret
    assert len(events) == EVENTS
    assert len({e["account"] for kind, e in events if kind == "new"}) == ACCOUNTS

    outcomes: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    alerts: list[dict[str, Any]] = []
    letters: list[dict[str, Any]] = []
    started = time.perf_counter()
    for start in range(0, EVENTS, 100):
        outcomes += [
            (kind, event, detect.handler(event, CONTEXT)) for kind, event in events[start : start + 100]
        ]
        # Drained as a subscriber would, as they come: moto slows down as a queue grows.
        alerts += world.received_alerts()
        letters += world.dead_letters()
    elapsed = time.perf_counter() - started

    statuses = Counter(result["status"] for _, _, result in outcomes)
    # A redelivery drawn before its original was processed takes the original's place: either
    # way each distinct event id is alerted once, and every other delivery of it is a duplicate.
    # A refused attempt that repeats one alerted (same caller, account, error and findings) within
    # the policy's window is held: recorded, counted for its series' next alert, not alerted.
    new_ids = {e["detail"]["eventID"] for kind, e in events if kind != "malformed"}
    held = {r["event_id"] for _, _, r in outcomes if r["status"] == "recorded"}
    refused = {
        e["detail"]["eventID"] for kind, e in events if kind != "malformed" and e["detail"].get("errorCode")
    }
    assert held <= refused
    assert statuses["alerted"] == len(alerts) == len(new_ids - held)
    assert statuses["alerted"] + statuses["recorded"] == 700
    assert statuses["duplicate"] == 150
    assert statuses["rejected"] == len(letters) == 150
    assert sum(statuses.values()) == EVENTS
    assert sorted(a["body"]["event_id"] for a in alerts) == sorted(new_ids - held)
    rejected_ids = sorted(str(r["event_id"]) for kind, _, r in outcomes if r["status"] == "rejected")
    assert sorted(letter["attributes"]["event_id"] for letter in letters) == rejected_ids
    assert all(a["body"]["missing_facts"] == [] for a in alerts), "every fleet account is fully described"
    print(f"\n{EVENTS} events from {ACCOUNTS} accounts in {elapsed:.1f} s ({EVENTS / elapsed:.0f} events/s)")
