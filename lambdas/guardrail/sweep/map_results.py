"""Reading what a Distributed Map wrote with its ResultWriter: the manifest, then the result files.

The manifest (`manifest.json`) lists the result files by status (`SUCCEEDED`, `FAILED`,
`PENDING`); each file is a JSON array with one entry per child execution (here, per batch of
accounts), its `Input` and `Output` as JSON text (Transformation NONE, the default when results
are exported to S3).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MapResults:
    outputs: list[Any]
    # The inputs of the batches that failed (each with its `Items`): accounts neither read nor absent.
    failed_inputs: list[Any]


def read_map_results(bucket: str, manifest_key: str, get: Callable[[str, str], bytes]) -> MapResults:
    """`get(bucket, key)` returns an object's bytes."""
    manifest = json.loads(get(bucket, manifest_key))
    files = manifest.get("ResultFiles", {})
    destination = manifest.get("DestinationBucket", bucket)

    def entries(status: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for result_file in files.get(status, []):
            found.extend(json.loads(get(destination, result_file["Key"])))
        return found

    outputs = [json.loads(entry["Output"]) for entry in entries("SUCCEEDED") if entry.get("Output")]
    failed = [
        json.loads(entry["Input"]) for entry in entries("FAILED") + entries("PENDING") if entry.get("Input")
    ]
    return MapResults(outputs, failed)
