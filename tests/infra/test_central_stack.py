"""What the central stack deploys, read from the synthesized template."""

from __future__ import annotations

from typing import Any

import msgspec
from aws_cdk.assertions import Match

from guardrail.environment import DetectEnvironment
from infra.config import known_regions
from infra.constructs.detect_function import (
    ORGANIZATIONS_READ_ACTIONS,
    POWERTOOLS_LAYER_NAME,
    POWERTOOLS_LAYER_VERSION,
)
from infra.constructs.instance_event_rules import INSTANCE_EVENT_PATTERN
from tests.infra.support import Synthesized


def _ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def _arn(logical_id: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _statements(s: Synthesized) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in s.resources("AWS::IAM::Policy").values():
        statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


# --- event bus and rules -------------------------------------------------------------------------


def test_rules_on_default_and_central_bus_use_exactly_the_pattern(synthesized: Synthesized) -> None:
    bus_id = synthesized.logical_id("AWS::Events::EventBus")
    rules = list(synthesized.resources("AWS::Events::Rule").values())
    assert len(rules) == 2
    assert [rule["Properties"]["EventPattern"] for rule in rules] == [INSTANCE_EVENT_PATTERN] * 2
    buses = sorted(str(rule["Properties"].get("EventBusName")) for rule in rules)
    assert buses == sorted(["None", str(_ref(bus_id))])  # no EventBusName: the default bus
    assert all(rule["Properties"]["State"] == "ENABLED" for rule in rules)


def test_rule_targets_retry_for_a_day_then_use_the_dead_letter_queue(synthesized: Synthesized) -> None:
    function_id = synthesized.logical_id("AWS::Lambda::Function")
    queue_id = synthesized.logical_id("AWS::SQS::Queue")
    for rule in synthesized.resources("AWS::Events::Rule").values():
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"] == _arn(function_id)
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
        assert target["DeadLetterConfig"] == {"Arn": _arn(queue_id)}


def test_central_bus_accepts_events_only_from_the_organization(synthesized: Synthesized) -> None:
    synthesized.template.has_resource_properties(
        "AWS::Events::EventBus", {"Name": "identity-center-guardrail"}
    )
    policy = synthesized.only("AWS::Events::EventBusPolicy")["Properties"]
    statement = policy["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorg1"}}


def test_eventbridge_may_invoke_the_function_from_each_rule_only(synthesized: Synthesized) -> None:
    permissions = list(synthesized.resources("AWS::Lambda::Permission").values())
    rule_ids = set(synthesized.resources("AWS::Events::Rule"))
    assert len(permissions) == 2
    assert {p["Properties"]["Principal"] for p in permissions} == {"events.amazonaws.com"}
    assert {p["Properties"]["SourceArn"]["Fn::GetAtt"][0] for p in permissions} == rule_ids


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


def test_function_environment_is_the_handler_contract(synthesized: Synthesized) -> None:
    function = synthesized.only("AWS::Lambda::Function")["Properties"]
    env = function["Environment"]["Variables"]
    assert env == {
        "ALERT_TOPIC_ARN": _ref(synthesized.logical_id("AWS::SNS::Topic")),
        "DEAD_LETTER_QUEUE_URL": _ref(synthesized.logical_id("AWS::SQS::Queue")),
        "IDEMPOTENCY_TABLE_NAME": _ref(synthesized.logical_id("AWS::DynamoDB::Table")),
        "MEMBER_ROLE_NAME": "IdentityCenterGuardrailMemberRole",
        "ORGANIZATIONS_ROLE_ARN": "arn:aws:iam::111111111111:role/IdentityCenterGuardrailOrganizationsReader",
        "INSTANCE_REGIONS": ",".join(known_regions("sso")),
        "ORGANIZATION_INSTANCE_REGION": "us-east-1",
        "POLICY_PATH": "policy.json",
        "PARTITION": {"Ref": "AWS::Partition"},
        "POWERTOOLS_SERVICE_NAME": "identity-center-guardrail",
        "POWERTOOLS_METRICS_NAMESPACE": "IdentityCenterGuardrail",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    # Every variable of the function's model is set: the handler reads them back with it.
    ours = {name for name in env if not name.startswith("POWERTOOLS_")}
    assert ours == {field.name.upper() for field in msgspec.structs.fields(DetectEnvironment)}


def test_delegated_admin_setup_leaves_organizations_role_empty(
    synthesized_delegated_admin: Synthesized,
) -> None:
    function = synthesized_delegated_admin.only("AWS::Lambda::Function")["Properties"]
    assert function["Environment"]["Variables"]["ORGANIZATIONS_ROLE_ARN"] == ""


def test_function_uses_the_public_powertools_layer_of_its_region(synthesized: Synthesized) -> None:
    function = synthesized.only("AWS::Lambda::Function")["Properties"]
    assert function["Layers"] == [
        {
            "Fn::Join": [
                "",
                [
                    "arn:aws:lambda:",
                    {"Ref": "AWS::Region"},
                    f":017000801446:layer:{POWERTOOLS_LAYER_NAME}:{POWERTOOLS_LAYER_VERSION}",
                ],
            ]
        }
    ]
    assert POWERTOOLS_LAYER_NAME == "AWSLambdaPowertoolsPythonV3-python313-arm64"


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
    key_policy = synthesized.only("AWS::KMS::Key")["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in key_policy if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert len(cloudwatch) == 1
    assert set(_actions(cloudwatch[0])) == {"kms:Decrypt", "kms:GenerateDataKey*"}


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
    for statement in _statements(synthesized):
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


def test_delegated_admin_gets_only_organizations_read_actions(
    synthesized_delegated_admin: Synthesized,
) -> None:
    statements = _statements(synthesized_delegated_admin)
    (read,) = [s for s in statements if s.get("Sid") == "ReadOrganization"]
    assert sorted(_actions(read)) == sorted(ORGANIZATIONS_READ_ACTIONS)
    assert all(":Describe" in a or ":List" in a for a in _actions(read))
    assert not [s for s in statements if s.get("Sid") == "AssumeOrganizationsReader"]


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


def test_function_role_uses_no_managed_policies(synthesized: Synthesized) -> None:
    role = synthesized.only("AWS::IAM::Role")["Properties"]
    assert "ManagedPolicyArns" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"
    }


# --- stack --------------------------------------------------------------------------------------


def test_stack_is_pinned_to_the_central_account_and_region(synthesized: Synthesized) -> None:
    assert synthesized.stack.account == "222222222222"
    assert synthesized.stack.region == "us-east-1"


def test_outputs(synthesized: Synthesized) -> None:
    outputs = synthesized.document["Outputs"]
    assert set(outputs) == {
        "AlertTopicArn",
        "CentralBusArn",
        "DashboardName",
        "DeadLetterQueueUrl",
        "DetectFunctionName",
    }


def test_idempotency_table_is_encrypted_recoverable_and_expiring(synthesized: Synthesized) -> None:
    table = synthesized.only("AWS::DynamoDB::Table")["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_function_may_only_claim_items_in_the_idempotency_table(synthesized: Synthesized) -> None:
    table = synthesized.logical_id("AWS::DynamoDB::Table")
    claims = [s for s in _statements(synthesized) if any(a.startswith("dynamodb:") for a in _actions(s))]
    assert len(claims) == 1
    assert sorted(_actions(claims[0])) == [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
    assert _arn(table) in (
        claims[0]["Resource"] if isinstance(claims[0]["Resource"], list) else [claims[0]["Resource"]]
    )
