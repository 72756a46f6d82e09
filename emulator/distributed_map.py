"""A Distributed Map run in-process: its S3 item reader, item batcher and result writer.

moto's Step Functions refuses `ItemBatcher` at CreateStateMachine and, without Docker, answers a
Lambda task with its own payload, so a sweep's steps cannot run inside moto's state machine. This
runs the map's part of the definition the way Step Functions documents it, around the real worker
handler: items read from a JSON array in S3, handed over in batches with the batch input, each
batch's outcome written to S3 as the ResultWriter writes it (a `manifest.json` listing
`SUCCEEDED_n.json` and `FAILED_n.json`, each a JSON array of child executions with their `Input`
and `Output` as JSON text), and the map's output naming the manifest. `max_concurrency` child
executions run at once (threads), as the map's MaxConcurrency allows; the result files list them in
the order of their batches.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def run_distributed_map(
    s3: Any,
    *,
    bucket: str,
    items_key: str,
    batch_input: dict[str, Any],
    max_items_per_batch: int,
    result_prefix: str,
    worker: Callable[[dict[str, Any]], Any],
    max_concurrency: int = 1,
) -> dict[str, Any]:
    items = json.loads(s3.get_object(Bucket=bucket, Key=items_key)["Body"].read())
    map_run = str(uuid.uuid4())

    def child(batch: tuple[Any, ...]) -> dict[str, Any]:
        event = {"Items": list(batch), "BatchInput": batch_input}
        entry = {"Input": json.dumps(event), "Name": str(uuid.uuid4())}
        try:
            output = worker(event)
        except Exception as error:  # the child execution fails; the map tolerates it or not
            return {**entry, "Status": "FAILED", "Error": type(error).__name__, "Cause": str(error)}
        return {**entry, "Status": "SUCCEEDED", "Output": json.dumps(output)}

    batches = list(itertools.batched(items, max_items_per_batch))
    if max_concurrency > 1 and len(batches) > 1:
        with ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="child") as pool:
            children = list(pool.map(child, batches))
    else:
        children = [child(batch) for batch in batches]
    succeeded = [c for c in children if c["Status"] == "SUCCEEDED"]
    failed = [c for c in children if c["Status"] == "FAILED"]
    prefix = f"{result_prefix.rstrip('/')}/{map_run}"
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for status, entries in (("SUCCEEDED", succeeded), ("FAILED", failed)):
        if entries:
            key = f"{prefix}/{status}_0.json"
            body = json.dumps(entries).encode()
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            files[status].append({"Key": key, "Size": len(body)})
    manifest_key = f"{prefix}/manifest.json"
    manifest = {
        "DestinationBucket": bucket,
        "MapRunArn": f"arn:aws:states:us-east-1:222222222222:mapRun:sweep/{map_run}",
        "ResultFiles": files,
    }
    s3.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(manifest).encode())
    return {
        "MapRunArn": manifest["MapRunArn"],
        "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key},
    }
