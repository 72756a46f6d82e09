"""Tests of the CDK app: templates, event pattern, configuration, asset, cdk-nag and cfn-lint.

jsii reads the variables below when its Node.js process starts, at the first import of aws_cdk,
so they are set here, before any test module or fixture of this package is imported.
"""

import os

# The end-of-life banner is silenced only for the Node.js major versions listed (comma-separated).
_SILENCE = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"
if "20" not in os.environ.get(_SILENCE, "").split(","):
    os.environ[_SILENCE] = ",".join(filter(None, [os.environ.get(_SILENCE), "20"]))
# cdk-nag reads a deprecated property of AWS::Events::EventBusPolicy; the warning is not ours.
os.environ.setdefault("JSII_DEPRECATED", "quiet")
