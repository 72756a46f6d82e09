"""Deleting an account instance, only after proving the guardrail may.

The decision already checked ownership on facts read fresh for the purpose (`Guardrail` decides a
deletion again on them, the cache bypassed); this module checks once more against a
DescribeInstance right before deleting, because an instance can change between the two (deleted
by its owner meanwhile). Anything short of proof leaves the instance alone.
"""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from guardrail.adapters.clients import AwsClients
from guardrail.adapters.identity_center import InstanceReader
from guardrail.core.facts import Facts, InstanceStatus
from guardrail.service import RemediationResult

# Errors worth a retry of the whole invocation rather than a "failed" report.
RETRYABLE = {"ConflictException", "ThrottlingException", "InternalServerException"}


class RetryRemediation(RuntimeError):
    """Deletion hit a transient state: fail the invocation so that Lambda retries it."""


class InstanceRemediator:
    def __init__(self, member_clients: Callable[[str], AwsClients]) -> None:
        self._member_clients = member_clients

    def delete(self, facts: Facts) -> RemediationResult:
        subject = facts.subject
        arn = subject.instance_arn
        if arn is None or facts.organization is None:
            return RemediationResult("skipped", "no instance ARN or organization facts")
        try:
            reader = InstanceReader(
                self._member_clients(subject.account_id).client("sso-admin", subject.region), subject.region
            )
            current = reader.describe(arn)
            if current.owner_account_id != subject.account_id:
                return RemediationResult(
                    "skipped", f"the instance is now owned by {current.owner_account_id}"
                )
            if current.owner_account_id == facts.organization.management_account_id:
                return RemediationResult("skipped", "the instance belongs to the management account")
            if current.status != InstanceStatus.ACTIVE:
                return RemediationResult("skipped", f"the instance is now {current.status}")
            reader.delete(arn)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                return RemediationResult("skipped", "the instance no longer exists")
            if code in RETRYABLE:
                raise RetryRemediation(f"{code} while deleting {arn}") from error
            return RemediationResult(
                "failed", f"{code}: {error.response.get('Error', {}).get('Message', '')}"
            )
        except BotoCoreError as error:
            raise RetryRemediation(f"{type(error).__name__} while deleting {arn}") from error
        return RemediationResult("deleted", f"DeleteInstance accepted for {arn} in {subject.region}")
