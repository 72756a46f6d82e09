"""One emulated AWS world for the test suite and the local demo run.

It starts moto, builds the example organization, serves Identity Center instances from
``IdentityCenterEmulator`` and creates what the central stack would own in the security tooling
account (KMS key, encrypted alert topic, dead-letter queue, idempotency table). The alert topic
feeds a capture queue without raw message delivery, so each captured alert still carries its
Subject and MessageAttributes the way an e-mail or chat subscriber would see them.

The ambient credentials belong to an IAM user of 222222222222, the account where the guardrail
runs. They are moto-issued keys rather than ``MOTO_ACCOUNT_ID``: that variable would pin every
request to one account, including those made with credentials assumed into member accounts.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Callable, Mapping
from contextlib import ExitStack, suppress
from datetime import UTC, datetime
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Self
from unittest import mock

import boto3
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from emulator.account_regions import AccountRegions
from emulator.cloudtrail import model_trails
from emulator.identity_center import IdentityCenterEmulator
from emulator.organization import (
    CENTRAL_REGION,
    MANAGEMENT_ACCOUNT_ID,
    MEMBER_ROLE_NAME,
    ORGANIZATIONS_READER_ROLE_NAME,
    PROD_ACCOUNT_ID,
    SANDBOX_ACCOUNT_ID,
    SECURITY_ACCOUNT_ID,
    ExampleOrganization,
    add_member_accounts,
    administrator_client,
    build_example_organization,
    model_name_rules,
)
from emulator.roles import guard_roles
from emulator.security_hub import model_finding_workflow

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

__all__ = [
    "CENTRAL_RESOURCE_NAMES",
    "DELETER_ROLE_NAME",
    "ORGANIZATION_INSTANCE_ARN",
    "PROD_INSTANCE_ARN",
    "SANDBOX_INSTANCE_ARN",
    "EmulatedEnvironment",
]

# The instances the sample events imply (ARNs as they appear in those events).
SANDBOX_INSTANCE_ARN = "arn:aws:sso:::instance/ssoins-3e4f5a6b7c8d9e0f"
PROD_INSTANCE_ARN = "arn:aws:sso:::instance/ssoins-7a1c2e9b4d5f6a80"
ORGANIZATION_INSTANCE_ARN = "arn:aws:sso:::instance/ssoins-00000000000000aa"

# The role that deletes instances, which the member-roles StackSet creates in every member account
# (not the management account) when remediation_enabled: the emulation can always delete.
DELETER_ROLE_NAME = "IdentityCenterGuardrailDeleterRole"
_DELETER_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["sso:DescribeInstance", "sso:DeleteInstance"],
            "Resource": "arn:aws:sso:::instance/*",
        }
    ],
}

_OPERATOR_USER = "guardrail-operator"
_NAME_PREFIX = "identity-center-guardrail"
# What the emulation calls the central stack's resources, by the construct of infra/central_stack.py
# that deploys each (CloudFormation names them in AWS); tests/iam maps the templates onto these names.
CENTRAL_RESOURCE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "AlertTopic": f"{_NAME_PREFIX}-alerts",
        "ChatTopic": f"{_NAME_PREFIX}-chat",
        "DeadLetterQueue": f"{_NAME_PREFIX}-dlq",
        "IdempotencyTable": f"{_NAME_PREFIX}-idempotency",
        "InventoryTable": f"{_NAME_PREFIX}-inventory",
        "ReportsBucket": f"{_NAME_PREFIX}-reports-{SECURITY_ACCOUNT_ID}",
        "DeletionSchedulesGroup": f"{_NAME_PREFIX}-deletions",
        "DeletionSchedulesSchedulerRole": f"{_NAME_PREFIX}-deletion-scheduler",
        "DetectFunction": f"{_NAME_PREFIX}-detect",
    }
)
# Variables that could point boto3 at real credentials, a real profile or another endpoint.
_UNSAFE_ENV = (
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "MOTO_ACCOUNT_ID",
)


def _make_item_writes_atomic(stack: ExitStack) -> None:
    """DynamoDB makes each conditional write atomic; moto checks the condition and writes without a
    lock, so two threads could both claim one event id. Serializing item writes restores what the
    idempotency claim relies on, for tests that deliver one event concurrently."""
    lock = threading.RLock()

    def serialized(write: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(write)
        def locked(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return write(*args, **kwargs)

        return locked

    for name in ("put_item", "update_item", "delete_item"):
        stack.enter_context(
            mock.patch.object(DynamoDBBackend, name, serialized(getattr(DynamoDBBackend, name)))
        )


class EmulatedEnvironment:
    """Context manager: the example organization, its Identity Center instances and alert plumbing.

    ``seed_instances=False`` starts with no Identity Center instance at all, for tests that create
    them through the API. ``organization_instance_visible_to_members`` and ``owner_in_listings`` are
    passed to the emulator.
    Everything, including environment variables and boto3's default session, is restored on exit.
    """

    organization: ExampleOrganization
    account_regions: AccountRegions
    identity_center: IdentityCenterEmulator
    kms_key_arn: str
    topic_arn: str
    alert_queue_url: str
    chat_topic_arn: str
    chat_queue_url: str
    dead_letter_queue_url: str
    idempotency_table_name: str
    inventory_table_name: str
    reports_bucket: str
    deleter_role_name: str

    def __init__(
        self,
        *,
        seed_instances: bool = True,
        region: str = CENTRAL_REGION,
        organization_instance_visible_to_members: bool = False,
        owner_in_listings: bool = True,
    ) -> None:
        self.region = region
        self._owner_in_listings = owner_in_listings
        self.central_account_id = SECURITY_ACCOUNT_ID
        self._seed_instances = seed_instances
        self._organization_instance_visible = organization_instance_visible_to_members
        self._stack = ExitStack()
        self._central_credentials: dict[str, Any] = {}

    def __enter__(self) -> Self:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()

    def _start(self) -> None:
        stack = self._stack
        stack.enter_context(mock.patch.dict(os.environ))  # restores the whole environment on exit
        for name in [*_UNSAFE_ENV, *(k for k in os.environ if k.startswith("AWS_ENDPOINT_URL"))]:
            os.environ.pop(name, None)
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
            }
        )
        stack.enter_context(mock_aws())
        _make_item_writes_atomic(stack)
        guard_roles(stack, (MEMBER_ROLE_NAME, DELETER_ROLE_NAME, ORGANIZATIONS_READER_ROLE_NAME))
        model_finding_workflow(stack)
        model_trails(stack)
        model_name_rules(stack)

        self.organization = build_example_organization(self.region)
        self.deleter_role_name = DELETER_ROLE_NAME
        self._create_deleter_roles(self.organization.member_account_ids)
        access_key_id, secret = self._create_operator_credentials()
        os.environ["AWS_ACCESS_KEY_ID"] = access_key_id
        os.environ["AWS_SECRET_ACCESS_KEY"] = secret
        self._central_credentials = {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret}
        # boto3 caches credentials in its default session: start a fresh one on the new identity.
        stack.enter_context(mock.patch("boto3.DEFAULT_SESSION", None))

        self.account_regions = stack.enter_context(AccountRegions())
        self.identity_center = stack.enter_context(
            IdentityCenterEmulator(
                MANAGEMENT_ACCOUNT_ID,
                regions=self.account_regions,
                organization_instance_visible_to_members=self._organization_instance_visible,
                owner_in_listings=self._owner_in_listings,
            )
        )
        if self._seed_instances:
            self._seed_sample_instances()
        self._create_alert_plumbing()

    def _create_deleter_roles(self, account_ids: tuple[str, ...] | list[str]) -> None:
        """The deleter role in each of `account_ids`, trusted by the detect function's account."""
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{SECURITY_ACCOUNT_ID}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        sts = boto3.client("sts", region_name=self.region)
        for account_id in account_ids:
            iam = administrator_client(account_id, "iam", region=self.region, sts=sts)
            iam.create_role(RoleName=DELETER_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
            iam.put_role_policy(
                RoleName=DELETER_ROLE_NAME,
                PolicyName="guardrail",
                PolicyDocument=json.dumps(_DELETER_ROLE_POLICY),
            )

    def _create_operator_credentials(self) -> tuple[str, str]:
        iam = administrator_client(SECURITY_ACCOUNT_ID, "iam", region=self.region)
        iam.create_user(UserName=_OPERATOR_USER)
        key = iam.create_access_key(UserName=_OPERATOR_USER)["AccessKey"]
        return str(key["AccessKeyId"]), str(key["SecretAccessKey"])

    def _seed_sample_instances(self) -> None:
        sample_time = datetime(2026, 11, 2, 9, 14, 3, tzinfo=UTC)
        self.identity_center.seed_instance(
            MANAGEMENT_ACCOUNT_ID,
            "us-east-1",
            name="example-organization",
            instance_arn=ORGANIZATION_INSTANCE_ARN,
            created_date=datetime(2024, 3, 1, tzinfo=UTC),
        )
        self.identity_center.seed_instance(
            SANDBOX_ACCOUNT_ID,
            "us-east-1",
            name="q-business-trial",
            tags={"purpose": "trial", "owner": "bob@example.com", "expires": "2026-12-15"},
            instance_arn=SANDBOX_INSTANCE_ARN,
            created_date=sample_time,
        )
        self.identity_center.seed_instance(
            PROD_ACCOUNT_ID,
            "eu-west-1",
            name="analytics-team",
            instance_arn=PROD_INSTANCE_ARN,
            created_date=sample_time,
        )

    def _create_alert_plumbing(self) -> None:
        kms = boto3.client("kms", region_name=self.region, **self._central_credentials)
        sqs = boto3.client("sqs", region_name=self.region, **self._central_credentials)
        key = kms.create_key(Description="Encrypts the Identity Center guardrail's alerts")["KeyMetadata"]
        self.kms_key_arn = key["Arn"]
        kms.create_alias(AliasName=f"alias/{_NAME_PREFIX}", TargetKeyId=key["KeyId"])
        self.topic_arn, self.alert_queue_url = self._captured_topic(CENTRAL_RESOURCE_NAMES["AlertTopic"])
        self.chat_topic_arn, self.chat_queue_url = self._captured_topic(CENTRAL_RESOURCE_NAMES["ChatTopic"])
        self.idempotency_table_name = CENTRAL_RESOURCE_NAMES["IdempotencyTable"]
        boto3.client("dynamodb", region_name=self.region, **self._central_credentials).create_table(
            TableName=self.idempotency_table_name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.dead_letter_queue_url = sqs.create_queue(
            QueueName=CENTRAL_RESOURCE_NAMES["DeadLetterQueue"], Attributes={"SqsManagedSseEnabled": "true"}
        )["QueueUrl"]
        self._create_sweep_resources()

    def _captured_topic(self, name: str) -> tuple[str, str]:
        """An encrypted topic and a queue subscribed to it, where a test reads what subscribers get."""
        sns = boto3.client("sns", region_name=self.region, **self._central_credentials)
        sqs = boto3.client("sqs", region_name=self.region, **self._central_credentials)
        topic_arn: str = sns.create_topic(Name=name, Attributes={"KmsMasterKeyId": self.kms_key_arn})[
            "TopicArn"
        ]
        queue_url: str = sqs.create_queue(QueueName=f"{name}-capture")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        allow_topic = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                }
            ],
        }
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(allow_topic)})
        sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "false"}
        )
        return topic_arn, queue_url

    def received_chat(self) -> list[dict[str, Any]]:
        """Drain the chat topic's capture queue: each custom notification, parsed."""
        return [json.loads(json.loads(m["Body"])["Message"]) for m in self._drain(self.chat_queue_url)]

    def _create_sweep_resources(self) -> None:
        """The inventory table and the reports bucket, as the central stack creates them."""
        self.inventory_table_name = CENTRAL_RESOURCE_NAMES["InventoryTable"]
        boto3.client("dynamodb", region_name=self.region, **self._central_credentials).create_table(
            TableName=self.inventory_table_name,
            KeySchema=[{"AttributeName": "instance_arn", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "instance_arn", "AttributeType": "S"},
                {"AttributeName": "account_id", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-account",
                    "KeySchema": [{"AttributeName": "account_id", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        self.reports_bucket = CENTRAL_RESOURCE_NAMES["ReportsBucket"]
        boto3.client("s3", region_name=self.region, **self._central_credentials).create_bucket(
            Bucket=self.reports_bucket
        )
        self._create_deletion_schedules()

    def _create_deletion_schedules(self) -> None:
        """The schedule group pending deletions are kept in, the function they invoke and the role
        Scheduler invokes it with, as the central stack names them (`emulator.scheduler` fires them)."""
        self.deletion_schedule_group = CENTRAL_RESOURCE_NAMES["DeletionSchedulesGroup"]
        self.scheduler_client().create_schedule_group(Name=self.deletion_schedule_group)
        central = self.central_account_id
        self.detect_function_arn = (
            f"arn:aws:lambda:{self.region}:{central}:function:{CENTRAL_RESOURCE_NAMES['DetectFunction']}"
        )
        self.deletion_scheduler_role_arn = (
            f"arn:aws:iam::{central}:role/{CENTRAL_RESOURCE_NAMES['DeletionSchedulesSchedulerRole']}"
        )

    def scheduler_client(self) -> Any:
        """EventBridge Scheduler in the central account, where pending deletions are kept."""
        return self.central_client("scheduler")

    def central_client(self, service: str) -> Any:
        """A client of the central account (the ambient operator's credentials), in its Region."""
        make_client: Callable[..., Any] = boto3.client  # the stubs only accept literal service names
        return make_client(service, region_name=self.region, **self._central_credentials)

    def add_member_accounts(self, count: int, *, ou_path: str = "Fleet") -> list[str]:
        """Grow the organization by ``count`` member accounts under ``ou_path``; return their ids."""
        before = set(self.organization.member_account_ids)
        self.organization = add_member_accounts(self.organization, count, ou_path=ou_path, region=self.region)
        added = [a for a in self.organization.member_account_ids if a not in before]
        self._create_deleter_roles(added)
        return added

    def received_alerts(self) -> list[dict[str, Any]]:
        """Drain the alert capture queue: for each alert its subject, parsed body and attributes."""
        alerts: list[dict[str, Any]] = []
        for message in self._drain(self.alert_queue_url):
            envelope = json.loads(message["Body"])
            alerts.append(
                {
                    "subject": envelope.get("Subject"),
                    "body": json.loads(envelope["Message"]),
                    "attributes": {
                        name: attribute["Value"]
                        for name, attribute in envelope.get("MessageAttributes", {}).items()
                    },
                }
            )
        return alerts

    def dead_letters(self) -> list[dict[str, Any]]:
        """Drain the dead-letter queue: each body (parsed when it is JSON) and message attributes."""
        letters: list[dict[str, Any]] = []
        for message in self._drain(self.dead_letter_queue_url):
            body: Any = message["Body"]
            with suppress(ValueError):
                body = json.loads(body)
            letters.append(
                {
                    "body": body,
                    "attributes": {
                        name: attribute.get("StringValue", "")
                        for name, attribute in message.get("MessageAttributes", {}).items()
                    },
                }
            )
        return letters

    def _drain(self, queue_url: str) -> list[MessageTypeDef]:
        # Explicit credentials, so draining works even if code under test changed the environment.
        sqs = boto3.client("sqs", region_name=self.region, **self._central_credentials)
        messages: list[MessageTypeDef] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return messages
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
            messages.extend(batch)
