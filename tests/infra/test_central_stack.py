"""What the central stack deploys, read from the synthesized template."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match

from guardrail.channels.alert_topic import SnsAlertPublisher
from guardrail.channels.chat import ChatPublisher
from guardrail.channels.records import DeliveryLog
from guardrail.channels.securityhub import Importer, SecurityHubPublisher
from guardrail.handlers.environment import DetectEnvironment
from guardrail.pipeline.patterns import TEST_SOURCE
from infra.application import CENTRAL_STACK_NAME, MANAGEMENT_STACK_NAME
from infra.bundling import LAMBDA_PLATFORM, LambdaPlatform
from infra.config import known_regions
from infra.constructs.alert_channels import (
    ALERTS_CHANNEL,
    CHAT_CHANNEL,
    SECURITY_HUB_CHANNEL,
    SecurityHubImport,
)
from infra.constructs.detect_function import powertools_layer_parameter, powertools_version
from infra.constructs.idempotency_table import DELIVERY_KEY_PREFIX
from infra.constructs.instance_event_rules import INSTANCE_EVENT_PATTERN
from infra.organizations_reads import DETECT_ORGANIZATIONS_READ_ACTIONS
from tests.infra.support import (
    DETECT_HANDLER,
    LIST_POLICIES_OF_TARGETS,
    ORGANIZATION_SCPS,
    PLANNER_HANDLER,
    READ_ACCOUNTS,
    READ_PARENTS,
    READ_UNITS,
    SUMMARY_HANDLER,
    WORKER_HANDLER,
    Document,
    Synthesized,
    assert_environment,
    assert_statements,
    channel_statements,
    deletion_statements,
    deletion_variables,
    pseudo_parameters,
    readable,
    resolve,
)


def _ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def _arn(logical_id: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _statements(s: Synthesized) -> list[dict[str, Any]]:
    """The detect function's role's statements (the sweep's roles are in test_sweep.py)."""
    return s.function_statements(DETECT_HANDLER)


def _all_statements(s: Synthesized) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in s.resources("AWS::IAM::Policy").values():
        statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


# --- event bus and rules -------------------------------------------------------------------------


def test_one_rule_on_the_central_bus_and_none_on_the_default_bus(synthesized: Synthesized) -> None:
    """Every account forwards to the central bus, the central account too: a rule on the central
    account's default bus would deliver its events in this Region a second time."""
    bus_id = synthesized.logical_id("AWS::Events::EventBus")
    (rule,) = [r["Properties"] for r in synthesized.resources("AWS::Events::Rule").values()]
    # The forwarded instance calls, and `guardrail doctor`'s test event (its source, no AWS one).
    assert rule["EventPattern"] == {**INSTANCE_EVENT_PATTERN, "source": ["aws.sso", TEST_SOURCE]}
    assert rule["EventBusName"] == _ref(bus_id)
    assert rule["State"] == "ENABLED"


def test_rule_target_retries_for_a_day_then_uses_the_dead_letter_queue(synthesized: Synthesized) -> None:
    function_id = synthesized.function_id(DETECT_HANDLER)
    queue_id = synthesized.logical_id("AWS::SQS::Queue")
    (rule,) = synthesized.resources("AWS::Events::Rule").values()
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == _arn(function_id)
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert target["DeadLetterConfig"] == {"Arn": _arn(queue_id)}


@pytest.mark.parametrize("fixture", ["synthesized", "synthesized_variant"])
def test_central_bus_accepts_events_only_from_the_forwarding_roles_of_the_organization(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    """Not any principal of the organization: the forwarding role, in any of its accounts."""
    s: Synthesized = request.getfixturevalue(fixture)
    s.template.has_resource_properties("AWS::Events::EventBus", {"Name": "identity-center-guardrail"})
    policy = s.only("AWS::Events::EventBusPolicy")["Properties"]
    assert policy["EventBusName"] == _ref(s.logical_id("AWS::Events::EventBus"))
    assert readable(policy["Statement"]) == {
        "Sid": "cdk-PutEventsFromTheForwardingRolesOfThisOrganization",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "events:PutEvents",
        "Resource": f"<{s.logical_id('AWS::Events::EventBus')}.Arn>",
        "Condition": {
            "StringEquals": {"aws:PrincipalOrgID": "o-exampleorg1"},
            "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/IdentityCenterGuardrailEventForwarder"},
        },
    }


def test_eventbridge_may_invoke_the_function_from_the_central_rule_only(synthesized: Synthesized) -> None:
    (permission,) = [p["Properties"] for p in synthesized.resources("AWS::Lambda::Permission").values()]
    (rule_id,) = synthesized.resources("AWS::Events::Rule")
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == _arn(rule_id)
    assert permission["FunctionName"] == _arn(synthesized.function_id(DETECT_HANDLER))


# --- function -----------------------------------------------------------------------------------


def test_function_runtime_architecture_handler_and_tracing(synthesized: Synthesized) -> None:
    synthesized.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.13",
            "Architectures": ["arm64"],
            "Handler": "guardrail.handlers.detect.handler",
            "MemorySize": 256,
            "Timeout": 60,
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": {"LogGroup": Match.any_value()},
        },
    )
    synthesized.template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 365})


