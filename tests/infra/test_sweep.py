"""The sweep as deployed: the inventory, the reports bucket, the three functions and their roles, the
state machine, its schedule, read from the synthesized templates."""

from __future__ import annotations

from typing import cast

import msgspec
import pytest

from guardrail.handlers.environment import (
    SweepPlannerEnvironment,
    SweepSummaryEnvironment,
    SweepWorkerEnvironment,
)
from guardrail.handlers.sweep import BatchInput, Planned, PlanRequest, SummaryRequest
from infra.config import known_regions
from infra.constructs.detect_function import powertools_layer_parameter
from infra.constructs.member_stacksets import FORWARDING_STACKSET_NAME
from infra.organizations_reads import SWEEP_ORGANIZATIONS_READ_ACTIONS
from tests.infra.support import (
    CUSTOM_PLANNER_ROLE_NAME,
    CUSTOM_WORKER_ROLE_NAME,
    DETECT_HANDLER,
    LIST_CHILDREN,
    PLANNER_HANDLER,
    READ_AND_TARGETS_OF_SCPS,
    SUMMARY_HANDLER,
    VARIANT_SWEEP,
    WORKER_HANDLER,
    Document,
    Synthesized,
    assert_environment,
    assert_statements,
    channel_statements,
    deletion_statements,
    deletion_variables,
    only,
    readable,
    resources,
    state_machine_definition,
)

