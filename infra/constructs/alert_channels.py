"""The channels an alert goes out on besides the alert topic, as the registry lists them, and what
delivering on them needs.

`guardrail.channels.registry` has one row per channel; this construct reads the rows as data: for
each channel the configuration turns on (`enabled_by`), a topic of its own when the row asks for one
(`Target.TOPIC`, encrypted with the alert topic's key), its target in the functions' environment
(the `Channels` part: the topic's ARN, or the central account for `Target.CENTRAL_ACCOUNT`), and
its row's IAM statements. With more than one channel, the functions also record the channels each
alert went out on in the idempotency table (`idempotency_table_name`).
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Aws, CfnOutput
from aws_cdk import aws_iam as iam
from constructs import Construct

from guardrail.channels.registry import ALERTS, CHAT, SECURITY_HUB, ChannelSpec, Target, optional_channels
from guardrail.handlers.environment import Channels
from infra.config import GuardrailConfig
from infra.constructs.alert_topic import AlertTopic
from infra.constructs.channel_topic import ChannelTopic
from infra.constructs.idempotency_table import IdempotencyTable

# The channels' names, as the functions count their failures (`ChannelFailures_<name>`).
ALERTS_CHANNEL: Final = ALERTS.name
CHAT_CHANNEL: Final = CHAT.name
SECURITY_HUB_CHANNEL: Final = SECURITY_HUB.name


class SecurityHubImport:
    """Where the findings go: the central account's Security Hub CSPM in the central Region, with
    the resources its registry row's statements name."""

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region
        self._resources = SECURITY_HUB.resources(partition=Aws.PARTITION, region=region, account=account_id)

    @property
    def product_arn(self) -> str:
        """The account's default product, the only one it may import its own findings with."""
        return self._resources["ImportSecurityHubFindings"]

    @property
    def hub_arn(self) -> str:
        """The account's hub in the Region, the resource `BatchUpdateFindings` is authorized on."""
        return self._resources["UpdateSecurityHubFindingWorkflows"]


class ConfiguredChannel:
    """A channel the configuration turned on: its row, its topic (if it has one) and its target."""

    def __init__(self, scope: Construct, spec: ChannelSpec, config: GuardrailConfig, alert_topic: AlertTopic):
        self.spec = spec
        self.topic: ChannelTopic | None = None
        self.account_id = config.central_account_id
        self.region = config.central_region
        if spec.target is Target.TOPIC:
            if spec.topic_id is None:
                raise ValueError(f"channel {spec.name}: a channel with a topic of its own names its topic_id")
            self.topic = ChannelTopic(
                scope, spec.topic_id, key=alert_topic.key, display_name=spec.topic_display_name
            )
            self.target = self.topic.topic.topic_arn
        else:
            self.target = config.central_account_id

    def grant(self, grantee: iam.IGrantable) -> None:
        """Its row's statements; a topic's key use comes with the alert topic's grant (written out
        rather than topic.grant_publish(), which adds kms:GenerateDataKey* on the key)."""
        resources = self.spec.resources(
            partition=Aws.PARTITION,
            region=self.region,
            account=self.account_id,
            topic=self.topic.topic.topic_arn if self.topic else "",
        )
        for permission in self.spec.permissions:
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(
                    sid=permission.sid,
                    actions=list(permission.actions),
                    resources=[resources[permission.sid]],
                )
            )

    def output(self, scope: Construct) -> None:
        """The topic's ARN as a stack output, for the user to connect the channel's reader to."""
        if self.topic is not None and self.spec.topic_output:
            CfnOutput(
                scope,
                f"{self.spec.topic_id}Arn",
                value=self.topic.topic.topic_arn,
                description=self.spec.topic_output,
            )


class AlertChannels:
    """The optional channels of the configuration, and the table that records deliveries."""

    def __init__(
        self,
        scope: Construct,
        config: GuardrailConfig,
        *,
        alert_topic: AlertTopic,
        records: IdempotencyTable,
    ) -> None:
        self.records = records
        self.configured = tuple(
            ConfiguredChannel(scope, spec, config, alert_topic)
            for spec in optional_channels()
            if spec.enabled(config)
        )

    def topic(self, name: str) -> ChannelTopic | None:
        """The topic of the channel `name`, if it is on and has one."""
        return next((c.topic for c in self.configured if c.spec.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        """Every channel an alert goes out on, the alert topic first."""
        return (ALERTS_CHANNEL, *(c.spec.name for c in self.configured))

    @property
    def logs_deliveries(self) -> bool:
        """With a single channel there is nothing to record: a retry sends the alert again."""
        return len(self.names) > 1

    def environment(self) -> Channels:
        """The functions' `Channels` part: each configured channel's target."""
        return Channels(targets={c.spec.name: c.target for c in self.configured})

    @property
    def records_table_name(self) -> str | None:
        """The table of delivery records, for a function that needs it for nothing else."""
        return self.records.table.table_name if self.logs_deliveries else None

    def grant(self, grantee: iam.IGrantable) -> None:
        """What delivering on the optional channels needs (the alert topic is granted apart)."""
        for configured in self.configured:
            configured.grant(grantee)
        if self.logs_deliveries:
            self.records.grant_delivery_records(grantee)

    def outputs(self, scope: Construct) -> None:
        for configured in self.configured:
            configured.output(scope)
