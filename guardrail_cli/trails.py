"""Whether a CloudTrail trail records the instance calls, judged from what CloudTrail says of it.

EventBridge receives CloudTrail's management events only while a trail records them (domain facts:
"a trail must be logging"), so the guardrail is blind in an account and Region no logging trail
covers. A trail covers its home Region, or every Region when it is multi-Region; an organization
trail covers every account of the organization, an account's own trail that account alone.

What it records is its event selectors (GetEventSelectors), basic or advanced. The instance calls
are write management events of `sso.amazonaws.com`; each selector is matched against the fields
CloudTrail gives them (`eventCategory`, `readOnly`, `eventSource`, `eventName`, `eventType`). An
advanced selector on a field those calls do not settle is judged conservatively: one on a resource
field (`resources.type`, `resources.ARN`) selects data events, never these calls; one on any other
field (`userIdentity.arn`, `errorCode`, ...) records them only if it merely excludes values
(`Not...` operators), since one that names values records only the calls that have them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guardrail.pipeline.patterns import INSTANCE_EVENT_PATTERN

_SOURCE = "sso.amazonaws.com"
# The calls the rules match, in the pattern's order.
INSTANCE_CALLS: tuple[str, ...] = tuple(
    name for branch in INSTANCE_EVENT_PATTERN["detail"]["$or"] for name in branch["eventName"]
)
_POSITIVE = ("Equals", "StartsWith", "EndsWith")
_NEGATIVE = ("NotEquals", "NotStartsWith", "NotEndsWith")
_DATA_FIELDS = frozenset({"resources.type", "resources.ARN"})


def _fields(event_name: str) -> dict[str, str]:
    """How CloudTrail records an instance call, in the fields advanced selectors filter on."""
    return {
        "eventCategory": "Management",
        "readOnly": "false",
        "eventSource": _SOURCE,
        "eventName": event_name,
        "eventType": "AwsApiCall",
    }


def _holds(operator: str, values: Sequence[str], value: str) -> bool:
    test = operator.removeprefix("Not")
    found = any(
        value == v if test == "Equals" else value.startswith(v) if test == "StartsWith" else value.endswith(v)
        for v in values
    )
    return not found if operator.startswith("Not") else found


def _field_selector_passes(selector: Mapping[str, Any], fields: Mapping[str, str]) -> bool:
    """Every operator of the field selector holds: one that names values matches one of them, one
    that excludes values matches none."""
    field = str(selector.get("Field", ""))
    operators = [op for op in (*_POSITIVE, *_NEGATIVE) if selector.get(op)]
    if field in _DATA_FIELDS:
        return False
    if field not in fields:
        return all(op in _NEGATIVE for op in operators)
    return all(_holds(op, [str(v) for v in selector[op]], fields[field]) for op in operators)


def advanced_selector_records(selector: Mapping[str, Any], event_name: str) -> bool:
    """Whether the advanced event selector records the call: every field selector passes."""
    fields = _fields(event_name)
    return all(_field_selector_passes(f, fields) for f in selector.get("FieldSelectors", []))


def basic_selector_records(selector: Mapping[str, Any]) -> bool:
    """Whether the basic event selector records write management events of Identity Center."""
    return (
        bool(selector.get("IncludeManagementEvents", True))
        and selector.get("ReadWriteType", "All") in ("All", "WriteOnly")
        and _SOURCE not in selector.get("ExcludeManagementEventSources", [])
    )


def unrecorded_calls(selectors: Mapping[str, Any]) -> tuple[str, ...]:
    """The instance calls no selector of the trail records (GetEventSelectors' answer), in order."""
    advanced = selectors.get("AdvancedEventSelectors") or []
    basic = selectors.get("EventSelectors") or []
    if advanced:
        return tuple(
            name for name in INSTANCE_CALLS if not any(advanced_selector_records(s, name) for s in advanced)
        )
    if any(basic_selector_records(s) for s in basic):
        return ()
    return INSTANCE_CALLS


@dataclass(frozen=True)
class Trail:
    """One trail as the doctor judges it."""

    arn: str
    name: str
    home_region: str
    multi_region: bool
    organization: bool
    logging: bool
    unrecorded: tuple[str, ...]

    @classmethod
    def of(
        cls, described: Mapping[str, Any], status: Mapping[str, Any], selectors: Mapping[str, Any]
    ) -> Trail:
        arn = str(described["TrailARN"])
        return cls(
            arn=arn,
            name=str(described.get("Name") or arn.rpartition("/")[2]),
            home_region=str(described.get("HomeRegion") or arn.split(":")[3]),
            multi_region=bool(described.get("IsMultiRegionTrail")),
            organization=bool(described.get("IsOrganizationTrail")),
            logging=bool(status.get("IsLogging")),
            unrecorded=unrecorded_calls(selectors),
        )

    @property
    def owner(self) -> str:
        """The account that owns the trail (the management account's, for an organization trail)."""
        return self.arn.split(":")[4]

    @property
    def records(self) -> bool:
        """Logging, and recording every instance call."""
        return self.logging and not self.unrecorded

    def covers(self, region: str) -> bool:
        return self.multi_region or self.home_region == region

    def describe(self) -> str:
        kind = "organization trail" if self.organization else "this account's trail"
        scope = "multi-Region" if self.multi_region else f"in {self.home_region} only"
        return f"{self.name} ({kind}, {scope})"


def uncovered(trails: Sequence[Trail], regions: Sequence[str]) -> list[str]:
    """The Regions no recording trail covers."""
    return [r for r in regions if not any(t.records and t.covers(r) for t in trails)]
