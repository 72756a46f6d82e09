"""STS refuses to assume a role that does not exist, as AWS does, for the roles it guards.

moto's AssumeRole hands out credentials for any role ARN, existing or not. For the guardrail that
hides the one failure a sweep must report: an account whose member role is missing (the
StackSet failed there, or someone deleted the role). Assuming a guarded role name that does not
exist in the target account fails here with AccessDenied, AWS's answer. Other names (the
emulation's administrator role, used to act inside any account) keep moto's leniency.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import ExitStack
from typing import Any
from unittest import mock

from moto.core.exceptions import AccessDeniedError
from moto.iam.models import iam_backends
from moto.sts.models import STSBackend
from moto.utilities.utils import get_partition

__all__ = ["guard_roles"]


def guard_roles(stack: ExitStack, role_names: Iterable[str]) -> None:
    """Until `stack` closes, assuming one of `role_names` where it does not exist is refused."""
    guarded = frozenset(role_names)
    original: Callable[..., Any] = STSBackend.assume_role

    def assume_role(
        self: STSBackend, region_name: str, role_session_name: str, role_arn: str, *args: Any, **kwargs: Any
    ) -> Any:
        account_id, name = role_arn.split(":", 5)[4], role_arn.rsplit("/", 1)[-1]
        if name in guarded:
            roles = iam_backends[account_id][get_partition(region_name)].roles.values()
            if not any(role.arn == role_arn for role in roles):
                raise AccessDeniedError("the caller", f"sts:AssumeRole on resource: {role_arn}")
        return original(self, region_name, role_session_name, role_arn, *args, **kwargs)

    stack.enter_context(mock.patch.object(STSBackend, "assume_role", assume_role))
