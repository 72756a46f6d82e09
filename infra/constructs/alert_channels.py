"""The channels an alert goes out on besides the alert topic, and what delivering on them needs.

`guardrail.channels.delivery.build_deliverer` builds them from the detect function's and the sweep worker's
environment: the alert topic always, chat with `chat_topic_arn`, Security Hub CSPM with
`security_hub_account_id` (in the function's own Region), and, with more than one channel, a record
of the channels each alert went out on in the idempotency table (`idempotency_table_name`).
`AlertChannels` gives both functions those variables and exactly the permissions they call for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aws_cdk import Aws
from aws_cdk import aws_iam as iam

from infra.config import GuardrailConfig
from infra.constructs.chat_topic import ChatTopic
from infra.constructs.idempotency_table import IdempotencyTable

# The channels' names, as the functions count their failures (`ChannelFailures_<name>`).
ALERTS_CHANNEL: Final = "alerts"
CHAT_CHANNEL: Final = "chat"
SECURITY_HUB_CHANNEL: Final = "securityhub"


def security_hub_arn(region: str, account_id: str, resource: str) -> str:
    return f"arn:{Aws.PARTITION}:securityhub:{region}:{account_id}:{resource}"


@dataclass(frozen=True)
class SecurityHubImport:
    """Where the findings go: the central account's Security Hub CSPM in the central Region."""

    account_id: str
    region: str

    @property
    def product_arn(self) -> str:
        """The account's default product, the only one it may import its own findings with."""
        return security_hub_arn(self.region, self.account_id, f"product/{self.account_id}/default")

    @property
    def hub_arn(self) -> str:
        """The account's hub in the Region, the resource `BatchUpdateFindings` is authorized on."""
        return security_hub_arn(self.region, self.account_id, "hub/default")

    def grant(self, grantee: iam.IGrantable) -> None:
        principal = grantee.grant_principal
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ImportSecurityHubFindings",
                actions=["securityhub:BatchImportFindings"],
                resources=[self.product_arn],
            )
        )
        # The Service Authorization Reference gives BatchUpdateFindings two optional resource types:
        # `hub` (Security Hub CSPM's, where these ASFF findings are) and `hubv2` (the new Security
        # Hub's). Its condition keys (securityhub:ASFFSyntaxPath/..., OCSFSyntaxPath/...) filter on
        # the fields a request sets; none filters on whose findings it updates.
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="UpdateSecurityHubFindingWorkflows",
                actions=["securityhub:BatchUpdateFindings"],
                resources=[self.hub_arn],
            )
        )


@dataclass(frozen=True)
class AlertChannels:
    """The optional channels of the configuration, and the table that records deliveries."""

    records: IdempotencyTable
    chat: ChatTopic | None = None
    security_hub: SecurityHubImport | None = None

    @classmethod
    def configured(
        cls, config: GuardrailConfig, *, records: IdempotencyTable, chat: ChatTopic | None
    ) -> AlertChannels:
        security_hub = (
            SecurityHubImport(config.central_account_id, config.central_region)
            if config.security_hub.enabled
            else None
        )
        return cls(records=records, chat=chat, security_hub=security_hub)

    @property
    def names(self) -> tuple[str, ...]:
        """Every channel an alert goes out on, the alert topic first."""
        return (
            ALERTS_CHANNEL,
            *((CHAT_CHANNEL,) if self.chat else ()),
            *((SECURITY_HUB_CHANNEL,) if self.security_hub else ()),
        )

    @property
    def logs_deliveries(self) -> bool:
        """With a single channel there is nothing to record: a retry sends the alert again."""
        return len(self.names) > 1

    @property
    def chat_topic_arn(self) -> str | None:
        return self.chat.topic.topic_arn if self.chat else None

    @property
    def security_hub_account_id(self) -> str | None:
        return self.security_hub.account_id if self.security_hub else None

    @property
    def records_table_name(self) -> str | None:
        """The table of delivery records, for a function that needs it for nothing else."""
        return self.records.table.table_name if self.logs_deliveries else None

    def grant(self, grantee: iam.IGrantable) -> None:
        """What delivering on the optional channels needs (the alert topic is granted apart)."""
        if self.chat:
            self.chat.grant_publish(grantee)
        if self.security_hub:
            self.security_hub.grant(grantee)
        if self.logs_deliveries:
            self.records.grant_delivery_records(grantee)
