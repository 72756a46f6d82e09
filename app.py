#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth` (context `guardrail:config` picks the configuration file).

Defines the central stack (central account) and the management stacks (management account), whose
templates and the member StackSets' template bodies all pass cdk-nag at synth. Makes no AWS call,
so it synthesizes without credentials. A bad configuration or policy stops
here with a message naming the field, rather than as a stack trace.
"""

from __future__ import annotations

import sys

from infra.application import build_app


def main() -> int:
    try:
        app = build_app()
    except ValueError as error:  # ConfigError and PolicyError
        print(f"error: {error}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