def _channel_variables(s: Synthesized) -> dict[str, Any]:
    """Both channels off (the example): empty; both on (the variant): the chat topic and the
    central account, whose Security Hub CSPM imports the findings."""
    if not s.config.chat.enabled:
        return {"CHAT_TOPIC_ARN": "", "SECURITY_HUB_ACCOUNT_ID": ""}
    (chat,) = s.chat_topic_ids()
    return {"CHAT_TOPIC_ARN": _ref(chat), "SECURITY_HUB_ACCOUNT_ID": "222222222222"}


@pytest.mark.parametrize("fixture", ["synthesized", "synthesized_variant"])
def test_function_environment_is_the_handler_contract(fixture: str, request: pytest.FixtureRequest) -> None:
    s: Synthesized = request.getfixturevalue(fixture)
    env = s.function(DETECT_HANDLER)["Environment"]["Variables"]
    assert_environment(
        env,
        DetectEnvironment,
        {
            "ALERT_TOPIC_ARN": _ref(s.alert_topic_id()),
            "DEAD_LETTER_QUEUE_URL": _ref(s.logical_id("AWS::SQS::Queue")),
            # Its claims, and the record of its deliveries when there are several channels.
            "IDEMPOTENCY_TABLE_NAME": _ref(s.resource_of("AWS::DynamoDB::Table", "IdempotencyTable")[0]),
            "INVENTORY_TABLE_NAME": _ref(s.resource_of("AWS::DynamoDB::Table", "InventoryTable")[0]),
            "MEMBER_ROLE_NAME": "IdentityCenterGuardrailMemberRole",
            # Only where it exists: with remediation_enabled (the variant).
            "DELETER_ROLE_NAME": "IdentityCenterGuardrailDeleterRole" if s.config.remediation_enabled else "",
            "ORGANIZATIONS_ROLE_ARN": "arn:aws:iam::111111111111:role/IdentityCenterGuardrailOrganizationsReader",
            "INSTANCE_REGIONS": ",".join(s.config.regions),
            "ORGANIZATION_INSTANCE_REGION": "us-east-1",
            "POLICY_PATH": "policy.json",
            "PARTITION": {"Ref": "AWS::Partition"},
            **_channel_variables(s),
            # With remediation_enabled (the variant): the schedule group, itself, the scheduler role.
            **deletion_variables(s),
        },
    )
    if fixture == "synthesized":
        assert env["INSTANCE_REGIONS"] == ",".join(known_regions("sso"))


def test_delegated_admin_setup_leaves_organizations_role_empty(
    synthesized_delegated_admin: Synthesized,
) -> None:
    function = synthesized_delegated_admin.function(DETECT_HANDLER)
    assert function["Environment"]["Variables"]["ORGANIZATIONS_ROLE_ARN"] == ""


