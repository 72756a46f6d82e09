"""Each function's environment, as its construct writes it and the function reads it back."""

from __future__ import annotations

import pytest

from guardrail.handlers.environment import (
    Alerting,
    ConfigurationError,
    DetectEnvironment,
    MemberReads,
    SweepWorkerEnvironment,
)


def test_variables_read_back_into_an_equal_model() -> None:
    model = DetectEnvironment(
        alerting=Alerting(alert_topic_arn="arn:aws:sns:us-east-1:222222222222:alerts"),
        dead_letter_queue_url="https://sqs/dlq",
        idempotency_table_name="claims",
        inventory_table_name="inventory",
        member_reads=MemberReads(member_role_name="Member", instance_regions=("us-east-1", "eu-west-1")),
    )
    variables = model.variables()
    assert variables["INSTANCE_REGIONS"] == "us-east-1,eu-west-1"
    assert variables["ORGANIZATIONS_ROLE_ARN"] == ""
    assert DetectEnvironment.from_environ(variables) == model


def test_numbers_are_read_from_text() -> None:
    base = {
        "REPORTS_BUCKET": "b",
        "INVENTORY_TABLE_NAME": "t",
        "ALERT_TOPIC_ARN": "a",
        "MEMBER_ROLE_NAME": "m",
        "INSTANCE_REGIONS": "us-east-1",
    }
    assert SweepWorkerEnvironment.from_environ({**base, "REMINDER_DAYS": "3"}).reminder_days == 3
    assert SweepWorkerEnvironment.from_environ(base).reminder_days == 7
    with pytest.raises(ConfigurationError, match="reminder_days"):
        SweepWorkerEnvironment.from_environ({**base, "REMINDER_DAYS": "soon"})


def test_a_missing_variable_is_named() -> None:
    with pytest.raises(ConfigurationError, match="environment variable ALERT_TOPIC_ARN is not set"):
        DetectEnvironment.from_environ({})
