"""One canonical form for the calls that IAM decides alike.

Two calls that differ only in what varies from test to test (an event id, a run id, an instance
id, which member account, the ids moto draws for the organization, its OUs and SCPs, a time) need the same
statements: IAM's decision on them cannot differ, as no statement of the templates names one such
value. Each is replaced by a fixed value of the same form, consistently within a call, so that the
canonical call is still a valid request (the simulator checks ARNs against the action's resource
types) and the calls the functions make form a short, stable list.

What a statement can depend on is kept: the service, the action, the kind of resource and its
fixed names (tables, buckets, queues, the key prefixes the grants name), the Region, the central
and management accounts (other accounts all become `MEMBER`), the presence of conditions' keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from tests.iam.recording import Recorded

# The example organization's ids, which the emulated organization's are translated to (the
# configuration the templates are synthesized from names these).
ORGANIZATION_ID: Final = "o-exampleorg1"
ROOT_ID: Final = "r-ab12"
MANAGEMENT: Final = "111111111111"
CENTRAL: Final = "222222222222"
MEMBER: Final = "333333333333"

_ZERO_UUID = "00000000-0000-0000-0000-000000000000"
_RULES: Final[tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...]] = (
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), _ZERO_UUID),
    (re.compile(r"\b(ssoins|ins)-[0-9a-f]{16}\b"), r"\1-0000000000000000"),
    (re.compile(r"(?<![0-9a-f])[0-9a-f]{40}(?![0-9a-f])"), "0" * 40),
    (re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])"), "0" * 32),
    (re.compile(r"\bou-([0-9a-z]{4,32})-[0-9a-z]{8,32}\b"), r"ou-\1-00000000"),
    (re.compile(r"\bp-(?!FullAWSAccess\b)[0-9a-z]{8,128}\b"), "p-00000000"),
    # A time: the hour keys of the deletion cap, a deletion's deadline. Tests run on fixed clocks and
    # on the wall clock alike, and no statement names one. Its digits become zeros, its form stays.
    (
        re.compile(r"(?<![\d-])\d{4}-\d{2}-\d{2}(?:[T ]\d{2}(?::\d{2}){0,2}(?:\.\d+)?)?(?![\d])"),
        lambda match: re.sub(r"\d", "0", match.group(0)),
    ),
    # A batch report's name: <first account>-<accounts in the batch>.json
    (re.compile(r"/batches/\d{12}-\d+\.json\b"), f"/batches/{MEMBER}-1.json"),
    # An account id; not a UUID's last group (already zeros), which follows a hyphen.
    (
        re.compile(r"(?<![\d-])\d{12}(?!\d)"),
        lambda match: match.group(0) if match.group(0) in (MANAGEMENT, CENTRAL) else MEMBER,
    ),
)


def canonical_text(text: str, organization_id: str | None, root_id: str | None) -> str:
    if organization_id:
        text = text.replace(organization_id, ORGANIZATION_ID)
    if root_id:
        text = re.sub(rf"\b{re.escape(root_id)}\b", ROOT_ID, text)
        # Organizations' OU ids embed the root's suffix (ou-<root>-...).
        text = text.replace(f"ou-{root_id[2:]}-", f"ou-{ROOT_ID[2:]}-")
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def _value(value: Any, organization_id: str | None, root_id: str | None) -> Any:
    if isinstance(value, str):
        return canonical_text(value, organization_id, root_id)
    if isinstance(value, list):
        return sorted({canonical_text(str(v), organization_id, root_id) for v in value})
    return value


def canonical(recorded: Recorded) -> Recorded:
    """`recorded` in canonical form, in the example organization."""
    organization, root = recorded.organization_id, recorded.root_id

    def text(value: str) -> str:
        return canonical_text(value, organization, root)

    return replace(
        recorded,
        role=text(recorded.role) if recorded.role else None,
        account=text(recorded.account),
        resource=text(recorded.resource),
        context=[(key, _value(value, organization, root)) for key, value in recorded.context],
        resource_account=text(recorded.resource_account) if recorded.resource_account else None,
        organization_id=ORGANIZATION_ID if organization else None,
        root_id=ROOT_ID if root else None,
    )
