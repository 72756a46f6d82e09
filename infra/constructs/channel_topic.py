"""The SNS topic of a channel that reads alerts from a topic of its own (chat: Amazon Q Developer in
chat applications, formerly AWS Chatbot, renders only its custom notifications)."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct


class ChannelTopic(Construct):
    """A topic of its own for a channel (`Target.TOPIC` in the registry), no subscriptions.

    It carries the same alerts as the alert topic, so it is encrypted with the alert topic's key
    rather than a key of its own: the same data, the same readers, one key policy to review, and the
    publishing functions need no key beyond the one they already use. A subscriber over HTTPS (as
    Chatbot) gets the message decrypted by SNS, so it needs no use of the key. Requests without TLS
    are refused, as on the alert topic. The stack subscribes nothing: the user connects the
    channel's reader (a channel configuration of Amazon Q Developer in chat applications) to it.
    """

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey, display_name: str) -> None:
        super().__init__(scope, construct_id)
        self.key = key
        self.topic = sns.Topic(self, "Topic", display_name=display_name, master_key=key, enforce_ssl=True)
