"""Parsing CloudTrail records of the instance API, as EventBridge delivers them.

AWS publishes no sample of these records, so the models accept what CloudTrail may plausibly
send (null or missing request and response elements, tags as a list or a map) and reject what
makes an event unusable or would make its alert a guess: no id, not an instance call, a field of
the wrong type (an instance ARN that is a number, or not an instance's ARN), no account or Region.

Where the call was made comes from CloudTrail's record (`detail.recipientAccountId`,
`detail.awsRegion`), which every management event carries. EventBridge's envelope (`account`,
`region`) states the same for an event of the account's own bus, and forwarding keeps them: so
no envelope field stands in for a missing detail field, and an envelope that disagrees with the
record is rejected rather than believed either way.

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
from guardrail.pipeline.patterns import TEST_SOURCE

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
REGION_PATTERN = r"^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$"
ACCOUNT_ID_PATTERN = r"^[0-9]{12}$"
# The sso-admin service model's pattern of an instance ARN (it holds neither account nor Region).
INSTANCE_ARN_PATTERN = r"^arn:aws(-[a-z]{1,5}){0,3}:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$"


class InvalidEvent(ValueError):
    """An event the guardrail cannot process; it goes to the dead-letter queue with this reason."""


class Delegate(msgspec.Struct, frozen=True):
    """`userIdentity.invokedByDelegate`: the product provider that acted with IAM temporary
    delegated access, by its account (outside the customer's organization)."""

    account_id: str | None = field(default=None, name="accountId")


class UserIdentity(msgspec.Struct, frozen=True):
    type: str | None = None
    arn: str | None = None
    account_id: str | None = field(default=None, name="accountId")
    # The AWS service that made the call on the caller's behalf (a CloudFormation stack's resource).
    invoked_by: str | None = field(default=None, name="invokedBy")
    invoked_by_delegate: Delegate | None = field(default=None, name="invokedByDelegate")


InstanceArn = Annotated[str, Meta(pattern=INSTANCE_ARN_PATTERN)]


class RequestParameters(msgspec.Struct, frozen=True):
    """The request keys the guardrail reads; others are ignored. Tags are checked in `_tags`."""

    instance_arn: InstanceArn | None = field(default=None, name="instanceArn")
    name: str | None = None
    tags: Any = None
    # TagResource and UntagResource: what was tagged (an instance, for the calls the rules match).
    resource_arn: Annotated[str, Meta(max_length=MAX_TEXT)] | None = field(default=None, name="resourceArn")


class ResponseElements(msgspec.Struct, frozen=True):
    instance_arn: InstanceArn | None = field(default=None, name="instanceArn")


class CloudTrailDetail(msgspec.Struct, frozen=True):
    event_id: Annotated[str, Meta(min_length=1, max_length=MAX_EVENT_ID)] = field(name="eventID")
    event_source: Literal["sso.amazonaws.com"] = field(name="eventSource")
    event_name: Operation = field(name="eventName")
    event_time: Annotated[datetime, Meta(tz=True)] = field(name="eventTime")  # CloudTrail's is UTC
    aws_region: Annotated[str, Meta(pattern=REGION_PATTERN)] = field(name="awsRegion")
    recipient_account_id: Annotated[str, Meta(pattern=ACCOUNT_ID_PATTERN)] = field(name="recipientAccountId")
    source_ip_address: str | None = field(default=None, name="sourceIPAddress")
    user_agent: str | None = field(default=None, name="userAgent")
    user_identity: UserIdentity | None = field(default=None, name="userIdentity")
    request_parameters: RequestParameters | None = field(default=None, name="requestParameters")
    response_elements: ResponseElements | None = field(default=None, name="responseElements")
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
    """Tags as CloudTrail may record them: [{key, value}], [{Key, Value}] or a plain map.

    The requested tags are informational (the instance's tags are read from sso-admin) and their
    recorded shape is not documented, so a shape other than these is ignored, not rejected.
    """
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
    request = detail.request_parameters or RequestParameters()
    response = detail.response_elements or ResponseElements()
    account_id, region = detail.recipient_account_id, detail.aws_region
    for where, envelope, record in (
        ("account", parsed.account, account_id),
        ("region", parsed.region, region),
    ):
        if envelope != record:
            raise InvalidEvent(
                f"{where}: the envelope says {_clip(repr(envelope), 64)}, the CloudTrail record "
                f"{record!r}; an event whose envelope and record disagree is not trusted"
            )
    identity = detail.user_identity or UserIdentity()
    instance_arn = response.instance_arn or request.instance_arn
    if detail.event_name in (Operation.TAG, Operation.UNTAG):
        # The tagged resource is the subject: an instance, or the event is none of the guardrail's.
        tagged = request.resource_arn
        if tagged is None or not re.fullmatch(INSTANCE_ARN_PATTERN, tagged):
            raise InvalidEvent(
                f"detail.requestParameters.resourceArn: {detail.event_name.value} of "
                f"{_clip(repr(tagged), 128)}, not of an instance"
            )
        instance_arn = tagged
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
        requested_name=_text(request.name),
        requested_tags=_tags(request.tags),
        actor=Actor(
            arn=_text(identity.arn),
            type=_text(identity.type),
            account_id=_text(identity.account_id),
            source_ip=_text(detail.source_ip_address),
            user_agent=_text(detail.user_agent),
            invoked_by=_text(identity.invoked_by),
            invoked_by_delegate=_text((identity.invoked_by_delegate or Delegate()).account_id),
        ),
    )


# `guardrail doctor --send-test-event`: the synthetic instance its test event creates. Real instance
# ids are hexadecimal, so no real instance has this one: a test event never names a real instance,
# and its alert (a Security Hub finding included) never updates one of a real instance.
TEST_INSTANCE_ID = "ssoins-doctor-test-0000"
TEST_INSTANCE_ARN_PATTERN = rf"^arn:aws(-[a-z]{{1,5}}){{0,3}}:sso:::instance/{TEST_INSTANCE_ID}$"


def is_test_event(event: Any) -> bool:
    """Whether `event` is the doctor's test event: its source says so, a source EventBridge refuses
    to anyone claiming an AWS service (`aws.*`) and that no forwarding rule matches."""
    return isinstance(event, dict) and event.get("source") == TEST_SOURCE


def parse_test_event(event: Any) -> ApiCall:
    """The test event as the `ApiCall` it stands for, or `InvalidEvent`: it is parsed as a real one
    is, and must be a CreateInstance of the synthetic instance."""
    call = parse_api_call(event)
    arn = call.instance_arn
    synthetic = arn is not None and re.fullmatch(TEST_INSTANCE_ARN_PATTERN, arn) is not None
    if call.operation is not Operation.CREATE or not synthetic:
        raise InvalidEvent(
            f"source {TEST_SOURCE}: a test event must be a CreateInstance of the synthetic instance "
            f"{TEST_INSTANCE_ID}, not {call.operation.value} of {_clip(repr(arn), 128)}"
        )
    return call
