from typing import Any

import pytest

from guardrail.core.facts import Operation, Outcome
from guardrail.events import InvalidEvent, event_id_of, parse_api_call
from tests.builders import sample


def test_console_create_is_parsed_with_actor_and_instance() -> None:
    call = parse_api_call(sample("create-instance-console-success"))
    assert call.operation is Operation.CREATE
    assert call.outcome is Outcome.SUCCEEDED
    assert call.account_id == "444444444444"
    assert call.region == "eu-west-1"
    assert call.instance_arn == "arn:aws:sso:::instance/ssoins-7a1c2e9b4d5f6a80"
    assert call.event_id == "84f3608f-f4b7-5200-8acd-e415c806d505"
    assert call.actor.type == "AssumedRole"
    assert call.actor.arn is not None
    assert call.actor.arn.endswith("/alice")


def test_request_tags_are_read_from_a_list() -> None:
    call = parse_api_call(sample("create-instance-cli-trial-tagged"))
    assert call.requested_tags == {"purpose": "trial", "owner": "bob@example.com", "expires": "2026-12-15"}


def test_failed_call_has_no_instance_and_keeps_the_error() -> None:
    call = parse_api_call(sample("create-instance-denied-by-scp"))
    assert call.outcome is Outcome.FAILED
    assert call.instance_arn is None
    assert call.error_code == "AccessDenied"


def test_delete_takes_the_arn_from_the_request() -> None:
    call = parse_api_call(sample("delete-instance"))
    assert call.operation is Operation.DELETE
    assert call.instance_arn == "arn:aws:sso:::instance/ssoins-3e4f5a6b7c8d9e0f"


@pytest.mark.parametrize("field", ["requestParameters", "responseElements", "userIdentity", "userAgent"])
def test_null_or_missing_optional_fields_are_tolerated(field: str) -> None:
    event = sample("create-instance-console-success")
    event["detail"][field] = None
    assert parse_api_call(event).account_id == "444444444444"
    del event["detail"][field]
    assert parse_api_call(event).account_id == "444444444444"


def test_account_falls_back_to_the_envelope() -> None:
    event = sample("create-instance-console-success")
    del event["detail"]["recipientAccountId"]
    assert parse_api_call(event).account_id == event["account"]


def test_tags_as_a_map_are_accepted() -> None:
    event = sample("create-instance-cli-trial-tagged")
    event["detail"]["requestParameters"]["tags"] = {"purpose": "trial"}
    assert parse_api_call(event).requested_tags == {"purpose": "trial"}


@pytest.mark.parametrize("shape", ["map", "list"])
def test_request_tags_are_clipped_in_number_and_length_whatever_their_shape(shape: str) -> None:
    tags = {f"key-{i}-" + "k" * 300: "v" * 1000 for i in range(100)}
    event = sample("create-instance-cli-trial-tagged")
    event["detail"]["requestParameters"]["tags"] = (
        tags if shape == "map" else [{"key": k, "value": v} for k, v in tags.items()]
    )
    requested = parse_api_call(event).requested_tags
    assert len(requested) == 75
    assert all(len(k) <= 256 and len(v) <= 512 for k, v in requested.items())


def test_a_naive_event_time_is_rejected() -> None:
    event = sample("create-instance-console-success")
    event["detail"]["eventTime"] = "2026-11-10T09:14:22"
    with pytest.raises(InvalidEvent, match=r"detail\.eventTime: .*timezone"):
        parse_api_call(event)


def test_a_rejection_quoting_a_huge_value_stays_short() -> None:
    event = sample("create-instance-console-success")
    event["detail"]["eventName"] = "x" * 100_000
    with pytest.raises(InvalidEvent) as raised:
        parse_api_call(event)
    assert str(raised.value).startswith("detail.eventName: ")
    assert len(str(raised.value)) <= 512


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda e: e.pop("detail"), "detail"),
        (lambda e: e.__setitem__("detail", "not an object"), "detail"),
        (lambda e: e["detail"].__setitem__("eventID", 42), "eventID"),
        (lambda e: e["detail"].__setitem__("eventTime", "yesterday"), "eventTime"),
        (lambda e: e["detail"].__setitem__("eventName", "CreatePermissionSet"), "eventName"),
        (lambda e: e["detail"].__setitem__("eventSource", "ec2.amazonaws.com"), "eventSource"),
        (lambda e: e.__setitem__("detail-type", "AWS Service Event via CloudTrail"), "detail-type"),
        (lambda e: (e["detail"].pop("recipientAccountId"), e.__setitem__("account", "12")), "account id"),
    ],
)
def test_unusable_events_are_rejected_with_a_reason_naming_the_field(mutate: Any, expected: str) -> None:
    event = sample("create-instance-console-success")
    mutate(event)
    with pytest.raises(InvalidEvent, match=expected):
        parse_api_call(event)


@pytest.mark.parametrize("event", [None, "text", 42, [], {}])
def test_non_events_are_rejected(event: Any) -> None:
    with pytest.raises(InvalidEvent):
        parse_api_call(event)


def test_event_id_prefers_cloudtrail_then_eventbridge() -> None:
    event = sample("delete-instance")
    assert event_id_of(event) == event["detail"]["eventID"]
    event["detail"] = "junk"
    assert event_id_of(event) == event["id"]
    assert event_id_of("junk") is None