def test_every_function_uses_the_powertools_layer_the_tests_run(synthesized: Synthesized) -> None:
    """The layer's ARN is resolved at deploy time from the public parameter Powertools publishes for
    the installed (tested) version, the functions' architecture and their Python: one parameter."""
    functions = [f["Properties"] for f in synthesized.resources("AWS::Lambda::Function").values()]
    assert len(functions) == 4
    (parameter_id,) = [
        name for name, p in synthesized.document["Parameters"].items() if "powertools" in p.get("Default", "")
    ]
    parameter = synthesized.document["Parameters"][parameter_id]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    for function in functions:
        assert function["Layers"] == [_ref(parameter_id)]
        (architecture,) = function["Architectures"]
        runtime = function["Runtime"]
        assert parameter["Default"] == (
            f"/aws/service/powertools/python/{architecture}/{runtime}/{version('aws-lambda-powertools')}"
        )
    assert parameter["Default"] == "/aws/service/powertools/python/arm64/python3.13/" + powertools_version()


def test_the_powertools_version_is_the_requirements_pin(tmp_path: Path) -> None:
    """requirements.txt is the one source: the tests install it, the layer is resolved from it."""
    assert powertools_version() == version("aws-lambda-powertools")
    pinned = tmp_path / "requirements.txt"
    pinned.write_text("boto3==1.44.8\naws-lambda-powertools[tracer]==3.99.1  # a comment\n", encoding="utf-8")
    assert powertools_version(pinned) == "3.99.1"
    assert (
        powertools_layer_parameter(version="3.99.1")
        == "/aws/service/powertools/python/arm64/python3.13/3.99.1"
    )
    pinned.write_text("aws-lambda-powertools>=3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not pinned"):
        powertools_version(pinned)


@pytest.mark.parametrize(("fixture", "concurrency"), [("synthesized", None), ("synthesized_variant", 25)])
def test_detect_function_has_the_configured_reserved_concurrency_and_none_by_default(
    fixture: str, concurrency: int | None, request: pytest.FixtureRequest
) -> None:
    """Configured, it bounds what a flood of events costs; by default none is reserved, so that the
    stack deploys in an account whose concurrency quota is still low. The sweep's functions never
    reserve any."""
    s: Synthesized = request.getfixturevalue(fixture)
    assert s.config.detect_reserved_concurrency == concurrency
    assert s.function(DETECT_HANDLER).get("ReservedConcurrentExecutions") == concurrency
    for handler in (PLANNER_HANDLER, WORKER_HANDLER, SUMMARY_HANDLER):
        assert "ReservedConcurrentExecutions" not in s.function(handler)


# AWS's scheme for the layer's public parameters (Powertools for AWS Lambda (Python) documentation,
# "Lambda Layer", SSM Parameter Store): /aws/service/powertools/python/<arch>/<runtime>/<version>,
# the runtime with its dot and the version as released (or `latest`).
POWERTOOLS_PARAMETER_SCHEME = re.compile(
    r"^/aws/service/powertools/python/(arm64|x86_64)/python3\.(1[0-9])/(\d+\.\d+\.\d+|latest)$"
)


@pytest.mark.parametrize("architecture", [lambda_.Architecture.ARM_64, lambda_.Architecture.X86_64])
def test_the_powertools_parameter_follows_aws_published_scheme(architecture: lambda_.Architecture) -> None:
    """A name off the scheme resolves to nothing at deploy time; docs/deploying.md: check it exists first."""
    platform = LambdaPlatform(lambda_.Runtime.PYTHON_3_13, architecture)
    name = powertools_layer_parameter(platform)
    match = POWERTOOLS_PARAMETER_SCHEME.match(name)
    assert match is not None, name
    assert match.groups() == (architecture.name, "13", powertools_version())
    assert powertools_layer_parameter(LAMBDA_PLATFORM) == (
        f"/aws/service/powertools/python/arm64/python3.13/{powertools_version()}"
    )
    assert not POWERTOOLS_PARAMETER_SCHEME.match("/aws/service/powertools/python/arm64/python313/3.37.0")
    assert not POWERTOOLS_PARAMETER_SCHEME.match("/aws/service/powertools/python/aarch64/python3.13/3.37.0")


