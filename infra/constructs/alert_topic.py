"""The SNS topic that carries the guardrail's alerts to people."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


def alarm_arns() -> str:
    """Every CloudWatch alarm of the stack's account and Region."""
    return f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"


class AlertTopic(Construct):
    """An SNS topic encrypted with its own rotating KMS key, with e-mail subscriptions.

    Alerts name accounts, callers and policy gaps, so the topic is encrypted with a customer
    managed key with yearly rotation and refuses requests that do not use TLS.
    """

    def __init__(self, scope: Construct, construct_id: str, *, emails: Sequence[str]) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the alerts of the IAM Identity Center account-instance guardrail",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # CloudWatch alarms publish to the topic as the CloudWatch service, which needs the key (the
        # reason for a customer managed key: an AWS managed key's policy cannot be changed). The
        # function's role gets its use from its own IAM policy, which the key's default statement
        # for the account enables. CloudWatch acts for an alarm: the key serves only the alarms of
        # this account and Region (aws:SourceAccount and aws:SourceArn, the confused-deputy conditions
        # SNS documents for AWS services publishing to an encrypted topic; an alarm's ARN is
        # arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>).
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToEncrypt",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": alarm_arns()},
                },
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="Identity Center guardrail",
            master_key=self.key,
            enforce_ssl=True,
        )
        # The topic policy CDK writes for enforce_ssl replaces SNS's default one, so the alarms of
        # this account and Region are allowed explicitly, with the key's conditions.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": alarm_arns()},
                },
            )
        )
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