READER_ROLE_ARN = "arn:aws:iam::111111111111:role/IdentityCenterGuardrailOrganizationsReader"
LAMBDA_TRANSIENT_ERRORS = [
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
XRAY = {"Effect": "Allow", "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Resource": ["*"]}


# --- reading templates -----------------------------------------------------------------------------


def _log_group(s: Synthesized, handler: str) -> str:
    return str(s.function(handler)["LoggingConfig"]["LogGroup"]["Ref"])


def _logs(s: Synthesized, handler: str) -> Document:
    return {
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": f"<{_log_group(s, handler)}.Arn>",
    }


def _bucket(s: Synthesized) -> str:
    return s.logical_id("AWS::S3::Bucket")


def _objects(s: Synthesized, *keys: str) -> list[str]:
    return [f"<{_bucket(s)}.Arn>/{key}" for key in keys]


def _inventory(s: Synthesized) -> str:
    return s.resource_of("AWS::DynamoDB::Table", "InventoryTable")[0]


def _alerts(s: Synthesized) -> list[Document]:
    return [
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
    ]


def _state_machine(s: Synthesized) -> Document:
    return cast(Document, s.only("AWS::StepFunctions::StateMachine")["Properties"])


def _state_machine_role(s: Synthesized) -> str:
    return str(_state_machine(s)["RoleArn"]["Fn::GetAtt"][0])


def _definition(s: Synthesized) -> Document:
    return state_machine_definition(s)


def _map(s: Synthesized) -> Document:
    return cast(Document, _definition(s)["States"]["Sweep accounts"])


def _placeholder_arn(s: Synthesized, handler: str) -> str:
    return f"arn:aws:lambda:us-east-1:222222222222:function:{s.function_id(handler)}"


def _schedule(s: Synthesized) -> Document:
    return cast(Document, s.only("AWS::Scheduler::Schedule")["Properties"])


# --- the inventory --------------------------------------------------------------------------------


def test_inventory_table_is_keyed_by_instance_and_indexed_by_account(synthesized: Synthesized) -> None:
    table = synthesized.resource_of("AWS::DynamoDB::Table", "InventoryTable")[1]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "instance_arn", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [
        {"AttributeName": "instance_arn", "AttributeType": "S"},
        {"AttributeName": "account_id", "AttributeType": "S"},
    ]
    assert table["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "by-account",
            "KeySchema": [{"AttributeName": "account_id", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]


def test_inventory_table_is_on_demand_encrypted_recoverable_and_retained(synthesized: Synthesized) -> None:
    _, resource = synthesized.resource_of("AWS::DynamoDB::Table", "InventoryTable")
    table = resource["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert "TimeToLiveSpecification" not in table  # a record, not a cache
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"


# --- the reports bucket -----------------------------------------------------------------------------


def test_reports_bucket_is_private_encrypted_tls_only_and_retained(synthesized: Synthesized) -> None:
    resource = synthesized.only("AWS::S3::Bucket")
    bucket = resource["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    }
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "VersioningConfiguration" not in bucket  # every object is written once, by one run
    assert resource["DeletionPolicy"] == "Retain"
    # TLS only; who may read and write is tests/infra/test_central_stack.py's.
    statement, *_ = synthesized.only("AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"]["Statement"]
    assert readable(statement) == {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Resource": [f"<{_bucket(synthesized)}.Arn>", f"<{_bucket(synthesized)}.Arn>/*"],
    }


@pytest.mark.parametrize(("fixture", "days"), [("synthesized", 90), ("synthesized_variant", 30)])
def test_run_files_expire_after_the_configured_days(
    fixture: str, days: int, request: pytest.FixtureRequest
) -> None:
    s: Synthesized = request.getfixturevalue(fixture)
    (rule,) = s.only("AWS::S3::Bucket")["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule == {
        "Id": "ExpireRunFiles",
        "Status": "Enabled",
        "ExpirationInDays": days,
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    }
    # The whole bucket: it holds run files only.
    assert "Prefix" not in rule
    assert "Filter" not in rule


def test_reports_bucket_has_no_access_log_for_a_written_reason(synthesized: Synthesized) -> None:
    bucket = synthesized.only("AWS::S3::Bucket")
    assert "LoggingConfiguration" not in bucket["Properties"]
    (rule,) = bucket["Metadata"]["cdk_nag"]["rules_to_suppress"]
    assert rule["id"] == "AwsSolutions-S1"
    assert "CloudTrail" in rule["reason"]


# --- the functions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "timeout", "memory"),
    [(PLANNER_HANDLER, 300, 512), (WORKER_HANDLER, 600, 1024), (SUMMARY_HANDLER, 300, 512)],
)
def test_sweep_functions_run_like_the_detect_function(
    synthesized: Synthesized, handler: str, timeout: int, memory: int
) -> None:
    function = synthesized.function(handler)
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["Timeout"] == timeout
    assert function["MemorySize"] == memory
    assert function["TracingConfig"] == {"Mode": "Active"}
    # The detect function's layer: the public parameter of the tested Powertools version.
    assert function["Layers"] == synthesized.function(DETECT_HANDLER)["Layers"]
    (layer,) = function["Layers"]
    assert synthesized.document["Parameters"][layer["Ref"]]["Default"] == powertools_layer_parameter()
    log_group = synthesized.document["Resources"][_log_group(synthesized, handler)]
    assert log_group["Properties"]["RetentionInDays"] == 365
    assert log_group["DeletionPolicy"] == "Retain"


def test_each_sweep_function_has_a_role_and_a_log_group_of_its_own(synthesized: Synthesized) -> None:
    handlers = (PLANNER_HANDLER, WORKER_HANDLER, SUMMARY_HANDLER)
    assert len({synthesized.role_id(h) for h in handlers}) == 3
    assert len({_log_group(synthesized, h) for h in handlers}) == 3


def test_planner_and_worker_roles_have_the_names_other_accounts_trust(
    synthesized: Synthesized, synthesized_delegated_admin: Synthesized
) -> None:
    assert synthesized.role(PLANNER_HANDLER)["RoleName"] == "IdentityCenterGuardrailSweepPlanner"
    assert synthesized.role(WORKER_HANDLER)["RoleName"] == "IdentityCenterGuardrailSweepWorker"
    assert "RoleName" not in synthesized.role(SUMMARY_HANDLER)  # nothing outside the stack names it
    assert synthesized_delegated_admin.role(PLANNER_HANDLER)["RoleName"] == CUSTOM_PLANNER_ROLE_NAME
    assert synthesized_delegated_admin.role(WORKER_HANDLER)["RoleName"] == CUSTOM_WORKER_ROLE_NAME


def test_planner_environment_is_its_model(
    synthesized: Synthesized, synthesized_delegated_admin: Synthesized
) -> None:
    expected = {
        "REPORTS_BUCKET": {"Ref": _bucket(synthesized)},
        "ORGANIZATIONS_ROLE_ARN": READER_ROLE_ARN,
        "ORGANIZATION_INSTANCE_REGION": "us-east-1",
        "PARTITION": {"Ref": "AWS::Partition"},
    }
    env = synthesized.function(PLANNER_HANDLER)["Environment"]["Variables"]
    assert_environment(env, SweepPlannerEnvironment, expected)
    # A delegated administrator reads Organizations with the planner's own role.
    env = synthesized_delegated_admin.function(PLANNER_HANDLER)["Environment"]["Variables"]
    assert env["ORGANIZATIONS_ROLE_ARN"] == env["ORGANIZATION_INSTANCE_REGION"] == ""


def _worker_channels(s: Synthesized) -> Document:
    """The worker's channel variables: empty with both channels off (the example); with both on
    (the variant), the chat topic, the central account, and the table of delivery records."""
    if not s.config.chat.enabled:
        return {"CHAT_TOPIC_ARN": "", "SECURITY_HUB_ACCOUNT_ID": "", "IDEMPOTENCY_TABLE_NAME": ""}
    (chat,) = s.chat_topic_ids()
    return {
        "CHAT_TOPIC_ARN": {"Ref": chat},
        "SECURITY_HUB_ACCOUNT_ID": "222222222222",
        "IDEMPOTENCY_TABLE_NAME": {"Ref": s.resource_of("AWS::DynamoDB::Table", "IdempotencyTable")[0]},
    }


@pytest.mark.parametrize(("fixture", "reminder_days"), [("synthesized", "7"), ("synthesized_variant", "3")])
def test_worker_environment_is_its_model(
    fixture: str, reminder_days: str, request: pytest.FixtureRequest
) -> None:
    s: Synthesized = request.getfixturevalue(fixture)
    env = s.function(WORKER_HANDLER)["Environment"]["Variables"]
    assert_environment(
        env,
        SweepWorkerEnvironment,
        {
            "REPORTS_BUCKET": {"Ref": _bucket(s)},
            "INVENTORY_TABLE_NAME": {"Ref": _inventory(s)},
            "ALERT_TOPIC_ARN": {"Ref": s.alert_topic_id()},
            "MEMBER_ROLE_NAME": "IdentityCenterGuardrailMemberRole",
            "INSTANCE_REGIONS": ",".join(s.config.regions),
            "POLICY_PATH": "policy.json",
            "REMINDER_DAYS": reminder_days,
            "PARTITION": {"Ref": "AWS::Partition"},
            **_worker_channels(s),
            **deletion_variables(s),
            # The coverage check: the names the forwarding templates give the rule and its queue.
            "FORWARDING_RULE_NAME": "IdentityCenterGuardrail-ForwardInstanceEvents",
            "FORWARDING_DEAD_LETTER_QUEUE_NAME": "IdentityCenterGuardrail-ForwardingDeadLetters",
            "CENTRAL_BUS_ARN": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":events:us-east-1:222222222222:event-bus/identity-center-guardrail",
                    ],
                ]
            },
        },
    )
    forwarding = only(s.member_template(FORWARDING_STACKSET_NAME), "AWS::Events::Rule")["Properties"]
    assert env["FORWARDING_RULE_NAME"] == forwarding["Name"]
    (target,) = forwarding["Targets"]
    assert env["CENTRAL_BUS_ARN"] == target["Arn"]
    (queue,) = resources(s.member_template(FORWARDING_STACKSET_NAME), "AWS::SQS::Queue").values()
    assert env["FORWARDING_DEAD_LETTER_QUEUE_NAME"] == queue["Properties"]["QueueName"]
    if fixture == "synthesized":
        assert env["INSTANCE_REGIONS"] == ",".join(known_regions("sso"))


@pytest.mark.parametrize(
    ("fixture", "ending_within_days"), [("synthesized", "14"), ("synthesized_variant", "30")]
)
def test_summary_environment_is_its_model(
    fixture: str, ending_within_days: str, request: pytest.FixtureRequest
) -> None:
    s: Synthesized = request.getfixturevalue(fixture)
    assert_environment(
        s.function(SUMMARY_HANDLER)["Environment"]["Variables"],
        SweepSummaryEnvironment,
        {
            "REPORTS_BUCKET": {"Ref": _bucket(s)},
            "ALERT_TOPIC_ARN": {"Ref": s.alert_topic_id()},
            "POLICY_PATH": "policy.json",
            "ENDING_WITHIN_DAYS": ending_within_days,
        },
    )


# --- the functions' roles: every statement, exactly ---------------------------------------------------


def test_planner_may_assume_the_reader_role_and_write_the_run_plan(synthesized: Synthesized) -> None:
    s = synthesized
    assert_statements(
        s.function_statements(PLANNER_HANDLER),
        [
            XRAY,
            _logs(s, PLANNER_HANDLER),
            {
                "Sid": "AssumeOrganizationsReader",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": READER_ROLE_ARN,
            },
            {
                "Sid": "WriteRunPlan",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": _objects(s, "runs/*/accounts.json", "runs/*/snapshot.json"),
            },
        ],
    )


def test_planner_of_a_delegated_administrator_reads_organizations_itself(
    synthesized_delegated_admin: Synthesized,
) -> None:
    s = synthesized_delegated_admin
    assert_statements(
        s.function_statements(PLANNER_HANDLER),
        [
            XRAY,
            _logs(s, PLANNER_HANDLER),
            {
                "Sid": "ReadOrganization",
                "Effect": "Allow",
                "Action": [
                    "organizations:DescribeOrganization",
                    "organizations:ListPolicies",
                    "organizations:ListRoots",
                ],
                "Resource": "*",
            },
            LIST_CHILDREN,
            READ_AND_TARGETS_OF_SCPS,
            {
                "Sid": "WriteRunPlan",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": _objects(s, "runs/*/accounts.json", "runs/*/snapshot.json"),
            },
        ],
    )
    assert all(a.split(":")[1].startswith(("Describe", "List")) for a in SWEEP_ORGANIZATIONS_READ_ACTIONS)


@pytest.mark.parametrize("fixture", ["synthesized", "synthesized_variant"])
def test_worker_may_assume_member_roles_keep_the_inventory_and_alert(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    """With chat and Security Hub CSPM on (the variant), it may also publish to the chat topic,
    import and resolve findings, and record deliveries; with remediation_enabled (the variant too),
    schedule and cancel deletions. It never makes idempotency claims, and never deletes (so it
    has none of the deletion guard's table actions)."""
    s: Synthesized = request.getfixturevalue(fixture)
    inventory = _inventory(s)
    assert_statements(
        s.function_statements(WORKER_HANDLER),
        [
            XRAY,
            _logs(s, WORKER_HANDLER),
            {
                "Sid": "AssumeMemberRoleInThisOrganization",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": "arn:aws:iam::*:role/IdentityCenterGuardrailMemberRole",
                "Condition": {"StringEquals": {"aws:ResourceOrgID": "o-exampleorg1"}},
            },
            {
                "Sid": "ReadRunSnapshot",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": _objects(s, "runs/*/snapshot.json"),
            },
            {
                "Sid": "WriteBatchReports",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": _objects(s, "runs/*/batches/*"),
            },
            {
                "Sid": "RecordSweptInstances",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
                "Resource": f"<{inventory}.Arn>",
            },
            {
                "Sid": "FindInstancesOfAccount",
                "Effect": "Allow",
                "Action": "dynamodb:Query",
                "Resource": f"<{inventory}.Arn>/index/by-account",
            },
            *_alerts(s),
            *channel_statements(s),
            *deletion_statements(s),
        ],
    )


@pytest.mark.parametrize("fixture", ["synthesized", "synthesized_variant"])
def test_summary_may_read_the_results_write_the_summary_and_publish_it(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    """The summary goes to the alert topic alone, whichever channels are on."""
    s: Synthesized = request.getfixturevalue(fixture)
    assert_statements(
        s.function_statements(SUMMARY_HANDLER),
        [
            XRAY,
            _logs(s, SUMMARY_HANDLER),
            {
                "Sid": "ReadMapResultsAndBatchReports",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": _objects(
                    s,
                    "map-results/*",
                    "runs/*/batches/*",
                    "runs/*/summary.published",
                    "runs/*/snapshot.json",
                    "history/runs.json",
                ),
            },
            {
                "Sid": "WriteSummary",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": _objects(
                    s,
                    "runs/*/summary.json",
                    "runs/*/summary.published",
                    "runs/*/report.html",
                    "history/runs.json",
                ),
            },
            # The blind spots the last run knew of: each run reads them and writes its own.
            {
                "Sid": "KeepKnownBlindSpots",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": _objects(s, "coverage/blind-spots.json"),
            },
            # So that HeadObject of the not yet written marker answers 404, not 403.
            {
                "Sid": "TellMissingObjects",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"<{_bucket(s)}.Arn>",
            },
            *_alerts(s),
        ],
    )


@pytest.mark.parametrize("handler", [PLANNER_HANDLER, WORKER_HANDLER, SUMMARY_HANDLER])
def test_sweep_function_roles_have_no_other_policy(synthesized: Synthesized, handler: str) -> None:
    role = synthesized.role(handler)
    assert "ManagedPolicyArns" not in role
    assert "Policies" not in role
    policies = [
        p
        for p in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": synthesized.role_id(handler)} in p["Properties"]["Roles"]
    ]
    assert len(policies) == 1
    assert policies[0]["Properties"]["Roles"] == [{"Ref": synthesized.role_id(handler)}]


# --- the state machine ----------------------------------------------------------------------------------


def test_state_machine_is_a_standard_traced_workflow_logging_everything(synthesized: Synthesized) -> None:
    machine = _state_machine(synthesized)
    assert machine["StateMachineType"] == "STANDARD"
    assert machine["TracingConfiguration"] == {"Enabled": True}
    log_group = synthesized.resource_of("AWS::Logs::LogGroup", "SweepStateMachine")[0]
    assert machine["LoggingConfiguration"] == {
        "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [log_group, "Arn"]}}}],
        "IncludeExecutionData": True,
        "Level": "ALL",
    }
    assert synthesized.document["Resources"][log_group]["Properties"]["RetentionInDays"] == 365
    assert _definition(synthesized)["TimeoutSeconds"] == 12 * 3600


def test_definition_runs_plan_then_the_map_then_the_summary(synthesized: Synthesized) -> None:
    definition = _definition(synthesized)
    assert definition["StartAt"] == "Plan"
    states = definition["States"]
    assert list(states) == ["Plan", "Sweep accounts", "Summarize"]
    assert states["Plan"]["Next"] == "Sweep accounts"
    assert states["Sweep accounts"]["Next"] == "Summarize"
    assert states["Summarize"]["End"] is True


def test_plan_gets_the_execution_name_and_start_time_and_outputs_the_planners_payload(
    synthesized: Synthesized,
) -> None:
    plan = _definition(synthesized)["States"]["Plan"]
    assert plan["Type"] == "Task"
    assert plan["Resource"] == "arn:aws:states:::lambda:invoke"
    assert plan["Parameters"] == {
        "FunctionName": _placeholder_arn(synthesized, PLANNER_HANDLER),
        "Payload": {"run_id.$": "$$.Execution.Name", "started_at.$": "$$.Execution.StartTime"},
    }
    assert plan["OutputPath"] == "$.Payload"
    # Exactly what the planner reads.
    assert {name.removesuffix(".$") for name in plan["Parameters"]["Payload"]} == {
        f.name for f in msgspec.structs.fields(PlanRequest)
    }


def test_map_reads_the_planners_accounts_file_and_batches_them(synthesized: Synthesized) -> None:
    sweep = _map(synthesized)
    assert sweep["Type"] == "Map"
    assert sweep["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket.$": "$.bucket", "Key.$": "$.items_key"},
    }
    batch_input = {f.name: f"$.{f.name}" for f in msgspec.structs.fields(BatchInput)}
    assert sweep["ItemBatcher"] == {
        "MaxItemsPerBatch": 25,
        "BatchInput": {f"{name}.$": path for name, path in batch_input.items()},
    }
    assert sweep["MaxConcurrency"] == 40
    assert sweep["ToleratedFailurePercentage"] == 10
    assert sweep["ResultPath"] == "$.map"