@pytest.mark.parametrize("fixture", ["synthesized", "synthesized_variant"])
def test_central_and_management_stacks_have_termination_protection(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    """Deleting either would remove the StackSets (whichever holds them), the SCPs or the reader role."""
    s: Synthesized = request.getfixturevalue(fixture)
    protected = {stack.stack_name for stack in s.assembly.stacks if stack.termination_protection}
    assert {CENTRAL_STACK_NAME, MANAGEMENT_STACK_NAME} <= protected


def test_tables_of_the_deletion_guard_the_cap_and_the_inventory_are_retained(
    synthesized: Synthesized,
) -> None:
    """Deleted or replaced, a new empty table would forget which deletions were made (a retry could
    delete again), reset the hourly cap and lose when each instance was first seen."""
    tables = synthesized.resources("AWS::DynamoDB::Table")
    assert len(tables) == 2
    for table in tables.values():
        assert table["DeletionPolicy"] == "Retain"
        assert table["UpdateReplacePolicy"] == "Retain"


def _bucket_policy(s: Synthesized) -> list[Document]:
    return [
        readable(statement)
        for statement in s.only("AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"]["Statement"]
    ]


@pytest.mark.parametrize("fixture", ["synthesized", "synthesized_variant"])
def test_reports_are_readable_only_by_the_sweeps_roles_and_named_administrators(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    s: Synthesized = request.getfixturevalue(fixture)
    bucket = s.resource_of("AWS::S3::Bucket", "ReportsBucket")[0]
    planner, worker, summary = (s.role_id(h) for h in (PLANNER_HANDLER, WORKER_HANDLER, SUMMARY_HANDLER))
    machine = s.resource_of("AWS::IAM::Role", "SweepStateMachineRole")[0]
    by_sid = {statement.get("Sid"): statement for statement in _bucket_policy(s)}
    objects = [f"<{bucket}.Arn>", f"<{bucket}.Arn>/*"]
    assert by_sid["ReadOnlyBySweepAndAdministrators"] == {
        "Sid": "ReadOnlyBySweepAndAdministrators",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": ["s3:GetObject*", "s3:ListBucket*"],
        "Resource": objects,
        "Condition": {
            "ArnNotLike": {
                "aws:PrincipalArn": [
                    f"<{worker}.Arn>",
                    f"<{summary}.Arn>",
                    f"<{machine}.Arn>",
                    *s.config.reports_readers,
                ]
            }
        },
    }
    assert by_sid["WriteOnlyBySweep"] == {
        "Sid": "WriteOnlyBySweep",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": ["s3:AbortMultipartUpload", "s3:DeleteObject*", "s3:PutObject*"],
        "Resource": objects,
        "Condition": {
            "ArnNotLike": {
                "aws:PrincipalArn": [
                    f"<{planner}.Arn>",
                    f"<{worker}.Arn>",
                    f"<{summary}.Arn>",
                    f"<{machine}.Arn>",
                ]
            }
        },
    }
    # Besides, only TLS: nothing else in the policy.
    assert set(by_sid) == {"ReadOnlyBySweepAndAdministrators", "WriteOnlyBySweep", None}


def test_async_invocations_retry_twice_then_go_to_the_dead_letter_queue(synthesized: Synthesized) -> None:
    queue_id = synthesized.logical_id("AWS::SQS::Queue")
    synthesized.template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 6 * 3600,
            "DestinationConfig": {"OnFailure": {"Destination": _arn(queue_id)}},
        },
    )


# --- alert topic and dead-letter queue ------------------------------------------------------------


def test_topic_is_encrypted_with_a_rotating_customer_managed_key(synthesized: Synthesized) -> None:
    key_id = synthesized.logical_id("AWS::KMS::Key")
    synthesized.template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    synthesized.template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": _arn(key_id)})


CLOUDWATCH_ALARMS_OF_THIS_ACCOUNT = {
    "StringEquals": {"aws:SourceAccount": "222222222222"},
    "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:222222222222:alarm:*"},
}


