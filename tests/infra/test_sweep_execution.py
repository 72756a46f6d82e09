"""The synthesized sweep definition, executed by moto's Step Functions.

moto (5.2.5) executes a state machine when asked (`execute_state_machine`), Distributed Map with an
S3 JSON item reader and `lambda:invoke` tasks included, but refuses three things CDK writes at
CreateStateMachine (../shared/reference/domain-facts.md, and
`test_moto_refuses_exactly_the_documented_fields` below):

- `ItemBatcher`: removed here, so each child execution gets one item (`{"account_id": ...}`)
  where Step Functions hands the worker `{"Items": [...], "BatchInput": {...}}`;
- an integer `ToleratedFailurePercentage` (CDK writes `10`): written as `10.0` (moto ignores it);
- `WriterConfig`: the definition has none (asserted), so nothing is removed.

Nothing else is changed. Without Docker, moto answers a Lambda invocation with its payload unless
results are queued (moto's `/moto-api/static/lambda-simple/response`): the planner's, the workers'
and the summary's outputs are queued in the order moto invokes them, shaped as the handlers'
contracts say (`guardrail.handlers.sweep`), so that the map really reads the planner's accounts file
from S3. moto's ResultWriter writes a manifest listing no result files.
"""

from __future__ import annotations

import copy
import io
import json
import time
import zipfile
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend

from guardrail.core.strict import convert
from guardrail.handlers.sweep import Planned, PlanRequest, SummaryRequest
from tests.infra.support import (
    PLANNER_HANDLER,
    SUMMARY_HANDLER,
    WORKER_HANDLER,
    Document,
    Synthesized,
    state_machine_definition,
)

ACCOUNT = "123456789012"  # moto's
REGION = "us-east-1"
BUCKET = "guardrail-sweep-reports"
RUN_ID = "sweep-on-moto"
ACCOUNTS = ["333333333333", "444444444444", "555555555555"]
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
# moto's lambda-simple backend, filled through its documented moto API endpoint.
LAMBDA_RESULTS_URL = "http://motoapi.amazonaws.com/moto-api/static/lambda-simple/response"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _moto_definition(s: Synthesized, values: dict[str, str]) -> Document:
    """The synthesized definition, with only what moto refuses adjusted (see the module's docstring)."""
    definition = state_machine_definition(s, values)
    sweep = definition["States"]["Sweep accounts"]
    assert "WriterConfig" not in sweep["ResultWriter"]
    del sweep["ItemBatcher"]
    sweep["ToleratedFailurePercentage"] = float(sweep["ToleratedFailurePercentage"])
    return definition


@pytest.fixture
def invocations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every Lambda invocation moto makes: the function's ARN and the payload it was given."""
    calls: list[tuple[str, Any]] = []
    invoke = LambdaSimpleBackend.invoke

    def recording(self: LambdaSimpleBackend, function_name: str, *args: Any, **kwargs: Any) -> Any:
        body = args[1] if len(args) > 1 else kwargs.get("body")
        calls.append((function_name, json.loads(body) if body else None))
        return invoke(self, function_name, *args, **kwargs)

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", recording)
    return calls


def _planned() -> dict[str, Any]:
    """What the planner returns (`Planned`), for this run."""
    return {
        "run_id": RUN_ID,
        "started_at": "2026-11-30T06:00:00+00:00",
        "bucket": BUCKET,
        "snapshot_key": f"runs/{RUN_ID}/snapshot.json",
        "items_key": f"runs/{RUN_ID}/accounts.json",
        "counts": {"listed": 4, "ACTIVE": 4},
        "api_calls": 12,
    }


def _wait(sfn: Any, execution_arn: str, seconds: float = 60) -> Document:
    deadline = time.monotonic() + seconds
    while True:
        description: Document = sfn.describe_execution(executionArn=execution_arn)
        if description["status"] != "RUNNING" or time.monotonic() > deadline:
            return description
        time.sleep(0.05)


def _history(sfn: Any, execution_arn: str) -> list[Document]:
    events: list[Document] = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return events


