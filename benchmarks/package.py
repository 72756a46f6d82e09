"""Size of the function's code asset, built by the stack's own bundling (infra/bundling.py).

The asset is the ``guardrail`` package (no bytecode), the validated policy as ``policy.json`` and
msgspec built for the function's platform; boto3 comes with the runtime and Powertools from its
public layer. Lambda's limit for a zipped deployment package is 50 MB.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import EXAMPLE_POLICY
from guardrail.core.policy_file import load_policy


@dataclass(frozen=True)
class PackageFigures:
    files: int
    source_kb: float
    zipped_kb: float
    # Unzipped size of the function's own code and policy, and of the packages it ships.
    own_kb: float
    dependencies_kb: float


def measure_package() -> PackageFigures:
    from infra.bundling import PACKAGE_NAME, POLICY_FILE_NAME, GuardrailBundling

    with tempfile.TemporaryDirectory() as scratch:
        asset = Path(scratch)
        GuardrailBundling(load_policy(EXAMPLE_POLICY)).try_bundle(scratch, image=None)  # type: ignore[arg-type]
        buffer = io.BytesIO()
        own = dependencies = files = 0
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in asset.rglob("*") if p.is_file()):
                relative = path.relative_to(asset)
                data = path.read_bytes()
                archive.writestr(relative.as_posix(), data)
                files += 1
                if relative.parts[0] in {PACKAGE_NAME, POLICY_FILE_NAME}:
                    own += len(data)
                else:
                    dependencies += len(data)
    return PackageFigures(
        files=files,
        source_kb=round((own + dependencies) / 1024, 1),
        zipped_kb=round(len(buffer.getvalue()) / 1024, 1),
        own_kb=round(own / 1024, 1),
        dependencies_kb=round(dependencies / 1024, 1),
    )