def test_key_serves_cloudwatch_only_for_the_alarms_of_this_account_and_region(
    synthesized: Synthesized,
) -> None:
    key_policy = synthesized.only("AWS::KMS::Key")["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in key_policy if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert readable(cloudwatch) == [
        {
            "Sid": "AllowCloudWatchAlarmsToEncrypt",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": CLOUDWATCH_ALARMS_OF_THIS_ACCOUNT,
        }
    ]


def test_topic_takes_cloudwatch_notifications_only_from_the_alarms_of_this_account_and_region(
    synthesized: Synthesized,
) -> None:
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synthesized.resources("AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [_ref(synthesized.alert_topic_id())]
    ]
    cloudwatch = [s for s in policy if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert readable(cloudwatch) == [
        {
            "Sid": "AllowCloudWatchAlarmsOfThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": f"<{synthesized.alert_topic_id()}>",
            "Condition": CLOUDWATCH_ALARMS_OF_THIS_ACCOUNT,
        }
    ]


def test_topic_refuses_requests_without_tls(synthesized: Synthesized) -> None:
    topic_policy = synthesized.only("AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]["Statement"]
    assert {
        "Effect": "Deny",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }.items() <= next(s for s in topic_policy if s["Effect"] == "Deny").items()


def test_topic_has_the_configured_email_subscription(synthesized: Synthesized) -> None:
    synthesized.template.resource_count_is("AWS::SNS::Subscription", 1)
    synthesized.template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "security@example.com"}
    )


# --- chat topic -------------------------------------------------------------------------------------


def test_chat_topic_is_encrypted_with_the_alert_key_and_refuses_requests_without_tls(
    synthesized_variant: Synthesized,
) -> None:
    """The same alerts as the alert topic, so the same key; SNS decrypts before it delivers to
    Chatbot over HTTPS, so the key policy names no Chatbot principal."""
    s = synthesized_variant
    (chat,) = s.chat_topic_ids()
    (key,) = s.resources("AWS::KMS::Key")
    topic = s.document["Resources"][chat]["Properties"]
    assert topic["KmsMasterKeyId"] == _arn(key)
    assert s.document["Resources"][s.alert_topic_id()]["Properties"]["KmsMasterKeyId"] == _arn(key)
    principals = [
        st.get("Principal") for st in s.document["Resources"][key]["Properties"]["KeyPolicy"]["Statement"]
    ]
    assert not [p for p in principals if "chatbot" in str(p)]
    (policy,) = [
        p["Properties"]
        for p in s.resources("AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [_ref(chat)]
    ]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement == {
        "Sid": "AllowPublishThroughSSLOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sns:Publish",
        "Resource": _ref(chat),
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def test_chat_topic_only_with_chat_without_subscription_its_arn_an_output(
    synthesized: Synthesized, synthesized_variant: Synthesized
) -> None:
    """The user connects a channel configuration of Amazon Q Developer in chat applications to it."""
    assert synthesized.chat_topic_ids() == []
    assert list(synthesized.resources("AWS::SNS::Topic")) == [synthesized.alert_topic_id()]
    assert "ChatTopicArn" not in synthesized.document["Outputs"]
    s = synthesized_variant
    (chat,) = s.chat_topic_ids()
    subscriptions = [r["Properties"] for r in s.resources("AWS::SNS::Subscription").values()]
    assert [sub["TopicArn"] for sub in subscriptions] == [_ref(s.alert_topic_id())]  # the email
    output = s.document["Outputs"]["ChatTopicArn"]
    assert output["Value"] == _ref(chat)
    assert "no subscriptions" in output["Description"]
    assert "Amazon Q Developer in chat applications" in output["Description"]


def test_dead_letter_queue_is_encrypted_tls_only_and_keeps_messages_14_days(synthesized: Synthesized) -> None:
    synthesized.template.has_resource_properties(
        "AWS::SQS::Queue", {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 14 * 24 * 3600}
    )
    statements = synthesized.only("AWS::SQS::QueuePolicy")["Properties"]["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert len(deny) == 1
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    senders = [s for s in statements if s["Effect"] == "Allow"]
    assert {s["Principal"]["Service"] for s in senders} == {"events.amazonaws.com"}
    assert all("aws:SourceArn" in s["Condition"]["ArnEquals"] for s in senders)


def test_dead_letter_queue_messages_raise_an_alarm_to_the_topic(synthesized: Synthesized) -> None:
    topic_id = synthesized.logical_id("AWS::SNS::Topic")
    synthesized.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "AlarmActions": [_ref(topic_id)],
        },
    )


# --- IAM ----------------------------------------------------------------------------------------


def test_no_statement_grants_every_action_of_a_service(synthesized: Synthesized) -> None:
    for statement in _all_statements(synthesized):
        for action in _actions(statement):
            assert action != "*", statement
            assert not action.endswith(":*"), statement


def test_member_role_can_be_assumed_only_inside_the_organization(synthesized: Synthesized) -> None:
    (statement,) = [
        s for s in _statements(synthesized) if s.get("Sid") == "AssumeMemberRoleInThisOrganization"
    ]
    assert _actions(statement) == ["sts:AssumeRole"]
    assert statement["Condition"] == {"StringEquals": {"aws:ResourceOrgID": "o-exampleorg1"}}
    assert statement["Resource"] == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":iam::*:role/IdentityCenterGuardrailMemberRole"],
        ]
    }


