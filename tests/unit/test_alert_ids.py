"""Every alert has an id of its own, the same across retries, whatever its trigger: with several
channels, the delivery records are keyed by it, and a shared id would skip an alert."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from guardrail.channels.delivery import notice_id
from guardrail.core.alert import build_alert, cap_alert
from guardrail.core.decision import decide
from guardrail.core.facts import GraceEnded, Observation, Subject
from guardrail.core.policy import Policy
from guardrail.sweep.blind_spots import coverage_alert
from guardrail.sweep.coverage import BlindSpot, BlindSpotKind
from tests.builders import INSTANCE_ARN, NOW, call, facts

OTHER_ARN = "arn:aws:sso:::instance/ssoins-9999999999999999"
SPOT = BlindSpot(
    account_id="333333333333", region="us-east-1", kind=BlindSpotKind.RULE_DISABLED, detail="off"
)


def alert_for(trigger: object, arn: str = INSTANCE_ARN) -> dict[str, object]:
    the_facts = facts()
    the_facts = msgspec.structs.replace(
        the_facts,
        trigger=trigger,
        subject=Subject(account_id="333333333333", region="us-east-1", instance_arn=arn),
    )
    return build_alert(the_facts, decide(the_facts, Policy(), NOW), mode="dry-run").body


def test_alerts_of_different_looks_have_different_ids_and_the_same_look_the_same() -> None:
    sweep = Observation(run_id="run-1", observed_at=NOW)
    firing = GraceEnded(scheduled_at=NOW, deadline=NOW + timedelta(hours=24))
    later_firing = GraceEnded(scheduled_at=NOW, deadline=NOW + timedelta(hours=48))
    bodies = [
        alert_for(call(event_id="e-1")),
        alert_for(call(event_id="e-2")),
        alert_for(sweep),
        alert_for(sweep, OTHER_ARN),
        alert_for(Observation(run_id="run-2", observed_at=NOW)),
        alert_for(firing),
        alert_for(later_firing),
        alert_for(firing, OTHER_ARN),
        cap_alert(facts(), 3, NOW).body,
        cap_alert(facts(), 3, NOW + timedelta(hours=1)).body,
        coverage_alert((SPOT,), (), "run-1").body,
        coverage_alert((SPOT,), (), "run-2").body,
    ]
    ids = [notice_id(body) for body in bodies]
    assert len(set(ids)) == len(ids), ids
    # A retry builds the same alert again: the same id, so that its channels are not sent twice.
    assert notice_id(alert_for(firing)) == notice_id(bodies[5])
    assert notice_id(cap_alert(facts(), 3, NOW + timedelta(minutes=30)).body) == notice_id(bodies[8])


def test_an_alert_without_an_id_is_refused_rather_than_deduplicated_with_another() -> None:
    with pytest.raises(ValueError, match="alert_id"):
        notice_id({"event_id": None, "trigger": {"kind": "sweep", "run_id": None}})
