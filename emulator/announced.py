"""The emulation made fair to a user's own events: an instance a successful CreateInstance announces
exists in the emulated organization when the function reads it.

The emulation starts with the example organization and the instances its sample events imply. A
user's log names other instances, perhaps in the same accounts. Left alone, each of the user's
instances would come back undetermined (DescribeInstance: not found), and a starting instance in
the same account would make the creation look like a second instance, where AWS would have
refused the call. So before the function sees a successful CreateInstance of an instance the
emulation does not hold, the instance is created (name and tags from the request, created at
the event's time, in the event's account and Region, which is then enabled for that account),
and whatever instance the account held in the emulation gives way to it: AWS allows one per
account, so the creation proves that the account had none. (Deletions in the log are not
applied: logs are read in path order, not in time order, and the rules that judge a deletion
or an update do not read the instance.)

An account that is not in the emulated organization stays unknown: the function cannot read it,
exactly as it could not read an account outside your organization, and the note says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.organization import administrator_client
from guardrail.core.facts import Operation, Outcome
from guardrail.events import InvalidEvent, parse_api_call

if TYPE_CHECKING:
    from emulator.environment import EmulatedEnvironment

__all__ = ["AnnouncedInstances"]


class AnnouncedInstances:
    """Prepares the emulation for each event; ``prepare`` says, in notes, what it did or could not."""

    def __init__(self, env: EmulatedEnvironment) -> None:
        self._env = env

    def _known(self, account_id: str) -> bool:
        org = self._env.organization
        return account_id == org.management_account_id or account_id in org.account_names

    def prepare(self, event: Any) -> list[str]:
        """Make the emulation hold what ``event`` shows to exist; notes for the reader of the output."""
        try:
            call = parse_api_call(event)
        except InvalidEvent:
            return []  # the function rejects it, and says why
        if not self._known(call.account_id):
            return [
                f"account {call.account_id} is not in the emulated organization, so its facts are "
                "missing (replay --live reads your own organization)"
            ]
        arn = call.instance_arn
        if call.operation is not Operation.CREATE or call.outcome is not Outcome.SUCCEEDED or arn is None:
            return []
        if call.account_id == self._env.organization.management_account_id:
            return []  # AWS refuses CreateInstance there; the organization instance stays
        center = self._env.identity_center
        if any(record.instance_arn == arn for record in center.instances()):
            return []
        notes = []
        for record in center.instances(call.account_id):
            # The creation proves this one was not there (it was deleted before, or never existed).
            administrator_client(call.account_id, "sso-admin", region=record.region).delete_instance(
                InstanceArn=record.instance_arn
            )
            notes.append(f"{record.instance_arn}, which the emulation held in {call.account_id}, gave way")
        if not self._env.account_regions.is_enabled(call.account_id, call.region):
            self._env.account_regions.enable(call.account_id, call.region)
        try:
            center.seed_instance(
                call.account_id,
                call.region,
                name=call.requested_name or "",
                tags=call.requested_tags,
                instance_arn=arn,
                created_date=call.event_time,
            )
        except ValueError as error:  # tags CreateInstance would have refused: clipped in the record
            center.seed_instance(
                call.account_id,
                call.region,
                name=call.requested_name or "",
                instance_arn=arn,
                created_date=call.event_time,
            )
            notes.append(f"the requested tags were not kept ({error})")
        notes.insert(0, f"the emulation now holds {arn}, created as the event's request asked")
        return notes
