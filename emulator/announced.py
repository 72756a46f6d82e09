"""The emulation made to follow a user's own events: what each successful call did in AWS is done
in the emulated organization before the function reads it.

The emulation starts with the example organization and the instances its sample events imply. A
user's log names other instances, perhaps in the same accounts, and changes them over time. The
replay hands events over in the order they happened, and before the function sees one, the
emulation is made to hold what AWS held just after the call:

* a successful CreateInstance of an instance the emulation does not hold creates it (name and tags
  from the request, created at the event's time, in the event's account and Region, which is then
  enabled for that account), and whatever instance the account held gives way to it: AWS allows
  one per account, so the creation proves that the account had none;
* a successful TagResource or UntagResource sets or removes the tags it names, UpdateInstance
  renames the instance, DeleteInstance deletes it; through the emulated sso-admin API itself, as
  the instance's account, so that what AWS would refuse is refused here too (and said in a note).

A failed call changed nothing in AWS and changes nothing here. A change to an instance the
emulation does not hold (its creation is not in the log) cannot be made: a note says its facts are
missing. An account that is not in the emulated organization stays unknown: the function cannot
read it, exactly as it could not read an account outside your organization, and a note says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from emulator.organization import administrator_client
from guardrail.core.facts import ApiCall, Operation, Outcome
from guardrail.pipeline.events import InvalidEvent, parse_api_call

if TYPE_CHECKING:
    from emulator.environment import EmulatedEnvironment
    from emulator.identity_center import InstanceRecord

__all__ = ["AnnouncedInstances"]


def _tag_keys(event: Any) -> list[str]:
    """The keys an UntagResource removes, as CloudTrail records them (`tagKeys`)."""
    detail = event.get("detail") if isinstance(event, dict) else None
    request = detail.get("requestParameters") if isinstance(detail, dict) else None
    keys = request.get("tagKeys") if isinstance(request, dict) else None
    return [key for key in keys if isinstance(key, str)] if isinstance(keys, list) else []


class AnnouncedInstances:
    """Prepares the emulation for each event; ``prepare`` says, in notes, what it did or could not."""

    def __init__(self, env: EmulatedEnvironment) -> None:
        self._env = env
        self._clients: dict[tuple[str, str], Any] = {}

    def _client(self, account_id: str, region: str) -> Any:
        """The account's sso-admin client in the Region, made once (a client takes tens of ms)."""
        key = (account_id, region)
        if key not in self._clients:
            self._clients[key] = administrator_client(account_id, "sso-admin", region=region)
        return self._clients[key]

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
                "missing (replay --live or --org judges on your own organization)"
            ]
        if call.outcome is not Outcome.SUCCEEDED or call.instance_arn is None:
            return []  # nothing changed in AWS
        if call.operation is Operation.CREATE:
            return self._create(call)
        record = next(
            (r for r in self._env.identity_center.instances() if r.instance_arn == call.instance_arn), None
        )
        if record is None:
            if call.operation is Operation.DELETE:
                return []  # gone here too; the rules that judge a deletion do not read the instance
            return [
                f"the emulation holds no instance {call.instance_arn} (its creation is not in the "
                "replayed events), so its facts are missing"
            ]
        return self._change(call, record, event)

    def _change(self, call: ApiCall, record: InstanceRecord, event: Any) -> list[str]:
        client = self._client(record.owner_account_id, record.region)
        arn = record.instance_arn
        try:
            if call.operation is Operation.DELETE:
                client.delete_instance(InstanceArn=arn)
            elif call.operation is Operation.UPDATE:
                if call.requested_name is not None:
                    client.update_instance(InstanceArn=arn, Name=call.requested_name)
            elif call.operation is Operation.TAG:
                tags = [{"Key": key, "Value": value} for key, value in call.requested_tags.items()]
                if tags:
                    client.tag_resource(InstanceArn=arn, ResourceArn=arn, Tags=tags)
            elif call.operation is Operation.UNTAG:
                keys = _tag_keys(event)
                if keys:
                    client.untag_resource(InstanceArn=arn, ResourceArn=arn, TagKeys=keys)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "error")
            return [
                f"the emulation did not take the {call.operation.value} of {arn} ({code}), as AWS would not"
            ]
        return []

    def _create(self, call: ApiCall) -> list[str]:
        arn = call.instance_arn
        assert arn is not None
        if call.account_id == self._env.organization.management_account_id:
            return []  # AWS refuses CreateInstance there; the organization instance stays
        center = self._env.identity_center
        if any(record.instance_arn == arn for record in center.instances()):
            return []
        notes = []
        for record in center.instances(call.account_id):
            # The creation proves this one was not there (it was deleted before, or never existed).
            self._client(call.account_id, record.region).delete_instance(InstanceArn=record.instance_arn)
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