def test_map_writes_its_results_to_the_reports_bucket(synthesized: Synthesized) -> None:
    assert _map(synthesized)["ResultWriter"] == {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": f"{_bucket(synthesized).lower()}-placeholder", "Prefix": "map-results"},
    }


def test_each_batch_is_one_worker_invocation(synthesized: Synthesized) -> None:
    processor = _map(synthesized)["ItemProcessor"]
    assert processor["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert processor["StartAt"] == "Sweep batch"
    (name,) = processor["States"]
    batch = processor["States"][name]
    assert batch["Resource"] == "arn:aws:states:::lambda:invoke"
    # The child's input is the batch itself: {"Items": [...], "BatchInput": {...}}.
    assert batch["Parameters"] == {
        "FunctionName": _placeholder_arn(synthesized, WORKER_HANDLER),
        "Payload.$": "$",
    }
    assert batch["OutputPath"] == "$.Payload"
    assert batch["End"] is True


def test_every_lambda_invocation_retries_lambda_errors_throttling_and_failures(
    synthesized: Synthesized,
) -> None:
    states = _definition(synthesized)["States"]
    tasks = [states["Plan"], *_map(synthesized)["ItemProcessor"]["States"].values(), states["Summarize"]]
    assert len(tasks) == 3
    for task in tasks:
        assert task["Retry"] == [
            {
                "ErrorEquals": LAMBDA_TRANSIENT_ERRORS,
                "IntervalSeconds": 2,
                "MaxAttempts": 6,
                "BackoffRate": 2,
                "JitterStrategy": "FULL",
            },
            # A failure of the function itself (the worker's publish that failed, after releasing
            # its claim): every step is safe to run again.
            {
                "ErrorEquals": ["States.TaskFailed"],
                "IntervalSeconds": 30,
                "MaxAttempts": 2,
                "BackoffRate": 2,
                "JitterStrategy": "FULL",
            },
        ]
        assert "Catch" not in task


def test_summarize_gets_the_plan_and_the_maps_output(synthesized: Synthesized) -> None:
    summarize = _definition(synthesized)["States"]["Summarize"]
    assert summarize["Parameters"]["FunctionName"] == _placeholder_arn(synthesized, SUMMARY_HANDLER)
    payload = summarize["Parameters"]["Payload"]
    assert payload["map.$"] == "$.map"
    # Every field of the planner's output, from the state the map left its own output beside.
    assert payload["plan"] == {f"{f.name}.$": f"$.{f.name}" for f in msgspec.structs.fields(Planned)}
    assert {name.removesuffix(".$") for name in payload} == {
        f.name for f in msgspec.structs.fields(SummaryRequest)
    }
    assert summarize["OutputPath"] == "$.Payload"


def test_map_settings_follow_the_configuration(synthesized_variant: Synthesized) -> None:
    sweep = _map(synthesized_variant)
    assert sweep["ItemBatcher"]["MaxItemsPerBatch"] == VARIANT_SWEEP["batch_size"] == 10
    assert sweep["MaxConcurrency"] == VARIANT_SWEEP["max_concurrency"] == 5
    assert sweep["ToleratedFailurePercentage"] == VARIANT_SWEEP["tolerated_failure_percentage"] == 5


def test_state_machine_role_may_invoke_the_sweep_functions_and_use_the_bucket_only(
    synthesized: Synthesized,
) -> None:
    s = synthesized
    functions = [s.function_id(h) for h in (PLANNER_HANDLER, WORKER_HANDLER, SUMMARY_HANDLER)]
    (default_policy,) = [
        p
        for name, p in s.resources("AWS::IAM::Policy").items()
        if p["Properties"]["Roles"] == [{"Ref": _state_machine_role(s)}] and "DefaultPolicy" in name
    ]
    assert_statements(
        default_policy["Properties"]["PolicyDocument"]["Statement"],
        [
            {
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": [f"<{f}.Arn>" for f in functions] + [f"<{f}.Arn>:*" for f in functions],
            },
            {
                "Sid": "ReadAccountsToSweep",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": _objects(s, "runs/*/accounts.json"),
            },
            {
                "Sid": "WriteMapResults",
                "Effect": "Allow",
                "Action": [
                    "s3:AbortMultipartUpload",
                    "s3:GetObject",
                    "s3:ListMultipartUploadParts",
                    "s3:PutObject",
                ],
                "Resource": _objects(s, "map-results/*"),
            },
            # Log delivery and X-Ray have no resource-level permissions.
            {
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogDelivery",
                    "logs:DeleteLogDelivery",
                    "logs:DescribeLogGroups",
                    "logs:DescribeResourcePolicies",
                    "logs:GetLogDelivery",
                    "logs:ListLogDeliveries",
                    "logs:PutResourcePolicy",
                    "logs:UpdateLogDelivery",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                    "xray:PutTelemetryRecords",
                    "xray:PutTraceSegments",
                ],
                "Resource": "*",
            },
        ],
    )


def test_distributed_map_may_run_only_its_own_executions(synthesized: Synthesized) -> None:
    s = synthesized
    machine = s.logical_id("AWS::StepFunctions::StateMachine")
    (policy,) = [p for name, p in s.resources("AWS::IAM::Policy").items() if "DistributedMapPolicy" in name]
    assert policy["Properties"]["Roles"] == [{"Ref": _state_machine_role(s)}]
    executions = f"arn:aws:states:us-east-1:222222222222:execution:<{machine}.Name>"
    assert_statements(
        policy["Properties"]["PolicyDocument"]["Statement"],
        [
            {"Effect": "Allow", "Action": "states:StartExecution", "Resource": f"<{machine}>"},
            {
                "Effect": "Allow",
                "Action": ["states:DescribeExecution", "states:StopExecution"],
                "Resource": f"{executions}:*",
            },
            {"Effect": "Allow", "Action": "states:RedriveExecution", "Resource": f"{executions}/*:*"},
        ],
    )


def test_state_machine_role_is_for_step_functions_of_this_account_only(synthesized: Synthesized) -> None:
    role = synthesized.document["Resources"][_state_machine_role(synthesized)]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert readable(trust) == {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Principal": {"Service": "states.amazonaws.com"},
        "Condition": {
            "StringEquals": {"aws:SourceAccount": "222222222222"},
            "ArnLike": {"aws:SourceArn": "arn:aws:states:us-east-1:222222222222:stateMachine:*"},
        },
    }
    assert "ManagedPolicyArns" not in role
    assert "Policies" not in role


# --- the schedule ---------------------------------------------------------------------------------------


def test_schedule_starts_the_sweep_daily_at_six_utc(synthesized: Synthesized) -> None:
    s = synthesized
    schedule = _schedule(s)
    assert schedule["Name"] == "IdentityCenterGuardrail-Sweep"
    assert schedule["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["State"] == "ENABLED"
    assert "GroupName" not in schedule  # the default group, which the role's trust names
    target = schedule["Target"]
    assert target["Arn"] == {"Ref": s.logical_id("AWS::StepFunctions::StateMachine")}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 185}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [s.logical_id("AWS::SQS::Queue"), "Arn"]}}
    assert "Input" not in target  # the run's id and time come from the execution itself


def test_schedule_follows_the_configuration(synthesized_variant: Synthesized) -> None:
    schedule = _schedule(synthesized_variant)
    assert schedule["ScheduleExpression"] == "rate(12 hours)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert schedule["State"] == "DISABLED"  # enabled: false; the state machine stays, for on-demand runs
    assert synthesized_variant.resources("AWS::StepFunctions::StateMachine")


def test_schedule_role_may_only_start_the_sweep_and_park_a_failed_start(synthesized: Synthesized) -> None:
    s = synthesized
    role_id = _schedule(s)["Target"]["RoleArn"]["Fn::GetAtt"][0]
    role = s.document["Resources"][role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert readable(trust) == {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Principal": {"Service": "scheduler.amazonaws.com"},
        "Condition": {
            "StringEquals": {"aws:SourceAccount": "222222222222"},
            "ArnEquals": {"aws:SourceArn": "arn:aws:scheduler:us-east-1:222222222222:schedule-group/default"},
        },
    }
    assert "ManagedPolicyArns" not in role
    assert "Policies" not in role
    assert_statements(
        s.role_policy_statements(role_id),
        [
            {
                "Effect": "Allow",
                "Action": "states:StartExecution",
                "Resource": f"<{s.logical_id('AWS::StepFunctions::StateMachine')}>",
            },
            # What Scheduler needs to send a start it gave up on to the dead-letter queue.
            {
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": f"<{s.logical_id('AWS::SQS::Queue')}.Arn>",
            },
        ],
    )
