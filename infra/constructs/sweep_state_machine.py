"""The sweep's state machine: plan, sweep every account in batches (a Distributed Map), summarize.

```
Plan ──► Sweep accounts (Distributed Map over runs/<run id>/accounts.json, batches of batch_size)
              └─ each batch: Sweep batch (the worker)                ──► Summarize
```

- `Plan` invokes the planner with the execution's name (the run id) and start time; its output is
  the planner's payload (`bucket`, `items_key`, `snapshot_key`, `counts`, ...).
- `Sweep accounts` reads the accounts from the planner's `bucket`/`items_key`, hands them to the
  worker `batch_size` at a time with the run's `BatchInput`, at most `max_concurrency` at once,
  fails the run only when more than `tolerated_failure_percentage` of the batches fail, and
  writes each batch's outcome to the reports bucket (ResultWriter) under `map-results/`. Its
  output (`MapRunArn`, `ResultWriterDetails`) is kept under `$.map`.
- `Summarize` gets `{"plan": <the planner's payload>, "map": <the map's output>}`.

Every Lambda invocation is retried on Lambda's service errors and throttling, and twice more on a
failure of the function itself: each step is safe to run again (the planner rewrites the same keys,
an alert is claimed per run in the inventory, the summary is published once).
"""

from __future__ import annotations

import json
from typing import Any, Final

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.config import SweepConfig
from infra.constructs.reports_bucket import MAP_RESULTS_PREFIX, ReportsBucket, run_objects
from infra.constructs.sweep_functions import SweepFunctions
from infra.nag import acknowledge, logical_id

