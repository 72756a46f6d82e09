import json
from typing import Any
from unittest import mock

import pytest

from emulator.environment import EmulatedEnvironment
from guardrail.channels.alert_topic import SnsAlertPublisher
from guardrail.channels.delivery import UndeliveredAlert
from guardrail.handlers import detect
from guardrail_cli.replay import LambdaContextStub
from tests.builders import NOW, sample

# What a security engineer expects from each sample event in the example organization, under the
# example policy (Sandbox approved; Workloads/Prod not, with an SCP denying CreateInstance there).
EXPECTED = {
    "create-instance-cli-trial-tagged": ("compliant", "info", []),
    "create-instance-console-success": (
        "violation",
        "high",
        ["account-not-approved", "missing-justification"],
    ),
    "create-instance-conflict-existing": ("violation", "medium", ["attempt-denied", "second-instance"]),
    "create-instance-denied-by-scp": ("violation", "medium", ["attempt-denied", "second-instance"]),
    "create-instance-management-account": (
        "violation",
        "high",
        ["attempt-denied", "management-account-attempt"],
    ),
    "delete-instance": ("info", "info", []),
    "update-instance": ("info", "info", []),
}


def only(items: list[Any]) -> Any:
    assert len(items) == 1, items
    return items[0]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_event_yields_the_expected_alert(
    name: str, env: EmulatedEnvironment, runtime: detect.Runtime
) -> None:
    event = sample(name)
    result = detect.process(event, runtime)

    alert = only(env.received_alerts())
    verdict, severity, rules = EXPECTED[name]
    body = alert["body"]
    assert (body["verdict"], body["severity"], sorted(f["rule"] for f in body["findings"])) == (
        verdict,
        severity,
        rules,
    )
    assert body["event_id"] == event["detail"]["eventID"] == result["event_id"]
    assert body["account_id"] == event["detail"]["recipientAccountId"]
    assert body["region"] == event["detail"]["awsRegion"]
    assert body["undetermined"] == [], "the emulated organization provides every fact"
    assert alert["attributes"]["verdict"] == verdict
    assert alert["attributes"]["severity"] == severity
    assert json.loads(alert["attributes"]["rules"]) == rules
    assert len(alert["subject"]) < 100
    assert env.dead_letters() == []


def test_facts_come_from_aws_not_from_the_event(env: EmulatedEnvironment, runtime: detect.Runtime) -> None:
    event = sample("create-instance-console-success")
    # The request claims justifying tags; the instance itself carries none.
    event["detail"]["requestParameters"]["tags"] = [{"key": "purpose", "value": "trial"}]
    detect.process(event, runtime)
    body = only(env.received_alerts())["body"]
    assert body["account_name"] == "Prod Analytics"
    assert body["ou_path"] == "Workloads/Prod"
    assert body["instance"]["owner_account_id"] == "444444444444"
    assert "missing-justification" in {f["rule"] for f in body["findings"]}


def test_an_account_outside_the_organization_gives_an_incomplete_alert(
    env: EmulatedEnvironment, runtime: detect.Runtime
) -> None:
    event = sample("create-instance-console-success")
    event["account"] = event["detail"]["recipientAccountId"] = "999999999999"
    detect.process(event, runtime)
    body = only(env.received_alerts())["body"]
    assert body["verdict"] in {"incomplete", "violation"}
    assert "account" in {m["fact"] for m in body["missing_facts"]}
    assert body["action"] == "alert"


@pytest.mark.parametrize(
    "event",
    [
        {"id": "no-detail", "source": "aws.sso"},
        {**sample("create-instance-console-success"), "detail": "not an object"},
        {**sample("create-instance-console-success"), "detail": {"eventID": 7, "eventName": ["x"]}},
        sample("not-an-instance-event-permission-set"),
    ],
    ids=["no-detail", "detail-not-object", "wrong-types", "permission-set"],
)
def test_unusable_events_are_logged_counted_and_dead_lettered(
    event: dict[str, Any], env: EmulatedEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    result = detect.handler(event, LambdaContextStub())

    assert result["status"] == "rejected"
    letter = only(env.dead_letters())
    assert letter["body"] == event
    assert letter["attributes"]["reason"] == result["reason"]
    expected_id = (
        event["detail"]["eventID"]
        if isinstance(event.get("detail"), dict) and isinstance(event["detail"].get("eventID"), str)
        else event["id"]
    )
    assert letter["attributes"]["event_id"] == expected_id
    error = only([record for record in caplog.records if record.levelname == "ERROR"])
    assert (error.event_id, error.reason) == (expected_id, result["reason"])
    assert env.received_alerts() == []


def test_a_failed_publish_fails_the_invocation_so_it_is_retried(
    env: EmulatedEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERT_TOPIC_ARN", env.topic_arn.replace("alerts", "missing-topic"))
    with pytest.raises(UndeliveredAlert, match=r"^alerts: NotFoundException") as raised:
        detect.handler(sample("create-instance-console-success"), LambdaContextStub())
    assert raised.value.channels == ("alerts",)
    assert env.received_alerts() == []


def test_a_bad_policy_fails_every_invocation_loudly(
    env: EmulatedEnvironment, tmp_path: Any, monkeypatch: Any
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"mode": "yolo"}))
    monkeypatch.setenv("POLICY_PATH", str(bad))
    with pytest.raises(ValueError, match="mode"):
        detect.handler(sample("delete-instance"), LambdaContextStub())


def test_the_same_event_delivered_three_times_gives_one_alert(
    env: EmulatedEnvironment, runtime: detect.Runtime
) -> None:
    event = sample("create-instance-console-success")
    statuses = [detect.process(event, runtime)["status"] for _ in range(3)]
    assert statuses == ["alerted", "duplicate", "duplicate"]
    assert len(env.received_alerts()) == 1


def test_a_retry_after_a_failed_publish_publishes(
    env: EmulatedEnvironment, runtime: detect.Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = sample("create-instance-console-success")
    with (
        mock.patch.object(SnsAlertPublisher, "deliver", side_effect=RuntimeError("SNS is down")),
        pytest.raises(UndeliveredAlert),
    ):
        detect.process(event, runtime)
    assert detect.process(event, runtime)["status"] == "alerted"
    assert len(env.received_alerts()) == 1


def test_opt_in_regions_the_account_has_not_enabled_leave_the_verdict_complete(
    env: EmulatedEnvironment,
) -> None:
    """Watching every Region (opt-in ones included, which the accounts have not enabled) and listing
    one Region at a time, as with a botocore without RegionScope: those Regions hold no instance."""
    every_region = "us-east-1,eu-west-1,eu-central-1,ap-east-1,me-central-1,af-south-1,il-central-1"
    with (
        mock.patch.dict("os.environ", {"INSTANCE_REGIONS": every_region}),
        mock.patch("guardrail.gather.member.lists_all_regions", return_value=False),
    ):
        detect.runtime.cache_clear()
        built = detect.build_runtime(clock=lambda: NOW)
        built.once.register(LambdaContextStub())  # type: ignore[arg-type]
        detect.process(sample("create-instance-cli-trial-tagged"), built)
    body = only(env.received_alerts())["body"]
    assert (body["verdict"], body["missing_facts"], body["undetermined"]) == ("compliant", [], [])
    refused = {c.region for c in env.identity_center.calls if c.operation == "ListInstances"}
    assert {"ap-east-1", "me-central-1", "af-south-1", "il-central-1"} <= refused
