"""Size of the function's code asset, built the way the stack bundles it.

The asset is the ``guardrail`` package (no ``__pycache__`` or compiled files) and the validated
policy as ``policy.json``; boto3 comes with the runtime and Powertools from its public layer.
Lambda's limit for a zipped deployment package is 50 MB.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass

from benchmarks.harness import EXAMPLE_POLICY, PROJECT_ROOT
from guardrail.core.policy import load_policy, policy_data

PACKAGE = PROJECT_ROOT / "lambdas" / "guardrail"
_IGNORED_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache"}
_IGNORED_SUFFIXES = {".pyc", ".pyo"}


@dataclass(frozen=True)
class PackageFigures:
    files: int
    source_kb: float
    zipped_kb: float


def measure_package() -> PackageFigures:
    buffer = io.BytesIO()
    source = 0
    files = 0
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(PACKAGE.rglob("*")):
            relative = path.relative_to(PACKAGE.parent)
            if path.is_dir() or _IGNORED_DIRS & set(relative.parts) or path.suffix in _IGNORED_SUFFIXES:
                continue
            data = path.read_bytes()
            archive.writestr(str(relative), data)
            source += len(data)
            files += 1
        policy = json.dumps(policy_data(load_policy(EXAMPLE_POLICY)), indent=2) + "\n"
        archive.writestr("policy.json", policy)
        source += len(policy.encode())
        files += 1
    return PackageFigures(
        files=files, source_kb=round(source / 1024, 1), zipped_kb=round(len(buffer.getvalue()) / 1024, 1)
    )
