import re
from typing import Any

import pytest

from guardrail.core.facts import Operation, Outcome
from guardrail.pipeline.events import MAX_TEXT, InvalidEvent, event_id_of, parse_api_call
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


@pytest.mark.parametrize("field", ["recipientAccountId", "awsRegion"])
def test_the_envelope_does_not_stand_in_for_the_record(field: str) -> None:
    event = sample("create-instance-console-success")
    del event["detail"][field]
    with pytest.raises(InvalidEvent, match=rf"detail\.{field}: required field missing"):
        parse_api_call(event)


@pytest.mark.parametrize(("envelope", "value"), [("account", "333333333333"), ("region", "us-east-1")])
def test_an_envelope_that_disagrees_with_the_record_is_rejected(envelope: str, value: str) -> None:
    event = sample("create-instance-console-success")
    event[envelope] = value
    with pytest.raises(InvalidEvent, match=rf"^{envelope}: the envelope says '{value}'"):
        parse_api_call(event)


@pytest.mark.parametrize(
    ("where", "value", "says"),
    [
        ("responseElements", 42, "Expected `str | null`, got `int`"),
        ("responseElements", "arn:aws:sso:::permissionSet/ssoins-1/ps-1", "Expected `str` matching"),
        ("requestParameters", ["arn"], "Expected `str | null`, got `array`"),
    ],
)
def test_an_instance_arn_of_the_wrong_type_or_shape_is_rejected(where: str, value: Any, says: str) -> None:
    event = sample("create-instance-console-success")
    event["detail"][where] = {"instanceArn": value}
    with pytest.raises(InvalidEvent, match=rf"detail\.{where}\.instanceArn: {re.escape(says)}"):
        parse_api_call(event)


def test_a_name_that_is_not_text_is_rejected() -> None:
    event = sample("create-instance-cli-trial-tagged")
    event["detail"]["requestParameters"]["name"] = 7
    with pytest.raises(InvalidEvent, match=r"detail\.requestParameters\.name: Expected `str \| null`"):
        parse_api_call(event)


def test_requested_tags_of_an_unknown_shape_are_ignored_not_guessed() -> None:
    event = sample("create-instance-cli-trial-tagged")
    event["detail"]["requestParameters"]["tags"] = "purpose=trial"
    assert parse_api_call(event).requested_tags == {}


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
        (lambda e: e["detail"].__setitem__("recipientAccountId", "12"), "recipientAccountId"),
        (lambda e: e["detail"].__setitem__("awsRegion", "Europe"), "awsRegion"),
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


# -- who made the call on whose behalf ------------------------------------------------------------


def test_the_service_that_called_on_the_callers_behalf_is_read() -> None:
    event = sample("create-instance-from-cloudformation")
    call = parse_api_call(event)
    assert call.actor.invoked_by == "cloudformation.amazonaws.com"
    assert call.actor.invoked_by_delegate is None
    assert call.actor.arn == event["detail"]["userIdentity"]["arn"]


def test_a_product_provider_acting_with_delegated_access_is_read() -> None:
    call = parse_api_call(sample("create-instance-by-delegated-provider"))
    assert call.actor.invoked_by_delegate == "888888888888"
    assert call.actor.invoked_by is None


def test_an_ordinary_call_names_neither() -> None:
    call = parse_api_call(sample("create-instance-console-success"))
    assert (call.actor.invoked_by, call.actor.invoked_by_delegate) == (None, None)


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("invokedBy", 7, r"detail\.userIdentity\.invokedBy: Expected `str \| null`, got `int`"),
        ("invokedByDelegate", "888888888888", r"detail\.userIdentity\.invokedByDelegate: Expected `object"),
    ],
)
def test_an_actor_field_of_the_wrong_type_is_rejected(field: str, value: Any, says: str) -> None:
    event = sample("create-instance-console-success")
    event["detail"]["userIdentity"][field] = value
    with pytest.raises(InvalidEvent, match=says):
        parse_api_call(event)


def test_a_huge_actor_field_is_clipped() -> None:
    event = sample("create-instance-by-delegated-provider")
    event["detail"]["userIdentity"]["invokedByDelegate"]["accountId"] = "8" * 10_000
    event["detail"]["userIdentity"]["invokedBy"] = "x" * 10_000
    actor = parse_api_call(event).actor
    assert actor.invoked_by_delegate is not None
    assert actor.invoked_by is not None
    assert len(actor.invoked_by_delegate) <= MAX_TEXT
    assert len(actor.invoked_by) <= MAX_TEXT
