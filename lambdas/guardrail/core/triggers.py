"""What each kind of trigger is, in one table that every part of the guardrail reads.

A trigger is why an instance is looked at: an API call CloudTrail recorded (by operation and
outcome), a sweep that listed it, or the end of a pending deletion's grace period. The rules, the
decision, the gathering of facts, the deletion lifecycle, the inventory and the alerting each ask
it one question ("does this trigger judge the instance's state?", "may it delete on the spot?")
instead of keeping hand-written sets of occasions that drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from guardrail.core.facts import Occasion


class Alerting(StrEnum):
    """When a look at an instance is worth an alert."""

    ALWAYS = "always"
    # Only when it changes what is known: a new, changed or ended violation, or a deletion's news.
    NEWS = "news"
    # The same, and an unchanged open violation again after the sweep's reminder interval.
    NEWS_OR_REMINDER = "news-or-reminder"
    # Only when a rule faults the call itself (a failed tag change changed nothing).
    FINDINGS = "findings"
    # Only what the look did to the instance's pending deletion (the end of a grace period).
    DELETION = "deletion"


@dataclass(frozen=True)
class Traits:
    """One kind of trigger."""

    # An API call (the rules about calls judge it; its alert names the call).
    api_call: bool
    # What the instance *is* is judged (the instance-state rules apply): it may get its deletion
    # scheduled, moved or cancelled, and a clean result is `compliant`.
    judges_state: bool
    # A CreateInstance that made nothing: judged like an instance (its account, its Region), never
    # remediated; a clean result is `compliant` too.
    judges_attempt: bool
    # The instance is described, tagged and its applications listed for the decision.
    describes_instance: bool
    # The organization instances are read, to tell whether the subject is one of them.
    reads_organization_instances: bool
    # A deletion it decides may be carried out at once; otherwise it is only scheduled.
    deletes_on_spot: bool
    # A second look at an instance already judged: its alert says what changed since.
    relook: bool
    alerting: Alerting

    @property
    def judges(self) -> bool:
        """Whether the result is a judgement (`compliant` when clean) rather than a record (`info`)."""
        return self.judges_state or self.judges_attempt


def _call(
    *,
    judges_state: bool = False,
    judges_attempt: bool = False,
    describes_instance: bool = False,
    reads_organization_instances: bool = False,
    deletes_on_spot: bool = False,
    relook: bool = False,
    alerting: Alerting = Alerting.ALWAYS,
) -> Traits:
    return Traits(
        api_call=True,
        judges_state=judges_state,
        judges_attempt=judges_attempt,
        describes_instance=describes_instance,
        reads_organization_instances=reads_organization_instances or judges_state or judges_attempt,
        deletes_on_spot=deletes_on_spot,
        relook=relook,
        alerting=alerting,
    )


_TAG_CHANGE = _call(
    judges_state=True, describes_instance=True, deletes_on_spot=True, relook=True, alerting=Alerting.NEWS
)
# A call that failed changed nothing: it alerts only when a rule faults the attempt itself.
_FAILED_TAG_CHANGE = _call(alerting=Alerting.FINDINGS)

TRAITS: dict[Occasion, Traits] = {
    Occasion.CREATE_SUCCEEDED: _call(judges_state=True, describes_instance=True, deletes_on_spot=True),
    Occasion.CREATE_FAILED: _call(judges_attempt=True),
    Occasion.DELETE_SUCCEEDED: _call(),
    # Was it the organization instance that someone tried to delete?
    Occasion.DELETE_FAILED: _call(reads_organization_instances=True),
    Occasion.UPDATE_SUCCEEDED: _call(),
    Occasion.UPDATE_FAILED: _call(),
    Occasion.TAG_SUCCEEDED: _TAG_CHANGE,
    Occasion.TAG_FAILED: _FAILED_TAG_CHANGE,
    Occasion.UNTAG_SUCCEEDED: _TAG_CHANGE,
    Occasion.UNTAG_FAILED: _FAILED_TAG_CHANGE,
    # A sweep finds many instances at once, rather than being told of one: it never deletes on the
    # spot, only schedules (even without a grace period).
    Occasion.SWEEP: Traits(
        api_call=False,
        judges_state=True,
        judges_attempt=False,
        describes_instance=True,
        reads_organization_instances=True,
        deletes_on_spot=False,
        relook=True,
        alerting=Alerting.NEWS_OR_REMINDER,
    ),
    Occasion.GRACE_ENDED: Traits(
        api_call=False,
        judges_state=True,
        judges_attempt=False,
        describes_instance=True,
        reads_organization_instances=True,
        deletes_on_spot=True,
        relook=True,
        alerting=Alerting.DELETION,
    ),
}


def traits(occasion: Occasion) -> Traits:
    return TRAITS[occasion]


def occasions(**wanted: bool) -> frozenset[Occasion]:
    """The occasions whose traits have every given value, e.g. ``occasions(judges_state=True)``."""
    return frozenset(
        occasion
        for occasion, kind in TRAITS.items()
        if all(getattr(kind, name) == value for name, value in wanted.items())
    )
