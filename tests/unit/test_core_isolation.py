"""The decision core stays pure: importing it loads no AWS SDK, so it runs anywhere (CLI, tests)."""

from __future__ import annotations

import json
import subprocess
import sys

CORE_MODULES = ("alert", "decision", "facts", "policy", "rules", "scp")
PROBE = f"""
import json, sys
for name in {CORE_MODULES!r}:
    __import__("guardrail.core." + name)
from guardrail.core.decision import decide
print(json.dumps(sorted(sys.modules)))
"""


def test_the_core_imports_no_aws_sdk() -> None:
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed probe
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(done.stdout)
    assert "guardrail.core.decision" in loaded  # the probe did import the core
    sdk = [name for name in loaded if name.split(".")[0] in {"boto3", "botocore", "aws_lambda_powertools"}]
    assert sdk == []