def test_organizations_reads_go_through_the_management_account_role(synthesized: Synthesized) -> None:
    statements = _statements(synthesized)
    (assume,) = [s for s in statements if s.get("Sid") == "AssumeOrganizationsReader"]
    assert assume["Resource"] == "arn:aws:iam::111111111111:role/IdentityCenterGuardrailOrganizationsReader"
    assert not any(a.startswith("organizations:") for s in statements for a in _actions(s))


def test_delegated_admin_reads_only_this_organizations_resources(
    synthesized_delegated_admin: Synthesized,
) -> None:
    """Without a role to assume, the function reads Organizations itself: the same scoping as the
    Organizations reader role, `*` only for DescribeOrganization, which supports no resource."""
    statements = _statements(synthesized_delegated_admin)
    reads = [s for s in statements if any(a.startswith("organizations:") for a in _actions(s))]
    assert_statements(
        reads,
        [
            {
                "Sid": "ReadOrganization",
                "Effect": "Allow",
                "Action": "organizations:DescribeOrganization",
                "Resource": "*",
            },
            READ_ACCOUNTS,
            READ_PARENTS,
            READ_UNITS,
            LIST_POLICIES_OF_TARGETS,
            {
                "Sid": "ReadServiceControlPolicies",
                "Effect": "Allow",
                "Action": "organizations:DescribePolicy",
                "Resource": ORGANIZATION_SCPS,
            },
        ],
    )
    assert sorted(a for s in reads for a in _actions(s)) == sorted(DETECT_ORGANIZATIONS_READ_ACTIONS)
    assert not [s for s in statements if s.get("Sid") == "AssumeOrganizationsReader"]


