"""The SNS topic that Amazon Q Developer in chat applications (AWS Chatbot) reads alerts from."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct


class ChatTopic(Construct):
    """A topic of its own for chat (Chatbot renders only its custom notifications), no subscriptions.

    It carries the same alerts as the alert topic, so it is encrypted with the alert topic's key
    rather than a key of its own: the same data, the same readers, one key policy to review, and the
    publishing functions need no key beyond the one they already use. Chatbot subscribes over HTTPS,
    and SNS decrypts a message itself before delivering it there, so Chatbot needs no use of the key.
    Requests without TLS are refused, as on the alert topic. The user connects a channel
    configuration of Amazon Q Developer in chat applications to it; the stack subscribes nothing.
    """

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.key = key
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="Identity Center guardrail (chat)",
            master_key=key,
            enforce_ssl=True,
        )

    def grant_publish(self, grantee: iam.IGrantable) -> None:
        """sns:Publish on this topic alone; its key's use comes with the alert topic's grant.

        Written out rather than topic.grant_publish(), which adds kms:GenerateDataKey* on the key.
        """
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PublishChatNotifications", actions=["sns:Publish"], resources=[self.topic.topic_arn]
            )
        )