PLAN_STATE: Final = "Plan"
MAP_STATE: Final = "Sweep accounts"
BATCH_STATE: Final = "Sweep batch"
SUMMARY_STATE: Final = "Summarize"
# Far longer than a sweep of 10,000 accounts takes, and shorter than a day, so that a stuck run
# times out (and alarms) before the next daily one starts.
STATE_MACHINE_TIMEOUT: Final = Duration.hours(12)
# Lambda's errors worth retrying: the service's own, and throttling (the map runs many at once).
LAMBDA_TRANSIENT_ERRORS: Final = (
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
# The planner's output fields that the summary reads (`guardrail.handlers.sweep.Planned`).
PLAN_STRING_FIELDS: Final = ("run_id", "started_at", "bucket", "snapshot_key", "items_key")
# What each batch gets beside its items (`guardrail.handlers.sweep.BatchInput`).
BATCH_INPUT_FIELDS: Final = ("run_id", "started_at", "bucket", "snapshot_key")


class _NoPolicyJsonItemReader(sfn.S3JsonItemReader):
    """The S3 JSON item reader, whose read permission `SweepStateMachine` writes out itself.

    With its bucket named by a path (the planner's output), CDK would grant nothing; say so.
    """

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return []


class _ResultWriter(sfn.ResultWriterV2):
    """ResultWriterV2, with its permissions narrowed from the whole bucket to the map's prefix."""

    def __init__(self, *, bucket_arn: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._objects = f"{bucket_arn}/{MAP_RESULTS_PREFIX}/*"

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        # The actions Step Functions documents for a ResultWriter (multipart uploads included).
        return [
            iam.PolicyStatement(
                sid="WriteMapResults",
                actions=[
                    "s3:PutObject",
                    "s3:GetObject",
                    "s3:ListMultipartUploadParts",
                    "s3:AbortMultipartUpload",
                ],
                resources=[self._objects],
            )
        ]


def _retry_transient_errors(task: tasks.LambdaInvoke) -> None:
    """Lambda's own errors and throttling, soon and often; then, fewer times and later, a failure of
    the function itself (a publish or a read that failed past its own retries): each step is safe to
    run again, so a retried batch neither alerts twice nor loses an alert."""
    task.add_retry(
        errors=list(LAMBDA_TRANSIENT_ERRORS),
        interval=Duration.seconds(2),
        max_attempts=6,
        backoff_rate=2,
        jitter_strategy=sfn.JitterType.FULL,
    )
    task.add_retry(
        errors=[sfn.Errors.TASKS_FAILED],
        interval=Duration.seconds(30),
        max_attempts=2,
        backoff_rate=2,
        jitter_strategy=sfn.JitterType.FULL,
    )


class SweepStateMachine(Construct):
    """A standard workflow, traced, logging every state to CloudWatch Logs.

    Logging level ALL, with execution data: a sweep runs once a day and logs a few events per batch,
    and its inputs and outputs are account ids, S3 keys and counts; so the log group keeps a run's
    whole path (which batch failed, with which accounts) after Step Functions' own execution
    history of 90 days is gone, and cdk-nag's AwsSolutions-SF1 needs no exception.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        sweep: SweepConfig,
        functions: SweepFunctions,
        reports: ReportsBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        plan = tasks.LambdaInvoke(
            self,
            PLAN_STATE,
            lambda_function=functions.planner.function,
            comment="Reads the organization; writes the run's snapshot and the accounts to sweep",
            payload=sfn.TaskInput.from_object(
                {
                    "run_id": sfn.JsonPath.string_at("$$.Execution.Name"),
                    "started_at": sfn.JsonPath.string_at("$$.Execution.StartTime"),
                }
            ),
            output_path="$.Payload",
            retry_on_service_exceptions=False,
        )
        _retry_transient_errors(plan)

        batch = tasks.LambdaInvoke(
            self,
            BATCH_STATE,
            lambda_function=functions.worker.function,
            comment="Sweeps one batch of accounts: {Items, BatchInput}",
            output_path="$.Payload",
            retry_on_service_exceptions=False,
        )
        _retry_transient_errors(batch)

        self.map = sfn.DistributedMap(
            self,
            MAP_STATE,
            comment="Every account the planner listed, in batches",
            item_reader=_NoPolicyJsonItemReader(
                bucket_name_path=sfn.JsonPath.string_at("$.bucket"),
                key=sfn.JsonPath.string_at("$.items_key"),
            ),
            item_batcher=sfn.ItemBatcher(
                max_items_per_batch=sweep.batch_size,
                # Written as ASL: CDK passes BatchInput through without rendering JsonPath tokens.
                batch_input={f"{name}.$": f"$.{name}" for name in BATCH_INPUT_FIELDS},
            ),
            max_concurrency=sweep.max_concurrency,
            tolerated_failure_percentage=sweep.tolerated_failure_percentage,
            result_writer_v2=_ResultWriter(
                bucket=reports.bucket, prefix=MAP_RESULTS_PREFIX, bucket_arn=reports.bucket.bucket_arn
            ),
            map_execution_type=sfn.StateMachineType.STANDARD,
            result_path="$.map",
        )
        self.map.item_processor(batch)

        summarize = tasks.LambdaInvoke(
            self,
            SUMMARY_STATE,
            lambda_function=functions.summary.function,
            comment="Adds the batches up, writes the summary and publishes it once",
            payload=sfn.TaskInput.from_object(
                {
                    "plan": {
                        **{name: sfn.JsonPath.string_at(f"$.{name}") for name in PLAN_STRING_FIELDS},
                        "counts": sfn.JsonPath.object_at("$.counts"),
                        "api_calls": sfn.JsonPath.number_at("$.api_calls"),
                    },
                    "map": sfn.JsonPath.object_at("$.map"),
                }
            ),
            output_path="$.Payload",
            retry_on_service_exceptions=False,
        )
        _retry_transient_errors(summarize)

        self.log_group = logs.LogGroup(
            self, "LogGroup", retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.RETAIN
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            comment="Sweeps every account of the organization for IAM Identity Center account instances",
            definition_body=sfn.DefinitionBody.from_chainable(plan.next(self.map).next(summarize)),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=STATE_MACHINE_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
        )
        # The item reader's bucket comes from the planner's output: it may read the accounts files there.
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                sid="ReadAccountsToSweep",
                actions=["s3:GetObject"],
                resources=[run_objects(reports.bucket.bucket_arn, "accounts.json")],
            )
        )
        self._acknowledge(reports, functions)

    def _acknowledge(self, reports: ReportsBucket, functions: SweepFunctions) -> None:
        stack = Stack.of(self)
        # The role's default policy, and the policy CDK adds beside it for the Distributed Map.
        role = self.state_machine.role.node.find_child("DefaultPolicy")
        map_policy = self.state_machine.node.find_child("DistributedMapPolicy")
        bucket_id = logical_id(reports.bucket)
        for function in functions.functions:
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::<{logical_id(function.function)}.Arn>:*]",
                "Step Functions' LambdaInvoke grants the function and its versions and aliases "
                "(<function ARN>:*); the state machine invokes the unqualified function only, one of "
                "the sweep's three",
            )
        # What CDK grants a Distributed Map on its own executions, as Step Functions documents it.
        name = json.dumps(
            {"Fn::Select": [6, {"Fn::Split": [":", {"Ref": logical_id(self.state_machine)}]}]},
            separators=(",", ":"),
        )
        executions = f"arn:{stack.partition}:states:{stack.region}:{stack.account}:execution:{name}"
        acknowledge(
            map_policy,
            f"AwsSolutions-IAM5[Resource::{executions}:*]",
            "The Distributed Map starts, describes and stops child executions of this state machine "
            "(execution:<state machine name>:*), whose names Step Functions chooses at run time",
        )
        acknowledge(
            map_policy,
            f"AwsSolutions-IAM5[Resource::{executions}/*:*]",
            "A failed map run may be redriven (states:RedriveExecution) on this state machine's map "
            "run executions (execution:<state machine name>/<map run>:*), named at run time",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "Step Functions' log delivery (logs:CreateLogDelivery and the other delivery actions) and "
            "X-Ray's PutTraceSegments, PutTelemetryRecords, GetSamplingRules and GetSamplingTargets support "
            "no resource-level permissions",
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/runs/*/accounts.json]",
            "The accounts file of each run is written under runs/<run id>/, an id only known at run time; "
            "the statement names that one kind of object, in the reports bucket only",
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{MAP_RESULTS_PREFIX}/*]",
            "The Distributed Map writes its results under map-results/<map run id>/, an id Step Functions "
            "chooses at run time",
        )
