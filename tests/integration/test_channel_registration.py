"""A channel registered in one row, end to end: the function's environment names its target, the
deliverer builds it from its row, it renders and sends to its topic, its delivery is recorded in
the idempotency table (a retry sends only to the channels that did not take the alert), and the
CLI's `--show` prints its form. The row is the test-only `echo` channel (`tests.echo_channel`)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from emulator.environment import EmulatedEnvironment
from emulator.function_environment import handler_environment
from guardrail.adapters.clients import AwsClients
from guardrail.channels.alert_topic import SnsAlertPublisher
from guardrail.channels.delivery import UndeliveredAlert, notice_id
from guardrail.channels.registry import CHAT, ChannelSpec, RenderContext, forms
from guardrail.channels.securityhub import Importer
from guardrail.core.alert import Alert
from guardrail.core.policy import Policy, policy_data
from guardrail.handlers import detect
from guardrail.handlers.environment import Channels, DetectEnvironment
from guardrail_cli.preview import show
from guardrail_cli.replay import LambdaContextStub
from tests.builders import NOW, sample
from tests.echo_channel import NAME, VARIABLE, echo_channel, render

__all__ = ["echo_channel"]  # the fixture, used by name

# The echo channel's topic and permission exist only in the templates of its own test
# (tests/infra/test_channel_registration.py), not in those the permissions check synthesizes.
pytestmark = pytest.mark.not_deployed


def _received(world: EmulatedEnvironment, queue_url: str) -> list[dict[str, Any]]:
    return [json.loads(json.loads(m["Body"])["Message"]) for m in world._drain(queue_url)]


def _variables(world: EmulatedEnvironment, tmp_path: Path, policy: Policy, echo_topic: str) -> dict[str, str]:
    policy_path = tmp_path / f"policy-{uuid.uuid4()}.json"
    policy_path.write_text(json.dumps(policy_data(policy)))
    channels = Channels(targets={CHAT.name: world.chat_topic_arn, NAME: echo_topic})
    return {**handler_environment(world, policy_path), **channels.variables()}


def test_a_registered_channel_is_named_rendered_sent_and_recorded(
    echo_channel: ChannelSpec, tmp_path: Path, policy: Policy
) -> None:
    with EmulatedEnvironment() as world:
        echo_topic, echo_queue = world._captured_topic("echo")
        variables = _variables(world, tmp_path, policy, echo_topic)
        # The function's environment has the row's variable, read back into the `Channels` part.
        assert variables[VARIABLE] == echo_topic
        environment = DetectEnvironment.from_environ(variables)
        assert environment.channels.targets[NAME] == echo_topic

        with mock.patch.dict(os.environ, variables):
            runtime = detect.build_runtime(clock=lambda: NOW)
        runtime.once.register(LambdaContextStub())  # type: ignore[arg-type]
        assert detect.process(sample("create-instance-console-success"), runtime)["status"] == "alerted"
        (received,) = world.received_alerts()
        alert = Alert(received["subject"], received["body"], received["attributes"])
        # Rendered by its row's renderer and sent to its topic, beside the other channels.
        assert _received(world, echo_queue) == [render(alert, RenderContext("", "", ""))]
        assert len(world.received_chat()) == 1

        # Recorded: with the alert topic down, the echo is sent and its delivery recorded under the
        # row's name; the retry sends the alert on the alert topic alone.
        with mock.patch.dict(os.environ, variables):
            deliverer = detect._deliverer(AwsClients(), environment)
        again = Alert(alert.subject, {**alert.body, "alert_id": f"{alert.body['alert_id']}-again"}, {})
        with (
            mock.patch.object(SnsAlertPublisher, "deliver", side_effect=RuntimeError("SNS is down")),
            pytest.raises(UndeliveredAlert, match=r"^alerts: "),
        ):
            deliverer.publish(again)
        assert [m["alert_id"] for m in _received(world, echo_queue)] == [again.body["alert_id"]]
        assert len(world.received_chat()) == 1
        table = world.central_client("dynamodb")
        key = f"delivery#{notice_id(again.body)}#{NAME}"
        item = table.get_item(TableName=world.idempotency_table_name, Key={"id": {"S": key}})
        assert "Item" in item
        deliverer.publish(again)
        assert _received(world, echo_queue) == []  # recorded: not sent twice
        assert world.received_chat() == []  # recorded too
        assert len(world.received_alerts()) == 1


def test_the_cli_shows_a_registered_channels_form(echo_channel: ChannelSpec) -> None:
    assert "echo" in forms()
    body = {"alert_id": "a-1", "verdict": "violation", "account_id": "1", "instance_arn": "arn"}
    alert = Alert("[HIGH] something", body, {})
    printed = show(alert, "echo", Importer("222222222222", "us-east-1"))
    assert json.loads(printed.split("\n", 1)[1]) == {
        "alert_id": "a-1",
        "subject": "[HIGH] something",
        "verdict": "violation",
    }
