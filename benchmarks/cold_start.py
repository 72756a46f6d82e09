"""Cold start, measured in fresh processes (``benchmarks.probe``), median of several runs.

The function's cold start is its init (import the handler module, build the runtime) plus the
client-side part of its first event (the emulation's own time left out), in CPU time. The floor is what any
function pays that imports boto3 and Powertools (Logger, Metrics, Tracer) and creates the same
boto3 clients the function creates by the end of its first event. The function's package is
imported as the stack's bundling ships it, on a path where Python writes no bytecode (Lambda's
code directory is read-only): with the bytecode the asset carries, or compiling at every start
when the machine's Python is not the runtime's and the asset carries none.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness import EXAMPLE_POLICY, PROJECT_ROOT
from guardrail.core.policy import policy_data
from guardrail.core.policy_file import load_policy
from guardrail.handlers.environment import (
    Alerting,
    DetectEnvironment,
    MemberReads,
    OrganizationReads,
    PolicyFile,
)

GOAL_RATIO = 1.2
PACKAGE = PROJECT_ROOT / "lambdas" / "guardrail"


@dataclass(frozen=True)
class ColdStartFigures:
    runs: int
    floor_ms: float
    floor_import_ms: float
    floor_clients_ms: float
    init_ms: float
    init_import_ms: float
    init_build_ms: float
    first_event_client_side_ms: float
    first_event_wall_ms: float
    floor_wall_ms: float
    init_wall_ms: float
    second_event_client_side_ms: float
    cold_start_ms: float
    ratio: float
    # The ratio of each interleaved pair of runs (init of run i plus the median first event, over
    # floor of run i), lowest and highest: how much one measurement can be trusted on this machine.
    ratio_low: float
    ratio_high: float
    clients: int
    compile_ms: float
    bytecode_shipped: bool
    floor_rss_mb: float
    init_rss_mb: float


def _probe(*args: str, code: Path | None = None, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one probe; `code` is a folder holding the function's package, found as in Lambda."""
    path = os.pathsep.join(filter(None, [str(code) if code else None, os.environ.get("PYTHONPATH")]))
    completed = subprocess.run(  # noqa: S603 - our own module, run with this interpreter
        [sys.executable, "-m", "benchmarks.probe", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": path, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def function_variables(policy_path: Path) -> dict[str, str]:
    """The detect function's environment as the central stack sets it for the example (read once
    the handler builds its runtime; no call is made with them)."""
    return DetectEnvironment(
        alerting=Alerting(
            alert_topic_arn="arn:aws:sns:us-east-1:222222222222:identity-center-guardrail-alerts"
        ),
        dead_letter_queue_url="https://sqs.us-east-1.amazonaws.com/222222222222/identity-center-guardrail-dlq",
        idempotency_table_name="identity-center-guardrail-idempotency",
        inventory_table_name="identity-center-guardrail-inventory",
        member_reads=MemberReads(
            member_role_name="IdentityCenterGuardrailMemberRole",
            instance_regions=("us-east-1", "eu-west-1", "eu-central-1"),
        ),
        organization_reads=OrganizationReads(
            organizations_role_arn="arn:aws:iam::111111111111:role/IdentityCenterGuardrailOrganizationsReader",
            organization_instance_region="us-east-1",
        ),
        policy=PolicyFile(policy_path=str(policy_path)),
    ).variables()


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def _compile_ms() -> float:
    """What compiling the package costs at a cold start when the asset carries no bytecode."""
    started = time.perf_counter()
    for path in PACKAGE.rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    return round((time.perf_counter() - started) * 1000, 1)


def _bundled_package(folder: Path) -> bool:
    """The `guardrail` package as the asset holds it, in `folder`; whether it carries bytecode.

    Only the package: the asset's msgspec is built for Lambda's platform, the machine's is used.
    """
    from infra.bundling import PACKAGE_NAME, GuardrailBundling

    with tempfile.TemporaryDirectory() as asset:
        GuardrailBundling(load_policy(EXAMPLE_POLICY)).try_bundle(asset, image=None)  # type: ignore[arg-type]
        shutil.copytree(Path(asset) / PACKAGE_NAME, folder / PACKAGE_NAME)
    return any(folder.rglob("*.pyc"))


def measure_cold_start(runs: int = 5) -> ColdStartFigures:
    with tempfile.TemporaryDirectory() as scratch:
        policy_path = Path(scratch) / "policy.json"
        policy_path.write_text(json.dumps(policy_data(load_policy(EXAMPLE_POLICY))), encoding="utf-8")
        code = Path(scratch) / "code"
        bytecode_shipped = _bundled_package(code)
        as_lambda = {"PYTHONDONTWRITEBYTECODE": "1"}
        served = [_probe("serve", code=code, env=as_lambda) for _ in range(runs)]
        clients = json.dumps(served[0]["clients"])
        floors, inits = [], []
        for _ in range(runs):  # interleaved, so that a busy moment of the machine hits both
            floors.append(_probe("floor", env={"PROBE_CLIENTS": clients}))
            inits.append(_probe("init", code=code, env={**as_lambda, **function_variables(policy_path)}))

    floor_ms = _median([f["total_ms"] for f in floors])
    init_ms = _median([i["total_ms"] for i in inits])
    first = _median([s["first"]["client_side_ms"] for s in served])
    cold = round(init_ms + first, 1)
    pairs = [round((i["total_ms"] + first) / f["total_ms"], 2) for i, f in zip(inits, floors, strict=True)]
    return ColdStartFigures(
        runs=runs,
        floor_ms=floor_ms,
        floor_import_ms=_median([f["import_ms"] for f in floors]),
        floor_clients_ms=_median([f["clients_ms"] for f in floors]),
        init_ms=init_ms,
        init_import_ms=_median([i["import_ms"] for i in inits]),
        init_build_ms=_median([i["build_ms"] for i in inits]),
        first_event_client_side_ms=first,
        first_event_wall_ms=_median([s["first"]["wall_ms"] for s in served]),
        floor_wall_ms=_median([f["wall_ms"] for f in floors]),
        init_wall_ms=_median([i["wall_ms"] for i in inits]),
        second_event_client_side_ms=_median([s["second"]["client_side_ms"] for s in served]),
        cold_start_ms=cold,
        ratio=round(cold / floor_ms, 2),
        ratio_low=min(pairs),
        ratio_high=max(pairs),
        clients=len(served[0]["clients"]),
        compile_ms=_compile_ms(),
        bytecode_shipped=bytecode_shipped,
        floor_rss_mb=_median([f["rss_mb"] for f in floors]),
        init_rss_mb=_median([i["rss_mb"] for i in inits]),
    )
