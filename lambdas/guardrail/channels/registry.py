"""Every channel an alert can go out on, one row each: the one table the deliverer, the
infrastructure and the CLI's `--show` read.

A row says what the channel is called (the key of its delivery records, `delivery#<alert>#<name>`,
and of its failure metric, `ChannelFailures_<name>`), which switch of the configuration turns it
on, the environment variable that names its target, how its sender is built, what it renders for
each `--show` form, and what the stack must make and grant for it: a topic of its own or not, and
the IAM statements its sender needs. The infrastructure reads the rows as data (it imports no
sender); the runtime never imports CDK.

Adding a channel is a module that renders (pure) and sends, its tests, and one row in `CHANNELS`.
Consumers call `channels()` rather than holding the tuple, so that a test can add a row;
`build_deliverer` builds the deliverer of a function from the rows whose target is set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from guardrail.channels.alert_topic import SnsAlertPublisher
from guardrail.channels.chat import ChatPublisher, chat_notification
from guardrail.channels.delivery import Channel, Deliverer
from guardrail.channels.securityhub import Importer, SecurityHubPublisher, security_hub_calls
from guardrail.core.alert import Alert


class Target(Enum):
    """What a channel's environment variable holds, and so what the stack gives it."""

    # An SNS topic of its own, which the stack creates (encrypted with the alert topic's key).
    TOPIC = "topic"
    # The central account, whose own service (in the central Region) takes the alerts.
    CENTRAL_ACCOUNT = "central-account"


@dataclass(frozen=True)
class Permission:
    """One IAM statement a channel's sender needs. `resource` is a template of `{partition}`,
    `{region}` and `{account}` (the central account's) and `{topic}` (the channel's topic ARN)."""

    sid: str
    actions: tuple[str, ...]
    resource: str


@dataclass(frozen=True)
class RenderContext:
    """Where a rendering is for: the account and Region that would import findings, and when."""

    account_id: str
    region: str
    now: str

    @property
    def importer(self) -> Importer:
        return Importer(self.account_id, self.region)


# What a channel's sender is built from: the clients, the target (its variable's value), the Region.
SenderFactory = Callable[[Any, str, str], Channel]
# What a channel sends for an alert, as `--show` prints it: text, or a JSON document.
Renderer = Callable[[Alert, RenderContext], Any]


@dataclass(frozen=True)
class Alarm:
    """The alarm on the channel's failures: its id's prefix, where the alert did not go, a hint."""

    label: str
    where: str
    note: str = ""


@dataclass(frozen=True)
class ChannelSpec:
    """One channel: everything the deliverer, the stack and the CLI need to know of it."""

    name: str
    # What people call it, in the CLI's words ("(not sent to chat: ...)").
    title: str
    # The environment variable naming its target (the field of `handlers.environment`, in capitals).
    variable: str
    # The configuration's switch (`chat.enabled`); None: always on.
    enabled_by: str | None
    target: Target
    sender: SenderFactory
    # `--show FORM`: what a subscriber of the channel gets, by form.
    forms: Mapping[str, Renderer]
    alarm: Alarm
    permissions: tuple[Permission, ...] = ()
    # With `Target.TOPIC`: the construct id of its topic (the logical id stays the same across
    # releases, so that an update never replaces the topic subscribers are connected to), its
    # display name, and the description of the stack output with its ARN (`<topic_id>Arn`).
    topic_id: str | None = None
    topic_display_name: str = ""
    topic_output: str = ""
    # Only the alert topic also takes the sweep's summary and coverage alerts.
    takes_notices: bool = False

    def enabled(self, config: Any) -> bool:
        """Whether `config` (the deployment's configuration) turns the channel on."""
        if self.enabled_by is None:
            return True
        value: Any = config
        for part in self.enabled_by.split("."):
            value = getattr(value, part)
        return value is True

    def resources(self, *, partition: str, region: str, account: str, topic: str = "") -> dict[str, str]:
        """Each permission's resource, by sid, for the central account and Region (and topic)."""
        return {
            p.sid: p.resource.format(partition=partition, region=region, account=account, topic=topic)
            for p in self.permissions
        }


def _email(alert: Alert, context: RenderContext) -> str:
    return alert.email()


def _json(alert: Alert, context: RenderContext) -> Any:
    return alert.body


def _chat(alert: Alert, context: RenderContext) -> Any:
    return chat_notification(alert.body, alert.subject, alert.text)


def _security_hub(alert: Alert, context: RenderContext) -> Any:
    return security_hub_calls(alert.body, context.importer, context.now)


