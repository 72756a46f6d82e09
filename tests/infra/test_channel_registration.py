"""A channel registered in one row is deployed from it: its topic (encrypted with the alert topic's
key), the permission its row names for both functions that alert, its variable in their
environment (exactly what their models declare), the alarm on its failures and the output of its
topic's ARN. The row is the test-only `echo` channel (`tests.echo_channel`), on with chat."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from guardrail.channels import registry
from guardrail.handlers.environment import DetectEnvironment, SweepWorkerEnvironment
from tests.echo_channel import ECHO, TOPIC_ID, VARIABLE
from tests.infra.support import (
    DETECT_HANDLER,
    EXAMPLE_POLICY,
    WORKER_HANDLER,
    Synthesized,
    example_config_data,
    synthesize,
    write_yaml,
)


@pytest.fixture(scope="module")
def with_echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    """The example with chat on, synthesized with the echo channel's row in the registry."""
    folder = tmp_path_factory.mktemp("echo-channel")
    config = example_config_data()
    config["chat"] = {"enabled": True}
    config["policy_file"] = str(EXAMPLE_POLICY)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(registry, "CHANNELS", (*registry.CHANNELS, ECHO))
        yield synthesize(write_yaml(folder / "guardrail.yaml", config), folder / "cdk.out")


def _echo_topic(s: Synthesized) -> str:
    return s.resource_of("AWS::SNS::Topic", TOPIC_ID)[0]


def test_its_topic_is_made_and_encrypted_with_the_alert_topics_key(with_echo: Synthesized) -> None:
    topic = with_echo.resources("AWS::SNS::Topic")[_echo_topic(with_echo)]["Properties"]
    alert_topic = with_echo.resources("AWS::SNS::Topic")[with_echo.alert_topic_id()]["Properties"]
    assert topic["DisplayName"] == "Identity Center guardrail (echo)"
    assert topic["KmsMasterKeyId"] == alert_topic["KmsMasterKeyId"]
    outputs = with_echo.document["Outputs"]
    assert outputs[f"{TOPIC_ID}Arn"]["Value"] == {"Ref": _echo_topic(with_echo)}


@pytest.mark.parametrize(
    ("handler", "model"), [(DETECT_HANDLER, DetectEnvironment), (WORKER_HANDLER, SweepWorkerEnvironment)]
)
def test_both_alerting_functions_are_told_its_topic_and_may_publish_to_it(
    with_echo: Synthesized, handler: str, model: type[DetectEnvironment] | type[SweepWorkerEnvironment]
) -> None:
    variables = with_echo.function(handler)["Environment"]["Variables"]
    assert variables[VARIABLE] == {"Ref": _echo_topic(with_echo)}
    # The model, read with the registry as it is, declares exactly what the construct set.
    assert set(variables) == set(model.declared())
    statements = [st for st in with_echo.function_statements(handler) if st.get("Sid") == "PublishEchoes"]
    assert statements == [
        {
            "Sid": "PublishEchoes",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": {"Ref": _echo_topic(with_echo)},
        }
    ]


def test_an_alarm_watches_its_failures(with_echo: Synthesized) -> None:
    alarms = with_echo.resources("AWS::CloudWatch::Alarm")
    (alarm,) = [
        a for name, a in alarms.items() if name.startswith("MonitoringEchoTopicDeliveryFailuresAlarm")
    ]
    assert alarm["Properties"]["MetricName"] == "ChannelFailures_echo"
    assert "its echo topic" in alarm["Properties"]["AlarmDescription"]