def test_moto_runs_the_sweep_from_plan_through_the_map_to_the_summary(
    synthesized: Synthesized, invocations: list[tuple[str, Any]]
) -> None:
    s = synthesized
    summary_output = {"run_id": RUN_ID, "summary_key": f"runs/{RUN_ID}/summary.json", "failed_batches": 0}
    with mock_aws(config=MOTO_CONFIG):
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="sweep", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
        )["Role"]["Arn"]
        lambda_ = boto3.client("lambda", region_name=REGION)
        arns = {
            handler: lambda_.create_function(
                FunctionName=s.function_id(handler),
                Runtime="python3.13",
                Role=role,
                Handler="index.handler",
                Code={"ZipFile": _zip()},
            )["FunctionArn"]
            for handler in (PLANNER_HANDLER, WORKER_HANDLER, SUMMARY_HANDLER)
        }
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        accounts = json.dumps([{"account_id": account} for account in ACCOUNTS])
        s3.put_object(Bucket=BUCKET, Key=_planned()["items_key"], Body=accounts.encode())

        values = {s.function_id(handler): arn for handler, arn in arns.items()}
        values[s.logical_id("AWS::S3::Bucket")] = BUCKET
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="IdentityCenterGuardrailSweep",
            definition=json.dumps(_moto_definition(s, values)),
            roleArn=role,
            type="STANDARD",
        )["stateMachineArn"]

        results = [
            _planned(),
            *(
                {"report_key": f"runs/{RUN_ID}/batches/{a}-1.json", "accounts": 1, "unreadable": 0}
                for a in ACCOUNTS
            ),
            summary_output,
        ]
        queued = requests.post(
            LAMBDA_RESULTS_URL,
            json={"results": [json.dumps(r) for r in results], "account_id": ACCOUNT, "region": REGION},
            timeout=10,
        )
        assert queued.status_code == 201

        # As the schedule starts it: no input; the run's id and time come from the execution.
        execution = sfn.start_execution(stateMachineArn=machine, name=RUN_ID)["executionArn"]
        description = _wait(sfn, execution)
        history = _history(sfn, execution)
        (map_run,) = sfn.list_map_runs(executionArn=execution)["mapRuns"]
        map_run_description = sfn.describe_map_run(mapRunArn=map_run["mapRunArn"])
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]

    assert description["status"] == "SUCCEEDED", [e for e in history if "Failed" in e["type"]]
    assert json.loads(description["output"]) == summary_output  # the summary's payload ($.Payload)

    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert entered == ["Plan", "Sweep accounts", "Summarize"]
    assert [e["type"] for e in history if e["type"].startswith("MapRun")] == [
        "MapRunStarted",
        "MapRunSucceeded",
    ]
    # The map read the planner's accounts file: one child per account (no ItemBatcher on moto).
    assert map_run_description["itemCounts"]["total"] == len(ACCOUNTS)
    assert map_run_description["itemCounts"]["succeeded"] == len(ACCOUNTS)

    # What each function was given: the execution context, each item, then plan and map together.
    assert [arn for arn, _ in invocations] == [
        arns[PLANNER_HANDLER],
        *([arns[WORKER_HANDLER]] * len(ACCOUNTS)),
        arns[SUMMARY_HANDLER],
    ]
    plan_input = invocations[0][1]
    assert plan_input["run_id"] == RUN_ID
    assert convert(plan_input, PlanRequest).run_id == RUN_ID  # the planner's own input model
    assert sorted(payload["account_id"] for _, payload in invocations[1:-1]) == ACCOUNTS
    summary_input = invocations[-1][1]
    assert summary_input["plan"] == _planned()
    assert summary_input["map"]["MapRunArn"] == map_run["mapRunArn"]
    details = summary_input["map"]["ResultWriterDetails"]
    assert details["Bucket"] == BUCKET
    assert details["Key"].startswith("map-results/")
    assert details["Key"].endswith("/manifest.json")
    assert details["Key"] in listed  # moto wrote the manifest where the map's output says
    request = convert(summary_input, SummaryRequest)  # the summary's own input model
    assert request.plan == convert(_planned(), Planned)


def test_moto_refuses_exactly_the_documented_fields(synthesized: Synthesized) -> None:
    """Each adjustment above is needed: moto refuses ItemBatcher and the integer percentage at
    CreateStateMachine (and WriterConfig, which CDK would write for a ResultWriterV2 writer_config)."""
    with mock_aws(config=MOTO_CONFIG):
        sfn = boto3.client("stepfunctions", region_name=REGION)
        role = f"arn:aws:iam::{ACCOUNT}:role/sweep"
        synthesized_definition = state_machine_definition(synthesized)

        def create(name: str, definition: Document) -> str | None:
            try:
                sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=role)
            except sfn.exceptions.ClientError as error:
                return str(error)
            return None

        as_synthesized = create("as-synthesized", synthesized_definition)
        assert as_synthesized is not None
        assert "ItemBatcher" in as_synthesized

        without_batcher = copy.deepcopy(synthesized_definition)
        del without_batcher["States"]["Sweep accounts"]["ItemBatcher"]
        integer = create("integer-percentage", without_batcher)
        assert integer is not None
        assert '"ToleratedFailurePercentage":10' in integer

        adjusted = copy.deepcopy(without_batcher)
        adjusted["States"]["Sweep accounts"]["ToleratedFailurePercentage"] = 10.0
        with_writer_config = copy.deepcopy(adjusted)
        with_writer_config["States"]["Sweep accounts"]["ResultWriter"]["WriterConfig"] = {
            "OutputType": "JSON",
            "Transformation": "NONE",
        }
        writer_config = create("writer-config", with_writer_config)
        assert writer_config is not None
        assert "WriterConfig" in writer_config

        assert create("adjusted", adjusted) is None
