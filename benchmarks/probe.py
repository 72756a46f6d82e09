"""One cold-start measurement, run in a fresh process: ``python -m benchmarks.probe MODE``.

Modes (each prints one JSON object):

* ``floor``: import boto3 and Powertools, create Logger, Metrics and Tracer, then the clients
  given as JSON in ``PROBE_CLIENTS``: what any function using them pays before its first event;
* ``init``: import the handler module and build its runtime, as Lambda's init phase does;
* ``serve``: the first and second events through a runtime built in this process, against the
  emulated AWS; the function's CPU time is the process's less the CPU moto spent answering
  (threads run concurrently, so wall time cannot be split). Setting up the emulation has
  exercised botocore already, so some of its first-request work is not counted.

Times are the process's CPU time (user and system), which other work on a shared machine
disturbs far less than wall time; wall time is reported beside it. Only the standard library is
imported before a timer starts.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from typing import Any

FUNCTION_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "example",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "identity-center-guardrail",
    "POWERTOOLS_METRICS_NAMESPACE": "IdentityCenterGuardrail",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    # Tracing stays on, as in Lambda; with no X-Ray daemon, Powertools does not send anything.
}


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _rss_mb() -> float:
    """Peak resident memory of this process (ru_maxrss would include the parent's, before exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def floor(clients: list[dict[str, Any]]) -> dict[str, Any]:
    wall_started, started = time.perf_counter(), time.process_time()
    import boto3
    from aws_lambda_powertools import Logger, Metrics, Tracer
    from botocore.config import Config

    Logger()
    Metrics()
    Tracer()
    imported = time.process_time()
    config = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 5, "mode": "adaptive"})
    session = boto3.session.Session()
    assumed = {"aws_access_key_id": "ASIA", "aws_secret_access_key": "x", "aws_session_token": "y"}
    for client in clients:
        credentials = assumed if client["assumed"] else {}
        session.client(client["service"], region_name=client["region"], config=config, **credentials)  # type: ignore[call-overload]
    done, wall_done = time.process_time(), time.perf_counter()
    return {
        "import_ms": _ms(imported - started),
        "clients_ms": _ms(done - imported),
        "total_ms": _ms(done - started),
        "wall_ms": _ms(wall_done - wall_started),
        "rss_mb": _rss_mb(),
    }


def init() -> dict[str, Any]:
    """Import the handler and build its runtime, with the function's variables the caller set."""
    wall_started, started = time.perf_counter(), time.process_time()
    from guardrail.handlers import detect

    imported = time.process_time()
    detect.runtime()
    built, wall_built = time.process_time(), time.perf_counter()
    return {
        "import_ms": _ms(imported - started),
        "build_ms": _ms(built - imported),
        "total_ms": _ms(built - started),
        "wall_ms": _ms(wall_built - wall_started),
        "rss_mb": _rss_mb(),
    }


def serve() -> dict[str, Any]:
    """The first two events; client-side time is wall time less the time moto spent answering."""
    import contextlib
    import io
    from unittest import mock

    import botocore.session

    os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"  # no X-Ray segment outside Lambda
    from guardrail.handlers import detect

    created: list[dict[str, Any]] = []
    function_thread = threading.local()  # the clients the function creates, not the emulation's
    original = botocore.session.Session.create_client

    def spy(session: botocore.session.Session, service_name: str, *args: Any, **kwargs: Any) -> Any:
        if getattr(function_thread, "active", False) or threading.current_thread().name.startswith(
            ("aws_", "member_")
        ):
            created.append(
                {
                    "service": service_name,
                    "region": kwargs.get("region_name"),
                    "assumed": kwargs.get("aws_session_token") is not None,
                }
            )
        return original(session, service_name, *args, **kwargs)

    from benchmarks.harness import CONTEXT, create_event, emulated_function

    figures: dict[str, Any] = {}
    with emulated_function() as bench, mock.patch.object(botocore.session.Session, "create_client", spy):
        function_thread.active = True
        runtime = detect.build_runtime()
        runtime.once.register(CONTEXT)
        for label in ("first", "second"):
            event = create_event()
            function_thread.active = True
            with bench.wire.recording() as calls, contextlib.redirect_stdout(io.StringIO()):
                started, cpu_started = time.perf_counter(), time.process_time()
                result = detect.process(event, runtime)
                wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            function_thread.active = False
            assert result["status"] == "alerted", result
            emulation_cpu = sum(c.emulated_cpu_seconds for c in calls)
            figures[label] = {
                "wall_ms": _ms(wall),
                "cpu_ms": _ms(cpu),
                "emulation_cpu_ms": _ms(emulation_cpu),
                # The function's own CPU time: the process's, less what moto spent answering.
                "client_side_ms": _ms(cpu - emulation_cpu),
                "calls": len(calls),
            }
            bench.drain()
    figures["clients"] = created
    return figures


def main(argv: list[str]) -> None:
    mode = argv[0]
    os.environ.update(FUNCTION_ENV)
    if mode == "floor":
        result = floor(json.loads(os.environ["PROBE_CLIENTS"]))
    elif mode == "init":
        result = init()
    elif mode == "serve":
        result = serve()
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
