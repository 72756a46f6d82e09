"""Plugins of the whole suite: the functions' AWS calls are recorded and checked against the
templates' IAM (`tests.iam.plugin`)."""

pytest_plugins = ("tests.iam.plugin",)
