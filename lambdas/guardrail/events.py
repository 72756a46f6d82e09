"""Parsing CloudTrail records of the instance API, as EventBridge delivers them.

AWS publishes no sample of these records, so the models accept what CloudTrail may plausibly
send (null or missing request and response elements, tags as a list or a map) and reject only
what makes an event unusable: no id, not an instance call, no account or Region.

Anything else in an event is untrusted text that ends up in alerts and logs: free-text fields are
clipped, so that no event, however large or odd, can make the alert exceed what SNS accepts.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, field

from guardrail.core.facts import Actor, ApiCall, Operation, Outcome
from guardrail.core.strict import ConversionError, convert

EVENT_SOURCE = "sso.amazonaws.com"
DETAIL_TYPE = "AWS API Call via CloudTrail"
# CloudTrail event ids are UUIDs; anything much longer is not an id.
MAX_EVENT_ID = 128
# Free text (user agent, error message, names, ARNs) beyond this is clipped.
MAX_TEXT = 2048
# A rejection's reason may quote the offending value; it goes into logs and a message attribute.
MAX_REASON = 512
MAX_TAGS = 75
# Region names of every partition: us-east-1, us-gov-west-1, cn-north-1, eusc-de-east-1, ...
REGION_PATTERN = re.compile(r"[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}")


class InvalidEvent(ValueError):
    """An event the guardrail cannot process; it goes to the dead-letter queue with this reason."""


class UserIdentity(msgspec.Struct, frozen=True):
    type: str | None = None
    arn: str | None = None
    account_id: str | None = field(default=None, name="accountId")


class CloudTrailDetail(msgspec.Struct, frozen=True):
    event_id: Annotated[str, Meta(min_length=1, max_length=MAX_EVENT_ID)] = field(name="eventID")
    event_source: Literal["sso.amazonaws.com"] = field(name="eventSource")
    event_name: Operation = field(name="eventName")
    event_time: Annotated[datetime, Meta(tz=True)] = field(name="eventTime")  # CloudTrail's is UTC
    aws_region: str | None = field(default=None, name="awsRegion")
    recipient_account_id: str | None = field(default=None, name="recipientAccountId")
    source_ip_address: str | None = field(default=None, name="sourceIPAddress")
    user_agent: str | None = field(default=None, name="userAgent")
    user_identity: UserIdentity | None = field(default=None, name="userIdentity")
    request_parameters: dict[str, Any] | None = field(default=None, name="requestParameters")
    response_elements: dict[str, Any] | None = field(default=None, name="responseElements")
    error_code: str | None = field(default=None, name="errorCode")
    error_message: str | None = field(default=None, name="errorMessage")


class InstanceApiCallEvent(msgspec.Struct, frozen=True):
    """The EventBridge envelope; its other keys (version, time, resources...) are not needed."""

    id: str
    source: str
    account: str
    region: str
    detail_type: Literal["AWS API Call via CloudTrail"] = field(name="detail-type")
    detail: CloudTrailDetail


def event_id_of(event: Any) -> str | None:
    """The best id to log for any input, however broken: CloudTrail's, else EventBridge's."""
    if not isinstance(event, dict):
        return None
    detail = event.get("detail")
    candidate = detail.get("eventID") if isinstance(detail, dict) else None
    if not isinstance(candidate, str):
        candidate = event.get("id")
    return _clip(candidate, MAX_EVENT_ID) if isinstance(candidate, str) else None


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 15] + "...[truncated]"


def _tags(raw: Any) -> dict[str, str]:
    """Tags as CloudTrail may record them: [{key, value}], [{Key, Value}] or a plain map."""
    tags: dict[str, str] = {}
    if isinstance(raw, dict):
        tags = {str(k): str(v) for k, v in raw.items() if v is not None}
    elif isinstance(raw, list):
        for item in raw:
            if isinstance(item, dict):
                key = item.get("key", item.get("Key"))
                value = item.get("value", item.get("Value"))
                if isinstance(key, str):
                    tags[key] = "" if value is None else str(value)
    return {_clip(k, 256): _clip(v, 512) for k, v in list(tags.items())[:MAX_TAGS]}


def _text(value: Any) -> str | None:
    return _clip(value) if isinstance(value, str) and value else None


def parse_api_call(event: Any) -> ApiCall:
    """Turn a raw EventBridge event into an `ApiCall`, or raise `InvalidEvent` saying why."""
    try:
        parsed = convert(event, InstanceApiCallEvent)
    except ConversionError as error:  # where and what, e.g. "detail.eventID: Expected `str`, got `int`"
        # The message may quote the offending value, unpaired surrogates included: escape them.
        reason = str(error).encode("utf-8", "backslashreplace").decode("utf-8")
        raise InvalidEvent(_clip(reason, MAX_REASON)) from None

    detail = parsed.detail
    request = detail.request_parameters or {}
    response = detail.response_elements or {}
    account_id = detail.recipient_account_id or parsed.account
    region = detail.aws_region or parsed.region
    if not (account_id.isascii() and account_id.isdigit() and len(account_id) == 12):
        raise InvalidEvent(f"no 12-digit account id in the event (got {_clip(repr(account_id), 64)})")
    if not region:
        raise InvalidEvent("no Region in the event")
    if not REGION_PATTERN.fullmatch(region):
        raise InvalidEvent(f"not a Region name: {_clip(repr(region), 64)}")
    identity = detail.user_identity or UserIdentity()
    instance_arn = _text(response.get("instanceArn")) or _text(request.get("instanceArn"))
    return ApiCall(
        event_id=detail.event_id,
        operation=detail.event_name,
        event_time=detail.event_time,
        account_id=account_id,
        region=region,
        outcome=Outcome.FAILED if detail.error_code else Outcome.SUCCEEDED,
        instance_arn=instance_arn,
        error_code=_text(detail.error_code),
        error_message=_text(detail.error_message),
        requested_name=_text(request.get("name")),
        requested_tags=_tags(request.get("tags")),
        actor=Actor(
            arn=_text(identity.arn),
            type=_text(identity.type),
            account_id=_text(identity.account_id),
            source_ip=_text(detail.source_ip_address),
            user_agent=_text(detail.user_agent),
        ),
    )
