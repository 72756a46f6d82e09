"""Links to the AWS console pages a reader of an alert goes to next, in the alert's partition."""

from __future__ import annotations

from urllib.parse import quote

from guardrail.core.regions import partition_of

_CONSOLE_DOMAINS = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}


def _console(region: str) -> str:
    domain = _CONSOLE_DOMAINS.get(partition_of(region), _CONSOLE_DOMAINS["aws"])
    return f"https://{region}.{domain}" if partition_of(region) == "aws" else f"https://{domain}"


def identity_center_console(region: str) -> str:
    """The IAM Identity Center console of the Region (open it signed in to the instance's account)."""
    return f"{_console(region)}/singlesignon/home?region={region}"


def cloudtrail_event(region: str, event_id: str) -> str:
    """The CloudTrail event history entry (in the account where the call was made)."""
    return f"{_console(region)}/cloudtrailv2/home?region={region}#/events/{quote(event_id, safe='')}"


def s3_object_console(region: str, bucket: str, key: str) -> str:
    """The S3 console page of one object (its Open button shows it to whoever may read it)."""
    return (
        f"{_console(region)}/s3/object/{quote(bucket, safe='')}?region={region}&prefix={quote(key, safe='')}"
    )