ALERTS: Final = ChannelSpec(
    name="alerts",
    title="the alert topic",
    variable="ALERT_TOPIC_ARN",
    enabled_by=None,
    target=Target.TOPIC,
    sender=lambda clients, topic_arn, region: SnsAlertPublisher(clients.client("sns"), topic_arn),
    forms={"email": _email, "json": _json},
    alarm=Alarm(
        "AlertTopic",
        "its alert topic",
        " This alarm notifies that same topic, so it may not arrive: the dashboard shows these "
        "failures, and the dead-letter queue alarm's state the events left there",
    ),
    # The alert topic is the stack's own (`AlertTopic`: its key, e-mail subscriptions, the alarms
    # publishing to it), granted with its key to every function that alerts.
    takes_notices=True,
)
CHAT: Final = ChannelSpec(
    name="chat",
    title="chat",
    variable="CHAT_TOPIC_ARN",
    enabled_by="chat.enabled",
    target=Target.TOPIC,
    sender=lambda clients, topic_arn, region: ChatPublisher(clients.client("sns"), topic_arn),
    forms={"chat": _chat},
    alarm=Alarm("ChatTopic", "its chat topic (Amazon Q Developer in chat applications)"),
    permissions=(Permission("PublishChatNotifications", ("sns:Publish",), "{topic}"),),
    topic_id="ChatTopic",
    topic_display_name="Identity Center guardrail (chat)",
    topic_output="SNS topic of the alerts in chat; it has no subscriptions: connect it to a Slack or "
    "Microsoft Teams channel configuration of Amazon Q Developer in chat applications (AWS Chatbot)",
)
SECURITY_HUB: Final = ChannelSpec(
    name="securityhub",
    title="Security Hub",
    variable="SECURITY_HUB_ACCOUNT_ID",
    enabled_by="security_hub.enabled",
    target=Target.CENTRAL_ACCOUNT,
    sender=lambda clients, account_id, region: SecurityHubPublisher(
        clients.client("securityhub", region), Importer(account_id, region)
    ),
    forms={"securityhub": _security_hub},
    alarm=Alarm(
        "SecurityHub", "Security Hub CSPM", " Is Security Hub CSPM enabled in the central account and Region?"
    ),
    permissions=(
        # The account's default product, the only one it may import its own findings with.
        Permission(
            "ImportSecurityHubFindings",
            ("securityhub:BatchImportFindings",),
            "arn:{partition}:securityhub:{region}:{account}:product/{account}/default",
        ),
        # The Service Authorization Reference gives BatchUpdateFindings two optional resource
        # types: `hub` (Security Hub CSPM's, where these ASFF findings are) and `hubv2` (the new
        # Security Hub's). Its condition keys filter on the fields a request sets; none on whose
        # findings it updates.
        Permission(
            "UpdateSecurityHubFindingWorkflows",
            ("securityhub:BatchUpdateFindings",),
            "arn:{partition}:securityhub:{region}:{account}:hub/default",
        ),
    ),
)

# The alert topic first: it is always on, and the deliverer tries the channels in this order.
CHANNELS: tuple[ChannelSpec, ...] = (ALERTS, CHAT, SECURITY_HUB)


def channels() -> tuple[ChannelSpec, ...]:
    """Every channel, the alert topic first."""
    return CHANNELS


def optional_channels() -> tuple[ChannelSpec, ...]:
    """The channels a configuration turns on (every one but the alert topic)."""
    return tuple(spec for spec in channels() if spec.enabled_by is not None)


def channel(name: str) -> ChannelSpec:
    for spec in channels():
        if spec.name == name:
            return spec
    raise KeyError(f"no channel is named {name!r}")


def forms() -> tuple[str, ...]:
    """The `--show` forms, channel by channel."""
    return tuple(form for spec in channels() for form in spec.forms)


def form_channel(form: str) -> ChannelSpec:
    for spec in channels():
        if form in spec.forms:
            return spec
    raise KeyError(f"no channel renders the form {form!r}")


def build_deliverer(
    clients: Any,
    targets: Mapping[str, str],
    *,
    records_table: str | None,
    region: str,
    on_failure: Callable[[str, BaseException], None],
) -> Deliverer:
    """The channels a deployment configured, in the registry's order: each whose target is set
    (`targets`, by channel name, from the function's environment), built by its row's sender.
    With `records_table`, the deliveries are recorded there, channel by channel."""
    # Here, not at the top: the rows are read by the CLI and the environment's model too, which
    # have no use for the records' DynamoDB client (and its import time).
    from guardrail.channels.records import DeliveryLog

    known = {spec.name for spec in channels()}
    unknown = sorted(set(targets) - known)
    if unknown:
        raise ValueError(f"no channel is registered as {', '.join(unknown)}")
    built: list[Channel] = []
    for spec in channels():
        target = targets.get(spec.name)
        if not target:
            continue
        channel = spec.sender(clients, target, region)
        if channel.name != spec.name:  # the key of its delivery records and failure metric
            raise ValueError(f"channel {spec.name}: its sender calls itself {channel.name}")
        built.append(channel)
    records = DeliveryLog(clients.client("dynamodb"), records_table) if records_table else None
    return Deliverer(built, records, on_failure=on_failure)