def _detect_statements(s: Synthesized) -> list[Document]:
    """Everything the detect function's role may do, readable (`tests.infra.support.readable`)."""
    idempotency = s.resource_of("AWS::DynamoDB::Table", "IdempotencyTable")[0]
    inventory = s.resource_of("AWS::DynamoDB::Table", "InventoryTable")[0]
    log_group = s.function(DETECT_HANDLER)["LoggingConfig"]["LogGroup"]["Ref"]
    return [
        {"Effect": "Allow", "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Resource": "*"},
        # The function's rejected events, and Lambda's on-failure records (sent with this role).
        {
            "Sid": "SendDeadLetters",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": f"<{s.logical_id('AWS::SQS::Queue')}.Arn>",
        },
        {
            "Sid": "AssumeMemberRoleInThisOrganization",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": "arn:aws:iam::*:role/IdentityCenterGuardrailMemberRole",
            "Condition": {"StringEquals": {"aws:ResourceOrgID": "o-exampleorg1"}},
        },
        # Deleting goes through the deleter role, which exists with remediation_enabled only.
        *(
            [
                {
                    "Sid": "AssumeDeleterRoleInThisOrganization",
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Resource": "arn:aws:iam::*:role/IdentityCenterGuardrailDeleterRole",
                    "Condition": {"StringEquals": {"aws:ResourceOrgID": "o-exampleorg1"}},
                }
            ]
            if s.config.remediation_enabled
            else []
        ),
        {
            "Sid": "AssumeOrganizationsReader",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": "arn:aws:iam::111111111111:role/IdentityCenterGuardrailOrganizationsReader",
        },
        {
            "Sid": "PublishAlerts",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": f"<{s.alert_topic_id()}>",
        },
        {
            "Sid": "EncryptAlerts",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": f"<{s.logical_id('AWS::KMS::Key')}.Arn>",
        },
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"<{log_group}.Arn>",
        },
        {
            "Effect": "Allow",
            "Action": ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            "Resource": f"<{idempotency}.Arn>",
        },
        {
            "Sid": "RecordEventsInInventory",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
            "Resource": f"<{inventory}.Arn>",
        },
    ]


@pytest.mark.parametrize("fixture", ["synthesized", "synthesized_variant"])
def test_function_role_has_exactly_these_statements(fixture: str, request: pytest.FixtureRequest) -> None:
    """With chat and Security Hub CSPM on (the variant), it may also publish to the chat topic
    (whose key it already uses for the alert topic), import findings with the central account's
    default product, update the workflow of findings in the central account's hub, and batch-read
    and write the delivery records; with remediation_enabled (the variant too), create, read and
    delete its deletion schedules and pass their role to Scheduler; and nothing else."""
    s: Synthesized = request.getfixturevalue(fixture)
    assert_statements(
        _statements(s), [*_detect_statements(s), *channel_statements(s), *deletion_statements(s)]
    )


def test_granted_security_hub_resources_are_what_the_functions_call_with() -> None:
    """The product ARN BatchImportFindings is granted on is the one the findings name, and the
    Security Hub CSPM resource ARNs have the Service Authorization Reference's forms."""
    granted = SecurityHubImport("222222222222", "us-east-1")
    pseudo = pseudo_parameters("222222222222", "us-east-1")
    product_arn = resolve(_resolved(granted.product_arn), pseudo)
    assert product_arn == Importer("222222222222", "us-east-1").product_arn
    assert product_arn == "arn:aws:securityhub:us-east-1:222222222222:product/222222222222/default"
    assert (
        resolve(_resolved(granted.hub_arn), pseudo)
        == "arn:aws:securityhub:us-east-1:222222222222:hub/default"
    )


def _resolved(value: str) -> Any:
    """A string with CDK tokens, as the template holds it."""
    return Stack(App(), "Probe").resolve(value)


def test_delivery_records_have_the_key_prefix_the_grant_names() -> None:
    record = DeliveryLog._key("84f3608f-f4b7-5200-8acd-e415c806d505", CHAT_CHANNEL)["id"]["S"]
    assert record.startswith(DELIVERY_KEY_PREFIX)
    assert DELIVERY_KEY_PREFIX == "delivery#"


def test_channel_names_are_the_runtimes() -> None:
    """The names in `ChannelFailures_<name>`, which the alarms watch."""
    assert (SnsAlertPublisher.name, ChatPublisher.name, SecurityHubPublisher.name) == (
        ALERTS_CHANNEL,
        CHAT_CHANNEL,
        SECURITY_HUB_CHANNEL,
    )


