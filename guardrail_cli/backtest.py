"""`guardrail replay --live`: the policy's decision on each event, on facts read now from the real
organization, with the caller's credentials, read-only.

The facts are gathered as the function gathers them (`FactGatherer`: the Organizations reader
role, a role in each member account) and the decision is the function's own (`Guardrail`), but
with no remediator, no confirmer and no inventory, and a publisher that only keeps the alert:
nothing is deleted, published or recorded. A decision to delete says so (`action:
delete-instance`), and its remediation is `skipped`. Nothing of the local emulation is used.

The facts are today's: the instance as it is now (or gone), the account's OU path and SCPs now.
An event seen twice (one delivery of an organization trail and one of an account's own trail)
is judged once, as the function's idempotency table would have it.

`DecisionRunner` is the same with any gatherer: `--org` hands it one that reads a snapshot of the
organization (`snapshot`) instead of AWS, so that offline and live judge alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from guardrail.adapters.clients import AwsClients
from guardrail.channels.securityhub import Importer
from guardrail.core.alert import Alert
from guardrail.core.policy import Policy
from guardrail.gather import FactGatherer, GatherSettings
from guardrail.pipeline.events import InvalidEvent, parse_api_call
from guardrail.pipeline.service import Gatherer, Guardrail, utc_now
from guardrail_cli.report import Outcome


class KeepingPublisher:
    """Publishes nothing: keeps the last alert, shaped as an SNS subscriber receives it."""

    def __init__(self) -> None:
        self.last: dict[str, Any] | None = None

    def publish(self, alert: Alert) -> str:
        self.last = {
            "subject": alert.subject,
            "body": json.loads(alert.message()),
            # As SNS delivers message attributes: a String.Array is its JSON text.
            "attributes": {
                name: json.dumps(value) if isinstance(value, list) else value
                for name, value in alert.attributes.items()
            },
        }
        return "not-published"


@dataclass(frozen=True)
class LiveSettings:
    member_role_name: str
    regions: tuple[str, ...]
    organizations_role_arn: str | None
    organization_instance_region: str | None
    # Where the deployment imports Security Hub findings (`--show securityhub`).
    importer: Importer | None = None


def live_settings(
    config: Any,
    *,
    member_role: str | None = None,
    organizations_role: str | None = None,
    regions: Sequence[str] | None = None,
) -> LiveSettings:
    """The deployment configuration's roles and Regions, with the caller's overrides."""
    return LiveSettings(
        member_role_name=member_role or config.member_role_name,
        regions=tuple(regions or config.regions),
        organizations_role_arn=organizations_role or config.organizations_role_arn,
        organization_instance_region=config.organization_instance_region,
        importer=Importer(config.central_account_id, config.central_region),
    )


class DecisionRunner:
    """The function's decision on each event, on facts from ``gatherer``; `handle` one at a time.

    Nothing is deleted, published or recorded. Without the function's inventory there is no
    history: a tag change is judged as if first seen, and when the function's own code finds
    nothing worth an alert, the outcome is `nothing-new`."""

    def __init__(
        self, gatherer: Gatherer, policy: Policy, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._publisher = KeepingPublisher()
        self._guardrail = Guardrail(gatherer, self._publisher, policy, clock=clock)
        self._seen: set[str] = set()

    def handle(self, event: dict[str, Any]) -> Outcome:
        try:
            call = parse_api_call(event)
        except InvalidEvent as error:  # the function would dead-letter it
            return Outcome("rejected", reason=str(error))
        if call.event_id in self._seen:
            return Outcome("duplicate")
        self._seen.add(call.event_id)
        self._publisher.last = None
        try:
            alert = self._guardrail.handle(call)
        except Exception as error:  # the function would fail the invocation, then retry
            return Outcome("failed", reason=f"{type(error).__name__}: {error}")
        if alert is None:
            return Outcome("nothing-new", reason="judged; no change worth an alert")
        return Outcome("alerted", alert=self._publisher.last)


class LiveRunner(DecisionRunner):
    """Judges events on the organization the caller's credentials reach."""

    def __init__(self, clients: AwsClients, settings: LiveSettings, policy: Policy) -> None:
        self.settings = settings
        # Fails here, as one line, when there are no usable credentials at all.
        self.caller = str(clients.client("sts").get_caller_identity()["Arn"])
        gatherer = FactGatherer(
            clients,
            GatherSettings(
                member_role_name=settings.member_role_name,
                regions=settings.regions,
                organizations_role_arn=settings.organizations_role_arn,
                organization_instance_region=settings.organization_instance_region,
                settle_delays=(),  # the instance is judged as it is now: nothing to wait for
            ),
        )
        super().__init__(gatherer, policy)