def test_function_role_grants(synthesized: Synthesized) -> None:
    statements = _statements(synthesized)
    topic_id = synthesized.logical_id("AWS::SNS::Topic")
    key_id = synthesized.logical_id("AWS::KMS::Key")
    queue_id = synthesized.logical_id("AWS::SQS::Queue")
    by_resource = {str(s["Resource"]): set(_actions(s)) for s in statements}
    assert by_resource[str(_ref(topic_id))] == {"sns:Publish"}
    assert by_resource[str(_arn(key_id))] == {"kms:GenerateDataKey", "kms:Decrypt"}
    assert "sqs:SendMessage" in by_resource[str(_arn(queue_id))]
    assert by_resource["*"] == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def test_no_role_uses_managed_policies(synthesized: Synthesized) -> None:
    roles = [role["Properties"] for role in synthesized.resources("AWS::IAM::Role").values()]
    assert len(roles) == 6  # detect, planner, worker, summary, state machine, schedule
    assert not [role for role in roles if "ManagedPolicyArns" in role]


def test_function_roles_are_for_lambda_only(synthesized: Synthesized) -> None:
    for logical_id in synthesized.resources("AWS::Lambda::Function"):
        role_id = synthesized.document["Resources"][logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        (trust,) = synthesized.document["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"][
            "Statement"
        ]
        assert trust == {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
        }


# --- stack --------------------------------------------------------------------------------------


def test_stack_is_pinned_to_the_central_account_and_region(synthesized: Synthesized) -> None:
    assert synthesized.stack.account == "222222222222"
    assert synthesized.stack.region == "us-east-1"


def test_outputs(synthesized: Synthesized, synthesized_variant: Synthesized) -> None:
    assert set(synthesized_variant.document["Outputs"]) == {
        *synthesized.document["Outputs"],
        "ChatTopicArn",
        "DeletionScheduleGroupName",  # remediation_enabled
    }
    outputs = synthesized.document["Outputs"]
    assert set(outputs) == {
        "AlertTopicArn",
        "CentralBusArn",
        "DashboardName",
        "DeadLetterQueueUrl",
        "DetectFunctionName",
        "InventoryTableName",
        "ReportsBucketName",
        "SweepStateMachineArn",
    }
    assert outputs["SweepStateMachineArn"]["Value"] == _ref(
        synthesized.logical_id("AWS::StepFunctions::StateMachine")
    )
    assert "start-execution" in outputs["SweepStateMachineArn"]["Description"]
    assert outputs["ReportsBucketName"]["Value"] == _ref(synthesized.logical_id("AWS::S3::Bucket"))
    assert outputs["InventoryTableName"]["Value"] == _ref(
        synthesized.resource_of("AWS::DynamoDB::Table", "InventoryTable")[0]
    )


def test_idempotency_table_is_encrypted_recoverable_and_expiring(synthesized: Synthesized) -> None:
    table = synthesized.resource_of("AWS::DynamoDB::Table", "IdempotencyTable")[1]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_function_may_only_claim_items_and_record_events_in_its_tables(synthesized: Synthesized) -> None:
    idempotency = synthesized.resource_of("AWS::DynamoDB::Table", "IdempotencyTable")[0]
    inventory = synthesized.resource_of("AWS::DynamoDB::Table", "InventoryTable")[0]
    tables = [s for s in _statements(synthesized) if any(a.startswith("dynamodb:") for a in _actions(s))]
    assert len(tables) == 2
    by_resource = {str(s["Resource"]): sorted(_actions(s)) for s in tables}
    assert by_resource == {
        str(_arn(idempotency)): [
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ],
        # It reads an instance's item and records the event on it; it never queries or deletes.
        str(_arn(inventory)): ["dynamodb:GetItem", "dynamodb:UpdateItem"],
    }


def test_deliveries_are_recorded_only_with_several_channels_and_only_as_delivery_records(
    synthesized_variant: Synthesized,
) -> None:
    """The example has one channel: nothing to record (see the test above). With three, the
    batch actions of DeliveryLog, on the delivery records' keys alone."""
    s = synthesized_variant
    idempotency = s.resource_of("AWS::DynamoDB::Table", "IdempotencyTable")[0]
    (record,) = [st for st in _statements(s) if st.get("Sid") == "RecordAlertDeliveries"]
    assert sorted(_actions(record)) == ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"]
    assert record["Resource"] == _arn(idempotency)
    assert record["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{DELIVERY_KEY_PREFIX}*"]},
        "Null": {"dynamodb:LeadingKeys": "false"},
    }
